package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/cache"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub/redis"
)

// privateRedis is a redis-server of the test's own, on a free port, that
// the test may stop and start again; the shared one is never touched.
type privateRedis struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T) *privateRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no redis-server binary: %v", err)
		}
		t.Skipf("no redis-server binary: %v", err)
	}
	_ = bin
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.Success(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &privateRedis{t: t, port: port}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *privateRedis) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

func (r *privateRedis) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.t.TempDir())
	testutil.Success(r.t, r.cmd.Start())
	testutil.CheckFor(r.t, 10*time.Second, func() error {
		c, err := net.DialTimeout("tcp", r.addr(), time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	})
}

func (r *privateRedis) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// TestRedisCacheResyncAfterRestart: an invalidation lost while Redis was
// down cannot leave another node's cache stale once Redis is back: the
// cache is cleared when the broker reconnects.
func TestRedisCacheResyncAfterRestart(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t)
	channel := newChannel()
	var caches []*cache.Memory
	var brokers []*redis.Broker
	for _, node := range []string{"a", "b"} {
		b := newBroker(t, redis.Config{Node: node, Addr: srv.addr(), Channel: channel, ReconnectWait: 100 * time.Millisecond})
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

	// Invalidations flow while Redis is up.
	testutil.Success(t, b.Set(ctx, "user:1", "v1"))
	testutil.Success(t, a.Delete(ctx, "user:1"))
	testutil.CheckFor(t, waitFor, func() error {
		if _, ok, _ := b.Get(ctx, "user:1"); ok {
			return errors.New("node b still holds user:1")
		}
		return nil
	})

	// Redis goes down; node a's invalidation is lost.
	testutil.Success(t, b.Set(ctx, "user:1", "v2"))
	srv.stop()
	for _, br := range brokers {
		testutil.CheckFor(t, waitFor, func() error {
			if br.Stats().Connected {
				return fmt.Errorf("%s still connected", br.Node())
			}
			return nil
		})
	}
	// The broker delivers locally and counts what the other nodes miss
	// (or, with older brokers, returns an error): either way b misses it.
	_ = a.Delete(ctx, "user:1")
	if v, ok, _ := b.Get(ctx, "user:1"); !ok || v != "v2" {
		t.Fatalf("node b's user:1 = %v, %v during the outage; want v2, true", v, ok)
	}

	// Redis is back: node b clears what may have missed an invalidation.
	srv.start()
	for _, br := range brokers {
		waitConnected(t, br)
	}
	testutil.CheckFor(t, waitFor, func() error {
		if v, ok, _ := b.Get(ctx, "user:1"); ok {
			return fmt.Errorf("node b still serves user:1 = %v after Redis came back", v)
		}
		return nil
	})
	if n := b.Stats().Resyncs; n == 0 {
		t.Fatalf("Stats().Resyncs = %d, want at least 1", n)
	}
}
