package channel_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/wire"
)

func TestChannelProtocolRows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(c *client)
	}{
		{"heartbeat", func(c *client) {
			c.send(nil, "6", "phoenix", "heartbeat", map[string]any{})
			c.expect(`[null,"6","phoenix","phx_reply",{"response":{},"status":"ok"}]`)
		}},
		{"join ok", func(c *client) {
			c.send("3", "3", "room:lobby", "phx_join", map[string]any{})
			c.expect(`["3","3","room:lobby","phx_reply",{"response":{"joined":"room:lobby"},"status":"ok"}]`)
		}},
		{"join error", func(c *client) {
			c.send("3", "3", "room:lobby", "phx_join", map[string]any{"Fail": true})
			c.expect(`["3","3","room:lobby","phx_reply",{"response":{"reason":"join failed"},"status":"error"}]`)
			c.send("3", "4", "room:lobby", "echo", map[string]any{})
			c.expect(`[null,"4","room:lobby","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`)
		}},
		{"join plain error", func(c *client) {
			c.send("3", "3", "room:lobby", "phx_join", map[string]any{"Raw": true})
			c.expect(`["3","3","room:lobby","phx_reply",{"response":{"reason":"join failed"},"status":"error"}]`)
		}},
		{"join crashed", func(c *client) {
			c.send("3", "3", "room:lobby", "phx_join", map[string]any{"Crash": true})
			c.expect(`["3","3","room:lobby","phx_reply",{"response":{"reason":"join crashed"},"status":"error"}]`)
		}},
		{"unmatched topic join", func(c *client) {
			c.send("9", "9", "nosuch:topic", "phx_join", map[string]any{})
			c.expect(`[null,"9","nosuch:topic","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`)
		}},
		{"push to unjoined topic", func(c *client) {
			c.send("10", "10", "room:other", "new_msg", map[string]any{})
			c.expect(`[null,"10","room:other","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`)
		}},
		{"duplicate join", func(c *client) {
			c.send("16", "16", "room:dup", "phx_join", map[string]any{})
			c.expect(`["16","16","room:dup","phx_reply",{"response":{"joined":"room:dup"},"status":"ok"}]`)
			c.send("17", "17", "room:dup", "phx_join", map[string]any{})
			a, b := c.read(), c.read()
			close := `["16","16","room:dup","phx_close",{}]`
			reply := `["17","17","room:dup","phx_reply",{"response":{"joined":"room:dup"},"status":"ok"}]`
			if !(jsonEq(a, close) && jsonEq(b, reply) || jsonEq(a, reply) && jsonEq(b, close)) {
				c.t.Fatalf("duplicate join frames = %v, %v; want %s and %s", a, b, close, reply)
			}
			c.send("17", "18", "room:dup", "count", nil)
			c.expect(`["17","18","room:dup","phx_reply",{"response":{"n":1},"status":"ok"}]`)
		}},
		{"stale join_ref dropped", func(c *client) {
			c.send("1", "1", "room:a", "phx_join", map[string]any{})
			c.read()
			c.send("old", "2", "room:a", "echo", map[string]any{"stale": true})
			c.send("1", "3", "room:a", "echo", map[string]any{"ok": true})
			c.expect(`["1","3","room:a","phx_reply",{"response":{"ok":true},"status":"ok"}]`)
		}},
		{"null join_ref accepted", func(c *client) {
			c.send("1", "1", "room:a", "phx_join", map[string]any{})
			c.read()
			c.send(nil, "2", "room:a", "echo", map[string]any{"x": 1})
			c.expect(`["1","2","room:a","phx_reply",{"response":{"x":1},"status":"ok"}]`)
		}},
		{"leave joined", func(c *client) {
			c.send("1", "1", "room:a", "phx_join", map[string]any{})
			c.read()
			c.send("1", "12", "room:a", "phx_leave", map[string]any{})
			c.expect(`["1","12","room:a","phx_reply",{"response":{},"status":"ok"}]`)
			c.expect(`["1","1","room:a","phx_close",{}]`)
		}},
		{"leave stale", func(c *client) {
			c.send("1", "1", "room:a", "phx_join", map[string]any{})
			c.read()
			c.send("0", "12", "room:a", "phx_leave", map[string]any{})
			c.expectNothing("room:a")
		}},
		{"leave not joined", func(c *client) {
			c.send("4", "12", "room:a", "phx_leave", map[string]any{})
			c.expect(`["4","12","room:a","phx_reply",{"response":{},"status":"ok"}]`)
		}},
		{"crash", func(c *client) {
			c.send("14", "14", "room:crashy", "phx_join", map[string]any{})
			c.read()
			c.send("14", "15", "room:crashy", "crash", map[string]any{})
			c.expect(`["14","14","room:crashy","phx_error",{"reason":"channel_crash"}]`)
			c.send("14", "16", "room:crashy", "echo", map[string]any{})
			c.expect(`[null,"16","room:crashy","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`)
		}},
		{"stop", func(c *client) {
			c.send("1", "1", "room:a", "phx_join", map[string]any{})
			c.read()
			c.send("1", "13", "room:a", "stop", map[string]any{})
			c.expect(`["1","13","room:a","phx_reply",{"response":{},"status":"ok"}]`)
			c.expect(`["1","1","room:a","phx_close",{}]`)
		}},
		{"stop abnormal", func(c *client) {
			c.send("1", "1", "room:a", "phx_join", map[string]any{})
			c.read()
			c.send("1", "13", "room:a", "stop_abnormal", map[string]any{})
			c.expect(`["1","1","room:a","phx_error",{"reason":"channel_crash"}]`)
		}},
		{"push", func(c *client) {
			c.send("1", "1", "room:a", "phx_join", map[string]any{})
			c.read()
			c.send("1", "7", "room:a", "push", map[string]any{"x": 1})
			c.expect(`["1",null,"room:a","pushed",{"x":1}]`)
		}},
		{"broadcast reaches sender", func(c *client) {
			c.send("1", "1", "room:a", "phx_join", map[string]any{})
			c.read()
			c.send("1", "7", "room:a", "broadcast", map[string]any{"a": 1})
			c.expect(`[null,null,"room:a","shout",{"a":1}]`)
		}},
		{"broadcast_from skips sender", func(c *client) {
			c.send("1", "1", "room:a", "phx_join", map[string]any{})
			c.read()
			c.send("1", "7", "room:a", "broadcast_from", map[string]any{"a": 1})
			c.expectNothing("room:a")
		}},
		{"async reply", func(c *client) {
			c.send("1", "1", "room:a", "phx_join", map[string]any{})
			c.read()
			c.send("1", "8", "room:a", "async", nil)
			c.expect(`["1","8","room:a","phx_reply",{"response":{"async":true},"status":"ok"}]`)
		}},
		{"no reply", func(c *client) {
			c.send("1", "1", "room:a", "phx_join", map[string]any{})
			c.read()
			c.send("1", "8", "room:a", "none", nil)
			c.expectNothing("room:a")
		}},
		{"binary echo", func(c *client) {
			c.send("1", "1", "room:a", "phx_join", map[string]any{})
			c.read()
			f, err := wire.V2{}.EncodeClient(&wire.Message{JoinRef: "1", Ref: "11", Topic: "room:a", Event: "echo", Payload: []byte{0xde, 0xad, 0xbe, 0xef}, Binary: true})
			testutil.Success(c.t, err)
			testutil.Success(c.t, c.sess.Receive(f))
			want := append([]byte{1, 1, 2, 6, 2}, []byte("111room:aok")...)
			testutil.Equal(c.t, "binary reply", c.read(), any(append(want, 0xde, 0xad, 0xbe, 0xef)))
		}},
		{"too many channels", func(c *client) {
			for i := range 5 {
				ref := fmt.Sprint(i)
				c.send(ref, ref, "room:"+ref, "phx_join", nil)
				c.read()
			}
			c.send("5", "5", "room:5", "phx_join", nil)
			c.expect(`["5","5","room:5","phx_reply",{"response":{"reason":"too many channels joined"},"status":"error"}]`)
			// A duplicate join replaces a channel: it is not one more.
			c.send("6", "6", "room:0", "phx_join", nil)
			a, b := c.read(), c.read()
			if !jsonEq(a, `["0","0","room:0","phx_close",{}]`) && !jsonEq(b, `["0","0","room:0","phx_close",{}]`) {
				c.t.Fatalf("duplicate join at the limit: %v %v", a, b)
			}
		}},
		{"intercepted broadcast", func(c *client) {
			c.send("1", "1", "room:a", "phx_join", nil)
			c.read()
			// The channel broadcasts an intercepted event: it reaches its
			// own client through HandleOut, not as sent.
			c.send("1", "2", "room:a", "broadcast_secret", map[string]int{"x": 1})
			c.expect(`["1",null,"room:a","secret",{"intercepted":true}]`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := connect(t, roomSocket(t, nil, nil), nil)
			c.t = t
			tt.run(c)
		})
	}
}

