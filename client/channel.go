package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/suzaku-go/suzaku/wire"
)

// State is a channel's state, as in phoenix.js.
type State uint8

// Channel states. A channel starts closed, is joining until the server
// answers its join, and is errored when its join failed, timed out or was
// lost (it then rejoins). Leaving and closed are final.
const (
	StateClosed State = iota
	StateJoining
	StateJoined
	StateErrored
	StateLeaving
)

// String returns the phoenix.js name: "closed", "joining", "joined",
// "errored" or "leaving".
func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateJoining:
		return "joining"
	case StateJoined:
		return "joined"
	case StateErrored:
		return "errored"
	case StateLeaving:
		return "leaving"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Message is a message the server sent to a channel.
type Message struct {
	Topic string
	Event string
	// Payload is JSON text, or raw bytes when Binary is set. It is not
	// shared: a handler may keep it.
	Payload []byte
	Binary  bool
	// JoinRef and Ref are the message's refs; "" stands for null.
	// Broadcasts have neither; server pushes have the join's JoinRef.
	JoinRef string
	Ref     string
}

// Reply is the server's answer to a push. Status is "ok" or "error" in
// Phoenix's own replies, but may be any string the server chose.
type Reply struct {
	Status string
	// Response is JSON text, or raw bytes when Binary is set (a binary
	// reply frame).
	Response []byte
	Binary   bool
}

// Binary is a payload sent as is in a binary frame (V2 binary push), as
// phoenix.js sends an ArrayBuffer. Any other payload is marshalled to JSON.
type Binary []byte

// Channel is one topic of a [Socket], joined once and then kept joined: it
// rejoins after a crash on the server (phx_error) and after a reconnect,
// until Leave, a phx_close from the server, or Socket.Close. Its methods
// are safe for concurrent use.
//
// # Handlers
//
// Handlers registered with On, OnError and OnClose are called on the
// socket's reader goroutine, one at a time, in the order the messages
// arrived. They must not block: while one runs, the socket reads nothing,
// so a handler that waits for a reply (Join, Push, Ping) deadlocks. Start
// a goroutine for such work; Send and State are fine. OnClose handlers of
// a leave (Leave, or the implicit leave of another Channel joining the
// same topic) run on the goroutine that caused it.
type Channel struct {
	sock   *Socket
	topic  string
	params any

	// Under sock.mu.
	state       State
	joinedOnce  bool
	dead        bool   // closed after a join: never rejoins
	joinRef     string // ref of the current join attempt; "" when none
	joinTimer   *time.Timer
	joinWaiter  chan joinResult
	rejoinTimer *time.Timer
	rejoinTries int
	rejoinGen   uint64
	pending     map[string]*push // sent pushes awaiting their reply, by ref
	buffer      []*push          // pushes waiting for the join
	handlers    map[string][]func(Message)
	onError     []func(json.RawMessage)
	onClose     []func(json.RawMessage)
}

// push is one Push or Send. done is nil for a Send.
type push struct {
	ref      string // set once sent
	event    string
	payload  []byte
	binary   bool
	deadline time.Time // for a buffered Send
	done     chan pushResult
}

type pushResult struct {
	reply Reply
	err   error
}

type joinResult struct {
	response json.RawMessage
	err      error
}

// Topic returns the channel's topic.
func (ch *Channel) Topic() string { return ch.topic }

// State returns the channel's state.
func (ch *Channel) State() State {
	ch.sock.mu.Lock()
	defer ch.sock.mu.Unlock()
	return ch.state
}

// JoinRef returns the ref of the current join attempt, which every frame
// of the channel carries as join_ref, or "" if there is none.
func (ch *Channel) JoinRef() string {
	ch.sock.mu.Lock()
	defer ch.sock.mu.Unlock()
	return ch.joinRef
}

// On registers f for the messages of event that the server pushes or
// broadcasts to the channel (replies go to Push instead). See the Channel
// doc on how handlers are called.
func (ch *Channel) On(event string, f func(Message)) {
	ch.sock.mu.Lock()
	defer ch.sock.mu.Unlock()
	if ch.handlers == nil {
		ch.handlers = make(map[string][]func(Message))
	}
	ch.handlers[event] = append(ch.handlers[event], f)
}

// OnError registers f for the channel's errors: a phx_error from the server
// (a crash of the channel; payload as sent), or the loss of the connection
// while joined or joining (payload {"source":"transport","reason":r} with
// r "connection_closed", "connection_error" or "heartbeat_timeout", as
// phoenix.js reports it). The channel then rejoins.
func (ch *Channel) OnError(f func(payload json.RawMessage)) {
	ch.sock.mu.Lock()
	defer ch.sock.mu.Unlock()
	ch.onError = append(ch.onError, f)
}

