package cluster_test

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

// TestMain fails the package's tests if goroutines outlive them.
func TestMain(m *testing.M) { testutil.Main(m) }

// waitFor bounds every wait; it is reached only when a test fails.
const waitFor = 15 * time.Second

var (
	runID = strconv.FormatUint(rand.Uint64(), 36)
	seq   atomic.Uint64
)

// newName returns a cluster name no other test uses.
func newName() string { return "ct" + runID + "x" + strconv.FormatUint(seq.Add(1), 10) }

// redisURL returns the URL of the tests' Redis server (REDIS_ADDR or
// 127.0.0.1:6379) for a cluster of its own. Without Redis the test is
// skipped, or fails in CI.
func redisURL(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no Redis at %s (set REDIS_ADDR): %v", addr, err)
		}
		t.Skipf("no Redis at %s (set REDIS_ADDR): %v", addr, err)
	}
	_ = c.Close()
	return "redis://" + addr + "?cluster=" + newName()
}

// natsURL starts an in-process NATS server for the test and returns its
// URL for a cluster of its own.
func natsURL(t testing.TB) string {
	t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	testutil.Success(t, err)
	s.Start()
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(waitFor) {
		t.Fatalf("NATS server not ready after %v", waitFor)
	}
	return s.ClientURL() + "?cluster=" + newName()
}
