package channel

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/stream"
	"github.com/suzaku-go/suzaku/telemetry"
	"github.com/suzaku-go/suzaku/wire"
)

// Channel is one join of one topic on one connection: a small, isolated,
// disposable process, in the Erlang sense. It owns a mailbox; its messages
// (client events, intercepted broadcasts, timer ticks, [Channel.Send]) are
// handled one at a time, in order, by its [Handler]. An idle channel holds
// no goroutine: one is started when its mailbox becomes non-empty and ends
// when it is drained.
//
// A panic in a handler ends this channel only: the client gets phx_error
// and phoenix.js rejoins; the connection and its other channels go on.
//
// Methods that send to the client ([Channel.Push], [Channel.Broadcast],
// [Channel.ReplyTo], [Channel.Send]) are safe from any goroutine.
type Channel struct {
	sess    *Session
	topic   string
	joinRef string
	handler Handler

	intercepts []string     // events routed through HandleOut; set at creation
	strm       *streamState // set at creation on a stream topic, else nil

	joined atomic.Bool // subscribed and answering

	mu       sync.Mutex
	queue    []mail
	inQueued int64 // bytes of client messages (mailIn) in queue
	over     bool  // inQueued went over MaxChannelQueue; counted in flow.overs
	running  bool
	dead     bool
	closing  bool   // the session closed: only the stop is left to handle
	extra    *extra // what few channels use, allocated on first use

	// Only touched by the running process.
	curRef   string // ref of the message being handled
	stopping bool
}

// extra holds a channel's rarely used state, so that a plain idle channel
// stays small. Guarded by Channel.mu, except stopWhy (the process's own).
type extra struct {
	timers    map[*timer]struct{} // pending timers, forgotten once they are done
	exits     []func(reason error)
	done      chan struct{} // made by lifetime.Done, closed by endContextLocked
	ctxErr    error         // the context's Err once it is done
	stopAfter func() bool   // stops the context.AfterFunc that watches the session's context
	stopWhy   error
}

// more returns c.extra, allocating it. Call with c.mu held, or from the
// channel's process before it can be shared.
func (c *Channel) more() *extra {
	if c.extra == nil {
		c.extra = &extra{}
	}
	return c.extra
}

type mailKind uint8

const (
	mailIn mailKind = iota
	mailOut
	mailInfo
	mailStop
)

type mail struct {
	kind   mailKind
	msg    wire.Message    // mailIn
	out    *pubsub.Message // mailOut
	info   any             // mailInfo
	reason error           // mailStop
	cost   int64           // mailIn: msgCost, counted in the session's flow
}

func newChannel(s *Session, topic, joinRef string, h Handler, lim *stream.Limits) *Channel {
	// running: the session's join queue owns the channel until its join is
	// done; messages that arrive meanwhile wait in the mailbox.
	c := &Channel{sess: s, topic: topic, joinRef: joinRef, handler: h, running: true}
	s.sock.live.Add(1)
	if lim != nil {
		c.strm = &streamState{lim: *lim} // stream messages are never intercepted
	} else if i, ok := h.(Interceptor); ok {
		c.intercepts = i.Intercept()
	}
	return c
}

// Topic is the topic this channel joined.
func (c *Channel) Topic() string { return c.topic }

// JoinRef is the client's ref for this join.
func (c *Channel) JoinRef() string { return c.joinRef }

// Assigns are the connection's assigns, from Config.Connect.
func (c *Channel) Assigns() any { return c.sess.assigns }

// Session is the connection this channel belongs to.
func (c *Channel) Session() *Session { return c.sess }

// Context is done once the channel has ended or its session is closing,
// or once the context given to [Session.Serve] is done (its deadline
// included). Use it to bound work started on the channel's behalf.
func (c *Channel) Context() context.Context { return lifetime{c} }

// enqueue puts m in the mailbox and makes sure a goroutine drains it. It
// reports false once the channel is dead.
func (c *Channel) enqueue(m mail) bool {
	c.mu.Lock()
	if c.dead || c.closing {
		c.mu.Unlock()
		return false
	}
	c.queue = append(c.queue, m)
	if m.cost > 0 {
		c.countIn(m.cost)
	}
	if c.running {
		c.mu.Unlock()
		return true
	}
	c.running = true
	c.mu.Unlock()
	go c.run()
	return true
}

