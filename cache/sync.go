package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/suzaku-go/suzaku/pubsub"
)

// EventInvalidate is the event of invalidation messages, both between
// nodes (on [Memory.Topic]) and, with a [Notifier], to clients.
const EventInvalidate = "invalidate"

// message is the payload of an invalidation between nodes.
type message struct {
	Node string   `json:"node"` // the sending instance
	Keys []string `json:"keys,omitempty"`
	Tags []string `json:"tags,omitempty"`
}

// Serve applies the invalidations other nodes publish on the cache's topic
// until ctx is done. Run it under the server's supervisor (it is a
// suzaku.Service); a cache without a Broker does not need it, and there
// Serve only waits for ctx.
//
// When it has subscribed, Serve clears the cache: entries stored while no
// subscription was active may have missed invalidations. For the same
// reason it clears the cache whenever the broker has reconnected to the
// other nodes (a [pubsub.Reconnecter], as the Redis and NATS adapters
// are), which it checks every Config.ResyncPeriod: an entry that missed
// an invalidation during a broker outage lives at most that long after
// the broker is back. Between two runs of Serve, the cache serves what it
// holds but hears no invalidations, so only TTLs bound their age.
//
// Invalidations are applied on the broker's delivery goroutine, without
// any I/O or waiting, and a node skips its own. Serve starts no goroutine.
// It returns nil when ctx is done, or an error if it cannot subscribe or
// is already running.
func (m *Memory) Serve(ctx context.Context) error {
	if m.broker == nil {
		<-ctx.Done()
		return nil
	}
	if !m.running.CompareAndSwap(false, true) {
		return fmt.Errorf("cache %q: serve: already serving", m.name)
	}
	defer m.running.Store(false)
	if err := m.broker.Subscribe(ctx, m.topic, m.recv); err != nil {
		return fmt.Errorf("cache %q: serve: %w", m.name, err)
	}
	defer func() { _ = m.broker.Unsubscribe(context.WithoutCancel(ctx), m.topic, m.recv) }()
	rc, reconnects := m.broker.(pubsub.Reconnecter)
	var seen uint64
	if reconnects {
		seen = rc.Connects()
	}
	m.store.InvalidateAll()
	m.subscribed.Store(true)
	defer m.subscribed.Store(false)
	if !reconnects {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(m.resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if n := rc.Connects(); n != seen {
			// The broker was disconnected: invalidations sent meanwhile
			// are lost, so any entry may be stale.
			seen = n
			m.store.InvalidateAll()
			m.resyncs.Add(1)
		}
	}
}

// publish sends inv to the other nodes. From keeps the message from this
// instance's own subscription; Node does the same across brokers that
// loop messages back.
func (m *Memory) publish(ctx context.Context, inv Invalidation) error {
	data, err := json.Marshal(message{Node: m.node, Keys: inv.Keys, Tags: inv.Tags})
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	err = m.broker.Broadcast(ctx, &pubsub.Message{Topic: m.topic, Event: EventInvalidate, Payload: data, From: m.recv})
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// receiver is the cache's broker subscriber.
type receiver struct{ m *Memory }

var errNotInvalidation = errors.New("not an invalidation")

// Deliver applies an invalidation from another node. Removing entries is
// bounded in-memory work, so it runs here rather than being queued.
func (r *receiver) Deliver(msg *pubsub.Message) {
	m := r.m
	var in message
	err := errNotInvalidation
	if msg.Event == EventInvalidate && !msg.Binary {
		err = json.Unmarshal(msg.Payload, &in)
	}
	if err != nil {
		m.log.Warn("cache: dropped a malformed invalidation", "cache", m.name, "topic", msg.Topic, "event", msg.Event, "error", err)
		return
	}
	if in.Node == m.node {
		return
	}
	m.apply(Invalidation{Keys: in.Keys, Tags: in.Tags})
	m.rcv.Add(1)
}