func TestChannelInterceptedBroadcast(t *testing.T) {
	t.Parallel()
	broker := pubsub.NewMemory(pubsub.MemoryConfig{})
	s := roomSocket(t, broker, nil)
	c := connect(t, s, nil)
	c.send("1", "1", "room:a", "phx_join", nil)
	c.read()
	testutil.Success(t, s.Broadcast(context.Background(), "room:a", "secret", map[string]int{"x": 1}))
	c.expect(`["1",null,"room:a","secret",{"intercepted":true}]`)
	testutil.Success(t, s.Broadcast(context.Background(), "room:a", "open", map[string]int{"x": 1}))
	c.expect(`[null,null,"room:a","open",{"x":1}]`)
}

func TestChannelTerminateReasons(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   func(c *client)
		want error
	}{
		{"left", func(c *client) { c.send("1", "2", "room:a", "phx_leave", nil) }, channel.ErrLeft},
		{"stop", func(c *client) { c.send("1", "2", "room:a", "stop", nil) }, channel.ErrNormal},
		{"closed", func(c *client) { c.sess.Close() }, channel.ErrClosed},
		{"duplicate", func(c *client) { c.send("2", "2", "room:a", "phx_join", nil) }, channel.ErrDuplicateJoin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			terminated := make(chan error, 2)
			c := connect(t, roomSocket(t, nil, terminated), nil)
			c.send("1", "1", "room:a", "phx_join", nil)
			c.read()
			tt.do(c)
			select {
			case got := <-terminated:
				testutil.ErrorIs(t, got, tt.want)
				testutil.ErrorIs(t, got, channel.ErrShutdown)
			case <-time.After(5 * time.Second):
				t.Fatal("Terminate not called")
			}
		})
	}
}

