package nats_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
	suzakunats "github.com/suzaku-go/suzaku/pubsub/nats"
	"github.com/suzaku-go/suzaku/pubsub/pubsubtest"
)

// connect returns a plain client connection to srv, closed when the test
// ends.
func connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	testutil.Success(t, err)
	t.Cleanup(nc.Close)
	return nc
}

func TestNATSConformance(t *testing.T) {
	t.Parallel()
	srv := startServer(t, -1)
	t.Run("URL", func(t *testing.T) {
		t.Parallel()
		pubsubtest.Run(t, func(t *testing.T) pubsub.Broker {
			b := newBroker(t, suzakunats.Config{Node: "n1", URL: srv.ClientURL(), Prefix: newPrefix()})
			serve(t, b, true)
			return b
		})
	})
	// With the application's connection, which echoes.
	t.Run("Conn", func(t *testing.T) {
		t.Parallel()
		pubsubtest.Run(t, func(t *testing.T) pubsub.Broker {
			b := newBroker(t, suzakunats.Config{Node: "n1", Conn: connect(t, srv.ClientURL()), Prefix: newPrefix()})
			serve(t, b, true)
			return b
		})
	})
}

func TestNATSCluster(t *testing.T) {
	t.Parallel()
	srv := startServer(t, -1)
	pubsubtest.RunCluster(t, func(t *testing.T, n int) []pubsub.Broker { return brokers(clusterOn(t, srv, "", n)) })
}

// TestNATSClusterConn runs the multi-node tests with nodes that share one
// application connection.
func TestNATSClusterConn(t *testing.T) {
	t.Parallel()
	srv := startServer(t, -1)
	nc := connect(t, srv.ClientURL())
	pubsubtest.RunCluster(t, func(t *testing.T, n int) []pubsub.Broker {
		prefix := newPrefix()
		nodes := make([]*suzakunats.Broker, n)
		for i := range nodes {
			nodes[i] = newBroker(t, suzakunats.Config{Node: nodeNames[i], Conn: nc, Prefix: prefix})
			serve(t, nodes[i], true)
		}
		return brokers(nodes)
	})
}

func TestNATSPresence(t *testing.T) {
	t.Parallel()
	pubsubtest.RunPresence(t, brokers(cluster(t, 2)))
}

func TestNATSCache(t *testing.T) {
	t.Parallel()
	pubsubtest.RunCache(t, brokers(cluster(t, 2)))
}

func TestNATSNew(t *testing.T) {
	t.Parallel()
	nc := &nats.Conn{} // never used
	tests := []struct {
		name    string
		cfg     suzakunats.Config
		wantErr string
	}{
		{name: "NoNode", cfg: suzakunats.Config{}, wantErr: "Node is empty"},
		{name: "NegativeWait", cfg: suzakunats.Config{Node: "a", ReconnectWait: -1}, wantErr: "negative ReconnectWait"},
		{name: "NegativeBuffer", cfg: suzakunats.Config{Node: "a", ReceiveBuffer: -1}, wantErr: "negative ReceiveBuffer"},
		{name: "ConnAndURL", cfg: suzakunats.Config{Node: "a", Conn: nc, URL: "nats://x"}, wantErr: "Conn is set"},
		{name: "ConnAndOptions", cfg: suzakunats.Config{Node: "a", Conn: nc, Options: &nats.Options{}}, wantErr: "Conn is set"},
		{name: "EmptyToken", cfg: suzakunats.Config{Node: "a", Prefix: "a..b"}, wantErr: "prefix"},
		{name: "TrailingDot", cfg: suzakunats.Config{Node: "a", Prefix: "a."}, wantErr: "prefix"},
		{name: "Wildcard", cfg: suzakunats.Config{Node: "a", Prefix: "a.*"}, wantErr: "prefix"},
		{name: "FullWildcard", cfg: suzakunats.Config{Node: "a", Prefix: ">"}, wantErr: "prefix"},
		{name: "Space", cfg: suzakunats.Config{Node: "a", Prefix: "a b"}, wantErr: "prefix"},
		{name: "Defaults", cfg: suzakunats.Config{Node: "a"}},
		{name: "Options", cfg: suzakunats.Config{Node: "a", Options: &nats.Options{Url: "nats://10.0.0.1:4222"}}},
		{name: "URLs", cfg: suzakunats.Config{Node: "a b.c", URL: "nats://a:4222, nats://b:4222", Prefix: "app.v1"}},
		{name: "Conn", cfg: suzakunats.Config{Node: "a", Conn: nc}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := suzakunats.New(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New() = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			testutil.Success(t, err)
			testutil.Equal(t, "Node()", b.Node(), tt.cfg.Node)
			testutil.Equal(t, "Stats().Connected", b.Stats().Connected, false)
		})
	}
}

