package cluster_test

import (
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/cluster"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

func TestClusterOpenBroker(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url, kind, err string
	}{
		{name: "empty", url: "", kind: cluster.KindMemory},
		{name: "memory", url: "memory", kind: cluster.KindMemory},
		{name: "redis", url: "redis://127.0.0.1:6379", kind: cluster.KindRedis},
		{name: "redis db", url: "redis://127.0.0.1:6379/2", kind: cluster.KindRedis},
		{name: "redis cluster name", url: "redis://127.0.0.1:6379/0?cluster=app1", kind: cluster.KindRedis},
		{name: "rediss", url: "rediss://:pw@example.com:6380", kind: cluster.KindRedis},
		{name: "nats", url: "nats://127.0.0.1:4222", kind: cluster.KindNATS},
		{name: "nats list", url: "nats://a:4222,nats://b:4222?cluster=app.one", kind: cluster.KindNATS},
		{name: "unknown scheme", url: "kafka://x:1", err: "want memory"},
		{name: "no scheme", url: "127.0.0.1:6379", err: "want memory"},
		{name: "bad redis db", url: "redis://127.0.0.1:6379/x", err: "database"},
		{name: "nats without host", url: "nats://", err: "bad server"},
		{name: "nats bad second", url: "nats://a:1,http://b:2", err: "bad server"},
		{name: "nats unknown parameter", url: "nats://a:1?x=1", err: "unknown parameters"},
		{name: "nats bad prefix", url: "nats://a:1?cluster=a.*", err: "prefix"},
		{name: "password hidden", url: "redis://:secret@h:1/x", err: "xxxxx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, kind, err := cluster.OpenBroker(tt.url, "n1", nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "secret") {
					t.Fatalf("OpenBroker(%q) = %v, want an error with %q and no password", tt.url, err, tt.err)
				}
				return
			}
			testutil.Success(t, err)
			testutil.Equal(t, "kind", kind, tt.kind)
			testutil.Equal(t, "Node()", b.Node(), "n1")
		})
	}
	if _, _, err := cluster.OpenBroker("memory", "", nil); err == nil {
		t.Error(`OpenBroker("memory", "") = nil error, want one for the empty node name`)
	}
}

func TestClusterDefaultNode(t *testing.T) {
	t.Parallel()
	a, b := cluster.DefaultNode("127.0.0.1:4001"), cluster.DefaultNode("127.0.0.1:4002")
	if a == b || !strings.HasSuffix(a, ":4001") {
		t.Errorf("DefaultNode(:4001), DefaultNode(:4002) = %q, %q: want distinct names ending in the port", a, b)
	}
	x, y := cluster.DefaultNode("127.0.0.1:0"), cluster.DefaultNode("")
	if x == y || x == "" {
		t.Errorf("DefaultNode(:0), DefaultNode() = %q, %q: want distinct names", x, y)
	}
}