// close ends the channel for a closed session, promptly: what waits in
// its mailbox is dropped (the client is gone), its context is done at
// once, so that a handler still running can give up, and the channel
// stops (Terminate and the exit hooks run) as soon as that handler
// returns.
func (c *Channel) close() {
	c.mu.Lock()
	if c.dead || c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	clear(c.queue)
	c.queue = append(c.queue[:0], mail{kind: mailStop, reason: ErrClosed})
	dropped := c.inQueued
	c.countOut(dropped)
	if c.extra != nil {
		c.endContextLocked(context.Canceled)
	}
	running := c.running
	c.running = true
	c.mu.Unlock()
	if dropped > 0 {
		c.sess.queuedOut(dropped)
	}
	if !running {
		go c.run()
	}
}

// run drains the mailbox, one message at a time.
func (c *Channel) run() {
	for {
		m, ok := c.next()
		if !ok {
			return
		}
		c.handle(m)
	}
}

// next pops the next message. With none left, or once the channel is
// dead, it gives up the process (running = false), answers what is left
// and reports false.
func (c *Channel) next() (mail, bool) {
	c.mu.Lock()
	if len(c.queue) == 0 || c.dead {
		rest := c.queue
		c.queue = nil
		c.running = false
		n := c.inQueued
		c.countOut(n)
		c.mu.Unlock()
		if n > 0 {
			c.sess.queuedOut(n)
		}
		c.rejectAll(rest)
		return mail{}, false
	}
	m := c.queue[0]
	c.queue[0] = mail{}
	c.queue = c.queue[1:]
	c.countOut(m.cost)
	c.mu.Unlock()
	if m.cost > 0 {
		c.sess.queuedOut(m.cost)
	}
	return m, true
}

// countIn counts n bytes more in the mailbox; c.mu is held.
func (c *Channel) countIn(n int64) {
	c.inQueued += n
	c.sess.queuedIn(n)
	if max := c.sess.sock.limits.MaxChannelQueue; !c.over && max > 0 && c.inQueued > int64(max) {
		c.over = true
		c.sess.flow.overs.Add(1)
	}
}

// countOut counts n bytes out of the mailbox; c.mu is held. The caller
// then calls sess.queuedOut(n), without the lock.
func (c *Channel) countOut(n int64) {
	c.inQueued -= n
	if c.over && c.inQueued <= int64(c.sess.sock.limits.MaxChannelQueue)/2 {
		c.over = false
		c.sess.flow.overs.Add(-1)
	}
}

// rejectAll answers what was left in the mailbox of a dead channel as if
// the topic were not joined.
func (c *Channel) rejectAll(rest []mail) {
	for _, m := range rest {
		if m.kind == mailIn {
			c.sess.notJoined(m.msg)
		}
	}
}

// join runs the join in the session's join queue, then hands the channel
// to its own process for whatever arrived meanwhile.
func (c *Channel) join(m wire.Message) {
	c.handleJoin(m)
	if first, ok := c.next(); ok {
		go func() {
			c.handle(first)
			c.run()
		}()
	}
}

func (c *Channel) handle(m mail) {
	if !c.joined.Load() {
		return
	}
	defer c.recoverCrash()
	switch m.kind {
	case mailIn:
		c.handleIn(m.msg)
	case mailOut:
		if h, ok := c.handler.(OutHandler); ok {
			h.HandleOut(lifetime{c}, c, m.out.Event, Payload{data: m.out.Payload, binary: m.out.Binary})
		}
	case mailInfo:
		if h, ok := c.handler.(InfoHandler); ok {
			h.HandleInfo(lifetime{c}, c, m.info)
		}
	case mailStop:
		c.Stop(m.reason)
	}
	if c.stopping {
		c.terminate(c.extra.stopWhy)
	}
}