// closedURL returns a URL where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.Success(t, err)
	addr := ln.Addr().String()
	testutil.Success(t, ln.Close())
	return "nats://" + addr
}

// TestNATSNotConnected runs a broker whose server is down: broadcasts
// reach local subscribers only (counted as unsent), direct messages to
// other nodes fail with ErrNotConnected, local ones work, a second Serve
// fails, and Serve returns when ctx ends.
func TestNATSNotConnected(t *testing.T) {
	t.Parallel()
	b := newBroker(t, suzakunats.Config{Node: "a", URL: closedURL(t), ReconnectWait: 20 * time.Millisecond})
	topic := pubsubtest.NewTopic("down")
	r := pubsubtest.NewRecorder("r", 8)
	testutil.Success(t, b.Subscribe(t.Context(), topic, r)) // before Serve

	// Two Serves at once: one returns at once, already serving.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- b.Serve(ctx) }()
	go func() { done <- b.Serve(ctx) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "already serving") {
			t.Fatalf("second Serve() = %v, want an already serving error", err)
		}
	case <-time.After(waitFor):
		t.Fatal("neither Serve returned")
	}

	testutil.Success(t, b.Broadcast(t.Context(), pubsubtest.Msg(topic, "e1")))
	testutil.ErrorIs(t, b.DirectBroadcast(t.Context(), "b", pubsubtest.Msg(topic, "e2")), suzakunats.ErrNotConnected)
	testutil.Success(t, b.LocalBroadcast(t.Context(), pubsubtest.Msg(topic, "e3")))
	testutil.Success(t, b.DirectBroadcast(t.Context(), "a", pubsubtest.Msg(topic, "e4")))
	r.Expect(t, "e1", "e3", "e4") // synchronous: e2 would be queued already
	r.ExpectNone(t)
	testutil.Equal(t, "Stats().Connected", b.Stats().Connected, false)
	testutil.Equal(t, "Stats().Unsent", b.Stats().Unsent, uint64(1))
	testutil.ErrorIs(t, b.Healthy(t.Context()), suzakunats.ErrNotConnected)

	cancel()
	select {
	case err := <-done:
		testutil.Success(t, err)
	case <-time.After(waitFor):
		t.Fatal("Serve did not return after its context ended")
	}
	testutil.Success(t, b.Serve(ctx)) // a done context: returns at once
}

// TestNATSSubscribeBeforeServe subscribes before Serve runs: local
// delivery works at once, and remote delivery once Serve has connected.
func TestNATSSubscribeBeforeServe(t *testing.T) {
	t.Parallel()
	srv := startServer(t, -1)
	prefix := newPrefix()
	a := newBroker(t, suzakunats.Config{Node: "a", URL: srv.ClientURL(), Prefix: prefix})
	b := newBroker(t, suzakunats.Config{Node: "b", URL: srv.ClientURL(), Prefix: prefix})
	topic := pubsubtest.NewTopic("early")
	ra, rb := pubsubtest.NewRecorder("a", 8), pubsubtest.NewRecorder("b", 8)
	testutil.Success(t, a.Subscribe(t.Context(), topic, ra))
	testutil.Success(t, b.Subscribe(t.Context(), topic, rb))
	testutil.Success(t, a.LocalBroadcast(t.Context(), pubsubtest.Msg(topic, "local")))
	ra.Expect(t, "local")

	serve(t, a, true)
	serve(t, b, true)
	testutil.Success(t, a.Broadcast(t.Context(), pubsubtest.Msg(topic, "e1")))
	ra.Expect(t, "e1")
	rb.Expect(t, "e1")
}

