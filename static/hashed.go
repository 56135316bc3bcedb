package static

import (
	"path"
	"strings"
)

// minHashLen is the shortest content hash recognized: Vite's (Rollup's)
// and Parcel's are 8 characters, webpack's 20 by default.
const minHashLen = 8

// IsHashed reports whether the file at name (a slash-separated path) has
// a content hash in its name, as bundlers write them, so that it can be
// cached as immutable. It is the default of [Config.Immutable].
//
// The base name, without a trailing ".map", ".br" or ".gz" and without
// its extension, must have a segment that follows a "-" or "." (not at the
// start) and runs to the next "." or the end, of 8 or more characters from
// [A-Za-z0-9_-] ("-" only in a segment of exactly 8, Rollup's hashes),
// which looks like a hash:
//   - lower-case hex with at least one digit and one letter (webpack,
//     Parcel, Create React App: "main.3f2a9c1b.js", "main.3f2a9c1b.chunk.js");
//   - or a digit and an upper-case letter (esbuild, Vite:
//     "chunk-5JKOPUJW.js", "index-BxY1a2_3.js");
//   - or, for files under a directory named "assets" (Vite's output
//     directory, where it writes only hashed files), upper- and lower-case
//     letters ("assets/index-DiwrgTda.css").
//
// Words in file names ("roboto-condensed.woff2", "bootstrap.min.css",
// "fa-solid-900.woff2") are not hashes. The rule misses a few hashes (an
// esbuild hash with no digit, say), which then cost a revalidation, rather
// than catch a name like "OpenSans-SemiBold.ttf" outside "assets", which
// would leave browsers with a stale file for a year.
func IsHashed(name string) bool {
	inAssets := false
	for dir := range strings.SplitSeq(path.Dir(name), "/") {
		if dir == "assets" {
			inAssets = true
		}
	}
	base := path.Base(name)
	base = strings.TrimSuffix(base, ".map")
	for _, suffix := range []string{".br", ".gz"} {
		base = strings.TrimSuffix(base, suffix)
	}
	ext := path.Ext(base)
	if ext == "" || ext == base {
		return false
	}
	stem := base[:len(base)-len(ext)]
	for i := 1; i < len(stem); i++ {
		if stem[i] != '-' && stem[i] != '.' {
			continue
		}
		seg := stem[i+1:]
		if j := strings.IndexByte(seg, '.'); j >= 0 {
			seg = seg[:j]
		}
		if hashLike(seg, inAssets) {
			return true
		}
	}
	return false
}

// hashLike reports whether seg looks like a content hash (see IsHashed).
func hashLike(seg string, inAssets bool) bool {
	if len(seg) < minHashLen {
		return false
	}
	var digit, upper, lower, nonHex, dash bool
	for i := 0; i < len(seg); i++ {
		switch c := seg[i]; {
		case '0' <= c && c <= '9':
			digit = true
		case 'a' <= c && c <= 'f':
			lower = true
		case 'g' <= c && c <= 'z':
			lower, nonHex = true, true
		case 'A' <= c && c <= 'Z':
			upper = true
		case c == '-':
			dash = true
		case c == '_':
			nonHex = true
		default:
			return false
		}
	}
	switch {
	case dash && len(seg) != minHashLen:
		return false
	case digit && lower && !upper && !nonHex && !dash:
		return true // lower-case hex
	case digit && upper:
		return true
	}
	return inAssets && upper && lower
}
