package static

import (
	"net/http"
	"strings"
)

// DefaultCSP is the Content-Security-Policy an SPA gets by default: its
// own scripts, styles (inline style attributes allowed), images, fonts
// and connections only, plus the WebSocket of the host it was served
// from (CONNECT is replaced with "ws://HOST wss://HOST"); no plugins, no
// <base> or form targets elsewhere, and no framing by any page
// (clickjacking).
const DefaultCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' CONNECT; " +
	"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// DefaultSecurityHeaders returns the headers an SPA sets on every response
// when [Config].SecurityHeaders is nil: DefaultCSP, Referrer-Policy:
// no-referrer (URLs may carry ids and tokens), X-Content-Type-Options:
// nosniff, X-Frame-Options: DENY (for browsers without frame-ancestors)
// and Cross-Origin-Opener-Policy: same-origin.
func DefaultSecurityHeaders() http.Header {
	return http.Header{
		"Content-Security-Policy":    {DefaultCSP},
		"Referrer-Policy":            {"no-referrer"},
		"X-Content-Type-Options":     {"nosniff"},
		"X-Frame-Options":            {"DENY"},
		"Cross-Origin-Opener-Policy": {"same-origin"},
	}
}

// setSecurityHeaders writes s's security headers, with the request's
// host in place of CONNECT in a Content-Security-Policy.
func (s *SPA) setSecurityHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for k, vs := range s.security {
		if k == "Content-Security-Policy" {
			for _, v := range vs {
				h.Add(k, strings.ReplaceAll(v, "CONNECT", wsSources(r.Host)))
			}
			continue
		}
		h[k] = vs
	}
}

// wsSources is "ws://host wss://host" for a host header that is a plain
// host[:port], and nothing otherwise (the header is the client's to
// forge: it must not inject directives).
func wsSources(host string) string {
	if host == "" {
		return ""
	}
	for _, c := range host {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)
		if !ok {
			return ""
		}
	}
	return "ws://" + host + " wss://" + host
}