// TestNATSServerRestart stops the server and starts it again on the same
// port: the brokers notice, deliver broadcasts locally only meanwhile,
// reconnect, and delivery resumes both ways.
func TestNATSServerRestart(t *testing.T) {
	t.Parallel()
	srv := startServer(t, -1)
	port := serverPort(srv)
	nodes := clusterOn(t, srv, "", 2)
	a, b := nodes[0], nodes[1]
	topic := pubsubtest.NewTopic("restart")
	ra, rb := pubsubtest.NewRecorder("a", 8), pubsubtest.NewRecorder("b", 8)
	testutil.Success(t, a.Subscribe(t.Context(), topic, ra))
	testutil.Success(t, b.Subscribe(t.Context(), topic, rb))
	testutil.Success(t, a.Broadcast(t.Context(), pubsubtest.Msg(topic, "before")))
	ra.Expect(t, "before")
	rb.Expect(t, "before")

	srv.Shutdown()
	srv.WaitForShutdown()
	for _, n := range nodes {
		testutil.CheckFor(t, waitFor, func() error {
			if n.Stats().Connected {
				return fmt.Errorf("%s is still connected", n.Node())
			}
			return nil
		})
	}
	testutil.Success(t, a.Broadcast(t.Context(), pubsubtest.Msg(topic, "during")))
	ra.Expect(t, "during") // local delivery never stops; b misses it
	testutil.ErrorIs(t, a.DirectBroadcast(t.Context(), b.Node(), pubsubtest.Msg(topic, "during")), suzakunats.ErrNotConnected)

	startServer(t, port)
	for _, n := range nodes {
		testutil.CheckFor(t, waitFor, func() error {
			if st := n.Stats(); !st.Connected || st.Connects < 2 {
				return fmt.Errorf("%s: Stats() = %+v, want connected again", n.Node(), st)
			}
			return nil
		})
	}
	testutil.Success(t, a.Broadcast(t.Context(), pubsubtest.Msg(topic, "after-a")))
	testutil.Success(t, b.Broadcast(t.Context(), pubsubtest.Msg(topic, "after-b")))
	testutil.Success(t, a.DirectBroadcast(t.Context(), b.Node(), pubsubtest.Msg(topic, "direct")))
	ra.Expect(t, "after-a", "after-b") // after-a locally, before b sent after-b
	got := map[string]bool{}
	for range 3 {
		got[rb.Next(t).Event] = true
	}
	if !got["after-a"] || !got["after-b"] || !got["direct"] {
		t.Fatalf("b got %v, want after-a, after-b and direct", got)
	}
	ra.ExpectNone(t)
}

// TestNATSConnClosed closes the application's connection under Serve:
// Serve returns an error, for the supervisor to see.
func TestNATSConnClosed(t *testing.T) {
	t.Parallel()
	srv := startServer(t, -1)
	nc, err := nats.Connect(srv.ClientURL())
	testutil.Success(t, err)
	b := newBroker(t, suzakunats.Config{Node: "a", Conn: nc})
	done := make(chan error, 1)
	go func() { done <- b.Serve(context.Background()) }()
	waitConnected(t, b)
	nc.Close()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "closed") {
			t.Fatalf("Serve() = %v, want a connection closed error", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Serve did not return after its connection closed")
	}
	testutil.Equal(t, "Stats().Connected", b.Stats().Connected, false)
}

// TestNATSSubjects checks the subjects messages travel on.
func TestNATSSubjects(t *testing.T) {
	t.Parallel()
	srv := startServer(t, -1)
	a := newBroker(t, suzakunats.Config{Node: "a", URL: srv.ClientURL(), Prefix: "app.v1"})
	serve(t, a, true)
	spy := connect(t, srv.ClientURL())
	got := make(chan *nats.Msg, 8)
	sub, err := spy.ChanSubscribe("app.v1.>", got)
	testutil.Success(t, err)
	testutil.Success(t, spy.Flush())
	defer func() { _ = sub.Unsubscribe() }()

	testutil.Success(t, a.Broadcast(t.Context(), pubsubtest.Msg("t", "e")))
	testutil.Success(t, a.DirectBroadcast(t.Context(), "web-1@10.0.0.2", pubsubtest.Msg("t", "e")))
	testutil.Success(t, a.DirectBroadcast(t.Context(), "x.*>%", pubsubtest.Msg("t", "e")))
	for _, want := range []string{"app.v1.all", "app.v1.node.web-1@10%2E0%2E0%2E2", "app.v1.node.x%2E%2A%3E%25"} {
		select {
		case m := <-got:
			testutil.Equal(t, "subject", m.Subject, want)
		case <-time.After(waitFor):
			t.Fatalf("no message on %s", want)
		}
	}
}

