package wire

import (
	"fmt"
	"strings"
)

// Negotiate returns the serializer for the vsn query parameter a client
// connected with, as Phoenix matches it: "" (no vsn) and versions matching
// ~> 1.0.0 (>= 1.0.0 and < 1.1.0) get [V1]; versions matching ~> 2.0.0 get
// [V2]. vsn must be a full SemVer 2.0 version (MAJOR.MINOR.PATCH, with
// optional -prerelease and +build). Pre-releases follow SemVer precedence,
// so "2.0.0-rc.1" does not match ~> 2.0.0 but "2.0.1-rc.1" does. Any other
// vsn gives an error wrapping [ErrUnsupportedVersion], on which a WebSocket
// endpoint answers 403.
func Negotiate(vsn string) (Serializer, error) {
	if vsn == "" {
		return V1{}, nil
	}
	major, minor, patch, pre, ok := parseSemver(vsn)
	if !ok {
		return nil, fmt.Errorf("wire: negotiate: %w %q (not a semantic version)", ErrUnsupportedVersion, vsn)
	}
	// ~> M.0.0 is >= M.0.0 and < M.1.0-0: major M, minor 0, and not a
	// pre-release of M.0.0 itself.
	if minor == "0" && !(patch == "0" && pre) {
		switch major {
		case "1":
			return V1{}, nil
		case "2":
			return V2{}, nil
		}
	}
	return nil, fmt.Errorf("wire: negotiate: %w %q (want ~> 1.0.0 or ~> 2.0.0)", ErrUnsupportedVersion, vsn)
}

// parseSemver splits a SemVer 2.0 version into its numbers, kept as
// digit strings so that no size overflows, and reports whether it has a
// pre-release part.
func parseSemver(v string) (major, minor, patch string, pre, ok bool) {
	if i := strings.IndexByte(v, '+'); i >= 0 {
		if !identifiers(v[i+1:], false) {
			return "", "", "", false, false
		}
		v = v[:i]
	}
	if i := strings.IndexByte(v, '-'); i >= 0 {
		if !identifiers(v[i+1:], true) {
			return "", "", "", false, false
		}
		v, pre = v[:i], true
	}
	major, rest, ok1 := strings.Cut(v, ".")
	minor, patch, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || !number(major) || !number(minor) || !number(patch) {
		return "", "", "", false, false
	}
	return major, minor, patch, pre, true
}

// number reports whether s is a SemVer numeric identifier: digits with no
// leading zero.
func number(s string) bool {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// identifiers reports whether s is a dot-separated list of non-empty
// [0-9A-Za-z-] identifiers. In a pre-release (strict), an all-digit
// identifier must not have a leading zero.
func identifiers(s string, strict bool) bool {
	for id := range strings.SplitSeq(s, ".") {
		if id == "" {
			return false
		}
		digits := true
		for i := 0; i < len(id); i++ {
			switch c := id[i]; {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				digits = false
			default:
				return false
			}
		}
		if strict && digits && !number(id) {
			return false
		}
	}
	return true
}
