package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/api"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

func newCORS(t *testing.T, cfg api.CORSConfig) http.Handler {
	t.Helper()
	c, err := api.NewCORS(cfg)
	testutil.Success(t, err)
	return c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Handler", "yes")
		w.WriteHeader(http.StatusOK)
	}))
}

func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	h := newCORS(t, api.CORSConfig{
		AllowedOrigins:   []string{"https://app.example.com", "https://*.preview.example.com", "http://localhost:5173"},
		AllowCredentials: true,
		MaxAge:           time.Hour,
	})
	tests := []struct {
		name    string
		origin  string
		method  string
		headers string
		status  int
	}{
		{name: "exact origin", origin: "https://app.example.com", method: "PUT", headers: "Content-Type, authorization", status: 204},
		{name: "origin case-insensitive", origin: "https://APP.example.com", method: "DELETE", status: 204},
		{name: "wildcard subdomain", origin: "https://pr-12.preview.example.com", method: "POST", headers: "content-type", status: 204},
		{name: "wildcard deeper subdomain", origin: "https://a.b.preview.example.com", method: "POST", status: 204},
		{name: "port matters", origin: "http://localhost:5173", method: "PATCH", status: 204},
		{name: "other port", origin: "http://localhost:3000", method: "PATCH", status: 403},
		{name: "wildcard excludes the apex", origin: "https://preview.example.com", method: "POST", status: 403},
		{name: "lookalike suffix", origin: "https://evilpreview.example.com", method: "POST", status: 403},
		{name: "suffix as a prefix", origin: "https://preview.example.com.evil.com", method: "POST", status: 403},
		{name: "port smuggled into the label", origin: "https://evil.com:1.preview.example.com", method: "POST", status: 403},
		{name: "other scheme", origin: "http://app.example.com", method: "PUT", status: 403},
		{name: "null origin", origin: "null", method: "PUT", status: 403},
		{name: "method not allowed", origin: "https://app.example.com", method: "TRACE", status: 403},
		{name: "header not allowed", origin: "https://app.example.com", method: "PUT", headers: "content-type, x-secret", status: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := request("OPTIONS", "/api/rooms", "", "")
			r.Header.Set("Origin", tt.origin)
			r.Header.Set("Access-Control-Request-Method", tt.method)
			if tt.headers != "" {
				r.Header.Set("Access-Control-Request-Headers", tt.headers)
			}
			rec := serve(h, r)
			hdr := rec.Header()
			testutil.Equal(t, "status", rec.Code, tt.status)
			testutil.Equal(t, "handler not called", hdr.Get("X-Handler"), "")
			testutil.Equal(t, "Vary", hdr.Values("Vary"), []string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"})
			if tt.status != 204 {
				testutil.Equal(t, "Allow-Origin", hdr.Get("Access-Control-Allow-Origin"), "")
				return
			}
			testutil.Equal(t, "Allow-Origin", hdr.Get("Access-Control-Allow-Origin"), tt.origin)
			testutil.Equal(t, "Allow-Credentials", hdr.Get("Access-Control-Allow-Credentials"), "true")
			testutil.Equal(t, "Allow-Methods", hdr.Get("Access-Control-Allow-Methods"), tt.method)
			testutil.Equal(t, "Allow-Headers", hdr.Get("Access-Control-Allow-Headers"), tt.headers)
			testutil.Equal(t, "Max-Age", hdr.Get("Access-Control-Max-Age"), "3600")
		})
	}
}

func TestCORSSimpleRequests(t *testing.T) {
	t.Parallel()
	h := newCORS(t, api.CORSConfig{
		AllowedOrigins: []string{"https://app.example.com"},
		ExposedHeaders: []string{"X-Request-ID", "Location"},
	})
	tests := []struct {
		name        string
		method      string
		origin      string
		allowOrigin string
		expose      string
	}{
		{name: "allowed origin", method: "GET", origin: "https://app.example.com",
			allowOrigin: "https://app.example.com", expose: "X-Request-ID, Location"},
		{name: "other origin still reaches the handler", method: "POST", origin: "https://evil.example"},
		{name: "same-origin or non-browser", method: "GET", origin: ""},
		{name: "OPTIONS without a preflight header", method: "OPTIONS", origin: "https://app.example.com",
			allowOrigin: "https://app.example.com", expose: "X-Request-ID, Location"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := request(tt.method, "/api/rooms", "", "")
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			rec := serve(h, r)
			hdr := rec.Header()
			testutil.Equal(t, "status", rec.Code, http.StatusOK)
			testutil.Equal(t, "handler called", hdr.Get("X-Handler"), "yes")
			testutil.Equal(t, "Vary", hdr.Get("Vary"), "Origin")
			testutil.Equal(t, "Allow-Origin", hdr.Get("Access-Control-Allow-Origin"), tt.allowOrigin)
			testutil.Equal(t, "Expose-Headers", hdr.Get("Access-Control-Expose-Headers"), tt.expose)
			testutil.Equal(t, "Allow-Credentials", hdr.Get("Access-Control-Allow-Credentials"), "")
		})
	}
}

func TestCORSAnyOrigin(t *testing.T) {
	t.Parallel()
	h := newCORS(t, api.CORSConfig{AllowedOrigins: []string{"*"}, AllowedHeaders: []string{"*"}, MaxAge: -1})
	r := request("GET", "/", "", "")
	r.Header.Set("Origin", "https://anyone.example")
	rec := serve(h, r)
	testutil.Equal(t, "Allow-Origin", rec.Header().Get("Access-Control-Allow-Origin"), "*")
	testutil.Equal(t, "no Vary", rec.Header().Get("Vary"), "")

	r = request("OPTIONS", "/", "", "")
	r.Header.Set("Origin", "https://anyone.example")
	r.Header.Set("Access-Control-Request-Method", "GET")
	r.Header.Set("Access-Control-Request-Headers", "x-anything")
	rec = serve(h, r)
	testutil.Equal(t, "preflight", rec.Code, http.StatusNoContent)
	testutil.Equal(t, "Allow-Headers", rec.Header().Get("Access-Control-Allow-Headers"), "x-anything")
	testutil.Equal(t, "no Max-Age", rec.Header().Get("Access-Control-Max-Age"), "")

	// The zero config allows no origin, and defaults the max age.
	h = newCORS(t, api.CORSConfig{})
	rec = serve(h, r)
	testutil.Equal(t, "zero config preflight", rec.Code, http.StatusForbidden)
}

func TestCORSConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  api.CORSConfig
	}{
		{name: "star with credentials", cfg: api.CORSConfig{AllowedOrigins: []string{"*"}, AllowCredentials: true}},
		{name: "no scheme", cfg: api.CORSConfig{AllowedOrigins: []string{"app.example.com"}}},
		{name: "trailing slash", cfg: api.CORSConfig{AllowedOrigins: []string{"https://app.example.com/"}}},
		{name: "path", cfg: api.CORSConfig{AllowedOrigins: []string{"https://app.example.com/api"}}},
		{name: "inner wildcard", cfg: api.CORSConfig{AllowedOrigins: []string{"https://app.*.example.com"}}},
		{name: "two wildcards", cfg: api.CORSConfig{AllowedOrigins: []string{"https://*.*.example.com"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := api.NewCORS(tt.cfg)
			testutil.Error(t, err)
		})
	}
}
