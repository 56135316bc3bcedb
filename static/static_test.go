package static_test

import (
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/static"
)

const (
	indexHTML = `<!doctype html><html><head><script type="module" src="/assets/index-BxY1a2_3.js"></script></head><body><div id="app"></div></body></html>`
	appJS     = `import{createApp as e}from"./vendor-5JKOPUJW.js";e().mount("#app");`
)

// dist is a Vite-like build.
func dist() fstest.MapFS {
	return fstest.MapFS{
		"index.html":                  {Data: []byte(indexHTML)},
		"index.html.gz":               {Data: []byte("GZ(index)")},
		"favicon.ico":                 {Data: []byte("\x00\x00\x01\x00icon")},
		"robots.txt":                  {Data: []byte("User-agent: *\n")},
		"manifest.webmanifest":        {Data: []byte(`{"name":"app"}`)},
		"data.json":                   {Data: []byte(`{}`)},
		"module.mjs":                  {Data: []byte(`export {}`)},
		"assets/index-BxY1a2_3.js":    {Data: []byte(appJS)},
		"assets/index-BxY1a2_3.js.br": {Data: []byte("BR(app.js)")},
		"assets/index-BxY1a2_3.js.gz": {Data: []byte("GZ(app.js)")},
		"assets/index-DiwrgTda.css":   {Data: []byte("body{margin:0}")},
		"assets/logo.svg":             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		"assets/app-3f2a9c1b.wasm":    {Data: []byte("\x00asm\x01\x00\x00\x00")},
		"assets/inter-Ab12Cd34.woff2": {Data: []byte("wOF2")},
		".env":                        {Data: []byte("SECRET=1")},
		"sub/.git/config":             {Data: []byte("[core]")},
		".well-known/security.txt":    {Data: []byte("Contact: mailto:sec@example.com\n")},
		"docs/guide.txt":              {Data: []byte("guide")},
	}
}

func newSPA(t *testing.T, cfg static.Config) *static.SPA {
	t.Helper()
	if cfg.FS == nil {
		cfg.FS = dist()
	}
	spa, err := static.New(cfg)
	testutil.Success(t, err)
	return spa
}

func get(h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestSPARouting(t *testing.T) {
	t.Parallel()
	spa := newSPA(t, static.Config{})
	const (
		index    = "index"
		notFound = "404"
		apiJSON  = "api"
	)
	tests := []struct {
		name   string
		path   string
		want   string // index, 404, api, or the file's content
		status int
	}{
		{name: "root", path: "/", want: index, status: 200},
		{name: "index by name", path: "/index.html", want: index, status: 200},
		{name: "client route", path: "/rooms/42", want: index, status: 200},
		{name: "client route with slash", path: "/rooms/42/", want: index, status: 200},
		{name: "client route with query", path: "/settings?tab=profile", want: index, status: 200},
		{name: "hashed asset", path: "/assets/index-BxY1a2_3.js", want: appJS, status: 200},
		{name: "root file", path: "/robots.txt", want: "User-agent: *\n", status: 200},
		{name: "dot-dot inside the root", path: "/assets/../robots.txt", want: "User-agent: *\n", status: 200},
		{name: "missing hashed asset", path: "/assets/index-Zz99Yy88.js", want: notFound, status: 404},
		{name: "missing file", path: "/missing.js", want: notFound, status: 404},
		{name: "missing file without a directory", path: "/favicon.png", want: notFound, status: 404},
		{name: "extension in a route", path: "/users/jane.doe", want: notFound, status: 404},
		{name: "inside an asset directory", path: "/assets/chunk", want: notFound, status: 404},
		{name: "directory", path: "/assets", want: notFound, status: 404},
		{name: "directory with slash", path: "/assets/", want: notFound, status: 404},
		{name: "nested directory", path: "/docs", want: notFound, status: 404},
		{name: "api route", path: "/api/rooms", want: apiJSON, status: 404},
		{name: "api root", path: "/api", want: apiJSON, status: 404},
		{name: "api with a dot", path: "/api/rooms.json", want: apiJSON, status: 404},
		{name: "api reached by dot-dot", path: "/x/../api/rooms", want: apiJSON, status: 404},
		{name: "not an api prefix", path: "/apis", want: index, status: 200},
		{name: "dotfile", path: "/.env", want: notFound, status: 404},
		{name: "hidden directory", path: "/sub/.git/config", want: notFound, status: 404},
		{name: "well-known", path: "/.well-known/security.txt", want: "Contact: mailto:sec@example.com\n", status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := get(spa, "GET", tt.path)
			testutil.Equal(t, "status", w.Code, tt.status)
			body := w.Body.String()
			switch tt.want {
			case index:
				testutil.Equal(t, "body", body, indexHTML)
				testutil.Equal(t, "Content-Type", w.Header().Get("Content-Type"), "text/html; charset=utf-8")
				testutil.Equal(t, "Cache-Control", w.Header().Get("Cache-Control"), "no-cache")
			case notFound:
				testutil.Equal(t, "body", body, "404 page not found\n")
			case apiJSON:
				testutil.Equal(t, "Content-Type", w.Header().Get("Content-Type"), "application/problem+json")
				testutil.Equal(t, "body", body, `{"title":"Not Found","status":404,"code":"not_found"}`+"\n")
			default:
				testutil.Equal(t, "body", body, tt.want)
			}
		})
	}
}