func TestChannelCrashDoesNotTerminate(t *testing.T) {
	t.Parallel()
	terminated := make(chan error, 1)
	c := connect(t, roomSocket(t, nil, terminated), nil)
	c.send("1", "1", "room:a", "phx_join", nil)
	c.read()
	c.send("1", "2", "room:a", "crash", nil)
	c.expect(`["1","1","room:a","phx_error",{"reason":"channel_crash"}]`)
	select {
	case r := <-terminated:
		t.Fatalf("Terminate(%v) after a crash", r)
	default:
	}
}

// TestChannelPanicIsolation crashes one channel while the others of the
// same connection and of another connection are busy: every other event
// still gets its reply, in order.
func TestChannelPanicIsolation(t *testing.T) {
	t.Parallel()
	broker := pubsub.NewMemory(pubsub.MemoryConfig{})
	s := roomSocket(t, broker, nil)
	a, b := connect(t, s, nil), connect(t, s, nil)
	const events = 50
	for _, c := range []*client{a, b} {
		for i := range 4 {
			ref := fmt.Sprint(i)
			c.send(ref, ref, "room:"+ref, "phx_join", nil)
			c.read()
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex // client.send is called from several goroutines
	for _, c := range []*client{a, b} {
		for i := 1; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for e := range events {
					mu.Lock()
					c.send(fmt.Sprint(i), fmt.Sprintf("%d-%d", i, e), fmt.Sprintf("room:%d", i), "sleep", nil)
					mu.Unlock()
				}
			}()
		}
	}
	mu.Lock()
	a.send("0", "crash", "room:0", "crash", nil)
	mu.Unlock()
	wg.Wait()

	for name, c := range map[string]*client{"a": a, "b": b} {
		next := map[string]int{} // topic → next expected n
		crashed := false
		want := 3 * events
		if name == "a" {
			want++
		}
		for range want {
			f := c.read().([]any)
			if f[3] == "phx_error" {
				if name != "a" || f[2] != "room:0" {
					t.Fatalf("%s: unexpected phx_error %v", name, f)
				}
				crashed = true
				continue
			}
			topic := f[2].(string)
			n := int(f[4].(map[string]any)["response"].(map[string]any)["n"].(float64))
			next[topic]++
			if n != next[topic] {
				t.Fatalf("%s: %s reply n=%d, want %d (out of order or lost)", name, topic, n, next[topic])
			}
		}
		if name == "a" && !crashed {
			t.Fatal("crashed channel sent no phx_error")
		}
		for i := 1; i < 4; i++ {
			testutil.Equal(t, name+" replies on room:"+fmt.Sprint(i), next[fmt.Sprintf("room:%d", i)], events)
		}
	}
	testutil.Equal(t, "channels on a", a.sess.Channels(), 3)
	testutil.Equal(t, "channels on b", b.sess.Channels(), 4)
}

