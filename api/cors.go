package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultCORSMaxAge is how long browsers may cache a preflight answer when
// [CORSConfig.MaxAge] is zero. Chromium caps it at 2 hours.
const DefaultCORSMaxAge = 10 * time.Minute

// CORSConfig configures [NewCORS]. The zero value allows no cross-origin
// requests: the middleware then only adds Vary: Origin.
type CORSConfig struct {
	// AllowedOrigins lists the origins allowed to make cross-origin
	// requests, each "scheme://host[:port]" with no path: exact
	// ("https://app.example.com"), any subdomain at any depth
	// ("https://*.example.com", which does not match https://example.com
	// itself), or "*" for any origin. "*" cannot be combined with
	// AllowCredentials. Matching ignores case. The "null" origin is never
	// allowed.
	AllowedOrigins []string

	// AllowedMethods lists the methods a preflight may ask for. Nil means
	// GET, HEAD, POST, PUT, PATCH and DELETE.
	AllowedMethods []string

	// AllowedHeaders lists the request headers a preflight may ask for,
	// case-insensitively; "*" allows any. Nil means Content-Type,
	// Authorization and X-Request-ID.
	AllowedHeaders []string

	// ExposedHeaders lists the response headers, beyond the CORS-safelisted
	// ones, that scripts may read (Access-Control-Expose-Headers). Nil
	// means none.
	ExposedHeaders []string

	// AllowCredentials lets requests carry cookies and HTTP
	// authentication (Access-Control-Allow-Credentials: true). The origin
	// is then echoed, never "*".
	AllowCredentials bool

	// MaxAge is how long a browser may cache a preflight answer, rounded
	// down to seconds. Zero means DefaultCORSMaxAge (10 minutes); a
	// negative value omits Access-Control-Max-Age (browsers then use 5
	// seconds).
	MaxAge time.Duration
}

// CORS is Cross-Origin Resource Sharing middleware, built by [NewCORS]; use
// its Wrap method as middleware. It answers preflight requests (OPTIONS with
// Origin and Access-Control-Request-Method) itself: 204 with the CORS
// headers, or 403 without them if the origin, method or a header is not
// allowed. On other requests from an allowed origin it adds
// Access-Control-Allow-Origin (and -Credentials, -Expose-Headers); requests
// from other origins pass through without them, so the browser withholds
// the response from the page.
//
// CORS decides what a page may read; it does not stop cross-site requests
// from reaching handlers. Protect state-changing routes with
// http.CrossOriginProtection or tokens.
type CORS struct {
	any         bool // "*" allowed
	exact       map[string]bool
	wildcards   []wildcardOrigin
	methods     map[string]bool
	anyHeader   bool
	headers     map[string]bool // lower case
	exposed     string
	credentials bool
	maxAge      string // "" to omit
}

type wildcardOrigin struct {
	scheme string // "https://"
	suffix string // ".example.com" or ".example.com:8443"
}

// NewCORS validates cfg and returns the middleware. It fails on a
// malformed origin, a wildcard anywhere but the first label, a trailing
// slash or path, or "*" with AllowCredentials.
func NewCORS(cfg CORSConfig) (*CORS, error) {
	c := &CORS{
		exact:       make(map[string]bool),
		methods:     make(map[string]bool),
		headers:     make(map[string]bool),
		credentials: cfg.AllowCredentials,
		exposed:     strings.Join(cfg.ExposedHeaders, ", "),
	}
	for _, o := range cfg.AllowedOrigins {
		o = strings.ToLower(strings.TrimSpace(o))
		if o == "*" {
			if cfg.AllowCredentials {
				return nil, errors.New(`api: cors: origin "*" cannot be combined with AllowCredentials; list the origins`)
			}
			c.any = true
			continue
		}
		scheme, host, err := parseOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("api: cors: origin %q: %w", o, err)
		}
		if rest, ok := strings.CutPrefix(host, "*."); ok {
			if strings.Contains(rest, "*") {
				return nil, fmt.Errorf("api: cors: origin %q: only the first label may be a wildcard", o)
			}
			c.wildcards = append(c.wildcards, wildcardOrigin{scheme: scheme + "://", suffix: "." + rest})
			continue
		}
		if strings.Contains(host, "*") {
			return nil, fmt.Errorf("api: cors: origin %q: only the first label may be a wildcard", o)
		}
		c.exact[o] = true
	}
	methods := cfg.AllowedMethods
	if methods == nil {
		methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	}
	for _, m := range methods {
		c.methods[strings.ToUpper(strings.TrimSpace(m))] = true
	}
	headers := cfg.AllowedHeaders
	if headers == nil {
		headers = []string{"Content-Type", "Authorization", HeaderRequestID}
	}
	for _, h := range headers {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "*" {
			c.anyHeader = true
		}
		c.headers[h] = true
	}
	switch {
	case cfg.MaxAge == 0:
		c.maxAge = strconv.Itoa(int(DefaultCORSMaxAge / time.Second))
	case cfg.MaxAge > 0:
		c.maxAge = strconv.FormatInt(int64(cfg.MaxAge/time.Second), 10)
	}
	return c, nil
}

