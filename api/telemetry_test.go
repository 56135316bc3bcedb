package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/suzaku-go/suzaku/api"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/telemetry"
)

func TestAPITelemetry(t *testing.T) {
	t.Parallel()
	var got []telemetry.Event
	hook := telemetry.HookFunc(func(e telemetry.Event) { got = append(got, e) })
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/rooms/{id}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	mux.HandleFunc("POST /api/rooms", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	h := api.Chain(api.RequestIDs, api.Telemetry(hook))(mux)
	for _, req := range []struct{ method, path string }{
		{"GET", "/api/rooms/1"}, {"GET", "/api/rooms/2"}, {"POST", "/api/rooms"}, {"GET", "/wp-login.php"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.path, nil))
	}
	var routes []string
	var codes []int
	for _, e := range got {
		testutil.Equal(t, "kind", e.Kind, telemetry.KindAPIRequest)
		routes = append(routes, e.Pattern)
		codes = append(codes, e.Code)
	}
	testutil.Equal(t, "routes", routes, []string{"GET /api/rooms/{id}", "GET /api/rooms/{id}", "POST /api/rooms", "unmatched"})
	testutil.Equal(t, "codes", codes, []int{200, 200, 201, 404})
}
