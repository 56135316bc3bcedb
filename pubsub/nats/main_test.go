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

// newTopic returns a topic unique to the process.
func newTopic(name string) string {
	return "t:" + strconv.FormatUint(seq.Add(1), 10) + ":" + name
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

// recorder is a Subscriber that queues what it gets.
type recorder struct {
	name    string
	ch      chan *pubsub.Message
	dropped atomic.Int64
}

func newRecorder(name string, size int) *recorder {
	return &recorder{name: name, ch: make(chan *pubsub.Message, size)}
}

func (r *recorder) Deliver(m *pubsub.Message) {
	select {
	case r.ch <- m:
	default:
		r.dropped.Add(1)
	}
}

func (r *recorder) next(t testing.TB) *pubsub.Message {
	t.Helper()
	if n := r.dropped.Load(); n > 0 {
		t.Fatalf("%s: %d deliveries overflowed the buffer", r.name, n)
	}
	select {
	case m := <-r.ch:
		return m
	case <-time.After(waitFor):
		t.Fatalf("%s: no delivery after %v", r.name, waitFor)
		return nil
	}
}

// expect waits for deliveries of these events, in order.
func (r *recorder) expect(t testing.TB, events ...string) {
	t.Helper()
	for i, want := range events {
		if m := r.next(t); m.Event != want {
			t.Fatalf("%s: delivery %d: event = %q, want %q (expected %q)", r.name, i, m.Event, want, events)
		}
	}
}

// expectNone checks that nothing is queued; call it after a later marker
// has arrived.
func (r *recorder) expectNone(t testing.TB) {
	t.Helper()
	select {
	case m := <-r.ch:
		t.Fatalf("%s: unexpected delivery: topic %q, event %q, payload %q", r.name, m.Topic, m.Event, m.Payload)
	default:
	}
}

func msg(topic, event string) *pubsub.Message {
	return &pubsub.Message{Topic: topic, Event: event, Payload: []byte(`{"event":"` + event + `"}`)}
}
