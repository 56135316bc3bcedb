// Package clientip finds the address of the client behind a request,
// trusting X-Forwarded-For only from configured proxies, and counts what
// each client holds (connections, sessions) against a limit.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
)

// Resolver tells a request's client address. The zero value trusts no
// proxy: the client is the peer of the TCP connection.
type Resolver struct {
	trusted []netip.Prefix
}

// NewResolver returns a Resolver that trusts X-Forwarded-For from peers
// in the given networks ("10.0.0.0/8", "127.0.0.1", "::1/128").
func NewResolver(trusted []string) (*Resolver, error) {
	r := &Resolver{}
	for _, s := range trusted {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("trusted proxy %q: want an address or a CIDR prefix", s)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	return r, nil
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// IP returns the client's address: the peer's, unless the peer is a
// trusted proxy, in which case X-Forwarded-For is read from the right and
// the first address that is not a trusted proxy is the client's (the
// entries to its left are the client's to forge). It returns the zero
// Addr when RemoteAddr does not parse.
func (r *Resolver) IP(req *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap().WithZone("")
	if r == nil || len(r.trusted) == 0 || !r.isTrusted(peer) {
		return peer
	}
	hops := req.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return peer // garbage from the client's side: count the proxy
			}
			a = a.Unmap().WithZone("")
			if !r.isTrusted(a) {
				return a
			}
			peer = a
		}
	}
	return peer
}

// Key is what a limit per client counts by: the address for IPv4, its
// /64 network for IPv6 (one subscriber gets a whole /64).
func Key(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Counter counts what each client key holds. The zero value is ready.
type Counter struct {
	mu    sync.Mutex
	m     map[string]int
	total int
}

// Acquire counts one more for key unless key already holds perKey (when
// perKey > 0) or everyone together holds total (when total > 0). It
// reports which limit refused it: "" when acquired, "per client" or
// "total".
func (c *Counter) Acquire(key string, perKey, total int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if total > 0 && c.total >= total {
		return "total"
	}
	if perKey > 0 && c.m[key] >= perKey {
		return "per client"
	}
	if c.m == nil {
		c.m = make(map[string]int)
	}
	c.m[key]++
	c.total++
	return ""
}

// Release gives back what Acquire counted for key.
func (c *Counter) Release(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.m[key]; n > 1 {
		c.m[key] = n - 1
	} else if n == 1 {
		delete(c.m, key)
	} else {
		return
	}
	c.total--
}

// Held returns how many key holds.
func (c *Counter) Held(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}
