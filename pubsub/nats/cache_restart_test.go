package nats_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/cache"
	"github.com/suzaku-go/suzaku/internal/testutil"
	suzakunats "github.com/suzaku-go/suzaku/pubsub/nats"
)

// TestNATSCacheResyncAfterRestart: an invalidation lost while the NATS
// server was down cannot leave another node's cache stale once it is
// back: the cache is cleared when the broker reconnects.
func TestNATSCacheResyncAfterRestart(t *testing.T) {
	t.Parallel()
	srv := startServer(t, -1)
	port := serverPort(srv)
	prefix := newPrefix()
	var caches []*cache.Memory
	var brokers []*suzakunats.Broker
	for _, node := range []string{"a", "b"} {
		b := newBroker(t, suzakunats.Config{Node: node, URL: srv.ClientURL(), Prefix: prefix})
		serve(t, b, true)
		c, err := cache.New(cache.Config{Name: "users", Broker: b, ResyncPeriod: 20 * time.Millisecond})
		testutil.Success(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Serve(ctx) }()
		t.Cleanup(func() {
			cancel()
			testutil.Success(t, <-done)
			c.Close()
		})
		caches, brokers = append(caches, c), append(brokers, b)
	}
	a, b := caches[0], caches[1]
	testutil.CheckFor(t, waitFor, func() error {
		if !a.Stats().Subscribed || !b.Stats().Subscribed {
			return errors.New("caches not subscribed")
		}
		return nil
	})
	ctx := context.Background()

	testutil.Success(t, b.Set(ctx, "user:1", "v1"))
	srv.Shutdown()
	srv.WaitForShutdown()
	for _, br := range brokers {
		testutil.CheckFor(t, waitFor, func() error {
			if br.Stats().Connected {
				return fmt.Errorf("%s still connected", br.Node())
			}
			return nil
		})
	}
	_ = a.Delete(ctx, "user:1") // lost: the server is down
	if v, ok, _ := b.Get(ctx, "user:1"); !ok || v != "v1" {
		t.Fatalf("node b's user:1 = %v, %v during the outage; want v1, true", v, ok)
	}

	startServer(t, port)
	for _, br := range brokers {
		waitConnected(t, br)
	}
	testutil.CheckFor(t, waitFor, func() error {
		if v, ok, _ := b.Get(ctx, "user:1"); ok {
			return fmt.Errorf("node b still serves user:1 = %v after NATS came back", v)
		}
		return nil
	})
}
