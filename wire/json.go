package wire

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
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

const hex = "0123456789abcdef"

// AppendJSONString appends s as a JSON string, escaped as encoding/json
// does with HTML escaping off: what frames are made of, exported for
// transports that wrap frames in JSON of their own (LongPoll).
func AppendJSONString(dst []byte, s string) []byte { return appendString(dst, s) }

// appendString appends s as a JSON string, escaped as encoding/json does
// with SetEscapeHTML(false): `"`, `\` and control characters are escaped,
// invalid UTF-8 becomes \ufffd, and U+2028 and U+2029 are escaped.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// quotedLen is len(appendString(nil, s)), computed without allocating so
// that encoders can size their buffer exactly.
func quotedLen(s string) int {
	n := len(s) + 2
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			switch {
			case b >= 0x20 && b != '"' && b != '\\':
			case b == '"', b == '\\', b == '\b', b == '\f', b == '\n', b == '\r', b == '\t':
				n++
			default:
				n += 5
			}
			i++
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			n += 5
		case c == '\u2028' || c == '\u2029':
			n += 3
		}
		i += size
	}
	return n
}

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
