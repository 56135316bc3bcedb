package redis_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/pubsub/pubsubtest"
	"github.com/suzaku-go/suzaku/pubsub/redis"
)

func TestRedisConformance(t *testing.T) {
	t.Parallel()
	redisAddr(t)
	pubsubtest.Run(t, func(t *testing.T) pubsub.Broker {
		b := newBroker(t, redis.Config{Node: "n1", Channel: newChannel()})
		serve(t, b, true)
		return b
	})
}

func TestRedisCluster(t *testing.T) {
	t.Parallel()
	redisAddr(t)
	pubsubtest.RunCluster(t, func(t *testing.T, n int) []pubsub.Broker { return brokers(cluster(t, n)) })
}

func TestRedisNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     redis.Config
		wantErr string
	}{
		{name: "NoNode", cfg: redis.Config{}, wantErr: "Node is empty"},
		{name: "NegativeWait", cfg: redis.Config{Node: "a", ReconnectWait: -time.Second}, wantErr: "negative ReconnectWait"},
		{name: "Defaults", cfg: redis.Config{Node: "a"}},
		{name: "ClientOption", cfg: redis.Config{Node: "a", ClientOption: &rueidis.ClientOption{DisableCache: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := redis.New(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New() = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			testutil.Success(t, err)
			testutil.Equal(t, "Node()", b.Node(), tt.cfg.Node)
			testutil.Equal(t, "Channel()", b.Channel(), redis.DefaultChannel)
			testutil.Equal(t, "Stats().Connected", b.Stats().Connected, false)
		})
	}
}

// closedAddr returns an address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.Success(t, err)
	addr := ln.Addr().String()
	testutil.Success(t, ln.Close())
	return addr
}

// TestRedisNotConnected runs a broker whose server is down: Serve keeps
// retrying, broadcasts are delivered locally only (counted as unsent),
// direct messages to other nodes fail with ErrNotConnected, local ones
// work, and Serve returns when ctx ends.
// It needs no Redis.
func TestRedisNotConnected(t *testing.T) {
	t.Parallel()
	b := newBroker(t, redis.Config{Node: "a", Addr: closedAddr(t), ReconnectWait: 20 * time.Millisecond})
	topic := pubsubtest.NewTopic("down")
	r := pubsubtest.NewRecorder("r", 8)
	testutil.Success(t, b.Subscribe(t.Context(), topic, r)) // before Serve

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx) }()
	testutil.CheckFor(t, waitFor, func() error {
		if n := b.Stats().Failures; n < 3 {
			return fmt.Errorf("%d failed connections, want 3", n)
		}
		return nil
	})
	if err := b.Serve(ctx); err == nil || !strings.Contains(err.Error(), "already serving") {
		t.Errorf("second Serve() = %v, want an already serving error", err)
	}

	testutil.Success(t, b.Broadcast(t.Context(), pubsubtest.Msg(topic, "e1")))
	testutil.ErrorIs(t, b.DirectBroadcast(t.Context(), "b", pubsubtest.Msg(topic, "e2")), redis.ErrNotConnected)
	testutil.Success(t, b.LocalBroadcast(t.Context(), pubsubtest.Msg(topic, "e3")))
	testutil.Success(t, b.DirectBroadcast(t.Context(), "a", pubsubtest.Msg(topic, "e4")))
	r.Expect(t, "e1", "e3", "e4") // synchronous: e2 would be queued already
	r.ExpectNone(t)
	st := b.Stats()
	testutil.Equal(t, "Stats().Connected", st.Connected, false)
	testutil.Equal(t, "Stats().Sent", st.Sent, uint64(0))
	testutil.Equal(t, "Stats().Unsent", st.Unsent, uint64(1))
	testutil.ErrorIs(t, b.Healthy(t.Context()), redis.ErrNotConnected)

	cancel()
	select {
	case err := <-done:
		testutil.Success(t, err)
	case <-time.After(waitFor):
		t.Fatal("Serve did not return after its context ended")
	}
	// Serve may run again, and returns at once with a done context.
	testutil.Success(t, b.Serve(ctx))
}

