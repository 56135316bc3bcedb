package presence_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/suzaku-go/suzaku/presence"
	"github.com/suzaku-go/suzaku/pubsub"
)

// noop is a subscriber that drops what it gets: the topic's one client.
type noop struct{ _ byte }

func (*noop) Deliver(*pubsub.Message) {}

// newLoaded returns a Tracker with n presences on topic, and a subscriber
// there, so that diffs are encoded and dispatched.
func newLoaded(b *testing.B, topic string, n int) *presence.Tracker {
	ctx := context.Background()
	broker := pubsub.NewMemory(pubsub.MemoryConfig{})
	tr, err := presence.New(presence.Config{Broker: broker})
	if err != nil {
		b.Fatal(err)
	}
	if err := broker.Subscribe(ctx, topic, &noop{}); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		meta := map[string]any{"online_at": 1700000000 + i, "device": "laptop"}
		if _, err := tr.Track(ctx, newOwner(topic), fmt.Sprint("user:", i), meta); err != nil {
			b.Fatal(err)
		}
	}
	return tr
}

// BenchmarkTrackUntrack10k tracks and untracks one presence on a topic of
// 10 000: two changes, two diffs.
func BenchmarkTrackUntrack10k(b *testing.B) {
	ctx := context.Background()
	tr := newLoaded(b, "room:lobby", 10_000)
	o := newOwner("room:lobby")
	meta := map[string]any{"online_at": 1700000000, "device": "phone"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.Track(ctx, o, "user:new", meta); err != nil {
			b.Fatal(err)
		}
		if err := tr.Untrack(ctx, o, "room:lobby", "user:new"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList1k lists a topic of 1000 presences: presence_state.
func BenchmarkList1k(b *testing.B) {
	tr := newLoaded(b, "room:lobby", 1000)
	b.ReportAllocs()
	for b.Loop() {
		if len(tr.List("room:lobby")) != 1000 {
			b.Fatal("wrong list")
		}
	}
}
