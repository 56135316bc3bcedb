package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"time"
)

// DefaultMaxBodyBytes is the request body limit when [Config.MaxBodyBytes]
// is zero: 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// DefaultBodyTimeout bounds the reading of a request body when
// [Config.BodyTimeout] is zero: 10 s.
const DefaultBodyTimeout = 10 * time.Second

// Config configures the handlers built by [Handle] and [Get]. The zero
// value, and a nil *Config, are valid and mean the defaults. Handle and Get
// copy the Config, so changing it afterwards does not affect them.
type Config struct {
	// MaxBodyBytes limits the size of a request body, in bytes; a larger
	// body is answered 413 with code "body_too_large". Zero means
	// DefaultMaxBodyBytes (1 MiB); a negative value means no limit.
	MaxBodyBytes int64

	// BodyTimeout bounds the reading of a request body, from when the
	// handler starts to read it; a client slower than that (one byte
	// every few seconds, to hold a connection and a buffer) is answered
	// 408 with code "body_timeout" and its connection closed. Zero means
	// DefaultBodyTimeout (10 s); a negative value means no deadline.
	BodyTimeout time.Duration

	// Logger receives the errors behind 5xx responses (a handler error that
	// is not a *Problem, or a Problem with a 5xx status), at Error level
	// with the request id, since the client only sees "internal". Nil
	// discards them; [AccessLog] still records the status.
	Logger *slog.Logger
}

func (c *Config) limit() int64 {
	switch {
	case c == nil || c.MaxBodyBytes == 0:
		return DefaultMaxBodyBytes
	case c.MaxBodyBytes < 0:
		return 0
	}
	return c.MaxBodyBytes
}

// Validator is implemented by request types that check themselves. [Handle]
// calls Validate after decoding (on In or *In) and answers 422 with code
// "validation_failed" if it returns an error. The error is the client's to
// read, so it is sent: a *[Problem] is written as it is; [FieldError]s
// (alone, as [FieldErrors], or joined with errors.Join) fill
// [Problem.Errors]; any other error's text becomes [Problem.Detail].
type Validator interface {
	Validate() error
}

// StatusCoder is implemented by reply types that choose their status code.
// Without it a reply is sent with 200 OK. A reply whose status is 204 or
// 304 is sent without a body. See [Result] and [NoContent].
type StatusCoder interface {
	StatusCode() int
}

// Result wraps a reply to set its status and headers, for replies whose
// status is decided at run time. [Created] builds the common 201 case.
type Result[T any] struct {
	// Status is the status code; zero means 200.
	Status int
	// Header holds headers added to the response (Location, ETag, …).
	Header http.Header
	// Body is encoded as the JSON body, unless Status is 204 or 304.
	Body T
}

// StatusCode returns r.Status, or 200 if it is zero.
func (r Result[T]) StatusCode() int {
	if r.Status == 0 {
		return http.StatusOK
	}
	return r.Status
}

func (r Result[T]) result() (int, http.Header, any) { return r.StatusCode(), r.Header, r.Body }

// resulter is implemented by every Result[T].
type resulter interface {
	result() (status int, header http.Header, body any)
}

// Created returns a 201 Created [Result] with body and, if location is not
// empty, a Location header.
func Created[T any](location string, body T) Result[T] {
	r := Result[T]{Status: http.StatusCreated, Body: body}
	if location != "" {
		r.Header = http.Header{"Location": {location}}
	}
	return r
}

// NoContent is a reply type for handlers that answer 204 No Content.
//
//	func deleteRoom(ctx context.Context, r *http.Request) (api.NoContent, error)
type NoContent struct{}

// StatusCode returns 204.
func (NoContent) StatusCode() int { return http.StatusNoContent }