// OnClose registers f for the channel's close: a phx_close from the server
// (payload as sent), or Leave (payload "leave", a JSON string). A closed
// channel does not rejoin.
func (ch *Channel) OnClose(f func(payload json.RawMessage)) {
	ch.sock.mu.Lock()
	defer ch.sock.mu.Unlock()
	ch.onClose = append(ch.onClose, f)
}

// Join joins the channel and returns the server's response. It may be
// called once per Channel.
//
// Join returns when the server answers: the response for status "ok", a
// *[JoinError] (wrapping ErrJoinRefused) for "error". The first attempt
// times out at the ctx deadline, or after [Config.Timeout]; a timeout, or
// a ctx cancelled before the answer, is handled as phoenix.js handles a
// join timeout: the client sends phx_leave for that attempt and Join
// returns an error wrapping ctx.Err() or context.DeadlineExceeded.
//
// As in phoenix.js, the channel does not give up after an error reply or a
// timeout: it rejoins with [Config.RejoinBackoff] for as long as the socket
// lives, and a later success calls no callback but makes the channel
// joined (see State). Call Leave to stop it.
func (ch *Channel) Join(ctx context.Context) (json.RawMessage, error) {
	s := ch.sock
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil, fmt.Errorf("join %q: %w", ch.topic, ErrClosed)
	case ch.joinedOnce:
		s.mu.Unlock()
		return nil, fmt.Errorf("join %q: %w", ch.topic, ErrAlreadyJoined)
	}
	if _, isFunc := ch.params.(func() any); !isFunc {
		// A params func is called (and its result checked) per attempt.
		if _, err := ch.joinPayload(); err != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("join %q: %w", ch.topic, err)
		}
	}
	ch.joinedOnce = true
	w := make(chan joinResult, 1)
	ch.joinWaiter = w
	timeout := s.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	ch.rejoinLocked(timeout)
	first := ch.joinRef
	// A failed write loses the connection, which the channel survives.
	_ = s.unlock()

	select {
	case r := <-w:
		return joinReturn(ch.topic, r)
	case <-ctx.Done():
	}
	s.mu.Lock()
	if ch.joinWaiter == w {
		ch.joinWaiter = nil
	}
	if first != "" && ch.state == StateJoining && ch.joinRef == first {
		ch.joinTimeoutLocked()
	}
	_ = s.unlock()
	select {
	case r := <-w: // the answer came first
		return joinReturn(ch.topic, r)
	default:
		return nil, fmt.Errorf("join %q: %w", ch.topic, ctx.Err())
	}
}

func joinReturn(topic string, r joinResult) (json.RawMessage, error) {
	if r.err != nil {
		if je, ok := r.err.(*JoinError); ok {
			return nil, je
		}
		return nil, fmt.Errorf("join %q: %w", topic, r.err)
	}
	return r.response, nil
}

// joinPayload marshals the join params.
func (ch *Channel) joinPayload() ([]byte, error) {
	p := ch.params
	if f, ok := p.(func() any); ok {
		p = f()
	}
	if p == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(p)
}

// rejoinLocked sends a new join attempt, as phoenix.js's rejoin: other
// channels of the topic are left, and the attempt gets a new ref (the
// channel's join_ref from now on) and a timeout. Without a connection the
// attempt is made when one opens.
func (ch *Channel) rejoinLocked(timeout time.Duration) {
	s := ch.sock
	if ch.dead || ch.state == StateLeaving {
		return
	}
	for _, other := range s.byTopic[ch.topic] {
		if other != ch && (other.state == StateJoined || other.state == StateJoining) {
			s.cfg.Logger.Debug("client: leaving duplicate topic", logTopic, ch.topic)
			other.leaveLocked()
		}
	}
	ch.state = StateJoining
	ch.stopJoinTimerLocked()
	ch.joinRef = ""
	if s.conn == nil {
		return
	}
	payload, err := ch.joinPayload()
	if err != nil {
		s.cfg.Logger.Info("client: join params", logTopic, ch.topic, logErr, err)
		ch.state = StateErrored
		ch.scheduleRejoinLocked()
		ch.notifyJoinLocked(joinResult{err: err})
		return
	}
	ref := s.makeRefLocked()
	ch.joinRef = ref
	f, err := wire.V2{}.EncodeClient(&wire.Message{
		JoinRef: ref, Ref: ref, Topic: ch.topic, Event: wire.EventJoin, Payload: payload,
	})
	if err != nil {
		s.cfg.Logger.Info("client: join", logTopic, ch.topic, logErr, err)
		ch.state = StateErrored
		ch.joinRef = ""
		ch.notifyJoinLocked(joinResult{err: err})
		return
	}
	s.queueLocked(f)
	ch.joinTimer = time.AfterFunc(timeout, func() {
		s.mu.Lock()
		if !s.closed && ch.state == StateJoining && ch.joinRef == ref {
			ch.joinTimeoutLocked()
		}
		_ = s.unlock()
	})
}

