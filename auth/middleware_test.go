package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/suzaku-go/suzaku/auth"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

// fakeAuth accepts "good" (subject 42), rejects "expired" as expired and
// "broken" with a backend failure, and everything else as invalid.
type fakeAuth struct{ calls atomic.Int32 }

var errBackend = errors.New("database down")

func (f *fakeAuth) Authenticate(_ context.Context, tok string) (*auth.Identity, error) {
	f.calls.Add(1)
	switch tok {
	case "":
		return nil, auth.ErrNoToken
	case "good":
		return &auth.Identity{Subject: "42"}, nil
	case "expired":
		return nil, auth.ErrTokenExpired
	case "broken":
		return nil, errBackend
	}
	return nil, auth.ErrInvalidToken
}

// whoami answers the subject in the request context, or "anonymous".
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if id, ok := auth.FromContext(r.Context()); ok {
		io.WriteString(w, id.Subject)
		return
	}
	io.WriteString(w, "anonymous")
})

type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func TestAuthMiddleware(t *testing.T) {
	t.Parallel()
	const (
		challenge = `Bearer realm="suzaku"`
		invalid   = `Bearer realm="suzaku", error="invalid_token", error_description="the access token is invalid"`
		expired   = `Bearer realm="suzaku", error="invalid_token", error_description="the access token expired"`
	)
	tests := []struct {
		name          string
		require       bool
		authorization string
		cookie        string
		wantStatus    int
		wantBody      string // the subject, for 200
		wantChallenge string
		wantDetail    string
	}{
		{name: "bearer, require", require: true, authorization: "Bearer good", wantStatus: 200, wantBody: "42"},
		{name: "bearer, optional", authorization: "Bearer good", wantStatus: 200, wantBody: "42"},
		{name: "scheme is case-insensitive", require: true, authorization: "bearer good", wantStatus: 200, wantBody: "42"},
		{name: "no token, optional", wantStatus: 200, wantBody: "anonymous"},
		{name: "no token, require", require: true, wantStatus: 401, wantChallenge: challenge, wantDetail: "authentication required"},
		{name: "other scheme, require", require: true, authorization: "Basic dXNlcjpwYXNz", wantStatus: 401, wantChallenge: challenge, wantDetail: "authentication required"},
		{name: "other scheme, optional", authorization: "Basic dXNlcjpwYXNz", wantStatus: 200, wantBody: "anonymous"},
		{name: "invalid token, require", require: true, authorization: "Bearer forged", wantStatus: 401, wantChallenge: invalid, wantDetail: "the access token is invalid"},
		{name: "invalid token, optional", authorization: "Bearer forged", wantStatus: 401, wantChallenge: invalid, wantDetail: "the access token is invalid"},
		{name: "expired token", require: true, authorization: "Bearer expired", wantStatus: 401, wantChallenge: expired, wantDetail: "the access token expired"},
		{name: "empty bearer", require: true, authorization: "Bearer ", wantStatus: 401, wantChallenge: invalid, wantDetail: "the access token is invalid"},
		{name: "cookie", require: true, cookie: "good", wantStatus: 200, wantBody: "42"},
		{name: "invalid cookie", cookie: "forged", wantStatus: 401, wantChallenge: invalid, wantDetail: "the access token is invalid"},
		{name: "header before cookie", require: true, authorization: "Bearer good", cookie: "forged", wantStatus: 200, wantBody: "42"},
		{name: "backend failure", require: true, authorization: "Bearer broken", wantStatus: 500, wantDetail: "authentication failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := auth.NewMiddleware(auth.MiddlewareConfig{Authenticator: &fakeAuth{}, Cookie: "session", Realm: "suzaku"})
			testutil.Success(t, err)
			h := m.Optional(whoami)
			if tt.require {
				h = m.Require(whoami)
			}
			r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
			if tt.authorization != "" {
				r.Header.Set("Authorization", tt.authorization)
			}
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "session", Value: tt.cookie})
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)

			testutil.Equal(t, "status", w.Code, tt.wantStatus)
			testutil.Equal(t, "WWW-Authenticate", w.Header().Get("WWW-Authenticate"), tt.wantChallenge)
			if tt.wantStatus == http.StatusOK {
				testutil.Equal(t, "body", w.Body.String(), tt.wantBody)
				return
			}
			testutil.Equal(t, "Content-Type", w.Header().Get("Content-Type"), "application/problem+json")
			testutil.Equal(t, "Cache-Control", w.Header().Get("Cache-Control"), "no-store")
			var p problemBody
			testutil.Success(t, json.Unmarshal(w.Body.Bytes(), &p))
			testutil.Equal(t, "problem", p, problemBody{
				Title:  http.StatusText(tt.wantStatus),
				Status: tt.wantStatus,
				Detail: tt.wantDetail,
			})
		})
	}
}