func TestSPATraversal(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	testutil.Success(t, os.WriteFile(filepath.Join(root, "secret.txt"), []byte("TOP SECRET"), 0o600))
	distDir := filepath.Join(root, "dist")
	testutil.Success(t, os.MkdirAll(filepath.Join(distDir, "assets"), 0o755))
	testutil.Success(t, os.WriteFile(filepath.Join(distDir, "index.html"), []byte(indexHTML), 0o600))
	spa := newSPA(t, static.Config{FS: os.DirFS(distDir)})
	srv := httptest.NewServer(spa)
	t.Cleanup(srv.Close)

	for _, target := range []string{
		"/../secret.txt",
		"/assets/../../secret.txt",
		"/%2e%2e/secret.txt",
		"/..%2fsecret.txt",
		"/assets/..%2f..%2fsecret.txt",
		"/..%5csecret.txt",
		"/assets/%2e%2e%5c%2e%2e%5csecret.txt",
		"//secret.txt",
		"/%00/../secret.txt",
	} {
		t.Run(target, func(t *testing.T) {
			t.Parallel()
			// In process, where the path reaches the handler as it is...
			w := get(spa, "GET", target)
			if strings.Contains(w.Body.String(), "TOP SECRET") {
				t.Fatalf("in process: %s served the file outside the root", target)
			}
			// ...and through a real server, which cleans some paths first.
			resp, err := http.Get(srv.URL + target)
			testutil.Success(t, err)
			defer resp.Body.Close()
			var b strings.Builder
			_, err = io.Copy(&b, resp.Body)
			testutil.Success(t, err)
			if strings.Contains(b.String(), "TOP SECRET") {
				t.Fatalf("server: %s served the file outside the root", target)
			}
		})
	}
}

func TestSPAContentTypes(t *testing.T) {
	t.Parallel()
	spa := newSPA(t, static.Config{})
	tests := []struct {
		name string
		path string
		want string
	}{
		{name: "js", path: "/assets/index-BxY1a2_3.js", want: "text/javascript; charset=utf-8"},
		{name: "mjs", path: "/module.mjs", want: "text/javascript; charset=utf-8"},
		{name: "css", path: "/assets/index-DiwrgTda.css", want: "text/css; charset=utf-8"},
		{name: "svg", path: "/assets/logo.svg", want: "image/svg+xml"},
		{name: "wasm", path: "/assets/app-3f2a9c1b.wasm", want: "application/wasm"},
		{name: "json", path: "/data.json", want: "application/json"},
		{name: "webmanifest", path: "/manifest.webmanifest", want: "application/manifest+json"},
		{name: "woff2", path: "/assets/inter-Ab12Cd34.woff2", want: "font/woff2"},
		{name: "html", path: "/index.html", want: "text/html; charset=utf-8"},
		{name: "txt", path: "/robots.txt", want: "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := get(spa, "GET", tt.path)
			testutil.Equal(t, "status", w.Code, http.StatusOK)
			testutil.Equal(t, "Content-Type", w.Header().Get("Content-Type"), tt.want)
			testutil.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"), "nosniff")
		})
	}
}