// parseOrigin splits "scheme://host[:port]" and rejects anything else.
func parseOrigin(o string) (scheme, host string, err error) {
	scheme, host, ok := strings.Cut(o, "://")
	if !ok || scheme == "" || host == "" {
		return "", "", errors.New(`want "scheme://host[:port]"`)
	}
	for _, r := range scheme {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '+' || r == '-' || r == '.') {
			return "", "", errors.New("bad scheme")
		}
	}
	if strings.ContainsAny(host, "/?#@ ") {
		return "", "", errors.New("an origin has no path, query, user or trailing slash")
	}
	return scheme, host, nil
}

// allowed reports whether origin (as sent) may make cross-origin requests.
func (c *CORS) allowed(origin string) bool {
	if c.any {
		return true
	}
	if origin == "" || origin == "null" {
		return false
	}
	o := strings.ToLower(origin)
	if c.exact[o] {
		return true
	}
	for _, w := range c.wildcards {
		if len(o) <= len(w.scheme)+len(w.suffix) || !strings.HasPrefix(o, w.scheme) || !strings.HasSuffix(o, w.suffix) {
			continue
		}
		if validSubdomain(o[len(w.scheme) : len(o)-len(w.suffix)]) {
			return true
		}
	}
	return false
}

// validSubdomain reports whether s is one or more DNS labels, so that
// "https://*.example.com" cannot match "https://evil.com:1.example.com".
func validSubdomain(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-' || b == '.' || b == '_') {
			return false
		}
	}
	return true
}

// Wrap returns next with CORS handling; c.Wrap is the middleware
// func(http.Handler) http.Handler.
func (c *CORS) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		if r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != "" {
			c.preflight(w, r, origin)
			return
		}
		if !c.any || c.credentials {
			h.Add("Vary", "Origin")
		}
		if origin != "" && c.allowed(origin) {
			c.allowOrigin(h, origin)
			if c.exposed != "" {
				h.Set("Access-Control-Expose-Headers", c.exposed)
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (c *CORS) allowOrigin(h http.Header, origin string) {
	if c.any && !c.credentials {
		h.Set("Access-Control-Allow-Origin", "*")
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if c.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

func (c *CORS) preflight(w http.ResponseWriter, r *http.Request, origin string) {
	h := w.Header()
	h.Add("Vary", "Origin")
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	method := r.Header.Get("Access-Control-Request-Method")
	reqHeaders := strings.Join(r.Header.Values("Access-Control-Request-Headers"), ",")
	if !c.allowed(origin) || !c.methods[method] || !c.headersAllowed(reqHeaders) {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	c.allowOrigin(h, origin)
	h.Set("Access-Control-Allow-Methods", method)
	if reqHeaders = strings.TrimSpace(reqHeaders); reqHeaders != "" {
		h.Set("Access-Control-Allow-Headers", reqHeaders)
	}
	if c.maxAge != "" {
		h.Set("Access-Control-Max-Age", c.maxAge)
	}
	w.WriteHeader(http.StatusNoContent)
}

// headersAllowed reports whether every header in the comma-separated list
// of a preflight's Access-Control-Request-Headers is allowed.
func (c *CORS) headersAllowed(list string) bool {
	if c.anyHeader {
		return true
	}
	for name := range strings.SplitSeq(list, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "" && !c.headers[name] {
			return false
		}
	}
	return true
}
