package httpcache_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/suzaku-go/suzaku/cache/httpcache"
)

func Example() {
	mux := http.NewServeMux()
	revalidate := httpcache.Middleware(httpcache.Config{
		Policy: httpcache.Policy{Private: true, NoCache: true},
	})
	mux.Handle("GET /api/rooms", revalidate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[{"id":1,"name":"lobby"}]`)
	})))

	// First visit: the full response and its ETag.
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/api/rooms", nil))
	etag := w.Header().Get("ETag")
	fmt.Println(w.Code, w.Header().Get("Cache-Control"), etag, w.Body.String())

	// Revalidation: nothing changed, no body.
	r := httptest.NewRequest("GET", "/api/rooms", nil)
	r.Header.Set("If-None-Match", etag)
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.Len())
	// Output:
	// 200 private, no-cache "Pt9QkXsVfIR2XqvfXXeYBg" [{"id":1,"name":"lobby"}]
	// 304 0
}

func ExampleNotModified() {
	updated := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", updated.Format(http.TimeFormat))
		if httpcache.NotModified(w, r) {
			return // skipped rendering
		}
		io.WriteString(w, "rendered")
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("If-Modified-Since", updated.Format(http.TimeFormat))
	w := httptest.NewRecorder()
	h(w, r)
	fmt.Println(w.Code)
	// Output: 304
}

func ExamplePolicy() {
	assets := httpcache.Policy{MaxAge: 365 * 24 * time.Hour, Public: true, Immutable: true}
	fmt.Println(assets)
	// Output: public, max-age=31536000, immutable
}
