package api

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// Log attribute keys of the access log and the error logs.
const (
	keyMethod    = "method"
	keyPath      = "path"
	keyStatus    = "status"
	keyBytes     = "bytes"
	keyDuration  = "duration"
	keyRequestID = "request_id"
	keyError     = "error"
	keyPanic     = "panic"
	keyStack     = "stack"
)

// Chain composes middleware: Chain(a, b, c)(h) is a(b(c(h))), so a request
// passes through a first. A typical API stack is
//
//	api.Chain(api.RequestIDs, api.AccessLog(logger), api.Recover(logger), cors.Wrap)
//
// RequestIDs comes first so that every later log line and problem carries
// the id; Recover comes after AccessLog so that a panic is logged as a 500.
func Chain(mws ...func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		for i := len(mws) - 1; i >= 0; i-- {
			h = mws[i](h)
		}
		return h
	}
}

// HeaderRequestID is the header that carries the request id, both ways.
const HeaderRequestID = "X-Request-ID"

// maxRequestIDLen bounds an incoming request id, in bytes.
const maxRequestIDLen = 128

type requestIDKey struct{}

// RequestIDs is middleware that gives each request an id: the incoming
// X-Request-ID if it is 1 to 128 visible ASCII characters (a proxy's id is
// kept, so logs of both correlate), otherwise a new random 26-character
// one. It puts the id in the request's context, for [RequestID], and in the
// X-Request-ID response header.
func RequestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderRequestID)
		if !validRequestID(id) {
			id = rand.Text()
		}
		w.Header().Set(HeaderRequestID, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// RequestID returns the id [RequestIDs] gave the request whose context is
// ctx, or "" if there is none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Recover is middleware that turns a panic in a handler into a 500
// problem+json response (code "internal") and logs the panic value and the
// stack at Error level; logger may be nil to discard the log. It does not
// recover http.ErrAbortHandler, the way to abort a response on purpose.
// If the handler hijacked the connection (a WebSocket upgrade) nothing is
// written, since the connection is no longer HTTP; if the response had
// already started, the response is aborted with http.ErrAbortHandler, so
// the client sees a broken response rather than a truncated one that
// looks complete.
func Recover(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := wrap(w)
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				if logger != nil {
					logger.LogAttrs(r.Context(), slog.LevelError, "api: panic serving request",
						slog.String(keyMethod, r.Method),
						slog.String(keyPath, r.URL.Path),
						slog.String(keyRequestID, RequestID(r.Context())),
						slog.Any(keyPanic, v),
						slog.String(keyStack, string(debug.Stack())),
					)
				}
				switch {
				case rec.hijacked:
					return
				case rec.wroteHeader:
					panic(http.ErrAbortHandler)
				}
				WriteProblem(rec, r, &Problem{Status: http.StatusInternalServerError, Code: CodeInternal})
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// AccessLog is middleware that logs one line per request, at Info level
// (Error for 5xx), with the method, path (without the query, which may
// hold secrets), status, response body bytes, duration and request id.
// A hijacked connection (a WebSocket upgrade) is logged with status 101.
// A nil logger disables the middleware.
func AccessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	if logger == nil {
		return func(next http.Handler) http.Handler { return next }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := wrap(w)
			defer func() {
				status := rec.status
				switch {
				case rec.hijacked:
					status = http.StatusSwitchingProtocols
				case !rec.wroteHeader:
					status = http.StatusOK
				}
				level := slog.LevelInfo
				if status >= 500 {
					level = slog.LevelError
				}
				id := RequestID(r.Context())
				if id == "" {
					// RequestIDs may run inside AccessLog.
					id = rec.Header().Get(HeaderRequestID)
				}
				logger.LogAttrs(r.Context(), level, "http request",
					slog.String(keyMethod, r.Method),
					slog.String(keyPath, r.URL.Path),
					slog.Int(keyStatus, status),
					slog.Int64(keyBytes, rec.bytes),
					slog.Duration(keyDuration, time.Since(start)),
					slog.String(keyRequestID, id),
				)
			}()
			next.ServeHTTP(rec, r)
		})
	}
}
