package nats_test

import (
	"testing"

	"github.com/suzaku-go/suzaku/pubsub"
)

// notify is a Subscriber that hands each delivery to the benchmark.
type notify chan *pubsub.Message

func (s notify) Deliver(m *pubsub.Message) { s <- m }

// BenchmarkNATSRoundTrip measures a broadcast from one node to a
// subscriber on another, through an in-process server over loopback TCP:
// the publish, the server's fan-out, the decode and the dispatch, one
// message in flight at a time.
func BenchmarkNATSRoundTrip(b *testing.B) {
	nodes := cluster(b, 2)
	got := make(notify, 1)
	if err := nodes[1].Subscribe(b.Context(), "bench:room", got); err != nil {
		b.Fatal(err)
	}
	m := &pubsub.Message{Topic: "bench:room", Event: "new_msg", Payload: []byte(`{"body":"hello, world"}`)}
	b.ReportAllocs()
	for b.Loop() {
		if err := nodes[0].Broadcast(b.Context(), m); err != nil {
			b.Fatal(err)
		}
		<-got
	}
}
