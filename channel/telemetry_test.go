package channel_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/telemetry"
	"github.com/suzaku-go/suzaku/wire"
)

// recorder is a hook that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []telemetry.Event
}

func (r *recorder) Event(e telemetry.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) of(k telemetry.Kind) []telemetry.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []telemetry.Event
	for _, e := range r.events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func TestChannelTelemetryEvents(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	r := &channel.Router{}
	testutil.Success(t, r.Handle("room:*", func() channel.Handler { return &testRoom{} }))
	s := newSocket(t, channel.Config{Router: r, Hook: rec})
	c := connect(t, s, nil)

	c.send("1", "1", "room:1", "phx_join", map[string]any{})
	c.read()
	c.send("2", "2", "room:2", "phx_join", map[string]any{"fail": true})
	c.read()
	c.send("3", "3", "nope", "phx_join", map[string]any{})
	c.read()
	c.send("4", "4", "room:3", "phx_join", map[string]any{"crash": true})
	c.read()
	c.send("1", "5", "room:1", "echo", map[string]any{"a": 1})
	c.read()
	c.send("1", "6", "room:1", "phx_leave", map[string]any{})
	c.read() // the leave's reply
	c.read() // phx_close

	testutil.CheckFor(t, 5*time.Second, func() error {
		if n := len(rec.of(telemetry.KindChannelClose)); n != 1 {
			return fmt.Errorf("channel closes = %d, want 1", n)
		}
		return nil
	})
	joins := rec.of(telemetry.KindJoin)
	testutil.Equal(t, "joins", len(joins), 1)
	testutil.Equal(t, "join pattern", joins[0].Pattern, "room:*")
	if joins[0].Duration <= 0 {
		t.Errorf("join duration = %v, want > 0", joins[0].Duration)
	}
	var reasons []string
	for _, e := range rec.of(telemetry.KindJoinError) {
		reasons = append(reasons, e.Pattern+" "+e.Reason)
	}
	testutil.Equal(t, "join errors", reasons, []string{"room:* refused", " unmatched", "room:* crashed"})
	testutil.Equal(t, "crashes", len(rec.of(telemetry.KindCrash)), 1)
	handles := rec.of(telemetry.KindHandle)
	testutil.Equal(t, "handled events", len(handles), 1)
	testutil.Equal(t, "handle pattern", handles[0].Pattern, "room:*")
	replies := rec.of(telemetry.KindReply)
	testutil.Equal(t, "replies", len(replies), 1)
	testutil.Equal(t, "reply status", replies[0].Reason, "ok")
	closes := rec.of(telemetry.KindChannelClose)
	testutil.Equal(t, "close", closes[0].Pattern+" "+closes[0].Reason, "room:* left")
	testutil.Equal(t, "frames in", len(rec.of(telemetry.KindFrameIn)), 6)
	testutil.Equal(t, "frames out", len(rec.of(telemetry.KindFrameOut)), c.sent())
}

// TestChannelTelemetryBalance checks what a gauge of channels relies on:
// every join is followed by exactly one channel close, whatever ends the
// channel.
func TestChannelTelemetryBalance(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	r := &channel.Router{}
	testutil.Success(t, r.Handle("room:*", func() channel.Handler { return &testRoom{} }))
	s := newSocket(t, channel.Config{Router: r, Hook: rec})
	c := connect(t, s, nil)
	c.send("1", "1", "room:1", "phx_join", map[string]any{})
	c.send("2", "2", "room:2", "phx_join", map[string]any{})
	c.send("3", "3", "room:2", "phx_join", map[string]any{}) // duplicate: ends the first
	c.send("1", "4", "room:1", "crash", map[string]any{})
	c.send("4", "5", "room:4", "phx_join", map[string]any{})
	testutil.CheckFor(t, 5*time.Second, func() error {
		if n := len(rec.of(telemetry.KindJoin)); n != 4 {
			return fmt.Errorf("joins = %d, want 4", n)
		}
		return nil
	})
	c.sess.Close()
	testutil.CheckFor(t, 5*time.Second, func() error {
		if n := len(rec.of(telemetry.KindChannelClose)); n != 4 {
			return fmt.Errorf("channel closes = %d, want 4", n)
		}
		return nil
	})
	count := map[string]int{}
	for _, e := range rec.of(telemetry.KindChannelClose) {
		count[e.Reason]++
	}
	testutil.Equal(t, "close reasons", count, map[string]int{"duplicate": 1, "crashed": 1, "closed": 2})
}

// TestChannelTelemetryNoHookAllocs proves that the event sites cost no
// allocation without a hook: a heartbeat round trip allocates the same
// with no hook as the bare path did, and the same with a hook installed.
func TestChannelTelemetryNoHookAllocs(t *testing.T) {
	heartbeat := wire.Frame{Opcode: wire.OpText, Data: []byte(`[null,"1","phoenix","heartbeat",{}]`)}
	measure := func(h telemetry.Hook) float64 {
		// Generous limits: 200 heartbeats at once are over the default rate.
		s, _ := channel.NewSocket(channel.Config{Hook: h, Limits: channel.GenerousLimits()})
		sess, _ := s.Connect(context.Background(), &channel.ConnectInfo{}, wire.V2{})
		_ = sess.Serve(context.Background(), nopConn{})
		defer sess.Close()
		return testing.AllocsPerRun(200, func() { _ = sess.Receive(heartbeat) })
	}
	// AllocsPerRun counts the whole process's allocations, and the
	// session's writer replies on its own goroutine: take the least of a
	// few runs of each. A hook that allocated per event would add at
	// least one per run to every one of them.
	least := func(h telemetry.Hook) float64 {
		m := measure(h)
		for range 4 {
			m = min(m, measure(h))
		}
		return m
	}
	none, with := least(nil), least(&countHook{})
	if with-none >= 0.5 {
		t.Errorf("allocs per heartbeat: %.2f with a hook, %.2f without; the hook must cost none", with, none)
	}
}

type countHook struct{ n atomic.Int64 }

func (h *countHook) Event(telemetry.Event) { h.n.Add(1) }

// BenchmarkChannelTelemetry measures a broadcast to 1,000 joined channels
// with no hook and with a counting hook (a frame-out event per
// delivery). Compare allocs/op: they must be equal.
func BenchmarkChannelTelemetry(b *testing.B) {
	for _, tc := range []struct {
		name string
		hook telemetry.Hook
	}{{"none", nil}, {"counter", &countHook{}}} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 1000
			broker := pubsub.NewMemory(pubsub.MemoryConfig{})
			r := &channel.Router{}
			_ = r.Handle("bench:*", func() channel.Handler { return benchRoom{} })
			s, _ := channel.NewSocket(channel.Config{Router: r, Broker: broker, Hook: tc.hook})
			for range n {
				sess, _ := s.Connect(context.Background(), &channel.ConnectInfo{}, wire.V2{})
				_ = sess.Serve(context.Background(), nopConn{})
				_ = sess.Receive(wire.Frame{Opcode: wire.OpText, Data: []byte(`["1","1","bench:x","phx_join",{}]`)})
				b.Cleanup(sess.Close)
			}
			for broker.Stats().Subscriptions < n {
				runtime.Gosched()
			}
			payload := map[string]string{"body": "a hundred bytes or so of chat message, as in the load tests of docs/benchmarks.md"}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_ = s.Broadcast(ctx, "bench:x", "new_msg", payload)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/delivery")
		})
	}
}
