package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
)

// decodeBody decodes r's JSON body into v, strictly, reading at most lb's
// limit (if lb is not nil), and returns the Problem to answer with if it
// cannot. It does not modify r.
func decodeBody(r *http.Request, v any, lb *limitedBody) *Problem {
	if r.Body == nil || r.Body == http.NoBody {
		return emptyBody()
	}
	if !isJSONContentType(contentType(r.Header)) {
		return problemf(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
			"the request body must be JSON, sent with Content-Type: application/json")
	}
	var body io.Reader = r.Body
	if lb != nil {
		lb.r = r.Body
		body = lb
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeProblem(err)
	}
	// Exactly one value: anything but white space after it is an error.
	end := dec.InputOffset()
	switch _, err := dec.Token(); {
	case err == io.EOF:
		return nil
	case isTooLarge(err):
		return decodeProblem(err)
	default:
		return problemf(http.StatusBadRequest, CodeInvalidJSON,
			"the request body must hold a single JSON value, but has more data after byte %d", end)
	}
}

// limitedBody is http.MaxBytesReader without its allocation (it lives in
// the same object as the decoded value) and without its signal to the
// server, which a wrapped ResponseWriter does not pass on anyway; a 413
// answer sets Connection: close instead.
type limitedBody struct {
	r     io.Reader
	left  int64 // bytes that may still be read
	limit int64
	err   error // sticky
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Read one byte more than allowed, to tell "exactly at the limit"
	// from "over it".
	if int64(len(p))-1 > l.left {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) <= l.left {
		l.left -= int64(n)
		l.err = err
		return n, err
	}
	n = int(l.left)
	l.left = 0
	l.err = &http.MaxBytesError{Limit: l.limit}
	return n, l.err
}

// contentType is r.Header.Get("Content-Type") without canonicalizing the
// key, which is canonical already.
func contentType(h http.Header) string {
	if v := h["Content-Type"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func emptyBody() *Problem {
	return problemf(http.StatusBadRequest, CodeEmptyBody, "the request body is empty; a JSON value is required")
}

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// decodeProblem turns an error of json.Decoder.Decode into a Problem whose
// detail says what is wrong and where.
func decodeProblem(err error) *Problem {
	var (
		syntax  *json.SyntaxError
		typ     *json.UnmarshalTypeError
		tooBig  *http.MaxBytesError
		invalid *json.InvalidUnmarshalError
	)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return problemf(http.StatusRequestTimeout, CodeBodyTimeout, "the request body did not arrive in time")
	case err == io.EOF:
		return emptyBody()
	case err == io.ErrUnexpectedEOF:
		return problemf(http.StatusBadRequest, CodeInvalidJSON, "the request body ends in the middle of a JSON value")
	case errors.As(err, &tooBig):
		return &Problem{Status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge,
			Detail: "the request body is larger than the limit of " + strconv.FormatInt(tooBig.Limit, 10) + " bytes"}
	case errors.As(err, &syntax):
		return problemf(http.StatusBadRequest, CodeInvalidJSON, "malformed JSON at byte %d: %s",
			syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typ):
		want := jsonKind(typ.Type)
		if typ.Field == "" {
			return problemf(http.StatusBadRequest, CodeWrongType, "the request body must be %s, not %s",
				article(want), article(typ.Value))
		}
		msg := "must be " + article(want) + ", not " + article(typ.Value)
		return &Problem{
			Status: http.StatusBadRequest, Code: CodeWrongType,
			Detail: "field " + strconv.Quote(typ.Field) + " " + msg,
			Errors: []FieldError{{Field: typ.Field, Code: CodeWrongType, Message: msg}},
		}
	case errors.As(err, &invalid):
		// The handler's In type is wrong: a bug, not the client's fault.
		return &Problem{Status: http.StatusInternalServerError, Code: CodeInternal, Err: err}
	}
	// encoding/json reports an unknown field with an untyped error:
	// `json: unknown field "name"`.
	if name, ok := strings.CutPrefix(err.Error(), `json: unknown field `); ok {
		if s, qerr := strconv.Unquote(name); qerr == nil {
			name = s
		}
		return &Problem{
			Status: http.StatusBadRequest, Code: CodeUnknownField,
			Detail: "unknown field " + strconv.Quote(name),
			Errors: []FieldError{{Field: name, Code: CodeUnknownField, Message: "is not a known field"}},
		}
	}
	// Errors of UnmarshalJSON methods (time.Time's parse errors, …) and of
	// reading the body: both about what the client sent.
	return problemf(http.StatusBadRequest, CodeInvalidJSON, "invalid request body: %s",
		strings.TrimPrefix(err.Error(), "json: "))
}

// jsonKind names the JSON type that decodes into t.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return "value"
}

// article prefixes a JSON type name with "a" or "an". encoding/json's
// UnmarshalTypeError.Value is "string", "number", "number 1.5", "bool",
// "array" or "object".
func article(kind string) string {
	if kind == "bool" {
		kind = "boolean"
	}
	if kind == "" {
		return "a value"
	}
	switch kind[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an " + kind
	}
	return "a " + kind
}

// isJSONContentType reports whether ct is application/json or
// application/*+json, with no charset parameter other than utf-8.
func isJSONContentType(ct string) bool {
	mt, params, hasParams := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	sub, ok := cutPrefixFold(mt, "application/")
	if !ok || !(strings.EqualFold(sub, "json") || len(sub) > 5 && strings.EqualFold(sub[len(sub)-5:], "+json")) {
		return false
	}
	if !hasParams || strings.TrimSpace(params) == "" {
		return true
	}
	_, ps, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	cs, ok := ps["charset"]
	return !ok || strings.EqualFold(cs, "utf-8") || strings.EqualFold(cs, "utf8")
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