// TestNATSInvalidMessages publishes what is not an envelope on the
// broker's subjects: it counts it, drops it, and goes on.
func TestNATSInvalidMessages(t *testing.T) {
	t.Parallel()
	srv := startServer(t, -1)
	prefix := newPrefix()
	nodes := clusterOn(t, srv, prefix, 2)
	topic := pubsubtest.NewTopic("invalid")
	r := pubsubtest.NewRecorder("r", 8)
	testutil.Success(t, nodes[1].Subscribe(t.Context(), topic, r))
	nc := connect(t, srv.ClientURL())
	junk := []string{"", "\x01", "\x02\x00\x01a\x00\x00", "\x01\x04\x01a\x00\x00", "\x01\x00\x05a", "\x01\x00\x00\x00\x00", `{"json":1}`}
	for _, j := range junk {
		testutil.Success(t, nc.Publish(prefix+".all", []byte(j)))
	}
	testutil.Success(t, nc.Publish(prefix+".node.web-1@10%2E0%2E0%2E2", []byte("junk")))
	testutil.Success(t, nc.Flush())
	testutil.Success(t, nodes[0].Broadcast(t.Context(), pubsubtest.Msg(topic, "valid")))
	r.Expect(t, "valid")
	testutil.CheckFor(t, waitFor, func() error {
		if n := nodes[1].Stats().Invalid; n != uint64(len(junk)+1) {
			return fmt.Errorf("Stats().Invalid = %d, want %d", n, len(junk)+1)
		}
		return nil
	})
	r.ExpectNone(t)
}

// TestNATSPrefixIsolation runs two clusters on one server: they do not
// hear each other.
func TestNATSPrefixIsolation(t *testing.T) {
	t.Parallel()
	srv := startServer(t, -1)
	one, two := clusterOn(t, srv, "", 2), clusterOn(t, srv, "", 2)
	topic := pubsubtest.NewTopic("iso")
	r1, r2 := pubsubtest.NewRecorder("one", 8), pubsubtest.NewRecorder("two", 8)
	testutil.Success(t, one[1].Subscribe(t.Context(), topic, r1))
	testutil.Success(t, two[1].Subscribe(t.Context(), topic, r2))
	testutil.Success(t, one[0].Broadcast(t.Context(), pubsubtest.Msg(topic, "e1")))
	testutil.Success(t, two[0].Broadcast(t.Context(), pubsubtest.Msg(topic, "e2")))
	testutil.Success(t, one[0].DirectBroadcast(t.Context(), one[1].Node(), pubsubtest.Msg(topic, "d1")))
	testutil.Success(t, one[0].Broadcast(t.Context(), pubsubtest.Msg(topic, "marker")))
	testutil.Success(t, two[0].Broadcast(t.Context(), pubsubtest.Msg(topic, "marker")))
	r1.Expect(t, "e1", "d1", "marker")
	r2.Expect(t, "e2", "marker")
	r1.ExpectNone(t)
	r2.ExpectNone(t)
}

// TestNATSStats checks the counters of a round trip.
func TestNATSStats(t *testing.T) {
	t.Parallel()
	nodes := cluster(t, 2)
	topic := pubsubtest.NewTopic("stats")
	r := pubsubtest.NewRecorder("r", 8)
	testutil.Success(t, nodes[1].Subscribe(t.Context(), topic, r))
	testutil.Success(t, nodes[0].Broadcast(t.Context(), pubsubtest.Msg(topic, "e1")))
	r.Expect(t, "e1")
	a, b := nodes[0].Stats(), nodes[1].Stats()
	testutil.Equal(t, "a.Sent", a.Sent, uint64(1))
	testutil.Equal(t, "b.Received", b.Received, uint64(1))
	testutil.Equal(t, "b.Subscriptions", b.Subscriptions, 1)
	testutil.Equal(t, "b.Connects", b.Connects, uint64(1))
	testutil.Equal(t, "a.Received", a.Received, uint64(0))
	testutil.Equal(t, "b.Sent", b.Sent, uint64(0))
	testutil.Equal(t, "b.Dropped", b.Dropped, uint64(0))
}

