package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
)

// Stable machine-readable codes, sent in [Problem.Code] and
// [FieldError.Code]. Clients may switch on them; titles and details are for
// people and may change. Applications may define their own codes.
const (
	CodeBadRequest           = "bad_request"            // 400, generic
	CodeInvalidJSON          = "invalid_json"           // 400: malformed or truncated JSON, or data after it
	CodeEmptyBody            = "empty_body"             // 400: a JSON body was required
	CodeUnknownField         = "unknown_field"          // 400: a field the endpoint does not accept
	CodeWrongType            = "wrong_type"             // 400: a JSON value of the wrong type
	CodeInvalidLimit         = "invalid_limit"          // 400: ?limit= out of bounds or not an integer
	CodeInvalidCursor        = "invalid_cursor"         // 400: ?cursor= malformed or tampered with
	CodeUnauthorized         = "unauthorized"           // 401
	CodeForbidden            = "forbidden"              // 403
	CodeNotFound             = "not_found"              // 404
	CodeMethodNotAllowed     = "method_not_allowed"     // 405
	CodeConflict             = "conflict"               // 409
	CodeBodyTimeout          = "body_timeout"           // 408: the body came too slowly
	CodeBodyTooLarge         = "body_too_large"         // 413
	CodeUnsupportedMediaType = "unsupported_media_type" // 415
	CodeValidationFailed     = "validation_failed"      // 422
	CodeTooManyRequests      = "too_many_requests"      // 429
	CodeInternal             = "internal"               // 500; the cause is logged, never sent
	CodeUnavailable          = "unavailable"            // 503
)

// defaultCode is the code a [Problem] without one gets from its status.
func defaultCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeBadRequest
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusConflict:
		return CodeConflict
	case http.StatusRequestEntityTooLarge:
		return CodeBodyTooLarge
	case http.StatusUnsupportedMediaType:
		return CodeUnsupportedMediaType
	case http.StatusUnprocessableEntity:
		return CodeValidationFailed
	case http.StatusTooManyRequests:
		return CodeTooManyRequests
	case http.StatusInternalServerError:
		return CodeInternal
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	}
	return ""
}

// ProblemContentType is the media type of a [Problem] (RFC 9457 §3).
const ProblemContentType = "application/problem+json"

// Problem is an error response in the format of RFC 9457, "Problem Details
// for HTTP APIs", served as application/problem+json. Return one (or an
// error wrapping one) from a handler built by [Handle] or [Get] to choose
// the response; any other error becomes a 500 whose message is logged, not
// sent. Build one with [Error] or as a literal.
//
// A Problem is written from a copy, so a shared *Problem variable (a
// sentinel for errors.Is) is safe to return from concurrent handlers.
type Problem struct {
	// Type is a URI reference identifying the problem type. Empty means
	// "about:blank" (RFC 9457 §4.2.1): the problem is just its status.
	Type string `json:"type,omitempty"`
	// Title is a short human-readable summary. Empty means the status text
	// ("Not Found").
	Title string `json:"title,omitempty"`
	// Status is the HTTP status code. Zero means 500.
	Status int `json:"status"`
	// Detail explains this occurrence to a person. It is sent to the
	// client: never put internal error text in it.
	Detail string `json:"detail,omitempty"`
	// Instance is a URI reference identifying this occurrence; optional.
	Instance string `json:"instance,omitempty"`
	// Code is a stable machine-readable code, one of the Code constants or
	// the application's own. Empty means the default code of Status
	// (CodeNotFound for 404, and so on), if it has one.
	Code string `json:"code,omitempty"`
	// Errors lists the fields that failed decoding or validation.
	Errors []FieldError `json:"errors,omitempty"`
	// RequestID is filled in when the problem is written, from
	// [RequestID] of the request's context, so a user can quote it.
	RequestID string `json:"request_id,omitempty"`

	// Header holds headers added to the response, such as Retry-After on
	// a 429 or a 503.
	Header http.Header `json:"-"`

	// Err is the underlying cause. It is never sent; it is logged when
	// Status is 5xx and reachable with errors.Is and errors.As.
	Err error `json:"-"`
}

