package nats_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
	suzakunats "github.com/suzaku-go/suzaku/pubsub/nats"
)

// TestMain fails the package's tests if goroutines outlive them: the
// in-process servers and the connections must be shut down.
func TestMain(m *testing.M) { testutil.Main(m) }

// waitFor bounds every wait for a delivery or a connection; it is reached
// only when a test fails.
const waitFor = 10 * time.Second

var (
	runID = strconv.FormatUint(rand.Uint64(), 36)
	seq   atomic.Uint64
)

// startServer runs an in-process NATS server on 127.0.0.1:port (-1: a
// random port) until the test ends.
func startServer(t testing.TB, port int) *natsserver.Server {
	t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
	testutil.Success(t, err)
	s.Start()
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(waitFor) {
		t.Fatalf("NATS server not ready after %v", waitFor)
	}
	return s
}

func serverPort(s *natsserver.Server) int { return s.Addr().(*net.TCPAddr).Port }

// newPrefix returns a subject prefix no other test uses.
func newPrefix() string {
	return "suzaku-test." + runID + "." + strconv.FormatUint(seq.Add(1), 10)
}

// newBroker returns a broker; Serve is not running.
func newBroker(t testing.TB, cfg suzakunats.Config) *suzakunats.Broker {
	t.Helper()
	if cfg.ReconnectWait == 0 && cfg.Conn == nil {
		cfg.ReconnectWait = 200 * time.Millisecond
	}
	b, err := suzakunats.New(cfg)
	testutil.Success(t, err)
	return b
}

// serve runs b.Serve until the test ends. With wait, it returns once b is
// connected.
func serve(t testing.TB, b *suzakunats.Broker, wait bool) {
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

func waitConnected(t testing.TB, b *suzakunats.Broker) {
	t.Helper()
	testutil.CheckFor(t, waitFor, func() error {
		if !b.Stats().Connected {
			return errors.New(b.Node() + " is not connected")
		}
		return nil
	})
}

// nodeNames are the cluster's node names: the second and third need
// escaping in subjects.
var nodeNames = []string{"a", "web-1@10.0.0.2", "n * > .x%2E"}

// clusterOn returns n connected brokers on prefix of srv ("": a new
// prefix).
func clusterOn(t testing.TB, srv *natsserver.Server, prefix string, n int) []*suzakunats.Broker {
	t.Helper()
	if prefix == "" {
		prefix = newPrefix()
	}
	nodes := make([]*suzakunats.Broker, n)
	for i := range nodes {
		nodes[i] = newBroker(t, suzakunats.Config{Node: nodeNames[i], URL: srv.ClientURL(), Prefix: prefix})
		serve(t, nodes[i], false)
	}
	for _, b := range nodes {
		waitConnected(t, b)
	}
	return nodes
}

// cluster returns n connected brokers on a server of their own.
func cluster(t testing.TB, n int) []*suzakunats.Broker {
	t.Helper()
	return clusterOn(t, startServer(t, -1), "", n)
}

// brokers returns bs as pubsub.Brokers.
func brokers(bs []*suzakunats.Broker) []pubsub.Broker {
	out := make([]pubsub.Broker, len(bs))
	for i, b := range bs {
		out[i] = b
	}
	return out
}
