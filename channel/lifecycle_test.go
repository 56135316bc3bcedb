package channel_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/wire"
)

// lifeRoom blocks in HandleIn until its context is done (or 3 s pass), and
// reports its context, its calls and its Terminate.
type lifeRoom struct {
	ctxs       chan context.Context
	started    chan struct{}
	handled    *atomic.Int32
	terminated chan error
	timers     func(ch *channel.Channel)
}

func (r *lifeRoom) Join(ctx context.Context, ch *channel.Channel, p channel.Payload) (any, error) {
	if r.ctxs != nil {
		r.ctxs <- ctx
	}
	if r.timers != nil {
		r.timers(ch)
	}
	return nil, nil
}

func (r *lifeRoom) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
	r.handled.Add(1)
	select {
	case r.started <- struct{}{}:
	default:
	}
	select {
	case <-ctx.Done():
	case <-time.After(3 * time.Second):
	}
	return channel.OK(nil)
}

func (r *lifeRoom) HandleInfo(ctx context.Context, ch *channel.Channel, msg any) {
	if f, ok := msg.(func()); ok {
		f()
	}
}

func (r *lifeRoom) Terminate(ctx context.Context, ch *channel.Channel, reason error) {
	r.terminated <- reason
}

func lifeSocket(t *testing.T, room *lifeRoom) *channel.Socket {
	t.Helper()
	r := &channel.Router{}
	if err := r.Handle("life:*", func() channel.Handler { return room }); err != nil {
		t.Fatal(err)
	}
	return newSocket(t, channel.Config{Router: r})
}

func newLifeRoom() *lifeRoom {
	return &lifeRoom{ctxs: make(chan context.Context, 1), started: make(chan struct{}, 1),
		handled: new(atomic.Int32), terminated: make(chan error, 1)}
}

// TestChannelCloseDropsQueue: closing a session drops the work queued for
// its channels and ends them promptly; the handler running sees its
// context done, and only Terminate runs after it.
func TestChannelCloseDropsQueue(t *testing.T) {
	t.Parallel()
	room := newLifeRoom()
	c := connect(t, lifeSocket(t, room), nil)
	c.send("1", "1", "life:1", "phx_join", map[string]any{})
	c.expect(`["1","1","life:1","phx_reply",{"response":{},"status":"ok"}]`)
	for range 20 {
		c.send("1", "2", "life:1", "slow", map[string]any{})
	}
	<-room.started
	start := time.Now()
	c.sess.Close()
	select {
	case reason := <-room.terminated:
		if !errors.Is(reason, channel.ErrClosed) {
			t.Fatalf("Terminate reason = %v, want ErrClosed", reason)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("channel still running %v after Close (%d handlers ran)", time.Since(start), room.handled.Load())
	}
	if n := room.handled.Load(); n != 1 {
		t.Fatalf("handlers run = %d, want 1 (the queued 19 dropped)", n)
	}
}

// TestChannelTimersBounded: a channel that sets 100,000 timers over its
// life holds only those that have not fired or been stopped.
func TestChannelTimersBounded(t *testing.T) {
	t.Parallel()
	const n = 100_000
	fired := make(chan struct{}, n)
	var ch *channel.Channel
	joined := make(chan struct{})
	room := newLifeRoom()
	room.timers = func(c *channel.Channel) { ch = c; close(joined) }
	c := connect(t, lifeSocket(t, room), nil)
	c.send("1", "1", "life:1", "phx_join", map[string]any{})
	<-joined
	c.expect(`["1","1","life:1","phx_reply",{"response":{},"status":"ok"}]`)
	tick := func() { fired <- struct{}{} }
	for i := range n {
		switch i % 3 {
		case 0: // fires once
			ch.After(time.Microsecond, tick)
		case 1: // stopped before it fires
			ch.After(time.Hour, tick).Stop()
		case 2: // repeats, then is stopped
			tm := ch.Every(time.Hour, tick)
			tm.Stop()
			fired <- struct{}{}
		}
		if i%10_000 == 0 {
			if held := channel.HeldTimers(ch); held > 10_000 {
				t.Fatalf("after %d timers the channel holds %d", i, held)
			}
		}
	}
	for range n - n/3 {
		<-fired
	}
	// Every one-shot has been handled, so every timer is done: HandleInfo
	// ran after its timer fired, and fire forgets a timer right after
	// sending; wait for that last step of the last ones.
	deadline := time.Now().Add(5 * time.Second)
	for channel.HeldTimers(ch) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after %d timers, all done, the channel holds %d", n, channel.HeldTimers(ch))
		}
		time.Sleep(time.Millisecond)
	}
}