// Handle returns a handler for requests with a JSON body. It decodes the
// body into an In, calls its Validate method if it has one ([Validator]),
// calls f, and writes f's reply as JSON with status 200, or the status of
// a reply that implements [StatusCoder] (see [Result], [Created],
// [NoContent]). If f returns an error, the reply is ignored and the error
// is written by [Config.WriteError]: a *[Problem] as it is, anything else as
// a 500 with code "internal" and the text logged.
//
// The request must have a body with Content-Type application/json, or
// application/*+json, with no charset other than utf-8 (415 otherwise).
// Decoding is strict and reports each failure as a 4xx Problem: an empty
// body (empty_body), malformed JSON with its byte offset, or data after the
// value (invalid_json), a value of the wrong type with its field
// (wrong_type), a field In does not have (unknown_field), a body over
// cfg.MaxBodyBytes (413 body_too_large).
//
// f gets the request's context and the request itself, for path values
// (r.PathValue("id")), query parameters and headers; it must not read
// r.Body, which Handle has consumed. cfg may be nil for the defaults.
func Handle[In, Out any](cfg *Config, f func(ctx context.Context, r *http.Request, in In) (Out, error)) http.Handler {
	h := &bodyHandler[In, Out]{f: f, maxBody: cfg.limit(), bodyTimeout: DefaultBodyTimeout}
	if cfg != nil {
		h.logger = cfg.Logger
		if cfg.BodyTimeout != 0 {
			h.bodyTimeout = cfg.BodyTimeout
		}
	}
	t := reflect.TypeFor[In]()
	v := reflect.TypeFor[Validator]()
	h.inPointer = t.Kind() == reflect.Pointer
	h.validatePtr = reflect.PointerTo(t).Implements(v)
	h.validateVal = !h.validatePtr && h.inPointer && t.Implements(v)
	return h
}

type bodyHandler[In, Out any] struct {
	f           func(context.Context, *http.Request, In) (Out, error)
	maxBody     int64
	bodyTimeout time.Duration // <= 0: none
	logger      *slog.Logger
	// inPointer: In is a pointer type, so a JSON null leaves it nil and is
	// refused. validatePtr: *In has Validate; validateVal: In is a pointer
	// type that has Validate. Decided once, so a request boxes nothing.
	inPointer, validatePtr, validateVal bool
}

// decoding holds what one request decodes into, so that the value and the
// body limiter take one allocation.
type decoding[In any] struct {
	in   In
	body limitedBody
}

// readDeadline sets a read deadline on w's connection and returns the
// func that lifts it. Without a deadline the server would keep reading
// after the body, in the background, and a late deadline would cancel the
// request's context.
func readDeadline(w http.ResponseWriter, d time.Duration) (lift func()) {
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(d)) != nil {
		return nil // not supported (a recorder, HTTP/2 without it)
	}
	return func() { _ = rc.SetReadDeadline(time.Time{}) }
}

func (h *bodyHandler[In, Out]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := &decoding[In]{}
	var lb *limitedBody
	if h.maxBody > 0 {
		d.body = limitedBody{left: h.maxBody, limit: h.maxBody}
		lb = &d.body
	}
	var lift func()
	if h.bodyTimeout > 0 {
		lift = readDeadline(w, h.bodyTimeout)
	}
	p := decodeBody(r, &d.in, lb)
	if lift != nil && p == nil {
		// Lifted only once the body is read: after a failure, the server
		// may still read what is left of it, within the deadline.
		lift()
	}
	if p != nil {
		if p.Status == http.StatusRequestEntityTooLarge || p.Status == http.StatusRequestTimeout {
			// Do not read the rest of a body we refused.
			w.Header().Set("Connection", "close")
		}
		WriteProblem(w, r, p)
		return
	}
	if h.inPointer && reflect.ValueOf(any(d.in)).IsNil() {
		WriteProblem(w, r, problemf(http.StatusBadRequest, CodeWrongType, "the request body must not be null"))
		return
	}
	var err error
	switch {
	case h.validatePtr:
		err = any(&d.in).(Validator).Validate()
	case h.validateVal:
		err = any(d.in).(Validator).Validate()
	}
	if err != nil {
		WriteProblem(w, r, validationProblem(err))
		return
	}
	out, err := h.f(r.Context(), r, d.in)
	if err != nil {
		writeError(w, r, err, h.logger)
		return
	}
	writeReply(w, r, any(out), h.logger)
}