func TestSPACacheHeaders(t *testing.T) {
	t.Parallel()
	spa := newSPA(t, static.Config{})
	tests := []struct {
		name      string
		path      string
		immutable bool
	}{
		{name: "vite js", path: "/assets/index-BxY1a2_3.js", immutable: true},
		{name: "vite css", path: "/assets/index-DiwrgTda.css", immutable: true},
		{name: "hex hash", path: "/assets/app-3f2a9c1b.wasm", immutable: true},
		{name: "unhashed asset", path: "/assets/logo.svg"},
		{name: "root file", path: "/robots.txt"},
		{name: "index", path: "/"},
		{name: "client route", path: "/rooms/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := get(spa, "GET", tt.path)
			testutil.Equal(t, "status", w.Code, http.StatusOK)
			etag := w.Header().Get("ETag")
			if len(etag) < 10 || !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
				t.Fatalf("ETag = %q, want a strong ETag", etag)
			}
			if tt.immutable {
				testutil.Equal(t, "Cache-Control", w.Header().Get("Cache-Control"), "public, max-age=31536000, immutable")
				return
			}
			testutil.Equal(t, "Cache-Control", w.Header().Get("Cache-Control"), "no-cache")

			w2 := get(spa, "GET", tt.path, "If-None-Match", etag)
			testutil.Equal(t, "revalidation status", w2.Code, http.StatusNotModified)
			testutil.Equal(t, "304 body", w2.Body.String(), "")
			testutil.Equal(t, "304 ETag", w2.Header().Get("ETag"), etag)
			testutil.Equal(t, "304 Cache-Control", w2.Header().Get("Cache-Control"), "no-cache")

			w3 := get(spa, "GET", tt.path, "If-None-Match", `"stale"`)
			testutil.Equal(t, "stale ETag status", w3.Code, http.StatusOK)
		})
	}
}

func TestSPAIndexETagStable(t *testing.T) {
	t.Parallel()
	spa := newSPA(t, static.Config{})
	root := get(spa, "GET", "/").Header().Get("ETag")
	route := get(spa, "GET", "/rooms/9").Header().Get("ETag")
	testutil.Equal(t, "client route ETag", route, root)
	w := get(spa, "GET", "/some/route", "If-None-Match", root)
	testutil.Equal(t, "client route revalidation", w.Code, http.StatusNotModified)
}

func TestSPAChangedFile(t *testing.T) {
	t.Parallel()
	fsys := dist()
	spa := newSPA(t, static.Config{FS: fsys})
	before := get(spa, "GET", "/robots.txt").Header().Get("ETag")
	fsys["robots.txt"] = &fstest.MapFile{Data: []byte("User-agent: *\nDisallow: /admin\n"), ModTime: time.Unix(1e9, 0)}
	w := get(spa, "GET", "/robots.txt", "If-None-Match", before)
	testutil.Equal(t, "status after a change", w.Code, http.StatusOK)
	testutil.Equal(t, "body", w.Body.String(), "User-agent: *\nDisallow: /admin\n")
	if after := w.Header().Get("ETag"); after == before {
		t.Fatalf("ETag %s did not change with the content", after)
	}
}

