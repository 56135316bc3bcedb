//go:build linux

package rawbaseline_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/suzaku-go/suzaku/internal/rawbaseline"
)

// Run the baseline behind any HTTP server; its loop stops with ctx.
func Example() {
	srv, err := rawbaseline.New()
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	hs := httptest.NewServer(srv)

	resp, err := http.Get(hs.URL + "/api/health")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, srv.Conns())

	stop()
	<-done
	hs.Close()
	// Output: 200 OK 0
}