// Get returns a handler for requests without a body: GET and HEAD, and also
// DELETE or a POST that carries no payload. It ignores the request body,
// calls f and writes its reply or error exactly as [Handle] does.
// cfg may be nil for the defaults.
func Get[Out any](cfg *Config, f func(ctx context.Context, r *http.Request) (Out, error)) http.Handler {
	h := &getHandler[Out]{f: f}
	if cfg != nil {
		h.logger = cfg.Logger
	}
	return h
}

type getHandler[Out any] struct {
	f      func(context.Context, *http.Request) (Out, error)
	logger *slog.Logger
}

func (h *getHandler[Out]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out, err := h.f(r.Context(), r)
	if err != nil {
		writeError(w, r, err, h.logger)
		return
	}
	writeReply(w, r, any(out), h.logger)
}

// jsonContentType is shared by every reply's header map, saving an
// allocation per response; nothing appends to it.
var jsonContentType = []string{"application/json"}

// writeReply writes a handler's reply, applying [Result] and [StatusCoder].
func writeReply(w http.ResponseWriter, r *http.Request, out any, logger *slog.Logger) {
	status := http.StatusOK
	var header http.Header
	switch v := out.(type) {
	case resulter:
		status, header, out = v.result()
	case StatusCoder:
		status = v.StatusCode()
	}
	if header != nil {
		dst := w.Header()
		for k, vs := range header {
			dst[k] = append(dst[k], vs...)
		}
	}
	if status == http.StatusNoContent || status == http.StatusNotModified {
		w.WriteHeader(status)
		return
	}
	if err := WriteJSON(w, status, out); err != nil && isEncodeError(err) {
		writeError(w, r, fmt.Errorf("api: encode reply: %w", err), logger)
	}
	// Any other error is the write's: the client is gone.
}

// isEncodeError tells encoding/json's errors from a failed write.
func isEncodeError(err error) bool {
	var (
		typ *json.UnsupportedTypeError
		val *json.UnsupportedValueError
		mar *json.MarshalerError
	)
	return errors.As(err, &typ) || errors.As(err, &val) || errors.As(err, &mar)
}

// WriteJSON encodes v as JSON, followed by a newline, and writes it with
// the status and Content-Type application/json, for handlers that do not
// use [Handle]. v is encoded in full before anything is written, so if it
// cannot be encoded WriteJSON writes nothing (it has set the Content-Type
// header, which [WriteProblem] replaces) and returns encoding/json's
// error; otherwise it returns the error of the write, which means that the
// client went away.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	w.Header()["Content-Type"] = jsonContentType
	var dst io.Writer = w
	if status != http.StatusOK {
		dst = &statusWriter{w: w, status: status}
	}
	return json.NewEncoder(dst).Encode(v)
}

// statusWriter writes a status before the body, which json.Encoder writes
// in one call.
type statusWriter struct {
	w      http.ResponseWriter
	status int
}

func (s *statusWriter) Write(p []byte) (int, error) {
	s.w.WriteHeader(s.status)
	return s.w.Write(p)
}

// validationProblem turns the error of a Validate method into a 422
// Problem: a *Problem passes through; FieldErrors anywhere in the error's
// tree fill Problem.Errors; otherwise the error's text is the detail.
func validationProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	fields := collectFieldErrors(err, nil)
	if len(fields) == 0 {
		return &Problem{Status: http.StatusUnprocessableEntity, Code: CodeValidationFailed, Detail: err.Error()}
	}
	detail := "the request has an invalid field"
	if len(fields) > 1 {
		detail = "the request has " + strconv.Itoa(len(fields)) + " invalid fields"
	}
	return &Problem{Status: http.StatusUnprocessableEntity, Code: CodeValidationFailed, Detail: detail, Errors: fields}
}

func collectFieldErrors(err error, dst []FieldError) []FieldError {
	switch e := err.(type) {
	case nil:
		return dst
	case FieldError:
		return append(dst, e)
	case *FieldError:
		if e != nil {
			dst = append(dst, *e)
		}
		return dst
	case FieldErrors:
		return append(dst, e...)
	case interface{ Unwrap() []error }:
		for _, err := range e.Unwrap() {
			dst = collectFieldErrors(err, dst)
		}
		return dst
	case interface{ Unwrap() error }:
		return collectFieldErrors(e.Unwrap(), dst)
	}
	return dst
}
