package static_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing/fstest"

	"github.com/suzaku-go/suzaku/static"
)

func Example() {
	// In an application, embed the build:
	//
	//	//go:embed all:web/dist
	//	var dist embed.FS
	//	sub, _ := fs.Sub(dist, "web/dist")
	dist := fstest.MapFS{
		"index.html":                  {Data: []byte("<!doctype html><div id=app></div>")},
		"assets/index-BxY1a2_3.js":    {Data: []byte("console.log('app')")},
		"assets/index-BxY1a2_3.js.br": {Data: []byte("(brotli bytes)")},
	}
	spa, err := static.New(static.Config{FS: dist})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("/", spa) // everything the API routes do not take

	for _, req := range []struct{ path, acceptEncoding string }{
		{"/", ""},
		{"/rooms/42", ""},
		{"/assets/index-BxY1a2_3.js", "gzip, br"},
		{"/assets/index-0ld0ld00.js", ""},
		{"/api/rooms", ""},
	} {
		r := httptest.NewRequest("GET", req.path, nil)
		r.Header.Set("Accept-Encoding", req.acceptEncoding)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		h := w.Header()
		fmt.Printf("%s %d %s %q %q\n", req.path, w.Code, h.Get("Content-Type"), h.Get("Cache-Control"), h.Get("Content-Encoding"))
	}
	// Output:
	// / 200 text/html; charset=utf-8 "no-cache" ""
	// /rooms/42 200 text/html; charset=utf-8 "no-cache" ""
	// /assets/index-BxY1a2_3.js 200 text/javascript; charset=utf-8 "public, max-age=31536000, immutable" "br"
	// /assets/index-0ld0ld00.js 404 text/plain; charset=utf-8 "" ""
	// /api/rooms 404 application/problem+json "no-cache" ""
}

func ExampleIsHashed() {
	for _, name := range []string{
		"assets/index-BxY1a2_3.js",
		"static/js/main.3f2a9c1b.chunk.js",
		"assets/logo.svg",
		"OpenSans-SemiBold.ttf",
	} {
		fmt.Println(name, static.IsHashed(name))
	}
	// Output:
	// assets/index-BxY1a2_3.js true
	// static/js/main.3f2a9c1b.chunk.js true
	// assets/logo.svg false
	// OpenSans-SemiBold.ttf false
}