// gate is a Subscriber whose first delivery blocks until the test opens
// it: a slow consumer.
type gate struct {
	entered, open chan struct{}
	once          sync.Once
	rec           *pubsubtest.Recorder
}

func (g *gate) Deliver(m *pubsub.Message) {
	g.once.Do(func() {
		close(g.entered)
		<-g.open
	})
	g.rec.Deliver(m)
}

// TestNATSSlowConsumer blocks a node's dispatch: beyond ReceiveBuffer,
// messages are dropped and counted, and the node recovers.
func TestNATSSlowConsumer(t *testing.T) {
	t.Parallel()
	srv := startServer(t, -1)
	prefix := newPrefix()
	a := newBroker(t, suzakunats.Config{Node: "a", URL: srv.ClientURL(), Prefix: prefix})
	b := newBroker(t, suzakunats.Config{Node: "b", URL: srv.ClientURL(), Prefix: prefix, ReceiveBuffer: 4})
	serve(t, a, true)
	serve(t, b, true)
	topic := pubsubtest.NewTopic("slow")
	g := &gate{entered: make(chan struct{}), open: make(chan struct{}), rec: pubsubtest.NewRecorder("slow", 64)}
	testutil.Success(t, b.Subscribe(t.Context(), topic, g))
	defer func() {
		select {
		case <-g.open:
		default:
			close(g.open)
		}
	}()
	for i := range 50 {
		testutil.Success(t, a.Broadcast(t.Context(), pubsubtest.Msg(topic, strconv.Itoa(i))))
	}
	select {
	case <-g.entered:
	case <-time.After(waitFor):
		t.Fatal("no delivery reached the slow subscriber")
	}
	testutil.CheckFor(t, waitFor, func() error {
		if b.Stats().Dropped == 0 {
			return errors.New("nothing dropped yet")
		}
		return nil
	})
	close(g.open)
	// The node recovers: numbers keep increasing, and a marker gets
	// through once the buffer has room (earlier markers may be dropped).
	last := -1
	testutil.CheckFor(t, waitFor, func() error {
		testutil.Success(t, a.Broadcast(t.Context(), pubsubtest.Msg(topic, "marker")))
		for {
			m, ok := g.rec.TryNext()
			if !ok {
				return errors.New("no marker yet")
			}
			if m.Event == "marker" {
				return nil
			}
			n, err := strconv.Atoi(m.Event)
			if err != nil || n <= last {
				t.Fatalf("got %q after %d, want increasing numbers", m.Event, last)
			}
			last = n
		}
	})
	if st := b.Stats(); st.Received+st.Dropped < 51 {
		t.Errorf("Stats() = %+v: received + dropped < 51", st)
	}
}

// TestNATSServerLate starts the brokers before their server: Serve keeps
// trying, and connects once the server is up.
func TestNATSServerLate(t *testing.T) {
	t.Parallel()
	url := closedURL(t)
	_, portText, _ := strings.Cut(strings.TrimPrefix(url, "nats://"), ":")
	port, err := strconv.Atoi(portText)
	testutil.Success(t, err)
	prefix := newPrefix()
	a := newBroker(t, suzakunats.Config{Node: "a", URL: url, Prefix: prefix, ReconnectWait: 50 * time.Millisecond})
	b := newBroker(t, suzakunats.Config{Node: "b", URL: url, Prefix: prefix, ReconnectWait: 50 * time.Millisecond})
	serve(t, a, false)
	serve(t, b, false)
	testutil.ErrorIs(t, a.DirectBroadcast(t.Context(), "b", pubsubtest.Msg("t", "early")), suzakunats.ErrNotConnected)

	startServer(t, port)
	waitConnected(t, a)
	waitConnected(t, b)
	topic := pubsubtest.NewTopic("late")
	r := pubsubtest.NewRecorder("b", 8)
	testutil.Success(t, b.Subscribe(t.Context(), topic, r))
	testutil.Success(t, a.Broadcast(t.Context(), pubsubtest.Msg(topic, "e1")))
	r.Expect(t, "e1")
}
