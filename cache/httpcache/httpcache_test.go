package httpcache_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/cache/httpcache"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

const body = `{"rooms":[1,2,3]}`

var (
	bodyTag = httpcache.ETag([]byte(body))
	modTime = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
)

// rooms is a JSON handler routed as "GET /rooms", so it serves HEAD too.
func rooms(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, body)
}

func serve(t *testing.T, cfg httpcache.Config, h http.HandlerFunc, method string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/rooms", httpcache.Middleware(cfg)(h))
	r := httptest.NewRequest(method, "/rooms", nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

func TestHTTPCacheETag(t *testing.T) {
	t.Parallel()
	w := serve(t, httpcache.Config{}, rooms, http.MethodGet)
	testutil.Equal(t, "status", w.Code, http.StatusOK)
	testutil.Equal(t, "ETag", w.Header().Get("ETag"), bodyTag)
	testutil.Equal(t, "Content-Length", w.Header().Get("Content-Length"), strconv.Itoa(len(body)))
	testutil.Equal(t, "body", w.Body.String(), body)
}

func TestHTTPCacheETagFunc(t *testing.T) {
	t.Parallel()
	a, b := httpcache.ETag([]byte("a")), httpcache.ETag([]byte("b"))
	testutil.Equal(t, "ETag(a) twice", httpcache.ETag([]byte("a")), a)
	if a == b {
		t.Fatalf("ETag(a) = ETag(b) = %s", a)
	}
	if !strings.HasPrefix(a, `"`) || !strings.HasSuffix(a, `"`) || strings.HasPrefix(a, "W/") {
		t.Fatalf("ETag(a) = %s, want a strong quoted tag", a)
	}
}

func TestHTTPCacheIfNoneMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		ifNoneMatch []string
		ims         string
		want        int
	}{
		{name: "matching tag", ifNoneMatch: []string{bodyTag}, want: http.StatusNotModified},
		{name: "weak form of the tag", ifNoneMatch: []string{"W/" + bodyTag}, want: http.StatusNotModified},
		{name: "in a list", ifNoneMatch: []string{`"a", W/"b",` + bodyTag}, want: http.StatusNotModified},
		{name: "in a second field line", ifNoneMatch: []string{`"a"`, bodyTag}, want: http.StatusNotModified},
		{name: "star", ifNoneMatch: []string{"*"}, want: http.StatusNotModified},
		{name: "other tag", ifNoneMatch: []string{`"other"`}, want: http.StatusOK},
		{name: "unquoted", ifNoneMatch: []string{strings.Trim(bodyTag, `"`)}, want: http.StatusOK},
		{name: "malformed before the tag", ifNoneMatch: []string{`"a` + bodyTag}, want: http.StatusOK},
		{name: "no condition", want: http.StatusOK},
		// If-None-Match takes precedence over If-Modified-Since.
		{name: "other tag, recent If-Modified-Since", ifNoneMatch: []string{`"other"`}, ims: time.Now().UTC().Format(http.TimeFormat), want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var header []string
			for _, v := range tt.ifNoneMatch {
				header = append(header, "If-None-Match", v)
			}
			if tt.ims != "" {
				header = append(header, "If-Modified-Since", tt.ims)
			}
			h := func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Last-Modified", modTime.Format(http.TimeFormat))
				rooms(w, r)
			}
			cfg := httpcache.Config{Policy: httpcache.Policy{NoCache: true}, Vary: []string{"Accept-Language"}}
			w := serve(t, cfg, h, http.MethodGet, header...)
			testutil.Equal(t, "status", w.Code, tt.want)
			testutil.Equal(t, "ETag", w.Header().Get("ETag"), bodyTag)
			testutil.Equal(t, "Cache-Control", w.Header().Get("Cache-Control"), "no-cache")
			testutil.Equal(t, "Vary", w.Header().Get("Vary"), "Accept-Language")
			if tt.want == http.StatusNotModified {
				testutil.Equal(t, "body", w.Body.String(), "")
				for _, k := range []string{"Content-Type", "Content-Length", "Last-Modified"} {
					testutil.Equal(t, k, w.Header().Get(k), "")
				}
			} else {
				testutil.Equal(t, "body", w.Body.String(), body)
			}
		})
	}
}

