package suzaku_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku"
	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/client"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/presence"
	"github.com/suzaku-go/suzaku/pubsub/redis"
)

// redisAddr returns the test Redis server, REDIS_ADDR or 127.0.0.1:6379;
// without one the test is skipped, or fails in CI.
func redisAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("REDIS_ADDR")
	if addr == "" {
		addr = redis.DefaultAddr
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no Redis at %s (set REDIS_ADDR): %v", addr, err)
		}
		t.Skipf("no Redis at %s (set REDIS_ADDR): %v", addr, err)
	}
	c.Close()
	return addr
}

// lobby tracks its client's presence under the node's name, and says
// goodbye on the topic when it terminates.
type lobby struct {
	node    string
	tracker *presence.Tracker
}

func (l *lobby) Join(ctx context.Context, ch *channel.Channel, p channel.Payload) (any, error) {
	_, err := l.tracker.Track(ctx, ch, "user-"+l.node, map[string]any{})
	return nil, err
}

func (l *lobby) Terminate(ctx context.Context, ch *channel.Channel, reason error) {
	_ = ch.Broadcast(ctx, "bye", map[string]string{"node": l.node})
}

type node struct {
	tracker *presence.Tracker
	addr    string
	cancel  context.CancelFunc
	served  chan error
	once    sync.Once
}

// startNode runs a server whose services are a Redis broker and a
// replicating presence tracker, in that order.
func startNode(t *testing.T, name, redisChannel string) *node {
	t.Helper()
	broker, err := redis.New(redis.Config{Node: name, Addr: redisAddr(t), Channel: redisChannel, ReconnectWait: 200 * time.Millisecond})
	testutil.Success(t, err)
	tracker, err := presence.New(presence.Config{Broker: broker, BroadcastPeriod: 100 * time.Millisecond,
		DownPeriod: 60 * time.Second, PermdownPeriod: 120 * time.Second})
	testutil.Success(t, err)
	router := &channel.Router{}
	testutil.Success(t, router.Handle("room:*", func() channel.Handler { return &lobby{node: name, tracker: tracker} }))
	socket, err := channel.NewSocket(channel.Config{Router: router, Broker: broker})
	testutil.Success(t, err)
	srv, err := suzaku.New(suzaku.Config{Socket: socket, Services: []suzaku.Service{broker, tracker}, ShutdownTimeout: 10 * time.Second})
	testutil.Success(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.Success(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{tracker: tracker, addr: ln.Addr().String(), cancel: cancel, served: make(chan error, 1)}
	go func() { n.served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { n.stop(t) })
	testutil.CheckFor(t, 10*time.Second, func() error {
		if !broker.Stats().Connected {
			return errors.New(name + ": broker not connected")
		}
		return nil
	})
	return n
}

// stop cancels the node's Serve and checks it ends cleanly; only the
// first call does anything.
func (n *node) stop(t *testing.T) {
	t.Helper()
	n.once.Do(func() {
		n.cancel()
		select {
		case err := <-n.served:
			testutil.Success(t, err)
		case <-time.After(20 * time.Second):
			t.Fatal("Serve did not return")
		}
	})
}

func (n *node) join(t *testing.T, topic string) (*client.Socket, *client.Channel) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sock, err := client.Dial(ctx, "ws://"+n.addr+"/socket/websocket", nil)
	testutil.Success(t, err)
	t.Cleanup(func() { sock.Close() })
	ch := sock.Channel(topic, nil)
	return sock, ch
}

// TestServerDrainBeforeServices: a node that shuts down drains its sockets
// while its services still run, so that a broadcast made as a channel
// ends reaches the other node and its presences' leaves are replicated at
// once (not after DownPeriod).
func TestServerDrainBeforeServices(t *testing.T) {
	t.Parallel()
	redisChannel := "suzaku-test:drain:" + strconv.FormatUint(rand.Uint64(), 36)
	a, b := startNode(t, "a", redisChannel), startNode(t, "b", redisChannel)

	_, chB := b.join(t, "room:lobby")
	bye := make(chan string, 1)
	chB.On("bye", func(m client.Message) { bye <- string(m.Payload) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := chB.Join(ctx)
	testutil.Success(t, err)
	_, chA := a.join(t, "room:lobby")
	_, err = chA.Join(ctx)
	testutil.Success(t, err)
	testutil.CheckFor(t, 10*time.Second, func() error {
		if _, ok := b.tracker.Get("room:lobby", "user-a"); !ok {
			return errors.New("node b does not see user-a")
		}
		return nil
	})

	a.stop(t)
	select {
	case p := <-bye:
		testutil.Equal(t, "goodbye", p, `{"node":"a"}`)
	case <-time.After(5 * time.Second):
		t.Fatal("the goodbye node a broadcast during its drain did not reach node b")
	}
	// DownPeriod is a minute: only a replicated leave explains this.
	testutil.CheckFor(t, 5*time.Second, func() error {
		if _, ok := b.tracker.Get("room:lobby", "user-a"); ok {
			return errors.New("node b still sees user-a after node a drained")
		}
		return nil
	})
}