func (c *Channel) handleJoin(m wire.Message) {
	sock := c.sess.sock
	start := sock.joinClock()
	var since *stream.Position
	if c.strm != nil {
		pos, ok, err := stream.ParseJoin(m.Payload)
		if err != nil {
			c.die(err)
			c.sess.reply(m.JoinRef, m.Ref, c.topic, wire.StatusError, Reason(err.Error()))
			return
		}
		if ok {
			since = &pos
		}
	}
	resp, err, crashed := c.callJoin(m)
	switch {
	case crashed:
		sock.emitTopic(telemetry.KindCrash, c.topic, "", time.Time{})
		sock.emitTopic(telemetry.KindJoinError, c.topic, "crashed", start)
		c.die(ErrCrashed)
		c.sess.reply(m.JoinRef, m.Ref, c.topic, wire.StatusError, Reason("join crashed"))
		return
	case err != nil:
		sock.emitTopic(telemetry.KindJoinError, c.topic, "refused", start)
		c.die(err)
		var je *JoinError
		if errors.As(err, &je) {
			c.logJoin(start, je.Response)
			c.sess.reply(m.JoinRef, m.Ref, c.topic, wire.StatusError, je.Response)
		} else {
			// Not a refusal: a failure (a database down). Its text is for
			// the operator, not for the client.
			c.sess.sock.log.Error("channel join failed", LogSocketID, c.sess.SocketID(), "topic", c.topic, "err", err)
			c.sess.reply(m.JoinRef, m.Ref, c.topic, wire.StatusError, Reason(JoinFailedReason))
		}
		return
	}
	if err := c.sess.sock.broker.Subscribe(lifetime{c}, c.topic, c); err != nil {
		c.sess.sock.log.Error("subscribe", "topic", c.topic, "err", err)
		sock.emitTopic(telemetry.KindJoinError, c.topic, "subscribe", start)
		c.die(err)
		c.sess.reply(m.JoinRef, m.Ref, c.topic, wire.StatusError, Reason(JoinFailedReason))
		return
	}
	var replay []*pubsub.Message
	if c.strm != nil {
		if resp, replay, err = c.streamJoin(resp, since); err != nil {
			c.sess.sock.log.Error("stream join", "topic", c.topic, "err", err)
			c.die(err)
			c.sess.reply(m.JoinRef, m.Ref, c.topic, wire.StatusError, Reason("join failed"))
			return
		}
	}
	c.joined.Store(true)
	sock.emitTopic(telemetry.KindJoin, c.topic, "", start)
	c.logJoin(start, nil)
	c.sess.reply(m.JoinRef, m.Ref, c.topic, wire.StatusOK, resp)
	if c.strm != nil {
		c.streamReplay(replay)
	}
	if c.stopping {
		c.terminate(c.extra.stopWhy)
	}
}