func TestSPACompression(t *testing.T) {
	t.Parallel()
	spa := newSPA(t, static.Config{})
	const js = "/assets/index-BxY1a2_3.js"
	tests := []struct {
		name           string
		acceptEncoding string
		encoding       string // "" for identity
	}{
		{name: "none", acceptEncoding: "", encoding: ""},
		{name: "gzip", acceptEncoding: "gzip", encoding: "gzip"},
		{name: "br", acceptEncoding: "br", encoding: "br"},
		{name: "br preferred", acceptEncoding: "gzip, deflate, br, zstd", encoding: "br"},
		{name: "case", acceptEncoding: "GZIP, BR", encoding: "br"},
		{name: "q-values", acceptEncoding: "br;q=0.5, gzip", encoding: "gzip"},
		{name: "q-values with spaces", acceptEncoding: "gzip ; q=0.2 , br ; q=0.9", encoding: "br"},
		{name: "br refused", acceptEncoding: "br;q=0, gzip", encoding: "gzip"},
		{name: "both refused", acceptEncoding: "br;q=0, gzip;q=0.000", encoding: ""},
		{name: "wildcard", acceptEncoding: "*", encoding: "br"},
		{name: "wildcard refused", acceptEncoding: "*;q=0", encoding: ""},
		{name: "wildcard except br", acceptEncoding: "br;q=0, *", encoding: "gzip"},
		{name: "identity", acceptEncoding: "identity", encoding: ""},
		{name: "x-gzip", acceptEncoding: "x-gzip", encoding: "gzip"},
		{name: "malformed q", acceptEncoding: "br;q=high, gzip;q=0.1", encoding: "gzip"},
		{name: "q above 1", acceptEncoding: "br;q=1.5, gzip", encoding: "gzip"},
		{name: "unknown coding", acceptEncoding: "zstd", encoding: ""},
	}
	bodies := map[string]string{"": appJS, "br": "BR(app.js)", "gzip": "GZ(app.js)"}
	etags := map[string]string{}
	for _, tt := range tests {
		w := get(spa, "GET", js, "Accept-Encoding", tt.acceptEncoding)
		t.Run(tt.name, func(t *testing.T) {
			testutil.Equal(t, "status", w.Code, http.StatusOK)
			testutil.Equal(t, "Content-Encoding", w.Header().Get("Content-Encoding"), tt.encoding)
			testutil.Equal(t, "body", w.Body.String(), bodies[tt.encoding])
			testutil.Equal(t, "Content-Length", w.Header().Get("Content-Length"), strconv.Itoa(len(bodies[tt.encoding])))
			testutil.Equal(t, "Content-Type", w.Header().Get("Content-Type"), "text/javascript; charset=utf-8")
			testutil.Equal(t, "Vary", w.Header().Get("Vary"), "Accept-Encoding")
			testutil.Equal(t, "Cache-Control", w.Header().Get("Cache-Control"), "public, max-age=31536000, immutable")
		})
		etags[tt.encoding] = w.Header().Get("ETag")
	}
	if etags[""] == etags["br"] || etags[""] == etags["gzip"] || etags["br"] == etags["gzip"] {
		t.Errorf("representations share ETags: %v", etags)
	}

	// The gzip-only index, revalidated with the gzip ETag.
	w := get(spa, "GET", "/rooms/1", "Accept-Encoding", "br, gzip")
	testutil.Equal(t, "index encoding", w.Header().Get("Content-Encoding"), "gzip")
	testutil.Equal(t, "index body", w.Body.String(), "GZ(index)")
	w = get(spa, "GET", "/", "Accept-Encoding", "gzip", "If-None-Match", w.Header().Get("ETag"))
	testutil.Equal(t, "index revalidation", w.Code, http.StatusNotModified)
	testutil.Equal(t, "304 Content-Encoding", w.Header().Get("Content-Encoding"), "")

	// No sibling, no Vary.
	w = get(spa, "GET", "/robots.txt", "Accept-Encoding", "br, gzip")
	testutil.Equal(t, "plain Content-Encoding", w.Header().Get("Content-Encoding"), "")
	testutil.Equal(t, "plain Vary", w.Header().Get("Vary"), "")
}