func TestHTTPCacheLastModified(t *testing.T) {
	t.Parallel()
	at := func(d time.Duration) string { return modTime.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name   string
		noETag bool
		ims    string
		want   int
	}{
		{name: "same time", ims: at(0), want: http.StatusNotModified},
		{name: "later", ims: at(time.Hour), want: http.StatusNotModified},
		{name: "earlier", ims: at(-time.Second), want: http.StatusOK},
		{name: "invalid date", ims: "yesterday", want: http.StatusOK},
		{name: "same time, no ETag", noETag: true, ims: at(0), want: http.StatusNotModified},
		{name: "earlier, no ETag", noETag: true, ims: at(-time.Hour), want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := func(w http.ResponseWriter, r *http.Request) {
				// Sub-second precision is ignored, as HTTP dates have none.
				w.Header().Set("Last-Modified", modTime.Add(500*time.Millisecond).Format(http.TimeFormat))
				rooms(w, r)
			}
			w := serve(t, httpcache.Config{NoETag: tt.noETag}, h, http.MethodGet, "If-Modified-Since", tt.ims)
			testutil.Equal(t, "status", w.Code, tt.want)
			if tt.want == http.StatusOK {
				testutil.Equal(t, "body", w.Body.String(), body)
				testutil.Equal(t, "Last-Modified", w.Header().Get("Last-Modified"), modTime.Format(http.TimeFormat))
			} else {
				testutil.Equal(t, "body", w.Body.String(), "")
			}
			if tt.noETag {
				testutil.Equal(t, "ETag", w.Header().Get("ETag"), "")
			}
		})
	}
}

// TestHTTPCacheHandlerETag checks that a handler's own (weak) ETag is kept
// and compared, and that its response is not buffered.
func TestHTTPCacheHandlerETag(t *testing.T) {
	t.Parallel()
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `W/"v7"`)
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "part 1;")
		io.WriteString(w, "part 2")
	}
	w := serve(t, httpcache.Config{}, h, http.MethodGet)
	testutil.Equal(t, "status", w.Code, http.StatusOK)
	testutil.Equal(t, "ETag", w.Header().Get("ETag"), `W/"v7"`)
	testutil.Equal(t, "Content-Length", w.Header().Get("Content-Length"), "")
	testutil.Equal(t, "body", w.Body.String(), "part 1;part 2")

	w = serve(t, httpcache.Config{}, h, http.MethodGet, "If-None-Match", `"v7"`)
	testutil.Equal(t, "status with If-None-Match", w.Code, http.StatusNotModified)
	testutil.Equal(t, "body with If-None-Match", w.Body.String(), "")
}