// joinTimeoutLocked gives up the current join attempt, as phoenix.js on a
// join timeout: phx_leave for it, then errored and a rejoin with backoff.
func (ch *Channel) joinTimeoutLocked() {
	s := ch.sock
	s.cfg.Logger.Debug("client: join timeout", logTopic, ch.topic, "join_ref", ch.joinRef)
	if s.conn != nil {
		ch.queueLeaveLocked()
	}
	ch.state = StateErrored
	ch.stopJoinTimerLocked()
	ch.joinRef = ""
	if s.conn != nil {
		ch.scheduleRejoinLocked()
	}
	ch.notifyJoinLocked(joinResult{err: context.DeadlineExceeded})
}

func (ch *Channel) queueLeaveLocked() {
	s := ch.sock
	f, err := wire.V2{}.EncodeClient(&wire.Message{
		JoinRef: ch.joinRef, Ref: s.makeRefLocked(), Topic: ch.topic, Event: wire.EventLeave,
	})
	if err == nil {
		s.queueLocked(f)
	}
}

func (ch *Channel) stopJoinTimerLocked() {
	if ch.joinTimer != nil {
		ch.joinTimer.Stop()
		ch.joinTimer = nil
	}
}

func (ch *Channel) notifyJoinLocked(r joinResult) {
	if w := ch.joinWaiter; w != nil {
		ch.joinWaiter = nil
		w <- r
	}
}

// scheduleRejoinLocked arms the rejoin timer with the next backoff step.
func (ch *Channel) scheduleRejoinLocked() {
	s := ch.sock
	if ch.rejoinTimer != nil {
		ch.rejoinTimer.Stop()
	}
	ch.rejoinGen++
	gen := ch.rejoinGen
	ch.rejoinTimer = time.AfterFunc(s.cfg.RejoinBackoff(ch.rejoinTries+1), func() {
		s.mu.Lock()
		if s.closed || ch.rejoinGen != gen {
			s.mu.Unlock()
			return
		}
		ch.rejoinTimer = nil
		ch.rejoinTries++
		if s.conn != nil {
			ch.rejoinLocked(s.cfg.Timeout)
		}
		_ = s.unlock()
	})
}

// resetRejoinLocked stops the rejoin timer and resets its tries.
func (ch *Channel) resetRejoinLocked() {
	ch.rejoinGen++
	ch.rejoinTries = 0
	if ch.rejoinTimer != nil {
		ch.rejoinTimer.Stop()
		ch.rejoinTimer = nil
	}
}

// handleLocked handles a message that belongs to the channel's current
// join (or to none: a broadcast).
func (ch *Channel) handleLocked(m *wire.Message) {
	switch {
	case m.Kind == wire.KindReply:
		if ch.state == StateJoining && ch.joinRef != "" && m.Ref == ch.joinRef {
			ch.joinReplyLocked(m)
			return
		}
		if p, ok := ch.pending[m.Ref]; ok {
			delete(ch.pending, m.Ref)
			p.done <- pushResult{reply: Reply{Status: m.Status, Response: m.Payload, Binary: m.Binary}}
		}
		return
	case m.Event == wire.EventError:
		ch.queueHandlersLocked(m)
		ch.errorLocked(m.Payload, ErrChannelErrored)
		return
	case m.Event == wire.EventClose:
		ch.queueHandlersLocked(m)
		ch.closeLocked(m.Payload)
		return
	}
	ch.queueHandlersLocked(m)
}

func (ch *Channel) queueHandlersLocked(m *wire.Message) {
	hs := ch.handlers[m.Event]
	if len(hs) == 0 {
		return
	}
	msg := Message{
		Topic: m.Topic, Event: m.Event, Payload: m.Payload, Binary: m.Binary,
		JoinRef: m.JoinRef, Ref: m.Ref,
	}
	for i, h := range hs {
		if i > 0 {
			msg.Payload = bytes.Clone(m.Payload)
		}
		ch.sock.queueCallLocked(call{onMsg: h, msg: msg})
	}
}

