package health_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/health"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, strings.TrimSpace(string(b))
}

func TestHealthProbes(t *testing.T) {
	t.Parallel()
	var brokerDown atomic.Bool
	probe := health.New(health.Config{})
	probe.Check("broker", health.CheckerFunc(func(ctx context.Context) error {
		if brokerDown.Load() {
			return errors.New("dial tcp 10.0.0.1:6379: connection refused")
		}
		return nil
	}))
	probe.Check("optional", nil) // ignored
	mux := http.NewServeMux()
	probe.Mount(mux)

	tests := []struct {
		name       string
		down       bool
		drain      bool
		path       string
		wantStatus int
		wantBody   string
	}{
		{name: "alive", path: "/healthz", wantStatus: 200, wantBody: `{"status":"alive"}`},
		{name: "ready", path: "/readyz", wantStatus: 200, wantBody: `{"status":"ready"}`},
		{name: "broker down", down: true, path: "/readyz", wantStatus: 503, wantBody: `{"failing":["broker"],"status":"unready"}`},
		{name: "alive with broker down", down: true, path: "/healthz", wantStatus: 200, wantBody: `{"status":"alive"}`},
		{name: "ready again", path: "/readyz", wantStatus: 200, wantBody: `{"status":"ready"}`},
		{name: "draining", drain: true, path: "/readyz", wantStatus: 503, wantBody: `{"status":"draining"}`},
		{name: "alive while draining", drain: true, path: "/healthz", wantStatus: 200, wantBody: `{"status":"alive"}`},
	}
	for _, tt := range tests { // in order: the probe's state carries over
		brokerDown.Store(tt.down)
		if tt.drain {
			probe.Drain()
		}
		status, body := get(t, mux, tt.path)
		testutil.Equal(t, tt.name+" status", status, tt.wantStatus)
		testutil.Equal(t, tt.name+" body", body, tt.wantBody)
	}
}

// TestHealthCheckTimeout: a check that hangs fails after Config.Timeout
// instead of holding the probe.
func TestHealthCheckTimeout(t *testing.T) {
	t.Parallel()
	probe := health.New(health.Config{Timeout: 50 * time.Millisecond})
	probe.Check("slow", health.CheckerFunc(func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}))
	start := time.Now()
	err := probe.Ready(context.Background())
	testutil.ErrorIs(t, err, context.DeadlineExceeded)
	var ce *health.CheckError
	if !errors.As(err, &ce) || ce.Name != "slow" {
		t.Fatalf("Ready() = %v, want a CheckError named slow", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Ready took %v with a 50ms timeout", d)
	}
}