func TestHTTPCacheNotModifiedHelper(t *testing.T) {
	t.Parallel()
	rendered := 0
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"rooms-v42"`)
		if httpcache.NotModified(w, r) {
			return
		}
		rendered++
		io.WriteString(w, body)
	}
	tests := []struct {
		name, ifNoneMatch string
		want, rendered    int
	}{
		{name: "stale", ifNoneMatch: `"rooms-v41"`, want: http.StatusOK, rendered: 1},
		{name: "current", ifNoneMatch: `"rooms-v42"`, want: http.StatusNotModified, rendered: 1},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/rooms", nil)
		r.Header.Set("If-None-Match", tt.ifNoneMatch)
		w := httptest.NewRecorder()
		h(w, r)
		testutil.Equal(t, tt.name+": status", w.Code, tt.want)
		testutil.Equal(t, tt.name+": renders", rendered, tt.rendered)
	}
}

func TestHTTPCacheHEAD(t *testing.T) {
	t.Parallel()
	get := serve(t, httpcache.Config{}, rooms, http.MethodGet)
	head := serve(t, httpcache.Config{}, rooms, http.MethodHead)
	testutil.Equal(t, "HEAD status", head.Code, http.StatusOK)
	testutil.Equal(t, "HEAD ETag", head.Header().Get("ETag"), get.Header().Get("ETag"))
	testutil.Equal(t, "HEAD Content-Length", head.Header().Get("Content-Length"), get.Header().Get("Content-Length"))

	head = serve(t, httpcache.Config{}, rooms, http.MethodHead, "If-None-Match", bodyTag)
	testutil.Equal(t, "conditional HEAD status", head.Code, http.StatusNotModified)

	// A HEAD handler that writes no body cannot know the GET's tag.
	bodiless := func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			rooms(w, r)
		}
	}
	head = serve(t, httpcache.Config{}, bodiless, http.MethodHead)
	testutil.Equal(t, "bodiless HEAD ETag", head.Header().Get("ETag"), "")
	testutil.Equal(t, "bodiless HEAD status", head.Code, http.StatusOK)
}

func TestHTTPCachePolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		policy httpcache.Policy
		want   string
	}{
		{name: "zero", want: ""},
		{name: "hashed asset", policy: httpcache.Policy{MaxAge: 365 * 24 * time.Hour, Public: true, Immutable: true}, want: "public, max-age=31536000, immutable"},
		{name: "per-user revalidate", policy: httpcache.Policy{Private: true, NoCache: true}, want: "private, no-cache"},
		{name: "no store", policy: httpcache.Policy{NoStore: true}, want: "no-store"},
		{name: "stale while revalidate", policy: httpcache.Policy{MaxAge: 90 * time.Second, StaleWhileRevalidate: time.Hour, StaleIfError: 24 * time.Hour}, want: "max-age=90, stale-while-revalidate=3600, stale-if-error=86400"},
		{name: "shared", policy: httpcache.Policy{MaxAge: time.Minute, SharedMaxAge: time.Hour, MustRevalidate: true}, want: "max-age=60, s-maxage=3600, must-revalidate"},
		{name: "sub-second rounds down", policy: httpcache.Policy{MaxAge: 1500 * time.Millisecond}, want: "max-age=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "String()", tt.policy.String(), tt.want)
			w := serve(t, httpcache.Config{Policy: tt.policy}, rooms, http.MethodGet)
			testutil.Equal(t, "Cache-Control", w.Header().Get("Cache-Control"), tt.want)
		})
	}
}

func TestHTTPCachePolicyScope(t *testing.T) {
	t.Parallel()
	policy := httpcache.Policy{MaxAge: time.Hour}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{name: "handler's own", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			rooms(w, r)
		}, want: "no-store"},
		{name: "not found", handler: http.NotFound, want: ""},
		{name: "error", handler: func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, want: ""},
		{name: "no content", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}, want: "max-age=3600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := serve(t, httpcache.Config{Policy: policy}, tt.handler, http.MethodGet)
			testutil.Equal(t, "Cache-Control", w.Header().Get("Cache-Control"), tt.want)
			// Only 200 responses get a computed ETag.
			testutil.Equal(t, "has ETag", w.Header().Get("ETag") != "", w.Code == http.StatusOK)
		})
	}
}

func TestHTTPCacheVary(t *testing.T) {
	t.Parallel()
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding, accept-language")
		rooms(w, r)
	}
	w := serve(t, httpcache.Config{Vary: []string{"Accept-Language", "Cookie", "Cookie"}}, h, http.MethodGet)
	testutil.Equal(t, "Vary", w.Header().Values("Vary"), []string{"Accept-Encoding, accept-language", "Cookie"})

	star := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "*")
		rooms(w, r)
	}
	w = serve(t, httpcache.Config{Vary: []string{"Cookie"}}, star, http.MethodGet)
	testutil.Equal(t, "Vary after *", w.Header().Values("Vary"), []string{"*"})
}

func TestHTTPCacheOtherMethods(t *testing.T) {
	t.Parallel()
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		w := serve(t, httpcache.Config{Policy: httpcache.Policy{MaxAge: time.Hour}, Vary: []string{"Cookie"}}, rooms, m, "If-None-Match", "*")
		testutil.Equal(t, m+" status", w.Code, http.StatusOK)
		testutil.Equal(t, m+" ETag", w.Header().Get("ETag"), "")
		testutil.Equal(t, m+" Cache-Control", w.Header().Get("Cache-Control"), "")
		testutil.Equal(t, m+" body", w.Body.String(), body)
	}
}

func TestHTTPCacheLargeBody(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 100)
	h := func(w http.ResponseWriter, _ *http.Request) {
		for range 3 {
			io.WriteString(w, big)
		}
	}
	tests := []struct {
		name     string
		maxBody  int
		wantETag bool
	}{
		{name: "fits", maxBody: 300, wantETag: true},
		{name: "too large", maxBody: 250},
		{name: "buffering off", maxBody: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := serve(t, httpcache.Config{MaxBody: tt.maxBody}, h, http.MethodGet)
			testutil.Equal(t, "has ETag", w.Header().Get("ETag") != "", tt.wantETag)
			testutil.Equal(t, "body", w.Body.String(), strings.Repeat(big, 3))
		})
	}
}

func TestHTTPCacheFlush(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		flush func(w http.ResponseWriter) error
	}{
		{name: "http.Flusher", flush: func(w http.ResponseWriter) error { w.(http.Flusher).Flush(); return nil }},
		{name: "ResponseController", flush: func(w http.ResponseWriter) error { return http.NewResponseController(w).Flush() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := func(w http.ResponseWriter, _ *http.Request) {
				io.WriteString(w, "event 1\n")
				if err := tt.flush(w); err != nil {
					t.Errorf("flush: %v", err)
				}
				io.WriteString(w, "event 2\n")
			}
			w := serve(t, httpcache.Config{Policy: httpcache.Policy{NoStore: true}}, h, http.MethodGet)
			testutil.Equal(t, "flushed", w.Flushed, true)
			testutil.Equal(t, "ETag", w.Header().Get("ETag"), "")
			testutil.Equal(t, "Cache-Control", w.Header().Get("Cache-Control"), "no-store")
			testutil.Equal(t, "body", w.Body.String(), "event 1\nevent 2\n")
		})
	}
}

// TestHTTPCacheUnwrap hijacks the connection through the middleware's
// writer on a real server, as a WebSocket upgrade does: without Unwrap,
// http.ResponseController cannot reach the Hijacker.
func TestHTTPCacheUnwrap(t *testing.T) {
	t.Parallel()
	h := httpcache.Middleware(httpcache.Config{})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline: %v", err)
		}
		conn, brw, err := rc.Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		brw.Flush()
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	testutil.Success(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(bufio.NewReader(resp.Body))
	testutil.Success(t, err)
	testutil.Equal(t, "body", string(got), "hijacked")
	testutil.Equal(t, "ETag", resp.Header.Get("ETag"), "")
}
