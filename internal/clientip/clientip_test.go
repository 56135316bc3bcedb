package clientip_test

import (
	"net/http"
	"testing"

	"github.com/suzaku-go/suzaku/internal/clientip"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

func TestClientIPResolver(t *testing.T) {
	t.Parallel()
	r, err := clientip.NewResolver([]string{"10.0.0.0/8", "127.0.0.1"})
	testutil.Success(t, err)
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy", "1.2.3.4:5", nil, "1.2.3.4"},
		{"untrusted peer, forged header", "1.2.3.4:5", []string{"9.9.9.9"}, "1.2.3.4"},
		{"trusted peer", "127.0.0.1:5", []string{"9.9.9.9"}, "9.9.9.9"},
		{"client forges the left", "127.0.0.1:5", []string{"6.6.6.6, 9.9.9.9"}, "9.9.9.9"},
		{"two trusted hops", "127.0.0.1:5", []string{"9.9.9.9, 10.1.1.1"}, "9.9.9.9"},
		{"headers in order", "127.0.0.1:5", []string{"6.6.6.6", "9.9.9.9"}, "9.9.9.9"},
		{"garbage counts the proxy", "127.0.0.1:5", []string{"nonsense"}, "127.0.0.1"},
		{"only trusted hops", "127.0.0.1:5", []string{"10.0.0.2"}, "10.0.0.2"},
		{"mapped v4", "[::ffff:1.2.3.4]:5", nil, "1.2.3.4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &http.Request{RemoteAddr: tt.remote, Header: http.Header{}}
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			testutil.Equal(t, "IP", r.IP(req).String(), tt.want)
		})
	}
	_, err = clientip.NewResolver([]string{"not an address"})
	testutil.Error(t, err)
}

func TestClientIPKeyAndCounter(t *testing.T) {
	t.Parallel()
	r := &clientip.Resolver{}
	v6 := r.IP(&http.Request{RemoteAddr: "[2001:db8:1:2:3:4:5:6]:1"})
	testutil.Equal(t, "v6 key", clientip.Key(v6), "2001:db8:1:2::/64")
	var c clientip.Counter
	testutil.Equal(t, "first", c.Acquire("a", 2, 3), "")
	testutil.Equal(t, "second", c.Acquire("a", 2, 3), "")
	testutil.Equal(t, "third per key", c.Acquire("a", 2, 3), "per client")
	testutil.Equal(t, "other key", c.Acquire("b", 2, 3), "")
	testutil.Equal(t, "total", c.Acquire("c", 2, 3), "total")
	c.Release("a")
	c.Release("a")
	c.Release("a") // one too many: ignored
	testutil.Equal(t, "held a", c.Held("a"), 0)
	testutil.Equal(t, "after release", c.Acquire("c", 2, 3), "")
}

func FuzzClientIPForwardedFor(f *testing.F) {
	f.Add("127.0.0.1:1", "1.2.3.4, 10.0.0.1")
	f.Add("127.0.0.1:1", ",,,")
	f.Add("[::1]:1", "fe80::1%eth0")
	r, _ := clientip.NewResolver([]string{"127.0.0.0/8", "::1", "10.0.0.0/8"})
	f.Fuzz(func(t *testing.T, remote, xff string) {
		req := &http.Request{RemoteAddr: remote, Header: http.Header{"X-Forwarded-For": {xff}}}
		a := r.IP(req)
		if a.IsValid() && a.Zone() != "" {
			t.Fatalf("IP(%q, %q) = %v with a zone", remote, xff, a)
		}
		_ = clientip.Key(a)
	})
}