// Error returns a [Problem] with the given status, code and detail: the
// usual way for a handler to answer with a client error.
//
//	return Room{}, api.Error(http.StatusNotFound, api.CodeNotFound, "no room "+id)
func Error(status int, code, detail string) *Problem {
	return &Problem{Status: status, Code: code, Detail: detail}
}

// Error formats the problem for logs, as "api: 404 not_found: no room 7".
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString("api: ")
	b.WriteString(strconv.Itoa(p.status()))
	if code := p.code(); code != "" {
		b.WriteString(" ")
		b.WriteString(code)
	}
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	if p.Err != nil {
		b.WriteString(": ")
		b.WriteString(p.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause, p.Err.
func (p *Problem) Unwrap() error { return p.Err }

func (p *Problem) status() int {
	if p.Status == 0 {
		return http.StatusInternalServerError
	}
	return p.Status
}

func (p *Problem) code() string {
	if p.Code == "" {
		return defaultCode(p.status())
	}
	return p.Code
}

// FieldError describes one invalid field of a request: a JSON value of the
// wrong type, an unknown field, or a value that failed validation.
// It is an error, so a Validate method may return one, a [FieldErrors], or
// several joined with errors.Join.
type FieldError struct {
	// Field is the path of the field as encoding/json names it, dotted
	// for nested objects ("owner.name"), or a query parameter's name.
	Field string `json:"field"`
	// Code is a stable machine-readable code; optional.
	Code string `json:"code,omitempty"`
	// Message explains the problem to a person ("must not be empty").
	Message string `json:"message"`
}

// Error returns "field: message".
func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldErrors is a list of [FieldError] that is itself an error, for a
// Validate method that reports every invalid field at once.
type FieldErrors []FieldError

// Error joins the field errors with "; ".
func (e FieldErrors) Error() string {
	parts := make([]string, len(e))
	for i, fe := range e {
		parts[i] = fe.Error()
	}
	return strings.Join(parts, "; ")
}

// WriteProblem writes p as an application/problem+json response, filling in
// the defaults (status 500, title, code) and the request id, without
// modifying p. It removes a Content-Length or Content-Encoding header a
// handler may have set for another body.
func WriteProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	q := *p
	q.Status = p.status()
	q.Code = p.code()
	if q.Title == "" {
		q.Title = http.StatusText(q.Status)
	}
	if q.RequestID == "" {
		q.RequestID = RequestID(r.Context())
	}
	body, err := json.Marshal(&q)
	if err != nil {
		// Only strings and ints: this cannot happen, but answer anyway.
		body = []byte(`{"title":"Internal Server Error","status":500,"code":"internal"}`)
		q.Status = http.StatusInternalServerError
	}
	body = append(body, '\n')
	h := w.Header()
	h.Del("Content-Length")
	h.Del("Content-Encoding")
	for k, vs := range p.Header {
		h[http.CanonicalHeaderKey(k)] = vs
	}
	h["Content-Type"] = []string{ProblemContentType}
	w.WriteHeader(q.Status)
	w.Write(body)
}

// WriteError writes err as a [Problem], as the handlers built by [Handle]
// and [Get] do: if errors.As finds a *Problem in err, it is written;
// otherwise the client gets a bare 500 with code "internal" and the error is
// logged to c.Logger, with the request id, so that its text never leaks.
// Problems with a 5xx status are logged too. c may be nil, which discards
// the log.
func (c *Config) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var logger *slog.Logger
	if c != nil {
		logger = c.Logger
	}
	writeError(w, r, err, logger)
}

func writeError(w http.ResponseWriter, r *http.Request, err error, logger *slog.Logger) {
	var p *Problem
	if !errors.As(err, &p) {
		p = &Problem{Status: http.StatusInternalServerError, Code: CodeInternal, Err: err}
	}
	if p.status() >= 500 && logger != nil {
		logger.LogAttrs(r.Context(), slog.LevelError, "api: request failed",
			slog.String(keyMethod, r.Method),
			slog.String(keyPath, r.URL.Path),
			slog.Int(keyStatus, p.status()),
			slog.String(keyRequestID, RequestID(r.Context())),
			slog.Any(keyError, err),
		)
	}
	WriteProblem(w, r, p)
}

// problemf is Error with a formatted detail.
func problemf(status int, code, format string, args ...any) *Problem {
	return &Problem{Status: status, Code: code, Detail: fmt.Sprintf(format, args...)}
}