// TestChannelIdleHoldsNoGoroutine joins many channels and checks that once
// they are idle, none of them holds a goroutine.
func TestChannelIdleHoldsNoGoroutine(t *testing.T) {
	s := roomSocket(t, nil, nil)
	before := runtime.NumGoroutine()
	const n = 500
	clients := make([]*client, n)
	for i := range clients {
		c := connect(t, s, nil)
		c.send("1", "1", "room:idle", "phx_join", nil)
		c.send("1", "2", "room:idle", "count", nil)
		clients[i] = c
	}
	for _, c := range clients {
		c.read()
		c.read()
	}
	testutil.CheckFor(t, 5*time.Second, func() error {
		if g := runtime.NumGoroutine(); g > before+10 {
			return fmt.Errorf("%d goroutines with %d idle channels, %d before", g, n, before)
		}
		return nil
	})
}

func TestChannelTimersEndWithChannel(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		c := connect(t, roomSocket(t, nil, nil), nil)
		c.send("1", "1", "room:t", "phx_join", map[string]any{"Every": 10})
		c.read()
		c.expect(`["1",null,"room:t","tick",{}]`)
		c.expect(`["1",null,"room:t","tick",{}]`)
		c.send("1", "2", "room:t", "phx_leave", nil)
		for {
			f := c.read().([]any)
			if f[3] == "phx_close" {
				break
			}
		}
		sent := c.sent()
		// Synchronisation point: Every(10ms) was due many times over, and
		// every goroutine of the bubble (timers included) is idle again.
		time.Sleep(time.Second)
		synctest.Wait()
		testutil.Equal(t, "frames after leave", c.sent(), sent)
	})
}

