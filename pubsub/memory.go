package pubsub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/suzaku-go/suzaku/telemetry"
)

// MemoryConfig configures [NewMemory]. The zero value is valid.
type MemoryConfig struct {
	// Node is the name [Memory.Node] returns, and the only node
	// [Memory.DirectBroadcast] accepts. Default "local".
	Node string
	// Shards is the number of lock shards of the subscription table,
	// rounded up to a power of two. Default (zero or less): 32, or the next power of
	// two at or above 4×GOMAXPROCS if that is larger. See [NewRegistry].
	Shards int
	// Hook receives a KindBroadcast event per broadcast: its fan-out on
	// this node and how long delivery took (package telemetry). Nil costs
	// nothing.
	Hook telemetry.Hook
}

// Memory is the in-process [Broker]: a [Registry] and a node name. With one
// node, Broadcast and LocalBroadcast are the same thing, and each delivers
// before returning. Memory needs no Close: by itself it starts no
// goroutines and delivers on the caller's goroutine; run [Memory.Serve] as
// a service to deliver large broadcasts on every core.
type Memory struct {
	node string
	reg  *Registry
	hook telemetry.Hook
}

var _ Broker = (*Memory)(nil)

// NewMemory returns an in-memory broker. Every MemoryConfig is valid, so
// there is no error to return; it starts nothing.
func NewMemory(cfg MemoryConfig) *Memory {
	node := cfg.Node
	if node == "" {
		node = "local"
	}
	return &Memory{node: node, reg: NewRegistry(cfg.Shards), hook: cfg.Hook}
}

// Node returns the node name from [MemoryConfig].
func (b *Memory) Node() string { return b.node }

// Subscribe adds s to topic's subscribers. It fails if ctx is already done,
// or if s is nil or of a type that is not comparable (use a pointer).
func (b *Memory) Subscribe(ctx context.Context, topic string, s Subscriber) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pubsub: subscribe %q: %w", topic, err)
	}
	if err := checkSubscriber(s); err != nil {
		return fmt.Errorf("pubsub: subscribe %q: %w", topic, err)
	}
	b.reg.Subscribe(topic, s)
	return nil
}

// Unsubscribe removes s from topic. It ignores ctx and never fails: removal
// is local and immediate, and cleanup often runs with a context that is
// already cancelled (the connection's), where failing would leak the
// subscription. When it returns, s gets no more messages of topic.
func (b *Memory) Unsubscribe(_ context.Context, topic string, s Subscriber) error {
	b.reg.Unsubscribe(topic, s)
	return nil
}

// Broadcast delivers m to the subscribers of m.Topic except m.From. With a
// single node it is [Memory.LocalBroadcast].
func (b *Memory) Broadcast(ctx context.Context, m *Message) error {
	return b.dispatch(ctx, "broadcast", m)
}

// LocalBroadcast delivers m to the subscribers of m.Topic except m.From, on
// the calling goroutine. It fails only if ctx is already done or m is nil.
func (b *Memory) LocalBroadcast(ctx context.Context, m *Message) error {
	return b.dispatch(ctx, "local broadcast", m)
}

// DirectBroadcast delivers m locally if node is [Memory.Node], and otherwise
// returns an error wrapping [ErrUnknownNode].
func (b *Memory) DirectBroadcast(ctx context.Context, node string, m *Message) error {
	if node != b.node {
		topic := ""
		if m != nil {
			topic = m.Topic
		}
		return fmt.Errorf("pubsub: direct broadcast %q to node %q: %w", topic, node, ErrUnknownNode)
	}
	return b.dispatch(ctx, "direct broadcast", m)
}

var errNilMessage = errors.New("nil message")

func (b *Memory) dispatch(ctx context.Context, op string, m *Message) error {
	if m == nil {
		return fmt.Errorf("pubsub: %s: %w", op, errNilMessage)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pubsub: %s %q: %w", op, m.Topic, err)
	}
	if b.hook == nil {
		b.reg.Dispatch(m)
		return nil
	}
	start := time.Now()
	n := b.reg.Dispatch(m)
	b.hook.Event(telemetry.Event{Kind: telemetry.KindBroadcast, N: n, Duration: time.Since(start)})
	return nil
}

// Serve runs the fan-out workers of the broker's [Registry] until ctx is
// done (see [Registry.Serve]), then returns nil.
func (b *Memory) Serve(ctx context.Context) error { return b.reg.Serve(ctx) }

// LocalSubscribers returns the number of topic's subscribers on this
// node (see [LocalCounter]).
func (b *Memory) LocalSubscribers(topic string) int { return b.reg.Count(topic) }

// Stats returns the broker's counters: see [Stats].
func (b *Memory) Stats() Stats { return b.reg.Stats() }
