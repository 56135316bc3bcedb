// Package api is the JSON API layer of a suzaku backend: typed handlers that
// decode a JSON request strictly and encode a JSON reply, errors as RFC 9457
// problem details, middleware (request ids, panic recovery, access logs,
// CORS) and keyset pagination. Everything is plain net/http: handlers are
// http.Handlers and middleware is func(http.Handler) http.Handler, routed
// with http.ServeMux patterns such as "GET /api/rooms/{id}" and read with
// r.PathValue; there is no router of its own. The package imports only the
// standard library.
//
// # Handlers
//
// [Handle] turns a function of a request value into a handler:
//
//	func createRoom(ctx context.Context, r *http.Request, in CreateRoom) (api.Result[Room], error)
//
//	mux.Handle("POST /api/rooms", api.Handle(cfg, createRoom))
//	mux.Handle("GET /api/rooms/{id}", api.Get(cfg, getRoom))
//
// Handle decodes the body (Content-Type application/json, at most
// [Config.MaxBodyBytes], no unknown fields, one value), runs the request's
// Validate method ([Validator]), calls the function and writes its reply
// with 200, or the status the reply chooses ([StatusCoder], [Result],
// [Created], [NoContent]). [Get] is the same for requests without a body.
//
// # Errors
//
// Every error response is a [Problem] served as application/problem+json,
// with a stable [Problem.Code] ("invalid_json", "unknown_field",
// "validation_failed", …), the invalid fields in [Problem.Errors] and the
// request id. A handler returns one with [Error]; an error that is not a
// *Problem (checked with errors.As) becomes a 500 with code "internal",
// and its text goes to [Config.Logger], never to the client.
// [WriteProblem] and [Config.WriteError] do the same for hand-written
// handlers.
//
// # Middleware
//
// [RequestIDs] assigns each request an id ([RequestID] reads it), [Recover]
// turns panics into 500 problems, [AccessLog] logs each request with slog,
// and [CORS] (built by [NewCORS]) answers preflights and sets the CORS
// headers. [Chain] composes them. The wrapper they put around the
// ResponseWriter implements Unwrap, Flush and Hijack, so
// http.ResponseController and WebSocket upgrades work through them.
//
// # Pagination
//
// A [Pager] parses ?limit= and ?cursor= into a [PageQuery] and mints
// opaque, optionally HMAC-signed cursors; [NewPage] builds the [Page]
// reply.
//
// # Performance
//
// For a small JSON request and reply, a [Handle] handler costs about 3 %
// more than a bare net/http handler doing the same decode, validate and
// encode by hand, with one allocation fewer (BenchmarkHandleOverhead). The
// decoding and encoding are encoding/json's; the wrapper adds the
// Content-Type check, the body limit and the check for trailing data, and
// avoids boxing and copies elsewhere.
package api
