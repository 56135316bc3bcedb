package auth

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/suzaku-go/suzaku/api"
)

// MiddlewareConfig configures a [Middleware]. Authenticator is required.
type MiddlewareConfig struct {
	// Authenticator verifies the tokens.
	Authenticator Authenticator
	// Cookie, if set, is the name of a cookie holding the token, read
	// when the request has no Authorization header. Browsers send cookies
	// on their own, cross-site requests included: wrap the state-changing
	// routes of cookie-authenticated APIs in [CrossOrigin].
	Cookie string
	// Realm, if set, is the realm of the WWW-Authenticate challenges.
	Realm string
	// Logger receives the errors of the Authenticator that are not a
	// verdict on the token (a database down). Nil discards.
	Logger *slog.Logger
}

// Middleware authenticates requests by bearer token: it reads
// "Authorization: Bearer <token>" (or, with MiddlewareConfig.Cookie, a
// cookie), verifies the token, and passes the [Identity] to the handler in
// the request's context ([FromContext]). Its two methods are the two modes
// of a route: [Middleware.Optional] lets anonymous requests through,
// [Middleware.Require] answers them 401.
//
// A request with a token that is rejected is answered 401 in both modes,
// with WWW-Authenticate: Bearer error="invalid_token" (RFC 6750 §3.1) and
// an RFC 9457 problem+json body, so that the client drops the token rather
// than be served as anonymous. A request without a token is answered, in
// Require mode, with a challenge without an error code, as RFC 6750
// §3.1 asks. An Authenticator error that is neither ErrNoToken nor
// ErrInvalidToken is answered 500 and logged.
type Middleware struct {
	auth   Authenticator
	cookie string
	realm  string
	log    *slog.Logger
}

// NewMiddleware returns a Middleware for cfg.
func NewMiddleware(cfg MiddlewareConfig) (*Middleware, error) {
	if cfg.Authenticator == nil {
		return nil, errors.New("auth: middleware: nil Authenticator")
	}
	m := &Middleware{auth: cfg.Authenticator, cookie: cfg.Cookie, realm: cfg.Realm, log: cfg.Logger}
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return m, nil
}

// Optional authenticates requests that carry a token and lets the others
// through anonymously: FromContext then returns false.
func (m *Middleware) Optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.serve(w, r, next, false) })
}

// Require authenticates every request and answers 401 to those without a
// valid token. Behind Optional (say, Optional on every API route and
// Require on some), it reuses the identity Optional found.
func (m *Middleware) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.serve(w, r, next, true) })
}

func (m *Middleware) serve(w http.ResponseWriter, r *http.Request, next http.Handler, required bool) {
	if _, ok := FromContext(r.Context()); ok {
		next.ServeHTTP(w, r)
		return
	}
	tok, present := m.token(r)
	if !present {
		if required {
			m.challenge(w, r, "", "authentication required")
			return
		}
		next.ServeHTTP(w, r)
		return
	}
	id, err := m.auth.Authenticate(r.Context(), tok)
	switch {
	case err == nil && id != nil && id.Subject != "":
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
	case errors.Is(err, ErrTokenExpired):
		m.challenge(w, r, "invalid_token", "the access token expired")
	case err == nil || errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrNoToken):
		m.challenge(w, r, "invalid_token", "the access token is invalid")
	default:
		m.log.ErrorContext(r.Context(), "auth: authenticate", "error", err)
		writeProblem(w, r, http.StatusInternalServerError, "authentication failed")
	}
}

// token returns the request's bearer token and whether it has one: an
// Authorization header with the Bearer scheme, or else the cookie. An
// empty token after "Bearer" is present, and invalid.
func (m *Middleware) token(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
		if strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(rest), true
		}
	}
	if m.cookie != "" {
		if c, err := r.Cookie(m.cookie); err == nil && c.Value != "" {
			return c.Value, true
		}
	}
	return "", false
}

// challenge answers 401 with a Bearer challenge (RFC 6750 §3) and a
// problem body. code is the RFC 6750 error code, or "" for a request that
// had no token.
func (m *Middleware) challenge(w http.ResponseWriter, r *http.Request, code, detail string) {
	var params []string
	if m.realm != "" {
		params = append(params, "realm="+quote(m.realm))
	}
	if code != "" {
		params = append(params, "error="+quote(code), "error_description="+quote(detail))
	}
	v := "Bearer"
	if len(params) > 0 {
		v += " " + strings.Join(params, ", ")
	}
	w.Header().Set("WWW-Authenticate", v)
	writeProblem(w, r, http.StatusUnauthorized, detail)
}

// quote makes an HTTP quoted-string (RFC 9110 §5.6.4).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// writeProblem answers with package api's problem writer, so that an
// authentication failure looks like every other problem of the API: same
// fields, the request id, the same codes.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	code := api.CodeUnauthorized
	if status >= 500 {
		code = api.CodeInternal
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	api.WriteProblem(w, r, &api.Problem{Status: status, Code: code, Detail: detail})
}

// CrossOrigin protects h against cross-site request forgery with
// http.CrossOriginProtection: requests with unsafe methods (POST, PUT,
// DELETE, …) that browsers mark as cross-origin, by Sec-Fetch-Site or by
// an Origin that is not the Host, are answered 403. GET, HEAD and OPTIONS
// pass, as do requests from non-browser clients, which send neither
// header. Wrap every cookie-authenticated route that changes state; see
// the package documentation. For trusted origins or a custom deny
// handler, use http.CrossOriginProtection directly.
func CrossOrigin(h http.Handler) http.Handler {
	return http.NewCrossOriginProtection().Handler(h)
}
