package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/cluster"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
)

// owner is a presence owner that ends when its test does.
type owner struct{ topic string }

func (o *owner) Topic() string             { return o.topic }
func (o *owner) OnExit(func(reason error)) {}

// start runs c.Serve until stop is called or the test ends.
func start(t *testing.T, c *cluster.Cluster) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve() = %v, want nil", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func newCluster(t testing.TB, url, node string) *cluster.Cluster {
	t.Helper()
	c, err := cluster.New(cluster.Config{Broker: url, Node: node})
	testutil.Success(t, err)
	return c
}

func TestClusterServe(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		url  func(testing.TB) string
	}{{"redis", redisURL}, {"nats", natsURL}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := tc.url(t)
			a, b := newCluster(t, url, "a"), newCluster(t, url, "b")
			ctx := context.Background()
			if err := a.Healthy(ctx); err == nil {
				t.Error("Healthy() before Serve = nil, want not connected")
			}
			stopA := start(t, a)
			start(t, b)
			for _, c := range []*cluster.Cluster{a, b} {
				testutil.CheckFor(t, waitFor, func() error { return c.Healthy(ctx) })
			}
			// Presence replicates both ways.
			_, err := a.Presence().Track(ctx, &owner{"room:1"}, "alice", map[string]any{})
			testutil.Success(t, err)
			_, err = b.Presence().Track(ctx, &owner{"room:1"}, "bob", map[string]any{})
			testutil.Success(t, err)
			for _, c := range []*cluster.Cluster{a, b} {
				testutil.CheckFor(t, waitFor, func() error {
					if l := c.Presence().List("room:1"); len(l) != 2 {
						return fmt.Errorf("node %s lists %d users, want 2", c.Node(), len(l))
					}
					return nil
				})
			}
			// A clean stop takes a's users out of b's lists at once
			// (PermdownOnShutdown is on by default), not after DownPeriod.
			stopA()
			testutil.CheckFor(t, 3*time.Second, func() error {
				if _, ok := b.Presence().Get("room:1", "alice"); ok {
					return errors.New("alice is still listed on b after a stopped")
				}
				return nil
			})
		})
	}
}

func TestClusterMemoryHealthy(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "", "")
	testutil.Success(t, c.Healthy(context.Background()))
	testutil.Equal(t, "Kind()", c.Kind(), cluster.KindMemory)
	var _ pubsub.Broker = c.Broker()
	testutil.Success(t, c.Close())
}

// TestClusterDuplicateNode starts two nodes with one name: each detects
// the other's hello, and Healthy reports the duplicate, while a third node
// with its own name stays healthy.
func TestClusterDuplicateNode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		url  func(testing.TB) string
	}{{"redis", redisURL}, {"nats", natsURL}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := tc.url(t)
			a1, a2, b := newCluster(t, url, "a"), newCluster(t, url, "a"), newCluster(t, url, "b")
			start(t, a1)
			start(t, a2)
			start(t, b)
			for _, c := range []*cluster.Cluster{a1, a2} {
				testutil.CheckFor(t, waitFor, func() error {
					if err := c.Healthy(t.Context()); !errors.Is(err, pubsub.ErrDuplicateNode) {
						return fmt.Errorf("Healthy() = %v, want ErrDuplicateNode", err)
					}
					return nil
				})
			}
			testutil.CheckFor(t, waitFor, func() error { return b.Healthy(t.Context()) })
		})
	}
}
