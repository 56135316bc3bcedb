package cluster_test

import (
	"net/http"
	"testing"

	"github.com/suzaku-go/suzaku/transport"
)

// BenchmarkClusterLongPollForward measures one LongPoll push and its
// reply (a POST with a heartbeat, then the poll that takes the reply)
// sent to the node that holds the session ("local"), against the same
// sent to another node, which forwards both requests over the broker
// ("forwarded-redis", "forwarded-nats"). Compare the forwarded figures to
// local, measured in the same run.
//
//	go test -run '^$' -bench ClusterLongPollForward -benchtime 2000x ./cluster
func BenchmarkClusterLongPollForward(b *testing.B) {
	for _, bc := range []struct {
		name    string
		url     func(testing.TB) string
		forward bool
	}{
		{"local", redisURL, false},
		{"forwarded-redis", redisURL, true},
		{"forwarded-nats", natsURL, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			url := bc.url(b)
			owner := startLPNode(b, url, "a", transport.LongPollConfig{})
			other := startLPNode(b, url, "b", transport.LongPollConfig{})
			c := &lpClient{t: b, nodes: []*lpNode{owner}}
			c.connect()
			via := owner
			if bc.forward {
				via = other
			}
			b.ReportAllocs()
			for b.Loop() {
				if a := c.do(http.MethodPost, via, `[null,"1","phoenix","heartbeat",{}]`); a.Status != 200 {
					b.Fatalf("POST = %+v", a)
				}
				if a := c.do(http.MethodGet, via, ""); a.Status != 200 {
					b.Fatalf("poll = %+v", a)
				}
			}
		})
	}
}