func (ch *Channel) joinReplyLocked(m *wire.Message) {
	s := ch.sock
	ch.stopJoinTimerLocked()
	if m.Status != wire.StatusOK {
		ch.state = StateErrored
		if s.conn != nil {
			ch.scheduleRejoinLocked()
		}
		ch.notifyJoinLocked(joinResult{err: &JoinError{Topic: ch.topic, Response: m.Payload}})
		return
	}
	ch.state = StateJoined
	ch.resetRejoinLocked()
	ch.notifyJoinLocked(joinResult{response: m.Payload})
	buf := ch.buffer
	ch.buffer = nil
	now := time.Now()
	for _, p := range buf {
		if p.done == nil && now.After(p.deadline) {
			continue
		}
		if err := ch.sendLocked(p); err != nil && p.done != nil {
			p.done <- pushResult{err: err}
		}
	}
}

// errorLocked handles a phx_error or the loss of the connection: the
// channel is errored, the pushes awaiting replies fail with cause, and a
// rejoin is scheduled if there is a connection (otherwise the next one
// rejoins at once).
func (ch *Channel) errorLocked(payload json.RawMessage, cause error) {
	s := ch.sock
	for _, f := range ch.onError {
		s.queueCallLocked(call{onRaw: f, raw: payload})
	}
	if ch.state == StateJoining {
		ch.stopJoinTimerLocked()
		ch.joinRef = ""
	}
	ch.state = StateErrored
	ch.failPendingLocked(cause)
	if s.conn != nil {
		ch.scheduleRejoinLocked()
	}
}

// closeLocked closes the channel for good and forgets it.
func (ch *Channel) closeLocked(payload json.RawMessage) {
	s := ch.sock
	ch.resetRejoinLocked()
	ch.stopJoinTimerLocked()
	ch.state = StateClosed
	ch.dead = true
	s.removeLocked(ch)
	ch.failPendingLocked(ErrChannelClosed)
	ch.failBufferLocked(ErrChannelClosed)
	ch.notifyJoinLocked(joinResult{err: ErrChannelClosed})
	for _, f := range ch.onClose {
		s.queueCallLocked(call{onRaw: f, raw: payload})
	}
}

func (ch *Channel) failPendingLocked(err error) {
	for ref, p := range ch.pending {
		delete(ch.pending, ref)
		p.done <- pushResult{err: err}
	}
}

func (ch *Channel) failBufferLocked(err error) {
	for _, p := range ch.buffer {
		if p.done != nil {
			p.done <- pushResult{err: err}
		}
	}
	ch.buffer = nil
}

// Leave leaves the channel, as phoenix.js's leave: it sends phx_leave and
// closes the channel at once, without waiting for the server's reply
// (OnClose handlers get "leave"). Pending pushes fail with
// ErrChannelClosed. Leave is idempotent; ctx bounds nothing but is checked
// before sending.
func (ch *Channel) Leave(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("leave %q: %w", ch.topic, err)
	}
	s := ch.sock
	s.mu.Lock()
	if ch.state == StateClosed || ch.state == StateLeaving {
		s.removeLocked(ch)
		s.mu.Unlock()
		return nil
	}
	ch.leaveLocked()
	if err := s.unlock(); err != nil {
		return fmt.Errorf("leave %q: %w", ch.topic, err)
	}
	return nil
}

func (ch *Channel) leaveLocked() {
	s := ch.sock
	ch.resetRejoinLocked()
	ch.stopJoinTimerLocked()
	ch.state = StateLeaving
	if s.conn != nil {
		ch.queueLeaveLocked()
	}
	ch.closeLocked(json.RawMessage(`"leave"`))
}

