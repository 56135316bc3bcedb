package redis_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/pubsub/redis"
)

// TestMain fails the package's tests if goroutines outlive them.
func TestMain(m *testing.M) { testutil.Main(m) }

// waitFor bounds every wait for a delivery or a connection; it is reached
// only when a test fails.
const waitFor = 10 * time.Second

var (
	runID = strconv.FormatUint(rand.Uint64(), 36)
	seq   atomic.Uint64

	addrOnce sync.Once
	addrErr  error
)

// redisAddr returns the Redis server of the tests, REDIS_ADDR or
// 127.0.0.1:6379. When none answers, the test is skipped, or fails in CI.
func redisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		addr = redis.DefaultAddr
	}
	addrOnce.Do(func() {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			addrErr = err
			return
		}
		_ = c.Close()
	})
	if addrErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no Redis at %s (set REDIS_ADDR): %v", addr, addrErr)
		}
		t.Skipf("no Redis at %s (set REDIS_ADDR): %v", addr, addrErr)
	}
	return addr
}

// newChannel returns a Redis channel no other test, of this process or
// another, uses.
func newChannel() string {
	return "suzaku-test:" + runID + ":" + strconv.FormatUint(seq.Add(1), 10)
}

// newBroker returns a broker on the test server; Serve is not running.
func newBroker(t testing.TB, cfg redis.Config) *redis.Broker {
	t.Helper()
	if cfg.Addr == "" && cfg.ClientOption == nil {
		cfg.Addr = redisAddr(t)
	}
	if cfg.ReconnectWait == 0 {
		cfg.ReconnectWait = 200 * time.Millisecond
	}
	b, err := redis.New(cfg)
	testutil.Success(t, err)
	return b
}

// serve runs b.Serve until the test ends. With wait, it returns once b is
// connected.
func serve(t testing.TB, b *redis.Broker, wait bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v, want nil", err)
		}
	})
	if wait {
		waitConnected(t, b)
	}
}

func waitConnected(t testing.TB, b *redis.Broker) {
	t.Helper()
	testutil.CheckFor(t, waitFor, func() error {
		if !b.Stats().Connected {
			return errors.New(b.Node() + " is not connected")
		}
		return nil
	})
}

// cluster returns n connected brokers on one channel, nodes "a", "b", "c"…
func cluster(t testing.TB, n int) []*redis.Broker {
	t.Helper()
	channel := newChannel()
	nodes := make([]*redis.Broker, n)
	for i := range nodes {
		nodes[i] = newBroker(t, redis.Config{Node: string(rune('a' + i)), Channel: channel})
		serve(t, nodes[i], false)
	}
	for _, b := range nodes {
		waitConnected(t, b)
	}
	return nodes
}

// brokers returns bs as pubsub.Brokers.
func brokers(bs []*redis.Broker) []pubsub.Broker {
	out := make([]pubsub.Broker, len(bs))
	for i, b := range bs {
		out[i] = b
	}
	return out
}