func TestSPARange(t *testing.T) {
	t.Parallel()
	spa := newSPA(t, static.Config{})
	w := get(spa, "GET", "/assets/index-BxY1a2_3.js", "Range", "bytes=0-5", "Accept-Encoding", "br, gzip")
	testutil.Equal(t, "status", w.Code, http.StatusPartialContent)
	testutil.Equal(t, "body", w.Body.String(), appJS[:6])
	testutil.Equal(t, "Content-Encoding", w.Header().Get("Content-Encoding"), "")
	testutil.Equal(t, "Content-Range", w.Header().Get("Content-Range"), "bytes 0-5/"+strconv.Itoa(len(appJS)))

	w = get(spa, "GET", "/", "Range", "bytes=-4")
	testutil.Equal(t, "index suffix status", w.Code, http.StatusPartialContent)
	testutil.Equal(t, "index suffix", w.Body.String(), "tml>")

	w = get(spa, "GET", "/robots.txt", "Range", "bytes=500-600")
	testutil.Equal(t, "unsatisfiable", w.Code, http.StatusRequestedRangeNotSatisfiable)
	testutil.Equal(t, "no ETag on the error", w.Header().Get("ETag"), "")
}

func TestSPAHead(t *testing.T) {
	t.Parallel()
	spa := newSPA(t, static.Config{})
	srv := httptest.NewServer(spa)
	defer srv.Close()
	for _, tt := range []struct{ path, acceptEncoding, length string }{
		{"/", "", strconv.Itoa(len(indexHTML))},
		{"/rooms/7", "", strconv.Itoa(len(indexHTML))},
		{"/assets/index-BxY1a2_3.js", "br", strconv.Itoa(len("BR(app.js)"))},
	} {
		req, err := http.NewRequest("HEAD", srv.URL+tt.path, nil)
		testutil.Success(t, err)
		req.Header.Set("Accept-Encoding", tt.acceptEncoding)
		resp, err := http.DefaultClient.Do(req)
		testutil.Success(t, err)
		resp.Body.Close()
		testutil.Equal(t, "HEAD "+tt.path+" status", resp.StatusCode, http.StatusOK)
		testutil.Equal(t, "HEAD "+tt.path+" Content-Length", resp.Header.Get("Content-Length"), tt.length)
		if resp.Header.Get("ETag") == "" {
			t.Errorf("HEAD %s: no ETag", tt.path)
		}
	}
	w := get(spa, "HEAD", "/robots.txt")
	testutil.Equal(t, "in-process HEAD body", w.Body.String(), "")
}

func TestSPAMethods(t *testing.T) {
	t.Parallel()
	spa := newSPA(t, static.Config{})
	for _, m := range []string{"POST", "PUT", "DELETE", "OPTIONS"} {
		w := get(spa, m, "/")
		testutil.Equal(t, m+" status", w.Code, http.StatusMethodNotAllowed)
		testutil.Equal(t, m+" Allow", w.Header().Get("Allow"), "GET, HEAD")
	}
}

func TestSPAConfig(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"app.html":       {Data: []byte("app")},
		"main.js":        {Data: []byte("js")},
		"api/schema.txt": {Data: []byte("schema")},
	}
	spa := newSPA(t, static.Config{
		FS:          fsys,
		Index:       "app.html",
		APIPrefixes: []string{"/v1/", "/graphql"},
		Immutable:   func(name string) bool { return name == "main.js" },
	})
	testutil.Equal(t, "index", get(spa, "GET", "/route").Body.String(), "app")
	testutil.Equal(t, "custom prefix", get(spa, "GET", "/v1/rooms").Code, http.StatusNotFound)
	testutil.Equal(t, "prefix without a slash", get(spa, "GET", "/graphql").Code, http.StatusNotFound)
	testutil.Equal(t, "prefix without a slash, longer", get(spa, "GET", "/graphqlx").Code, http.StatusNotFound)
	testutil.Equal(t, "/api is not special", get(spa, "GET", "/api/schema.txt").Body.String(), "schema")
	testutil.Equal(t, "custom immutable", get(spa, "GET", "/main.js").Header().Get("Cache-Control"), static.CacheImmutable)

	none := newSPA(t, static.Config{FS: fsys, Index: "app.html", APIPrefixes: []string{}})
	testutil.Equal(t, "no prefixes", get(none, "GET", "/v1/rooms").Body.String(), "app")
}

func TestSPANewErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  static.Config
		is   error
	}{
		{name: "no FS", cfg: static.Config{}},
		{name: "missing index", cfg: static.Config{FS: fstest.MapFS{"app.html": {}}}, is: fs.ErrNotExist},
		{name: "index is a directory", cfg: static.Config{FS: fstest.MapFS{"index.html/x": {}}}},
		{name: "invalid index path", cfg: static.Config{FS: dist(), Index: "../index.html"}},
		{name: "prefix without a slash", cfg: static.Config{FS: dist(), APIPrefixes: []string{"api/"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := static.New(tt.cfg)
			testutil.Error(t, err)
			if tt.is != nil {
				testutil.ErrorIs(t, err, tt.is)
			}
		})
	}
}

func TestIsHashed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want bool
	}{
		{"assets/index-BxY1a2_3.js", true},     // Vite, digit and upper case
		{"assets/index-C-7lhmXt.js", true},     // Vite, a dash in the hash
		{"assets/index-DiwrgTda.css", true},    // Vite, letters only, in assets/
		{"assets/index-BxY1a2_3.js.map", true}, // source map
		{"assets/index-BxY1a2_3.js.br", true},  // precompressed
		{"assets/Inter-SemiBold-Ab1Cd2Ef.woff2", true},
		{"main.3f2a9c1b.js", true},                 // webpack, Parcel
		{"static/js/main.3f2a9c1b.chunk.js", true}, // Create React App
		{"js/app.8d3c4f0e1a2b3c4d5e6f.js", true},   // webpack [contenthash] (20)
		{"chunk-5JKOPUJW.js", true},                // esbuild
		{"index-DiwrgTda.css", false},              // letters only, outside assets/
		{"OpenSans-SemiBold.ttf", false},           // a name, not a hash
		{"assets/logo.svg", false},                 // too short
		{"roboto-condensed.woff2", false},          // a word
		{"fa-solid-900.woff2", false},              // short segments
		{"font-awesome-regular400.woff2", false},   // not hex, no upper case
		{"hero-1920x1080.jpg", false},              // not hex
		{"bootstrap.min.css", false},               // no hash segment
		{"jquery-3.7.1.min.js", false},             // version, not hash
		{"abcdef12.js", false},                     // no name before the hash
		{"assets/3f2a9c1b3f2a9c1b", false},         // no extension
		{"report-20240101.pdf", false},             // digits only
		{"favicon.ico", false},
		{"index.html", false},
		{"assets/a-b-c-d-e-f-g-h-i.js", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "IsHashed("+tt.name+")", static.IsHashed(tt.name), tt.want)
		})
	}
}

// failingFS fails to open one file with a permission error.
type failingFS struct {
	fs.FS
	name string
}

func (f failingFS) Open(name string) (fs.File, error) {
	if name == f.name {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f.FS.Open(name)
}

func TestSPAReadError(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	spa := newSPA(t, static.Config{
		FS:     failingFS{FS: dist(), name: "robots.txt"},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	w := get(spa, "GET", "/robots.txt")
	testutil.Equal(t, "status", w.Code, http.StatusInternalServerError)
	if strings.Contains(w.Body.String(), "permission") {
		t.Errorf("the error leaked: %q", w.Body)
	}
	if !strings.Contains(logs.String(), "file=robots.txt") || !strings.Contains(logs.String(), "permission denied") {
		t.Errorf("log = %q", logs.String())
	}
}