// Push sends event with payload and waits for the server's reply. payload
// is marshalled to JSON, except a [Binary], sent in a binary frame; nil
// sends {}. The ctx deadline is the push timeout, [Config.Timeout] without
// one; on timeout the error wraps context.DeadlineExceeded and a late reply
// is ignored.
//
// As in phoenix.js, a push made before the channel is joined (while it
// joins, or rejoins after an error) waits for the join and is sent then.
// A push already sent fails when the connection is lost
// (ErrConnectionLost) or the channel crashes (ErrChannelErrored), as its
// reply can no longer come. Push before Join fails with ErrNotJoined, and
// on a closed channel with ErrChannelClosed.
//
// A reply with status "error" is a Reply, not an error.
func (ch *Channel) Push(ctx context.Context, event string, payload any) (Reply, error) {
	data, bin, err := encodePayload(payload)
	if err != nil {
		return Reply{}, fmt.Errorf("push %q %q: %w", ch.topic, event, err)
	}
	ctx, cancel := withTimeout(ctx, ch.sock.cfg.Timeout)
	defer cancel()
	p := &push{event: event, payload: data, binary: bin, done: make(chan pushResult, 1)}
	s := ch.sock
	s.mu.Lock()
	if err := ch.enqueueLocked(p); err != nil {
		s.mu.Unlock()
		return Reply{}, fmt.Errorf("push %q %q: %w", ch.topic, event, err)
	}
	if err := s.unlock(); err != nil {
		s.mu.Lock()
		ch.dropLocked(p)
		s.mu.Unlock()
		return Reply{}, fmt.Errorf("push %q %q: %w", ch.topic, event, err)
	}
	select {
	case r := <-p.done:
		if r.err != nil {
			return Reply{}, fmt.Errorf("push %q %q: %w", ch.topic, event, r.err)
		}
		return r.reply, nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	ch.dropLocked(p)
	s.mu.Unlock()
	select {
	case r := <-p.done: // the reply came first
		if r.err == nil {
			return r.reply, nil
		}
	default:
	}
	return Reply{}, fmt.Errorf("push %q %q: %w", ch.topic, event, ctx.Err())
}

// Send sends event with payload without waiting for a reply (the server's
// reply, if any, is dropped). Like Push, it waits in the channel's buffer
// while the channel is not joined, until the ctx deadline or
// [Config.Timeout]; Send itself returns at once.
func (ch *Channel) Send(ctx context.Context, event string, payload any) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send %q %q: %w", ch.topic, event, err)
	}
	data, bin, err := encodePayload(payload)
	if err != nil {
		return fmt.Errorf("send %q %q: %w", ch.topic, event, err)
	}
	s := ch.sock
	p := &push{event: event, payload: data, binary: bin}
	if dl, ok := ctx.Deadline(); ok {
		p.deadline = dl
	} else {
		p.deadline = time.Now().Add(s.cfg.Timeout)
	}
	s.mu.Lock()
	if err := ch.enqueueLocked(p); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("send %q %q: %w", ch.topic, event, err)
	}
	if err := s.unlock(); err != nil {
		return fmt.Errorf("send %q %q: %w", ch.topic, event, err)
	}
	return nil
}

// enqueueLocked sends p now if the channel is joined and connected, and
// buffers it otherwise.
func (ch *Channel) enqueueLocked(p *push) error {
	s := ch.sock
	switch {
	case s.closed:
		return ErrClosed
	case !ch.joinedOnce:
		return ErrNotJoined
	case ch.state == StateClosed || ch.state == StateLeaving:
		return ErrChannelClosed
	case ch.state == StateJoined && s.conn != nil:
		return ch.sendLocked(p)
	}
	now := time.Now()
	ch.buffer = slices.DeleteFunc(ch.buffer, func(q *push) bool {
		return q.done == nil && now.After(q.deadline)
	})
	ch.buffer = append(ch.buffer, p)
	return nil
}

// sendLocked queues p with a new ref and the current join_ref.
func (ch *Channel) sendLocked(p *push) error {
	s := ch.sock
	ref := s.makeRefLocked()
	f, err := wire.V2{}.EncodeClient(&wire.Message{
		JoinRef: ch.joinRef, Ref: ref, Topic: ch.topic, Event: p.event,
		Payload: p.payload, Binary: p.binary,
	})
	if err != nil {
		return err
	}
	p.ref = ref
	if p.done != nil {
		if ch.pending == nil {
			ch.pending = make(map[string]*push)
		}
		ch.pending[ref] = p
	}
	s.queueLocked(f)
	return nil
}

// dropLocked forgets p, whether sent or buffered.
func (ch *Channel) dropLocked(p *push) {
	if p.ref != "" && ch.pending[p.ref] == p {
		delete(ch.pending, p.ref)
		return
	}
	ch.buffer = slices.DeleteFunc(ch.buffer, func(q *push) bool { return q == p })
}

func encodePayload(v any) ([]byte, bool, error) {
	switch p := v.(type) {
	case nil:
		return []byte("{}"), false, nil
	case Binary:
		return bytes.Clone(p), true, nil
	case json.RawMessage:
		if len(p) == 0 {
			return []byte("{}"), false, nil
		}
		if !json.Valid(p) {
			return nil, false, fmt.Errorf("payload is not valid JSON")
		}
		return bytes.Clone(p), false, nil
	}
	b, err := json.Marshal(v)
	return b, false, err
}
