package cache_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/suzaku-go/suzaku/cache"
	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
)

// serve runs c.Serve until the test ends and waits until it has
// subscribed.
func serve(t *testing.T, c *cache.Memory) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v, want nil", err)
		}
	})
	testutil.CheckFor(t, waitFor, func() error {
		if !c.Stats().Subscribed {
			return errors.New("Serve has not subscribed")
		}
		return nil
	})
}

// spy is a broker subscriber that records what it gets.
type spy struct {
	mu   sync.Mutex
	msgs []*pubsub.Message
}

func (s *spy) Deliver(m *pubsub.Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
}

func (s *spy) all() []*pubsub.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*pubsub.Message(nil), s.msgs...)
}

func hit(t *testing.T, c cache.Cache, key string) bool {
	t.Helper()
	_, ok, err := c.Get(t.Context(), key)
	testutil.Success(t, err)
	return ok
}

// TestCacheInvalidationAcrossNodes runs two caches, two nodes in one
// process, on one broker: what one invalidates, the other drops.
func TestCacheInvalidationAcrossNodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		invalidate func(ctx context.Context, c *cache.Memory) error
		wantGone   []string
		wantKept   []string
	}{
		{
			name:       "delete",
			invalidate: func(ctx context.Context, c *cache.Memory) error { return c.Delete(ctx, "room:1", "room:2") },
			wantGone:   []string{"room:1", "room:2"},
			wantKept:   []string{"rooms", "user:1"},
		},
		{
			name:       "tags",
			invalidate: func(ctx context.Context, c *cache.Memory) error { return c.InvalidateTags(ctx, "rooms") },
			wantGone:   []string{"rooms", "room:1", "room:2"},
			wantKept:   []string{"user:1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			broker := pubsub.NewMemory(pubsub.MemoryConfig{})
			a := newMemory(t, cache.Config{Broker: broker})
			b := newMemory(t, cache.Config{Broker: broker})
			other := newMemory(t, cache.Config{Broker: broker, Name: "other"})
			for _, c := range []*cache.Memory{a, b, other} {
				serve(t, c)
			}
			ctx := t.Context()
			for _, c := range []*cache.Memory{a, b, other} {
				testutil.Success(t, c.Set(ctx, "rooms", "[1,2]", cache.WithTags("rooms")))
				testutil.Success(t, c.Set(ctx, "room:1", "1", cache.WithTags("rooms", "room:1")))
				testutil.Success(t, c.Set(ctx, "room:2", "2", cache.WithTags("rooms", "room:2")))
				testutil.Success(t, c.Set(ctx, "user:1", "u"))
			}

			testutil.Success(t, tt.invalidate(ctx, a))

			for _, c := range []*cache.Memory{a, b} {
				testutil.CheckFor(t, waitFor, func() error {
					for _, k := range tt.wantGone {
						if hit(t, c, k) {
							return fmt.Errorf("Get(%q) hits after the invalidation", k)
						}
					}
					return nil
				})
				for _, k := range tt.wantKept {
					testutil.Equal(t, "Get("+k+") hit", hit(t, c, k), true)
				}
			}
			// A cache with another name shares the broker, not the topic.
			for _, k := range append(tt.wantGone, tt.wantKept...) {
				testutil.Equal(t, "other cache: Get("+k+") hit", hit(t, other, k), true)
			}
			testutil.Equal(t, "a.Stats().Received", a.Stats().Received, uint64(0))
			testutil.Equal(t, "b.Stats().Received", b.Stats().Received, uint64(1))
		})
	}
}

// TestCacheIgnoresOwnMessages replays a node's invalidation to every
// subscriber, as a broker that loops messages back would: the sender skips
// it, the other node applies it again, idempotently.
func TestCacheIgnoresOwnMessages(t *testing.T) {
	t.Parallel()
	broker := pubsub.NewMemory(pubsub.MemoryConfig{})
	a := newMemory(t, cache.Config{Broker: broker})
	b := newMemory(t, cache.Config{Broker: broker})
	serve(t, a)
	serve(t, b)
	s := &spy{}
	testutil.Success(t, broker.Subscribe(t.Context(), a.Topic(), s))

	testutil.Success(t, a.Delete(t.Context(), "k"))
	msgs := s.all()
	testutil.Equal(t, "messages published", len(msgs), 1)

	replay := &pubsub.Message{Topic: msgs[0].Topic, Event: msgs[0].Event, Payload: msgs[0].Payload}
	testutil.Success(t, broker.Broadcast(t.Context(), replay))
	testutil.Equal(t, "a.Stats().Received", a.Stats().Received, uint64(0))
	testutil.Equal(t, "b.Stats().Received", b.Stats().Received, uint64(2))
}

