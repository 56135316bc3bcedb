package httpcache

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"
)

// ETag returns a strong entity tag for body: a quoted base64url string of
// 128 bits of its SHA-256, such as "n4bQgYhMfWWaL-qgxVrQFa". Equal bodies
// get equal tags, on every node.
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
}

// NotModified answers a conditional GET or HEAD with 304 Not Modified when
// the request's If-None-Match or If-Modified-Since says the client has the
// current representation, and reports whether it did. Call it from a
// handler that knows its validators without rendering the body (a version
// number, an update time): set ETag and/or Last-Modified on w first, then
// write the body only if NotModified returns false. The rules are those of
// RFC 9110 §13.2.2: If-None-Match (weak comparison, or "*") takes
// precedence, and If-Modified-Since is compared with Last-Modified to the
// second.
func NotModified(w http.ResponseWriter, r *http.Request) bool {
	if !notModified(r, w.Header()) {
		return false
	}
	writeNotModified(w)
	return true
}

// notModified evaluates the conditions of r against the validators in h,
// for a representation that exists (a 200 response).
func notModified(r *http.Request, h http.Header) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if inm := r.Header.Values("If-None-Match"); len(inm) > 0 {
		return noneMatchFails(strings.Join(inm, ","), h.Get("ETag"))
	}
	ims, lm := r.Header.Get("If-Modified-Since"), h.Get("Last-Modified")
	if ims == "" || lm == "" {
		return false
	}
	since, err := http.ParseTime(ims)
	if err != nil {
		return false
	}
	modified, err := http.ParseTime(lm)
	if err != nil {
		return false
	}
	return !modified.Truncate(time.Second).After(since)
}

// noneMatchFails reports whether the If-None-Match field value matches the
// current entity tag, which makes the condition false: "*", or a listed
// tag equal to etag under weak comparison (RFC 9110 §8.8.3.2). An
// unparsable member ends the list.
func noneMatchFails(field, etag string) bool {
	cur, curOK := opaqueTag(etag)
	for {
		field = strings.TrimLeft(field, " \t,")
		if field == "" {
			return false
		}
		if field[0] == '*' {
			return true
		}
		tag, rest, ok := scanETag(field)
		if !ok {
			return false
		}
		if curOK && tag == cur {
			return true
		}
		field = rest
	}
}

// opaqueTag returns the quoted opaque-tag of a whole entity-tag, without
// its weakness prefix.
func opaqueTag(etag string) (string, bool) {
	tag, rest, ok := scanETag(strings.TrimSpace(etag))
	return tag, ok && rest == ""
}

// scanETag reads one entity-tag (RFC 9110 §8.8.3) at the start of s and
// returns its opaque-tag, quotes included, and the rest of s.
func scanETag(s string) (tag, rest string, ok bool) {
	s = strings.TrimPrefix(s, "W/")
	if len(s) < 2 || s[0] != '"' {
		return "", "", false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return s[:i+1], s[i+1:], true
		case c == 0x21 || c >= 0x23 && c != 0x7f:
			// etagc: %x21 / %x23-7E / obs-text
		default:
			return "", "", false
		}
	}
	return "", "", false
}

// writeNotModified sends 304 with the headers of the 200 it replaces,
// except those describing the body (RFC 9110 §15.4.5), as
// http.ServeContent does.
func writeNotModified(w http.ResponseWriter) {
	h := w.Header()
	delete(h, "Content-Type")
	delete(h, "Content-Length")
	delete(h, "Content-Encoding")
	if h.Get("ETag") != "" {
		delete(h, "Last-Modified")
	}
	w.WriteHeader(http.StatusNotModified)
}