func (c *Channel) callJoin(m wire.Message) (resp any, err error, crashed bool) {
	defer func() {
		if r := recover(); r != nil {
			c.sess.sock.log.Error("channel join crashed", LogSocketID, c.sess.SocketID(), "topic", c.topic, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			crashed = true
		}
	}()
	resp, err = c.handler.Join(lifetime{c}, c, Payload{data: m.Payload, binary: m.Binary})
	return resp, err, false
}

func (c *Channel) handleIn(m wire.Message) {
	if m.Event == wire.EventLeave {
		c.sess.reply(c.joinRef, m.Ref, c.topic, wire.StatusOK, nil)
		c.Stop(ErrLeft)
		return
	}
	h, ok := c.handler.(InHandler)
	if !ok {
		c.sess.reply(c.joinRef, m.Ref, c.topic, wire.StatusError, Reason("unhandled event"))
		return
	}
	sock := c.sess.sock
	start := sock.now()
	c.curRef = m.Ref
	r := h.HandleIn(lifetime{c}, c, m.Event, Payload{data: m.Payload, binary: m.Binary})
	c.curRef = ""
	sock.emitTopic(telemetry.KindHandle, c.topic, "", start)
	if r.Status != "" {
		sock.emitTopic(telemetry.KindReply, c.topic, r.Status, time.Time{})
		c.sess.reply(c.joinRef, m.Ref, c.topic, r.Status, r.Response)
	}
}

// recoverCrash turns a panic in a handler into phx_error for this channel.
func (c *Channel) recoverCrash() {
	r := recover()
	if r == nil {
		return
	}
	c.sess.sock.log.Error("channel crashed", LogSocketID, c.sess.SocketID(), "topic", c.topic, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	c.sess.sock.emitTopic(telemetry.KindCrash, c.topic, "", time.Time{})
	c.crash()
}

// crash ends the channel abnormally: no Terminate, phx_error to the client.
func (c *Channel) crash() {
	c.die(ErrCrashed)
	c.sendControl(wire.EventError, []byte(`{"reason":"channel_crash"}`))
}

// terminate ends the channel for reason, running Terminate for clean ones.
func (c *Channel) terminate(reason error) {
	c.stopping = false
	if !isClean(reason) {
		c.crash()
		return
	}
	if t, ok := c.handler.(Terminator); ok {
		func() {
			defer func() {
				if r := recover(); r != nil {
					c.sess.sock.log.Error("channel terminate crashed", "topic", c.topic, "panic", fmt.Sprint(r))
				}
			}()
			// Not cancelled: a closing session's context is done, yet
			// Terminate may still broadcast a goodbye.
			t.Terminate(context.WithoutCancel(lifetime{c}), c, reason)
		}()
	}
	c.die(reason)
	if reason != ErrClosed {
		c.sendControl(wire.EventClose, []byte(`{}`))
	}
}

// die marks the channel dead, releases what it holds (timers, its
// subscription, its topic on the session) and then runs the exit hooks.
func (c *Channel) die(reason error) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.dead = true
	defer c.sess.sock.live.Add(-1) // after the exit hooks
	var timers map[*timer]struct{}
	var exits []func(error)
	if x := c.extra; x != nil {
		c.endContextLocked(context.Canceled)
		timers, exits = x.timers, x.exits
		x.timers, x.exits = nil, nil
	}
	c.mu.Unlock()
	for t := range timers {
		t.stop()
	}
	if c.joined.Swap(false) {
		_ = c.sess.sock.broker.Unsubscribe(context.WithoutCancel(lifetime{c}), c.topic, c)
		c.sess.sock.emitTopic(telemetry.KindChannelClose, c.topic, closeReason(reason), time.Time{})
	}
	c.sess.remove(c)
	// Hooks last: what they broadcast (a presence leave) no longer
	// reaches this channel.
	for _, f := range exits {
		c.runExit(f, reason)
	}
}

// sendControl sends phx_close or phx_error: ref and join_ref are both the
// join's ref, as Phoenix does.
func (c *Channel) sendControl(event string, payload []byte) {
	m := wire.Message{Kind: wire.KindPush, JoinRef: c.joinRef, Ref: c.joinRef, Topic: c.topic, Event: event, Payload: payload}
	_ = c.sess.send(&m)
}

// OnExit registers f to run when the channel ends, whatever the reason,
// crashes included (reason is then [ErrCrashed]): the role of an Erlang
// link or monitor. Presence uses it to untrack a channel's presences. f
// runs in the channel's process after the channel is dead; it must not
// block. If the channel has already ended, f runs at once.
func (c *Channel) OnExit(f func(reason error)) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		c.runExit(f, ErrClosed)
		return
	}
	x := c.more()
	x.exits = append(x.exits, f)
	c.mu.Unlock()
}

func (c *Channel) runExit(f func(error), reason error) {
	defer func() {
		if r := recover(); r != nil {
			c.sess.sock.log.Error("channel exit hook crashed", "topic", c.topic, "panic", fmt.Sprint(r))
		}
	}()
	f(reason)
}

// Stop ends the channel once the current callback returns. A nil reason,
// or one wrapping [ErrShutdown], is a clean stop: Terminate runs and the
// client gets phx_close. Any other reason is abnormal: the client gets
// phx_error and rejoins. Call it only from the channel's own callbacks;
// from elsewhere, use [Channel.Send] and stop in HandleInfo.
func (c *Channel) Stop(reason error) {
	if reason == nil {
		reason = ErrNormal
	}
	c.mu.Lock()
	c.more().stopWhy = reason
	c.mu.Unlock()
	c.stopping = true
}