// TestRedisSubscribeBeforeServe subscribes before Serve runs: local
// delivery works at once, and remote delivery once Serve has connected.
func TestRedisSubscribeBeforeServe(t *testing.T) {
	t.Parallel()
	channel := newChannel()
	a := newBroker(t, redis.Config{Node: "a", Channel: channel})
	b := newBroker(t, redis.Config{Node: "b", Channel: channel})
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

// TestRedisReconnect kills the broker's Redis connections: Serve
// reconnects, and delivery resumes.
func TestRedisReconnect(t *testing.T) {
	t.Parallel()
	addr := redisAddr(t)
	channel := newChannel()
	name := "suzaku-test-" + strings.ReplaceAll(channel, ":", "-")
	a := newBroker(t, redis.Config{
		Node:          "a",
		Channel:       channel,
		ClientOption:  &rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true, ClientName: name},
		ReconnectWait: 50 * time.Millisecond,
	})
	b := newBroker(t, redis.Config{Node: "b", Channel: channel})
	serve(t, a, true)
	serve(t, b, true)
	topic := pubsubtest.NewTopic("reconnect")
	ra := pubsubtest.NewRecorder("a", 8)
	testutil.Success(t, a.Subscribe(t.Context(), topic, ra))
	testutil.Success(t, b.Broadcast(t.Context(), pubsubtest.Msg(topic, "before")))
	ra.Expect(t, "before")

	admin := newAdmin(t, addr)
	killed := killClients(t, admin, name)
	if killed == 0 {
		t.Fatalf("no Redis connection named %q to kill", name)
	}
	testutil.CheckFor(t, waitFor, func() error {
		st := a.Stats()
		if st.Failures == 0 {
			// rueidis keeps a command connection beside the subscribing
			// one; if only the former went, kill again.
			killClients(t, admin, name)
			return fmt.Errorf("Stats() = %+v, want a failure noticed", st)
		}
		if !st.Connected || st.Connects < 2 {
			return fmt.Errorf("Stats() = %+v, want connected again", st)
		}
		return nil
	})
	testutil.Success(t, b.Broadcast(t.Context(), pubsubtest.Msg(topic, "after")))
	ra.Expect(t, "after")
	testutil.Success(t, a.Broadcast(t.Context(), pubsubtest.Msg(topic, "own")))
	ra.Expect(t, "own")
	if st := a.Stats(); st.Failures < 1 {
		t.Errorf("Stats().Failures = %d, want at least 1", st.Failures)
	}
}

// newAdmin returns a plain Redis client.
func newAdmin(t *testing.T, addr string) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	testutil.Success(t, err)
	t.Cleanup(c.Close)
	return c
}

// killClients closes the server side of every connection named name.
func killClients(t *testing.T, admin rueidis.Client, name string) int {
	t.Helper()
	list, err := admin.Do(t.Context(), admin.B().ClientList().Build()).ToString()
	testutil.Success(t, err)
	killed := 0
	for line := range strings.Lines(list) {
		var id string
		named := false
		for f := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(f, "=")
			switch {
			case k == "id":
				id = v
			case k == "name" && v == name:
				named = true
			}
		}
		if named && id != "" {
			err := admin.Do(t.Context(), admin.B().Arbitrary("CLIENT", "KILL", "ID", id).Build()).Error()
			testutil.Success(t, err)
			killed++
		}
	}
	return killed
}

// TestRedisInvalidMessages publishes what is not an envelope on the
// cluster channel: nodes count it, drop it, and go on.
func TestRedisInvalidMessages(t *testing.T) {
	t.Parallel()
	nodes := cluster(t, 2)
	topic := pubsubtest.NewTopic("invalid")
	r := pubsubtest.NewRecorder("r", 8)
	testutil.Success(t, nodes[1].Subscribe(t.Context(), topic, r))
	admin := newAdmin(t, redisAddr(t))
	for _, junk := range []string{"", "\x01", "\x02\x00\x01a\x00\x00", "\x01\x04\x01a\x00\x00", "\x01\x00\x05a", "\x01\x00\x00\x00\x00", `{"json":1}`} {
		err := admin.Do(t.Context(), admin.B().Publish().Channel(nodes[0].Channel()).Message(junk).Build()).Error()
		testutil.Success(t, err)
	}
	testutil.Success(t, nodes[0].Broadcast(t.Context(), pubsubtest.Msg(topic, "valid")))
	r.Expect(t, "valid")
	r.ExpectNone(t)
	testutil.Equal(t, "Stats().Invalid", nodes[1].Stats().Invalid, uint64(7))
}

// TestRedisChannelIsolation runs two clusters on one server: they do not
// hear each other.
func TestRedisChannelIsolation(t *testing.T) {
	t.Parallel()
	one, two := cluster(t, 2), cluster(t, 2)
	topic := pubsubtest.NewTopic("iso")
	r1, r2 := pubsubtest.NewRecorder("one", 8), pubsubtest.NewRecorder("two", 8)
	testutil.Success(t, one[1].Subscribe(t.Context(), topic, r1))
	testutil.Success(t, two[1].Subscribe(t.Context(), topic, r2))
	testutil.Success(t, one[0].Broadcast(t.Context(), pubsubtest.Msg(topic, "e1")))
	testutil.Success(t, two[0].Broadcast(t.Context(), pubsubtest.Msg(topic, "e2")))
	testutil.Success(t, one[0].Broadcast(t.Context(), pubsubtest.Msg(topic, "marker")))
	testutil.Success(t, two[0].Broadcast(t.Context(), pubsubtest.Msg(topic, "marker")))
	r1.Expect(t, "e1", "marker")
	r2.Expect(t, "e2", "marker")
	r1.ExpectNone(t)
	r2.ExpectNone(t)
}

// TestRedisStats checks the counters of a round trip.
func TestRedisStats(t *testing.T) {
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
	testutil.Equal(t, "a.Received", a.Received, uint64(0)) // its own broadcast
	testutil.Equal(t, "b.Sent", b.Sent, uint64(0))
}

func TestRedisPresence(t *testing.T) {
	t.Parallel()
	redisAddr(t)
	pubsubtest.RunPresence(t, brokers(cluster(t, 2)))
}

func TestRedisCache(t *testing.T) {
	t.Parallel()
	redisAddr(t)
	pubsubtest.RunCache(t, brokers(cluster(t, 2)))
}
