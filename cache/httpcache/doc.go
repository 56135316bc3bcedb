// Package httpcache makes HTTP responses cacheable by browsers and CDNs:
// ETags computed from response bodies, 304 Not Modified answers to
// conditional requests, and Cache-Control policies per route. It is
// net/http middleware and helpers, and imports only the standard library;
// the server-side cache is the parent package, cache.
//
// # Middleware
//
// [Middleware] wraps the handlers of GET routes that opt in:
//
//	api := httpcache.Middleware(httpcache.Config{
//		Policy: httpcache.Policy{Private: true, NoCache: true},
//	})
//	mux.Handle("GET /api/rooms", api(http.HandlerFunc(listRooms)))
//
// The first response carries ETag: "…"; the browser's next request sends
// If-None-Match: "…" and, if the body has not changed, gets 304 with no
// body. The handler still runs (the ETag is computed from what it writes),
// so the saving is bandwidth and client work; a handler that can tell
// from a version number or an update time that nothing changed sets its
// own ETag or Last-Modified and calls [NotModified] before rendering.
//
// # Policies
//
// A [Policy] is a Cache-Control value: NoCache (revalidate every time)
// with ETags for API reads, Private for per-user data, MaxAge with
// Immutable for content-addressed assets. The zero Policy writes nothing.
//
// # Conditional requests
//
// Only GET and HEAD are evaluated, with the rules of RFC 9110 §13.2.2 for
// If-None-Match (weak comparison, "*") and If-Modified-Since. If-Match,
// If-Unmodified-Since and If-Range are left to the handler.
//
// # Writers
//
// The middleware's ResponseWriter implements Unwrap, so
// http.ResponseController reaches Hijack, deadlines and full duplex
// through it (golang/go#54136), and Flush, which ends buffering. Streamed
// and hijacked responses therefore pass through without an ETag.
package httpcache