// Push sends event with payload to this channel's client only. payload is
// nil for {}, a [Binary], or any value encoding/json can marshal.
func (c *Channel) Push(event string, payload any) error {
	data, bin, err := encodeValue(payload)
	if err != nil {
		return err
	}
	if c.isDead() {
		return fmt.Errorf("channel: push %q on %q: channel has ended", event, c.topic)
	}
	return c.sess.send(&wire.Message{Kind: wire.KindPush, JoinRef: c.joinRef, Topic: c.topic, Event: event, Payload: data, Binary: bin})
}

// Broadcast sends event with payload to every subscriber of the channel's
// topic on every node, this channel included.
func (c *Channel) Broadcast(ctx context.Context, event string, payload any) error {
	return c.broadcast(ctx, event, payload, nil)
}

// BroadcastFrom is Broadcast to every subscriber but this channel.
func (c *Channel) BroadcastFrom(ctx context.Context, event string, payload any) error {
	return c.broadcast(ctx, event, payload, c)
}

func (c *Channel) broadcast(ctx context.Context, event string, payload any, from pubsub.Subscriber) error {
	if c.strm != nil && from == nil {
		// On a stream topic, BroadcastFrom stays a plain broadcast: a
		// message that skips its sender has no place in a history every
		// subscriber shares.
		_, err := c.sess.sock.publish(ctx, c.topic, c.strm.lim, event, payload)
		return err
	}
	data, bin, err := encodeValue(payload)
	if err != nil {
		return err
	}
	m := &pubsub.Message{Topic: c.topic, Event: event, Payload: data, Binary: bin, From: from}
	if err := c.sess.sock.broker.Broadcast(ctx, m); err != nil {
		return fmt.Errorf("channel: broadcast %q on %q: %w", event, c.topic, err)
	}
	return nil
}

// ReplyRef identifies a client message for a later reply.
type ReplyRef struct {
	joinRef, ref string
}

// ReplyRef returns the reference of the message being handled, for an
// asynchronous reply with [Channel.ReplyTo]. Call it from HandleIn, and
// return the zero Reply.
func (c *Channel) ReplyRef() ReplyRef { return ReplyRef{joinRef: c.joinRef, ref: c.curRef} }

// ReplyTo sends a reply to the message ref names. It may be called from any
// goroutine, while the channel lives.
func (c *Channel) ReplyTo(ref ReplyRef, r Reply) error {
	if c.isDead() {
		return fmt.Errorf("channel: reply on %q: channel has ended", c.topic)
	}
	if r.Status == "" {
		return fmt.Errorf("channel: reply on %q: empty status", c.topic)
	}
	c.sess.reply(ref.joinRef, ref.ref, c.topic, r.Status, r.Response)
	return nil
}

// Send puts msg in the channel's mailbox, for HandleInfo. It reports false
// if the channel has ended.
func (c *Channel) Send(msg any) bool { return c.enqueue(mail{kind: mailInfo, info: msg}) }

func (c *Channel) isDead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}

// Deliver implements pubsub.Subscriber: broadcasts on the channel's topic
// are encoded once per serializer and written straight to the connection,
// bypassing the mailbox, unless their event is intercepted.
func (c *Channel) Deliver(m *pubsub.Message) {
	if c.strm != nil {
		c.deliverStream(m)
		return
	}
	if !c.joined.Load() {
		return
	}
	for _, ev := range c.intercepts {
		if ev == m.Event {
			c.enqueue(mail{kind: mailOut, out: m})
			return
		}
	}
	f, err := c.sess.encodeBroadcast(m)
	if err != nil {
		c.sess.sock.log.Debug("encode broadcast", "topic", m.Topic, "err", err)
		return
	}
	if c.sess.conn.Send(f) == nil {
		c.sess.sock.frameOut(len(f.Data))
	}
}