func TestCacheMalformedInvalidation(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var mu sync.Mutex
	broker := pubsub.NewMemory(pubsub.MemoryConfig{})
	c := newMemory(t, cache.Config{Broker: broker, Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))})
	serve(t, c)
	testutil.Success(t, c.Set(t.Context(), "k", "v"))
	for _, m := range []*pubsub.Message{
		{Topic: c.Topic(), Event: cache.EventInvalidate, Payload: []byte("{not json")},
		{Topic: c.Topic(), Event: "other", Payload: []byte(`{"keys":["k"]}`)},
	} {
		testutil.Success(t, broker.Broadcast(t.Context(), m))
	}
	testutil.Equal(t, "Get(k) hit", hit(t, c, "k"), true)
	testutil.Equal(t, "Stats().Received", c.Stats().Received, uint64(0))
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(logs.String(), "malformed invalidation"); n != 2 {
		t.Fatalf("logged %d malformed invalidations, want 2:\n%s", n, logs.String())
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestCacheServe(t *testing.T) {
	t.Parallel()
	t.Run("clears when it subscribes", func(t *testing.T) {
		t.Parallel()
		broker := pubsub.NewMemory(pubsub.MemoryConfig{})
		c := newMemory(t, cache.Config{Broker: broker})
		testutil.Success(t, c.Set(t.Context(), "k", "stored before Serve"))
		serve(t, c)
		testutil.Equal(t, "Get(k) hit", hit(t, c, "k"), false)
	})
	t.Run("unsubscribes when ctx ends", func(t *testing.T) {
		t.Parallel()
		broker := pubsub.NewMemory(pubsub.MemoryConfig{})
		c := newMemory(t, cache.Config{Broker: broker})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Serve(ctx) }()
		testutil.CheckFor(t, waitFor, func() error {
			if n := broker.Stats().Subscriptions; n != 1 {
				return fmt.Errorf("broker has %d subscriptions, want 1", n)
			}
			return nil
		})
		// A second Serve while the first runs is refused.
		testutil.Error(t, c.Serve(t.Context()))
		cancel()
		testutil.Success(t, <-done)
		testutil.Equal(t, "broker subscriptions after Serve", broker.Stats().Subscriptions, 0)
		testutil.Equal(t, "Stats().Subscribed", c.Stats().Subscribed, false)
	})
	t.Run("subscribe error", func(t *testing.T) {
		t.Parallel()
		c := newMemory(t, cache.Config{Broker: pubsub.NewMemory(pubsub.MemoryConfig{})})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := c.Serve(ctx)
		testutil.ErrorIs(t, err, context.Canceled)
	})
	t.Run("without a broker", func(t *testing.T) {
		t.Parallel()
		c := newMemory(t, cache.Config{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		testutil.Success(t, c.Serve(ctx))
	})
}

// broadcastCall is one call of a fake broadcaster.
type broadcastCall struct {
	topic, event string
	payload      any
}

func TestCacheNotifier(t *testing.T) {
	t.Parallel()
	var calls []broadcastCall
	n := cache.Notifier{
		Broadcast: func(_ context.Context, topic, event string, payload any) error {
			calls = append(calls, broadcastCall{topic, event, payload})
			return nil
		},
		Topic: "cache",
	}
	c := newMemory(t, cache.Config{Notify: n.Notify})
	testutil.Success(t, c.Delete(t.Context(), "a", "b"))
	testutil.Success(t, c.InvalidateTags(t.Context(), "rooms"))
	testutil.Equal(t, "broadcasts", calls, []broadcastCall{
		{"cache", "invalidate", cache.Invalidation{Keys: []string{"a", "b"}, Tags: []string{}}},
		{"cache", "invalidate", cache.Invalidation{Keys: []string{}, Tags: []string{"rooms"}}},
	})

	testutil.Error(t, cache.Notifier{Topic: "cache"}.Notify(t.Context(), cache.Invalidation{}))
	testutil.Error(t, cache.Notifier{Broadcast: n.Broadcast}.Notify(t.Context(), cache.Invalidation{}))
}

// TestCacheNotifierSocket pushes invalidations through a real
// channel.Socket: the payload clients get is {"keys":[…],"tags":[…]}.
func TestCacheNotifierSocket(t *testing.T) {
	t.Parallel()
	broker := pubsub.NewMemory(pubsub.MemoryConfig{})
	socket, err := channel.NewSocket(channel.Config{Broker: broker})
	testutil.Success(t, err)
	clients := &spy{}
	testutil.Success(t, broker.Subscribe(t.Context(), "cache:rooms", clients))

	c := newMemory(t, cache.Config{Notify: cache.Notifier{Broadcast: socket.Broadcast, Topic: "cache:rooms"}.Notify})
	testutil.Success(t, c.InvalidateTags(t.Context(), "rooms", "room:1"))

	msgs := clients.all()
	testutil.Equal(t, "messages", len(msgs), 1)
	testutil.Equal(t, "event", msgs[0].Event, "invalidate")
	testutil.Equal(t, "payload", string(msgs[0].Payload), `{"keys":[],"tags":["rooms","room:1"]}`)
}

// TestCacheNotifyOrigin checks that only the node where an invalidation
// was made notifies clients, and that the local removal happens even when
// notifying fails.
func TestCacheNotifyOrigin(t *testing.T) {
	t.Parallel()
	broker := pubsub.NewMemory(pubsub.MemoryConfig{})
	var mu sync.Mutex
	count := map[string]int{}
	notify := func(node string, err error) func(context.Context, cache.Invalidation) error {
		return func(context.Context, cache.Invalidation) error {
			mu.Lock()
			count[node]++
			mu.Unlock()
			return err
		}
	}
	boom := errors.New("boom")
	a := newMemory(t, cache.Config{Broker: broker, Notify: notify("a", boom)})
	b := newMemory(t, cache.Config{Broker: broker, Notify: notify("b", nil)})
	serve(t, a)
	serve(t, b)
	testutil.Success(t, a.Set(t.Context(), "k", "v"))
	testutil.Success(t, b.Set(t.Context(), "k", "v"))

	err := a.Delete(t.Context(), "k")
	testutil.ErrorIs(t, err, boom)
	testutil.Equal(t, "a: Get(k) hit", hit(t, a, "k"), false)
	testutil.CheckFor(t, waitFor, func() error {
		if hit(t, b, "k") {
			return errors.New("b still has k")
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	testutil.Equal(t, "notifications", count, map[string]int{"a": 1})
}