func TestAuthMiddlewareNoRealm(t *testing.T) {
	t.Parallel()
	m, err := auth.NewMiddleware(auth.MiddlewareConfig{Authenticator: &fakeAuth{}})
	testutil.Success(t, err)
	w := httptest.NewRecorder()
	m.Require(whoami).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	testutil.Equal(t, "WWW-Authenticate", w.Header().Get("WWW-Authenticate"), "Bearer")

	// Without Cookie configured, cookies are not read.
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: "good"})
	w = httptest.NewRecorder()
	m.Require(whoami).ServeHTTP(w, r)
	testutil.Equal(t, "status with an unconfigured cookie", w.Code, http.StatusUnauthorized)
}

// TestAuthMiddlewareNested mounts Optional on every route and Require on
// one: the token is verified once.
func TestAuthMiddlewareNested(t *testing.T) {
	t.Parallel()
	fa := &fakeAuth{}
	m, err := auth.NewMiddleware(auth.MiddlewareConfig{Authenticator: fa})
	testutil.Success(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /public", whoami)
	mux.Handle("GET /private", m.Require(whoami))
	h := m.Optional(mux)

	r := httptest.NewRequest(http.MethodGet, "/private", nil)
	r.Header.Set("Authorization", "Bearer good")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	testutil.Equal(t, "status", w.Code, http.StatusOK)
	testutil.Equal(t, "Authenticate calls", fa.calls.Load(), int32(1))

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/public", nil))
	testutil.Equal(t, "anonymous public status", w.Code, http.StatusOK)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/private", nil))
	testutil.Equal(t, "anonymous private status", w.Code, http.StatusUnauthorized)
}

// TestAuthMiddlewareJWT runs the middleware with a real JWT.
func TestAuthMiddlewareJWT(t *testing.T) {
	t.Parallel()
	j := newJWT(t, auth.JWTConfig{Keys: []auth.Key{{ID: "k1", Key: ecKey()}}, Audience: []string{"api"}})
	tok, err := j.Issue(auth.Identity{Subject: "ada"})
	testutil.Success(t, err)
	m, err := auth.NewMiddleware(auth.MiddlewareConfig{Authenticator: j})
	testutil.Success(t, err)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	m.Require(whoami).ServeHTTP(w, r)
	testutil.Equal(t, "status", w.Code, http.StatusOK)
	testutil.Equal(t, "body", w.Body.String(), "ada")
}

func TestAuthNewMiddleware(t *testing.T) {
	t.Parallel()
	_, err := auth.NewMiddleware(auth.MiddlewareConfig{})
	testutil.Error(t, err)
}

func TestAuthContext(t *testing.T) {
	t.Parallel()
	_, ok := auth.FromContext(t.Context())
	testutil.Equal(t, "FromContext(empty)", ok, false)
	_, ok = auth.FromContext(auth.NewContext(t.Context(), nil))
	testutil.Equal(t, "FromContext(nil identity)", ok, false)
	want := &auth.Identity{Subject: "42"}
	got, ok := auth.FromContext(auth.NewContext(t.Context(), want))
	testutil.Equal(t, "FromContext()", got, want)
	testutil.Equal(t, "ok", ok, true)
}

func TestAuthCrossOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		header map[string]string
		want   int
	}{
		{name: "cross-site POST", method: http.MethodPost, header: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: http.StatusForbidden},
		{name: "same-site POST from another origin", method: http.MethodPost, header: map[string]string{"Sec-Fetch-Site": "same-site"}, want: http.StatusForbidden},
		{name: "cross-origin DELETE by Origin", method: http.MethodDelete, header: map[string]string{"Origin": "https://evil.example"}, want: http.StatusForbidden},
		{name: "same-origin POST", method: http.MethodPost, header: map[string]string{"Sec-Fetch-Site": "same-origin"}, want: http.StatusOK},
		{name: "same-origin POST by Origin", method: http.MethodPost, header: map[string]string{"Origin": "https://app.example"}, want: http.StatusOK},
		{name: "cross-site GET", method: http.MethodGet, header: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: http.StatusOK},
		{name: "non-browser POST", method: http.MethodPost, want: http.StatusOK},
	}
	h := auth.CrossOrigin(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "changed") }))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.method, "https://app.example/api/rooms", strings.NewReader("{}"))
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			testutil.Equal(t, "status", w.Code, tt.want)
		})
	}
}
