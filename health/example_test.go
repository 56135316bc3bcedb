package health_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/suzaku-go/suzaku/health"
)

// Mount the probes in one line; add a check per dependency.
func Example() {
	probe := health.New(health.Config{})
	probe.Check("broker", health.CheckerFunc(func(ctx context.Context) error { return nil }))
	mux := http.NewServeMux()
	probe.Mount(mux)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	probe.Drain() // what SIGTERM does, through a *suzaku.Server check
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 200 {"status":"ready"}
	// 503 {"status":"draining"}
}