func TestChannelPerJoinState(t *testing.T) {
	t.Parallel()
	c := connect(t, roomSocket(t, nil, nil), nil)
	c.send("1", "1", "room:s", "phx_join", nil)
	c.read()
	c.send("1", "2", "room:s", "count", nil)
	c.send("1", "3", "room:s", "count", nil)
	c.expect(`["1","2","room:s","phx_reply",{"response":{"n":1},"status":"ok"}]`)
	c.expect(`["1","3","room:s","phx_reply",{"response":{"n":2},"status":"ok"}]`)
	c.send("4", "4", "room:s", "phx_join", nil) // a new join starts from scratch
	c.read()
	c.read()
	c.send("4", "5", "room:s", "count", nil)
	c.expect(`["4","5","room:s","phx_reply",{"response":{"n":1},"status":"ok"}]`)
}

func TestChannelDisconnectByID(t *testing.T) {
	t.Parallel()
	broker := pubsub.NewMemory(pubsub.MemoryConfig{})
	s := roomSocket(t, broker, nil)
	c := connect(t, s, nil)
	testutil.Success(t, s.Disconnect(context.Background(), "user:1"))
	testutil.CheckFor(t, 5*time.Second, func() error {
		if code := c.conn.closeCode(); code != 1001 {
			return fmt.Errorf("close code %d, want 1001", code)
		}
		return nil
	})
	testutil.Error(t, s.Disconnect(context.Background(), ""))
}

// TestChannelBroadcastEncodedOnce checks that two connections receive the
// very same bytes for one broadcast: it was encoded once, not per
// subscriber.
func TestChannelBroadcastEncodedOnce(t *testing.T) {
	t.Parallel()
	broker := pubsub.NewMemory(pubsub.MemoryConfig{})
	s := roomSocket(t, broker, nil)
	a, b := connect(t, s, nil), connect(t, s, nil)
	for _, c := range []*client{a, b} {
		c.send("1", "1", "room:x", "phx_join", nil)
		c.read()
	}
	testutil.Success(t, s.Broadcast(context.Background(), "room:x", "ev", map[string]int{"n": 1}))
	a.read()
	b.read()
	fa, fb := a.conn.frames[1].Data, b.conn.frames[1].Data
	if &fa[0] != &fb[0] {
		t.Fatal("each subscriber got its own encoding of the broadcast")
	}
}

func TestChannelConnectRefused(t *testing.T) {
	t.Parallel()
	s := newSocket(t, channel.Config{Connect: func(ctx context.Context, info *channel.ConnectInfo) (any, error) {
		return nil, errors.New("no")
	}})
	_, err := s.Connect(context.Background(), &channel.ConnectInfo{}, wire.V2{})
	testutil.Error(t, err)
}

func TestRouter(t *testing.T) {
	t.Parallel()
	mk := func(name string) func() channel.Handler {
		return func() channel.Handler { return namedHandler(name) }
	}
	r := &channel.Router{}
	testutil.Success(t, r.Handle("room:*", mk("room")))
	testutil.Success(t, r.Handle("room:lobby", mk("lobby")))
	testutil.Success(t, r.Handle("room:vip:*", mk("vip")))
	testutil.Error(t, r.Handle("room:*", mk("again")))
	testutil.Error(t, r.Handle("a*b", mk("bad")))
	testutil.Error(t, r.Handle("", mk("empty")))
	tests := []struct{ topic, want string }{
		{"room:lobby", "lobby"}, {"room:1", "room"}, {"room:vip:1", "vip"}, {"room:", "room"}, {"other", ""},
	}
	for _, tt := range tests {
		got := ""
		if f := r.Match(tt.topic); f != nil {
			got = string(f().(namedHandler))
		}
		testutil.Equal(t, "Match("+tt.topic+")", got, tt.want)
	}
}

type namedHandler string

func (namedHandler) Join(context.Context, *channel.Channel, channel.Payload) (any, error) {
	return nil, nil
}

func jsonEq(got any, want string) bool {
	c := &client{t: nil}
	_ = c
	var w any
	if err := jsonUnmarshal(want, &w); err != nil {
		return false
	}
	return deepEqual(got, w)
}