// contextDone reports whether ctx's Done channel is closed.
func contextDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// checkContract checks what the context package documents: Err is nil
// while Done is open, non-nil once it is closed, and then stays the same.
func checkContract(t *testing.T, when string, ctx context.Context, wantDone bool, wantErr error) {
	t.Helper()
	err := ctx.Err()
	done := contextDone(ctx)
	if done != wantDone || !errors.Is(err, wantErr) || (err == nil) != !done {
		t.Fatalf("%s: Done closed = %v, Err = %v; want %v, %v", when, done, err, wantDone, wantErr)
	}
	if again := ctx.Err(); again != err {
		t.Fatalf("%s: Err changed from %v to %v", when, err, again)
	}
}

// TestChannelContextContract: a channel's context obeys context.Context:
// Err is non-nil exactly when Done is closed, with the cause that came
// first, and the session's deadline is enforced.
func TestChannelContextContract(t *testing.T) {
	t.Parallel()
	serve := func(t *testing.T, parent context.Context) (*client, context.Context) {
		room := newLifeRoom()
		sock := lifeSocket(t, room)
		sess, err := sock.Connect(context.Background(), &channel.ConnectInfo{}, wire.V2{})
		if err != nil {
			t.Fatal(err)
		}
		conn := newFakeConn()
		if err := sess.Serve(parent, conn); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sess.Close)
		c := &client{t: t, sess: sess, conn: conn}
		c.send("1", "1", "life:1", "phx_join", map[string]any{})
		c.expect(`["1","1","life:1","phx_reply",{"response":{},"status":"ok"}]`)
		return c, <-room.ctxs
	}
	t.Run("channel ends", func(t *testing.T) {
		t.Parallel()
		c, ctx := serve(t, context.Background())
		checkContract(t, "joined", ctx, false, nil)
		if _, ok := ctx.Deadline(); ok {
			t.Fatal("Deadline() reports one, want none")
		}
		c.sess.Close()
		checkContract(t, "after Close", ctx, true, context.Canceled)
	})
	t.Run("session context cancelled, Err first", func(t *testing.T) {
		t.Parallel()
		parent, cancel := context.WithCancel(context.Background())
		_, ctx := serve(t, parent)
		cancel()
		// Err before Done has ever been called: it must not report an
		// error while Done would still be open.
		err := ctx.Err()
		if !errors.Is(err, context.Canceled) || !contextDone(ctx) {
			t.Fatalf("after the session's cancel: Err = %v, Done closed = %v; want Canceled, true", err, contextDone(ctx))
		}
	})
	t.Run("session context cancelled, Done first", func(t *testing.T) {
		t.Parallel()
		parent, cancel := context.WithCancel(context.Background())
		_, ctx := serve(t, parent)
		done := ctx.Done()
		checkContract(t, "joined", ctx, false, nil)
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Done still open 5 s after the session's context was cancelled")
		}
		checkContract(t, "after the session's cancel", ctx, true, context.Canceled)
	})
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		want := time.Now().Add(100 * time.Millisecond)
		parent, cancel := context.WithDeadline(context.Background(), want)
		defer cancel()
		_, ctx := serve(t, parent)
		if got, ok := ctx.Deadline(); !ok || !got.Equal(want) {
			t.Fatalf("Deadline() = %v, %v; want %v, true", got, ok, want)
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("Done still open 5 s after the deadline")
		}
		checkContract(t, "after the deadline", ctx, true, context.DeadlineExceeded)
	})
}
