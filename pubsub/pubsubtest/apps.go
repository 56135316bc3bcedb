package pubsubtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/cache"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/presence"
	"github.com/suzaku-go/suzaku/pubsub"
)

// run runs f as a service until the test ends.
func run(t *testing.T, name string, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: Serve() = %v, want nil", name, err)
		}
	})
}

// owner is a fake channel: a presence.Owner whose exit the test triggers.
type owner struct {
	topic string
	mu    sync.Mutex
	hooks []func(error)
	dead  bool
}

func (o *owner) Topic() string { return o.topic }

func (o *owner) OnExit(f func(error)) {
	o.mu.Lock()
	if o.dead {
		o.mu.Unlock()
		f(errors.New("exited"))
		return
	}
	o.hooks = append(o.hooks, f)
	o.mu.Unlock()
}

func (o *owner) exit() {
	o.mu.Lock()
	o.dead = true
	hooks := o.hooks
	o.hooks = nil
	o.mu.Unlock()
	for _, f := range hooks {
		f(errors.New("exited"))
	}
}

// RunPresence checks that presence trackers on two nodes of a cluster
// converge over the brokers: each tracks on its own node and both lists
// end equal, also after an owner exits. nodes must be connected brokers of
// distinct nodes.
func RunPresence(t *testing.T, nodes []pubsub.Broker) {
	trackers := make([]*presence.Tracker, len(nodes))
	for i, b := range nodes {
		tr, err := presence.New(presence.Config{Broker: b, BroadcastPeriod: 20 * time.Millisecond})
		testutil.Success(t, err)
		trackers[i] = tr
		run(t, "tracker "+b.Node(), tr.Serve)
	}
	const topic = "room:lobby"
	owners := make([]*owner, len(nodes))
	for i, tr := range trackers {
		owners[i] = &owner{topic: topic}
		_, err := tr.Track(t.Context(), owners[i], "user-"+nodes[i].Node(), map[string]any{"node": nodes[i].Node()})
		testutil.Success(t, err)
	}
	converged := func(want ...string) func() error {
		return func() error {
			first := trackers[0].List(topic)
			if got := slices.Sorted(maps.Keys(first)); !slices.Equal(got, want) {
				return fmt.Errorf("%s lists %v, want %v", nodes[0].Node(), got, want)
			}
			for i, tr := range trackers[1:] {
				if l := tr.List(topic); !reflect.DeepEqual(l, first) {
					return fmt.Errorf("%s lists %v, %s lists %v", nodes[i+1].Node(), l, nodes[0].Node(), first)
				}
			}
			return nil
		}
	}
	all := make([]string, len(nodes))
	for i, b := range nodes {
		all[i] = "user-" + b.Node()
	}
	testutil.CheckFor(t, timeout, converged(all...))
	owners[0].exit()
	testutil.CheckFor(t, timeout, converged(all[1:]...))
}

// RunCache checks that cache invalidations cross nodes over the brokers:
// a Delete or InvalidateTags on one node drops the entries on the other.
func RunCache(t *testing.T, nodes []pubsub.Broker) {
	caches := make([]*cache.Memory, len(nodes))
	for i, b := range nodes {
		c, err := cache.New(cache.Config{Broker: b})
		testutil.Success(t, err)
		t.Cleanup(func() { _ = c.Close() })
		caches[i] = c
		run(t, "cache "+b.Node(), c.Serve)
		testutil.CheckFor(t, timeout, func() error {
			if !c.Stats().Subscribed {
				return errors.New("cache has not subscribed")
			}
			return nil
		})
	}
	ctx := t.Context()
	for _, c := range caches {
		testutil.Success(t, c.Set(ctx, "room:1", "one", cache.WithTags("rooms")))
		testutil.Success(t, c.Set(ctx, "room:2", "two", cache.WithTags("rooms")))
		testutil.Success(t, c.Set(ctx, "user:1", "u"))
	}
	hit := func(c *cache.Memory, key string) bool {
		_, ok, err := c.Get(ctx, key)
		testutil.Success(t, err)
		return ok
	}
	gone := func(keys ...string) func() error {
		return func() error {
			for i, c := range caches {
				for _, k := range keys {
					if hit(c, k) {
						return fmt.Errorf("%s: Get(%q) hits after the invalidation", nodes[i].Node(), k)
					}
				}
			}
			return nil
		}
	}
	testutil.Success(t, caches[0].Delete(ctx, "room:1"))
	testutil.CheckFor(t, timeout, gone("room:1"))
	for _, c := range caches {
		testutil.Equal(t, "Get(room:2) hit", hit(c, "room:2"), true)
	}
	testutil.Success(t, caches[1].InvalidateTags(ctx, "rooms"))
	testutil.CheckFor(t, timeout, gone("room:2"))
	for _, c := range caches {
		testutil.Equal(t, "Get(user:1) hit", hit(c, "user:1"), true)
	}
}
