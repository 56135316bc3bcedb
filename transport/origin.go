package transport

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// originPattern is one entry of an Origin allow list: a scheme (any when
// not given), a host ("*.example.com" matches example.com and every
// subdomain) and a port, compared with the origin's effective port: a
// pattern without a port matches only the default port of the origin's
// scheme, and ":*" any port.
type originPattern struct {
	scheme, host, port string // port "*": any
	wildcard           bool
}

func parseOrigins(patterns []string) ([]originPattern, error) {
	out := make([]originPattern, 0, len(patterns))
	for _, p := range patterns {
		raw := p
		if !strings.Contains(raw, "//") {
			raw = "//" + raw
		}
		anyPort := false
		if rest, ok := strings.CutSuffix(raw, ":*"); ok {
			raw, anyPort = rest, true
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("transport: origin pattern %q: want \"https://host:port\", \"//host\", \"//host:*\" or \"//*.host\"", p)
		}
		op := originPattern{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname()), port: u.Port()}
		if anyPort {
			op.port = "*"
		}
		if rest, ok := strings.CutPrefix(op.host, "*."); ok {
			op.host, op.wildcard = rest, true
		}
		out = append(out, op)
	}
	return out, nil
}

// defaultPort is the port of an origin that names none.
func defaultPort(scheme string) string {
	switch strings.ToLower(scheme) {
	case "https", "wss":
		return "443"
	case "http", "ws":
		return "80"
	}
	return ""
}

// effectivePort is u's port, or its scheme's default.
func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return defaultPort(u.Scheme)
}

func (p originPattern) match(u *url.URL) bool {
	if p.scheme != "" && !strings.EqualFold(p.scheme, u.Scheme) {
		return false
	}
	switch p.port {
	case "*":
	case "":
		if effectivePort(u) != defaultPort(u.Scheme) {
			return false
		}
	default:
		if p.port != effectivePort(u) {
			return false
		}
	}
	host := strings.ToLower(u.Hostname())
	if host == p.host {
		return true
	}
	return p.wildcard && strings.HasSuffix(host, "."+p.host)
}

// checkOrigin applies only when the request has an Origin header. With no
// patterns, the origin's host and port must be the request's (the Host
// header): a page on another port of the same host is another origin.
func checkOrigin(r *http.Request, patterns []originPattern) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if len(patterns) == 0 {
		host, port := r.Host, ""
		if h, p, err := net.SplitHostPort(host); err == nil {
			host, port = h, p
		}
		if !strings.EqualFold(u.Hostname(), strings.Trim(host, "[]")) {
			return false
		}
		if port == "" {
			// The Host header names no port: the request came on the
			// default port of its scheme, which a proxy may have
			// changed; the origin must name none either.
			return effectivePort(u) == defaultPort(u.Scheme)
		}
		return effectivePort(u) == port
	}
	for _, p := range patterns {
		if p.match(u) {
			return true
		}
	}
	return false
}
