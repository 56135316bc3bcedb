package channel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/wire"
)

// fakeConn records what a session sends.
type fakeConn struct {
	mu     sync.Mutex
	frames []wire.Frame
	code   int
	notify chan struct{}
}

func newFakeConn() *fakeConn { return &fakeConn{notify: make(chan struct{}, 1)} }

func (c *fakeConn) Send(f wire.Frame) error {
	c.mu.Lock()
	c.frames = append(c.frames, f)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return nil
}

func (c *fakeConn) Close(code int, reason string) {
	c.mu.Lock()
	c.code = code
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *fakeConn) closeCode() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code
}

// client drives one session with V2 JSON frames and reads its answers.
type client struct {
	t    *testing.T
	sess *channel.Session
	conn *fakeConn
	next int // index of the next frame to read
}

func newSocket(t *testing.T, cfg channel.Config) *channel.Socket {
	t.Helper()
	s, err := channel.NewSocket(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func connect(t *testing.T, s *channel.Socket, params map[string]string) *client {
	t.Helper()
	info := &channel.ConnectInfo{Params: map[string][]string{}}
	for k, v := range params {
		info.Params.Set(k, v)
	}
	sess, err := s.Connect(context.Background(), info, wire.V2{})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	conn := newFakeConn()
	if err := sess.Serve(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sess.Close)
	return &client{t: t, sess: sess, conn: conn}
}

// send sends a V2 frame given as its five parts.
func (c *client) send(joinRef, ref any, topic, event string, payload any) {
	c.t.Helper()
	b, err := json.Marshal([]any{joinRef, ref, topic, event, payload})
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.sess.Receive(wire.Frame{Opcode: wire.OpText, Data: b}); err != nil {
		c.t.Fatalf("Receive(%s): %v", b, err)
	}
}

// read returns the next frame the session sent, as decoded JSON.
func (c *client) read() any {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		c.conn.mu.Lock()
		if c.next < len(c.conn.frames) {
			f := c.conn.frames[c.next]
			c.next++
			c.conn.mu.Unlock()
			if f.Opcode == wire.OpBinary {
				return f.Data
			}
			var v any
			if err := json.Unmarshal(f.Data, &v); err != nil {
				c.t.Fatalf("frame %q: %v", f.Data, err)
			}
			return v
		}
		c.conn.mu.Unlock()
		select {
		case <-c.conn.notify:
		case <-deadline:
			c.t.Fatalf("no frame after 5s (read %d)", c.next)
		}
	}
}

// expect reads the next frame and compares it with want, given as JSON.
func (c *client) expect(want string) {
	c.t.Helper()
	got := c.read()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		c.t.Fatalf("bad want %q: %v", want, err)
	}
	if !reflect.DeepEqual(got, w) {
		g, _ := json.Marshal(got)
		c.t.Fatalf("frame = %s, want %s", g, want)
	}
}

// expectNothing checks that nothing more was sent. The synchronisation
// point is a round trip through each of topics' channels (an event is
// handled after those queued before it, so whatever they sent comes
// first), then through the socket (a heartbeat, answered by the session
// itself).
func (c *client) expectNothing(topics ...string) {
	c.t.Helper()
	for _, topic := range topics {
		c.send(nil, "sync", topic, "echo", map[string]any{})
		f, ok := c.read().([]any)
		if !ok || len(f) != 5 || f[1] != "sync" || f[2] != topic || f[3] != "phx_reply" {
			g, _ := json.Marshal(f)
			c.t.Fatalf("frame = %s, want nothing before the reply to the sync event on %s", g, topic)
		}
	}
	c.send(nil, "hb", "phoenix", "heartbeat", map[string]any{})
	c.expect(`[null,"hb","phoenix","phx_reply",{"response":{},"status":"ok"}]`)
}

func (c *client) sent() int {
	c.conn.mu.Lock()
	defer c.conn.mu.Unlock()
	return len(c.conn.frames)
}

// testRoom is a channel handler with an event per behaviour under test.
type testRoom struct {
	count      int
	terminated chan error
}

type stopMsg struct{ reason error }

func (r *testRoom) Join(ctx context.Context, ch *channel.Channel, p channel.Payload) (any, error) {
	var opts struct {
		Fail, Crash, Raw bool
		Every            int
	}
	_ = p.Decode(&opts)
	switch {
	case opts.Fail:
		return nil, channel.Refuse("join failed")
	case opts.Raw:
		return nil, fmt.Errorf("plain error")
	case opts.Crash:
		panic("boom")
	}
	if opts.Every > 0 {
		ch.Every(time.Duration(opts.Every)*time.Millisecond, "tick")
	}
	return map[string]string{"joined": ch.Topic()}, nil
}

func (r *testRoom) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
	r.count++
	switch event {
	case "echo":
		return channel.OK(p)
	case "count":
		return channel.OK(map[string]int{"n": r.count})
	case "sleep":
		time.Sleep(2 * time.Millisecond)
		return channel.OK(map[string]int{"n": r.count})
	case "crash":
		panic("crash")
	case "stop":
		ch.Stop(nil)
		return channel.OK(nil)
	case "stop_abnormal":
		ch.Stop(fmt.Errorf("gave up"))
		return channel.Reply{}
	case "async":
		ref := ch.ReplyRef()
		go func() { _ = ch.ReplyTo(ref, channel.OK(map[string]bool{"async": true})) }()
		return channel.Reply{}
	case "push":
		_ = ch.Push("pushed", p)
		return channel.Reply{}
	case "broadcast":
		_ = ch.Broadcast(ctx, "shout", p)
		return channel.Reply{}
	case "broadcast_secret":
		_ = ch.Broadcast(ctx, "secret", p)
		return channel.Reply{}
	case "broadcast_from":
		_ = ch.BroadcastFrom(ctx, "shout", p)
		return channel.Reply{}
	case "none":
		return channel.Reply{}
	}
	return channel.Error(channel.Reason("unknown"))
}

func (r *testRoom) HandleInfo(ctx context.Context, ch *channel.Channel, msg any) {
	if msg == "tick" {
		_ = ch.Push("tick", nil)
	}
}

func (r *testRoom) Intercept() []string { return []string{"secret"} }

func (r *testRoom) HandleOut(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) {
	_ = ch.Push(event, map[string]any{"intercepted": true})
}

func (r *testRoom) Terminate(ctx context.Context, ch *channel.Channel, reason error) {
	if r.terminated != nil {
		r.terminated <- reason
	}
}

func roomSocket(t *testing.T, broker pubsub.Broker, terminated chan error) *channel.Socket {
	r := &channel.Router{}
	if err := r.Handle("room:*", func() channel.Handler { return &testRoom{terminated: terminated} }); err != nil {
		t.Fatal(err)
	}
	// Generous limits: these tests send bursts to check ordering and
	// isolation; limits_test.go checks the default limits.
	return newSocket(t, channel.Config{Router: r, Broker: broker, MaxChannels: 5,
		Limits: channel.GenerousLimits(), ID: func(any) string { return "user:1" }})
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func deepEqual(a, b any) bool { return reflect.DeepEqual(a, b) }
