package wire

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/suzaku-go/suzaku/internal/jsonstr"
)

// This file holds the JSON helpers both JSON serializers share: a reader
// that walks text json.Valid has already accepted, and a string encoder
// that escapes exactly as encoding/json does with HTML escaping off.
//
// Validating first with json.Valid (pooled scanner, no allocation) lets the
// reader assume well-formed input and stay small, so the envelope is parsed
// without reflection and without allocating a []json.RawMessage.

// reader walks valid JSON text. It never reads past the end, even if the
// text turns out not to be valid after all.
type reader struct {
	data []byte
	i    int
}

// peek skips white space and returns the next byte, or 0 at the end.
func (r *reader) peek() byte {
	for r.i < len(r.data) {
		switch c := r.data[r.i]; c {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return c
		}
	}
	return 0
}

// value consumes one JSON value and returns where it starts and ends.
func (r *reader) value() (start, end int) {
	r.peek()
	start = r.i
	depth := 0
	for r.i < len(r.data) {
		switch r.data[r.i] {
		case '"':
			r.skipString()
			if depth == 0 {
				return start, r.i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 { // a scalar ended by its container
				return start, r.i
			}
			depth--
			if depth == 0 {
				r.i++
				return start, r.i
			}
		case ',', ':', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return start, r.i
			}
		}
		r.i++
	}
	return start, r.i
}

// skipString moves past the string that starts at r.i.
func (r *reader) skipString() {
	for r.i++; r.i < len(r.data); r.i++ {
		switch r.data[r.i] {
		case '\\':
			r.i++
		case '"':
			r.i++
			return
		}
	}
	r.i = len(r.data)
}

// elems reads up to len(dst) elements of the array that starts at r.i and
// returns how many it read: fewer than len(dst) only if the array is
// shorter. Elements past len(dst) are left unread.
func (r *reader) elems(dst [][2]int) int {
	r.i++ // '['
	if r.peek() == ']' {
		return 0
	}
	n := 0
	for n < len(dst) {
		dst[n][0], dst[n][1] = r.value()
		n++
		if r.peek() != ',' {
			break
		}
		r.i++
	}
	return n
}

// object calls fn with each key (unescaped) and raw value of the object that
// starts at r.i, in order. Duplicate keys are all passed on; callers keep
// the last, as encoding/json does.
func (r *reader) object(fn func(key, val []byte) error) error {
	r.i++ // '{'
	if r.peek() == '}' {
		return nil
	}
	for r.i < len(r.data) {
		ks, ke := r.value()
		r.peek()
		r.i++ // ':'
		vs, ve := r.value()
		if err := fn(unquoteKey(r.data[ks:ke]), r.data[vs:ve]); err != nil {
			return err
		}
		if r.peek() != ',' {
			return nil
		}
		r.i++
	}
	return nil
}

// unquoteKey returns the text of an object key.
func unquoteKey(raw []byte) []byte {
	if len(raw) < 2 {
		return nil
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1]
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil
	}
	return []byte(s)
}

// unquote returns the text of the JSON string raw (quotes included). It
// fails if raw is not a string or holds invalid UTF-8. Escaped lone
// surrogates become U+FFFD, as with encoding/json.
func unquote(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || !utf8.Valid(raw) {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// appendString appends s as a JSON string, escaped as encoding/json does
// with SetEscapeHTML(false) (see package internal/jsonstr).
func appendString(dst []byte, s string) []byte { return jsonstr.Append(dst, s) }

// quotedLen is len(appendString(nil, s)).
func quotedLen(s string) int { return jsonstr.Len(s) }

// appendNullable appends s as a JSON string, or null if it is empty.
func appendNullable(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return appendString(dst, s)
}

// nullableLen is len(appendNullable(nil, s)).
func nullableLen(s string) int {
	if s == "" {
		return len("null")
	}
	return quotedLen(s)
}

// appendPayload appends the JSON payload p, or {} if p is empty.
func appendPayload(dst, p []byte) []byte {
	if len(p) == 0 {
		return append(dst, '{', '}')
	}
	return append(dst, p...)
}

// payloadLen is len(appendPayload(nil, p)).
func payloadLen(p []byte) int {
	if len(p) == 0 {
		return 2
	}
	return len(p)
}

// clone copies b, returning nil for an empty b so that decoded messages
// compare equal however they were produced.
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
