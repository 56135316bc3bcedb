package pubsub_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/pubsub/pubsubtest"
)

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  pubsub.MemoryConfig
	}{
		{name: "zero config", cfg: pubsub.MemoryConfig{}},
		// One shard puts every topic behind one lock.
		{name: "one shard", cfg: pubsub.MemoryConfig{Node: "n1", Shards: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pubsubtest.Run(t, func(*testing.T) pubsub.Broker { return pubsub.NewMemory(tt.cfg) })
		})
	}
}

func TestMemoryNode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		node string
		want string
	}{
		{name: "default", node: "", want: "local"},
		{name: "named", node: "web-1", want: "web-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "Node()", pubsub.NewMemory(pubsub.MemoryConfig{Node: tt.node}).Node(), tt.want)
		})
	}
}

func TestMemoryDirectBroadcastUnknownNode(t *testing.T) {
	t.Parallel()
	b := pubsub.NewMemory(pubsub.MemoryConfig{Node: "a"})
	c := &counter{}
	testutil.Success(t, b.Subscribe(t.Context(), "t", c))
	err := b.DirectBroadcast(t.Context(), "b", &pubsub.Message{Topic: "t"})
	testutil.ErrorIs(t, err, pubsub.ErrUnknownNode)
	if !strings.Contains(err.Error(), `"b"`) {
		t.Fatalf("DirectBroadcast(b) = %q, want the node name in it", err)
	}
	testutil.Equal(t, "deliveries", c.n.Load(), int64(0))
	testutil.Success(t, b.DirectBroadcast(t.Context(), "a", &pubsub.Message{Topic: "t"}))
	testutil.Equal(t, "deliveries", c.n.Load(), int64(1))
}

func TestMemoryErrors(t *testing.T) {
	t.Parallel()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	b := pubsub.NewMemory(pubsub.MemoryConfig{})
	m := &pubsub.Message{Topic: "t"}
	tests := []struct {
		name   string
		call   func() error
		target error  // for ErrorIs, if not nil
		text   string // substring of the message
	}{
		{name: "subscribe cancelled", call: func() error { return b.Subscribe(cancelled, "t", &counter{}) }, target: context.Canceled, text: `subscribe "t"`},
		{name: "subscribe expired", call: func() error { return b.Subscribe(expired, "t", &counter{}) }, target: context.DeadlineExceeded},
		{name: "subscribe nil", call: func() error { return b.Subscribe(context.Background(), "t", nil) }, text: "nil subscriber"},
		{name: "subscribe func", call: func() error {
			return b.Subscribe(context.Background(), "t", funcSub(func(*pubsub.Message) {}))
		}, text: "not comparable"},
		{name: "broadcast cancelled", call: func() error { return b.Broadcast(cancelled, m) }, target: context.Canceled, text: `broadcast "t"`},
		{name: "local broadcast expired", call: func() error { return b.LocalBroadcast(expired, m) }, target: context.DeadlineExceeded},
		{name: "direct broadcast cancelled", call: func() error { return b.DirectBroadcast(cancelled, "local", m) }, target: context.Canceled},
		{name: "broadcast nil", call: func() error { return b.Broadcast(context.Background(), nil) }, text: "nil message"},
		{name: "direct broadcast nil", call: func() error { return b.DirectBroadcast(context.Background(), "local", nil) }, text: "nil message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.call()
			testutil.Error(t, err)
			if tt.target != nil {
				testutil.ErrorIs(t, err, tt.target)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("error = %q, want it to contain %q", err, tt.text)
			}
		})
	}
	testutil.Equal(t, "Stats()", b.Stats(), pubsub.Stats{})
}

func TestMemoryUnsubscribeIgnoresContext(t *testing.T) {
	t.Parallel()
	b := pubsub.NewMemory(pubsub.MemoryConfig{})
	c := &counter{}
	testutil.Success(t, b.Subscribe(t.Context(), "t", c))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	testutil.Success(t, b.Unsubscribe(cancelled, "t", c))
	testutil.Success(t, b.Broadcast(t.Context(), &pubsub.Message{Topic: "t"}))
	testutil.Equal(t, "deliveries", c.n.Load(), int64(0))
}

func TestMemoryStats(t *testing.T) {
	t.Parallel()
	b := pubsub.NewMemory(pubsub.MemoryConfig{})
	ctx := t.Context()
	a, c := &counter{}, &counter{}
	testutil.Success(t, b.Subscribe(ctx, "x", a))
	testutil.Success(t, b.Subscribe(ctx, "x", a)) // duplicate: not counted
	testutil.Success(t, b.Subscribe(ctx, "x", c))
	testutil.Success(t, b.Subscribe(ctx, "y", a))
	testutil.Success(t, b.Broadcast(ctx, &pubsub.Message{Topic: "x"}))                // 2 deliveries
	testutil.Success(t, b.LocalBroadcast(ctx, &pubsub.Message{Topic: "x", From: a}))  // 1
	testutil.Success(t, b.DirectBroadcast(ctx, "local", &pubsub.Message{Topic: "y"})) // 1
	testutil.Success(t, b.Broadcast(ctx, &pubsub.Message{Topic: "nobody"}))           // 0
	testutil.Equal(t, "Stats()", b.Stats(), pubsub.Stats{Topics: 2, Subscriptions: 3, Messages: 4, Deliveries: 4})
	testutil.Success(t, b.Unsubscribe(ctx, "y", a))
	testutil.Equal(t, "Stats() after Unsubscribe", b.Stats(), pubsub.Stats{Topics: 1, Subscriptions: 2, Messages: 4, Deliveries: 4})
}

func TestMemoryBroadcastAllocs(t *testing.T) {
	// Not parallel: AllocsPerRun counts the whole process's allocations.
	b := pubsub.NewMemory(pubsub.MemoryConfig{})
	ctx := context.Background()
	for i := range 100 {
		testutil.Success(t, b.Subscribe(ctx, "t", &counter{id: i}))
	}
	m := &pubsub.Message{Topic: "t"}
	allocs := testing.AllocsPerRun(100, func() { _ = b.Broadcast(ctx, m) })
	testutil.Equal(t, "Broadcast allocs", allocs, 0.0)
}