type exitRoom struct{ exits chan error }

func (r exitRoom) Join(ctx context.Context, ch *channel.Channel, p channel.Payload) (any, error) {
	ch.OnExit(func(reason error) { r.exits <- reason })
	return nil, nil
}

func (r exitRoom) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
	if event == "crash" {
		panic("crash")
	}
	return channel.Reply{}
}

func TestChannelOnExit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   func(c *client)
		want error
	}{
		{"crash", func(c *client) { c.send("1", "2", "x", "crash", nil) }, channel.ErrCrashed},
		{"leave", func(c *client) { c.send("1", "2", "x", "phx_leave", nil) }, channel.ErrLeft},
		{"closed", func(c *client) { c.sess.Close() }, channel.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			exits := make(chan error, 1)
			r := &channel.Router{}
			testutil.Success(t, r.Handle("x", func() channel.Handler { return exitRoom{exits} }))
			c := connect(t, newSocket(t, channel.Config{Router: r}), nil)
			c.send("1", "1", "x", "phx_join", nil)
			c.read()
			tt.do(c)
			select {
			case got := <-exits:
				testutil.ErrorIs(t, got, tt.want)
			case <-time.After(5 * time.Second):
				t.Fatal("exit hook not run")
			}
		})
	}
}

// TestChannelManyTopics routes events on more topics than the session's
// linear topic list holds before it builds an index.
func TestChannelManyTopics(t *testing.T) {
	t.Parallel()
	r := &channel.Router{}
	testutil.Success(t, r.Handle("room:*", func() channel.Handler { return &testRoom{} }))
	c := connect(t, newSocket(t, channel.Config{Router: r, MaxChannels: -1}), nil)
	const n = 40
	for i := range n {
		ref := fmt.Sprint(i)
		c.send(ref, ref, "room:"+ref, "phx_join", nil)
		c.read()
	}
	for i := 0; i < n; i += 2 {
		ref := fmt.Sprint(i)
		c.send(ref, "l"+ref, "room:"+ref, "phx_leave", nil)
		c.read()
		c.read()
	}
	testutil.Equal(t, "channels", c.sess.Channels(), n/2)
	for i := range n {
		ref := fmt.Sprint(i)
		c.send(ref, "e"+ref, "room:"+ref, "count", nil)
		if i%2 == 0 {
			c.expect(fmt.Sprintf(`[null,"e%d","room:%d","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}]`, i, i))
		} else {
			c.expect(fmt.Sprintf(`["%d","e%d","room:%d","phx_reply",{"response":{"n":1},"status":"ok"}]`, i, i, i))
		}
	}
}

func TestChannelDisconnectSeveralWithSameID(t *testing.T) {
	t.Parallel()
	s := newSocket(t, channel.Config{
		Connect: func(ctx context.Context, info *channel.ConnectInfo) (any, error) { return info.Params.Get("u"), nil },
		ID:      func(a any) string { return "users_socket:" + a.(string) },
	})
	a1 := connect(t, s, map[string]string{"u": "a"})
	a2 := connect(t, s, map[string]string{"u": "a"})
	a3 := connect(t, s, map[string]string{"u": "a"})
	b := connect(t, s, map[string]string{"u": "b"})
	a2.sess.Close() // leaves the middle of the chain
	testutil.Success(t, s.Disconnect(context.Background(), "users_socket:a"))
	for _, c := range []*client{a1, a3} {
		testutil.CheckFor(t, 5*time.Second, func() error {
			if code := c.conn.closeCode(); code != 1001 {
				return fmt.Errorf("close code %d, want 1001", code)
			}
			return nil
		})
	}
	b.expectNothing()
	testutil.Equal(t, "b close code", b.conn.closeCode(), 0)
	testutil.Equal(t, "closed session", a2.conn.closeCode(), 0)
}
