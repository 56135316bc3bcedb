package transport

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// originPattern is one entry of an Origin allow list, as Phoenix's
// check_origin: scheme and port are compared only when given, and a host
// "*.example.com" matches example.com and every subdomain.
type originPattern struct {
	scheme, host, port string
	wildcard           bool
}

func parseOrigins(patterns []string) ([]originPattern, error) {
	out := make([]originPattern, 0, len(patterns))
	for _, p := range patterns {
		raw := p
		if !strings.Contains(raw, "//") {
			raw = "//" + raw
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("transport: origin pattern %q: want \"https://host:port\", \"//host\" or \"//*.host\"", p)
		}
		op := originPattern{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname()), port: u.Port()}
		if rest, ok := strings.CutPrefix(op.host, "*."); ok {
			op.host, op.wildcard = rest, true
		}
		out = append(out, op)
	}
	return out, nil
}

func (p originPattern) match(u *url.URL) bool {
	if p.scheme != "" && !strings.EqualFold(p.scheme, u.Scheme) {
		return false
	}
	if p.port != "" && p.port != u.Port() {
		return false
	}
	host := strings.ToLower(u.Hostname())
	if host == p.host {
		return true
	}
	return p.wildcard && strings.HasSuffix(host, "."+p.host)
}

// checkOrigin applies only when the request has an Origin header. With no
// patterns, the origin's host must be the request's host (ports aside).
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
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		return strings.EqualFold(u.Hostname(), strings.Trim(host, "[]"))
	}
	for _, p := range patterns {
		if p.match(u) {
			return true
		}
	}
	return false
}
