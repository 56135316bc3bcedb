package auth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/suzaku-go/suzaku/api"
	"github.com/suzaku-go/suzaku/auth"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

// TestAuthProblemMatchesAPI: the middleware's 401 is written by package
// api's problem writer, byte for byte what an API handler answers, request
// id included.
func TestAuthProblemMatchesAPI(t *testing.T) {
	t.Parallel()
	m, err := auth.NewMiddleware(auth.MiddlewareConfig{Authenticator: &fakeAuth{}})
	testutil.Success(t, err)
	serve := func(h http.Handler) string {
		r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
		r.Header.Set(api.HeaderRequestID, "req-42")
		w := httptest.NewRecorder()
		api.RequestIDs(h).ServeHTTP(w, r)
		return w.Body.String()
	}
	got := serve(m.Require(whoami))
	want := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.WriteProblem(w, r, &api.Problem{Status: http.StatusUnauthorized, Detail: "authentication required"})
	}))
	testutil.Equal(t, "401 body", got, want)
	testutil.Equal(t, "401 body", got, `{"title":"Unauthorized","status":401,"detail":"authentication required","code":"unauthorized","request_id":"req-42"}`+"\n")
}
