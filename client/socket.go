package client

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/suzaku-go/suzaku/wire"
)

// Attribute keys of the client's logs.
const (
	logURL    = "url"
	logTopic  = "topic"
	logEvent  = "event"
	logReason = "reason"
	logTries  = "tries"
	logDelay  = "delay"
	logErr    = "err"
)

// Reasons of the transport errors reported to Channel.OnError, as
// phoenix.js names them.
const (
	reasonClosed    = "connection_closed"
	reasonError     = "connection_error"
	reasonHeartbeat = "heartbeat_timeout"
)

// Socket is one client connection to a Phoenix Channels endpoint, with its
// channels. With [Config.Reconnect] it outlives the WebSocket connections
// it goes through: it reconnects with backoff and rejoins its channels.
//
// A Socket costs one goroutine (the reader) and a few timers while
// connected. Its methods are safe for concurrent use.
//
// Lock order: Socket.mu, then conn.wmu. Frames
// are queued under mu and written under wmu, which is taken before mu is
// released, so frames go out in the order the state changed; mu is never
// held during I/O.
type Socket struct {
	cfg    *settings
	url    string
	dialer ws.Dialer

	// life is the socket's run context: reconnect dials use it, and Close
	// cancels it.
	life   context.Context
	cancel context.CancelFunc
	// wg counts the reader goroutines and the scheduled reconnects.
	wg sync.WaitGroup

	mu             sync.Mutex
	conn           *conn // nil between connections
	closed         bool  // Close was called, or the socket ended
	done           chan struct{}
	err            error
	ref            uint64
	chans          []*Channel            // in creation order
	byTopic        map[string][]*Channel // the same channels, by topic
	reconnectTries int
	reconnectTimer *time.Timer
	// out and calls are filled under mu and drained by unlock.
	out   []wire.Frame
	calls []call
}

// conn is one WebSocket connection of a Socket.
type conn struct {
	nc   net.Conn
	br   *bufio.Reader
	done chan struct{} // closed when the connection is lost

	wmu       sync.Mutex
	closeSent bool // a close frame was written; under wmu

	// Under Socket.mu.
	hbTimer    *time.Timer
	hbDue      time.Time // the timer fires for this arming at or after hbDue
	hbRef      string    // ref of the heartbeat awaiting its reply
	pings      map[string]chan time.Time
	lossReason string // set when the client closes the connection itself
}

// call is a handler call queued under Socket.mu and made after unlocking.
type call struct {
	onMsg func(Message)
	onRaw func(json.RawMessage)
	msg   Message
	raw   json.RawMessage
}

// Dial connects to a Phoenix Channels WebSocket endpoint, such as
// "ws://localhost:4000/socket/websocket" (the path is used as is: phoenix.js
// appends "/websocket" to its endpoint, Dial does not). http and https URLs
// are dialed as ws and wss. cfg may be nil.
//
// ctx bounds the first connection only. Dial returns an error if it fails,
// even with [Config.Reconnect], which applies once a connection has opened;
// [HandshakeStatus] tells the HTTP status of a refused upgrade.
func Dial(ctx context.Context, rawURL string, cfg *Config) (*Socket, error) {
	set := newSettings(cfg)
	u, err := endpointURL(rawURL, set.Params)
	if err != nil {
		return nil, fmt.Errorf("dial %q: %w", rawURL, err)
	}
	s := &Socket{
		cfg:     set,
		url:     u,
		done:    make(chan struct{}),
		byTopic: make(map[string][]*Channel),
	}
	s.dialer = ws.Dialer{
		ReadBufferSize: set.ReadBufferSize,
		Protocols:      set.protocols,
		NetDial:        set.NetDial,
		TLSConfig:      set.TLSConfig,
	}
	if len(set.Header) > 0 {
		s.dialer.Header = ws.HandshakeHeaderHTTP(set.Header)
	}
	if s.dialer.NetDial == nil && set.LocalAddr != nil {
		nd := &net.Dialer{LocalAddr: set.LocalAddr}
		s.dialer.NetDial = nd.DialContext
	}
	nc, br, err := s.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("dial %q: %w", rawURL, err)
	}
	s.life, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.mu.Lock()
	s.openLocked(nc, br)
	s.unlock()
	return s, nil
}

// endpointURL adds params and vsn to the query of raw.
func endpointURL(raw string, params url.Values) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("unsupported scheme %q (want ws, wss, http or https)", u.Scheme)
	}
	var parts []string
	if u.RawQuery != "" {
		parts = append(parts, u.RawQuery)
	}
	if len(params) > 0 {
		p := make(url.Values, len(params))
		for k, v := range params {
			if k != "vsn" {
				p[k] = v
			}
		}
		if q := p.Encode(); q != "" {
			parts = append(parts, q)
		}
	}
	parts = append(parts, "vsn="+Vsn)
	u.RawQuery = strings.Join(parts, "&")
	u.Fragment = ""
	return u.String(), nil
}

func b64(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }

func (s *Socket) dial(ctx context.Context) (net.Conn, *bufio.Reader, error) {
	nc, br, _, err := s.dialer.Dial(ctx, s.url)
	if err != nil {
		return nil, nil, err
	}
	if br == nil {
		br = bufio.NewReaderSize(nc, s.cfg.ReadBufferSize)
	}
	return nc, br, nil
}

// openLocked starts using a new connection, as phoenix.js's onConnOpen: the
// reconnect tries and the rejoin timers are reset, and the channels that
// lost their join rejoin at once.
func (s *Socket) openLocked(nc net.Conn, br *bufio.Reader) {
	c := &conn{nc: nc, br: br, done: make(chan struct{})}
	s.conn = c
	s.reconnectTries = 0
	s.armHeartbeatLocked(c)
	s.wg.Add(1)
	go s.readLoop(c)
	for _, ch := range s.chans {
		ch.resetRejoinLocked()
		if ch.state == StateErrored || (ch.state == StateJoining && ch.joinRef == "") {
			ch.rejoinLocked(s.cfg.Timeout)
		}
	}
}

// Channel returns a new channel for topic. params is sent with every join
// attempt; it is marshalled to JSON, and a func() any is called again for
// every attempt (as phoenix.js evaluates a params function on every
// rejoin), so that a rejoin can carry fresh values; it runs with the
// socket's lock held and must not call the client. Nil sends {}.
//
// Several Channels may share a topic, but at most one is joined at a time:
// joining one leaves the others, as in phoenix.js.
func (s *Socket) Channel(topic string, params any) *Channel {
	ch := &Channel{sock: s, topic: topic, params: params}
	s.mu.Lock()
	s.chans = append(s.chans, ch)
	s.byTopic[topic] = append(s.byTopic[topic], ch)
	s.mu.Unlock()
	return ch
}

// removeLocked forgets ch. The slices are rebuilt, not changed in place, so
// that a dispatch iterating over the old ones goes on safely.
func (s *Socket) removeLocked(ch *Channel) {
	s.chans = without(s.chans, ch)
	if list := without(s.byTopic[ch.topic], ch); len(list) > 0 {
		s.byTopic[ch.topic] = list
	} else {
		delete(s.byTopic, ch.topic)
	}
}

func without(list []*Channel, ch *Channel) []*Channel {
	out := make([]*Channel, 0, len(list))
	for _, c := range list {
		if c != ch {
			out = append(out, c)
		}
	}
	return out
}

// Connected reports whether the socket has an open connection.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil
}

// Done returns a channel that is closed when the socket ends: after Close,
// or when the connection is lost without [Config.Reconnect].
func (s *Socket) Done() <-chan struct{} { return s.done }

// Err returns why the socket ended, or nil while it runs. It wraps
// ErrClosed, and the cause of the loss if the connection was lost: then
// [CloseStatus] gives the server's close code.
func (s *Socket) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Ping sends a heartbeat and returns the time until its reply, as
// phoenix.js's socket.ping. Without a ctx deadline it times out after
// [Config.Timeout].
func (s *Socket) Ping(ctx context.Context) (time.Duration, error) {
	ctx, cancel := withTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0, fmt.Errorf("ping: %w", ErrClosed)
	}
	c := s.conn
	if c == nil {
		s.mu.Unlock()
		return 0, fmt.Errorf("ping: %w", ErrNotConnected)
	}
	ref := s.makeRefLocked()
	reply := make(chan time.Time, 1)
	if c.pings == nil {
		c.pings = make(map[string]chan time.Time)
	}
	c.pings[ref] = reply
	s.queueLocked(heartbeat(ref))
	start := time.Now()
	if err := s.unlock(); err != nil {
		return 0, fmt.Errorf("ping: %w", err)
	}
	select {
	case t := <-reply:
		return t.Sub(start), nil
	case <-c.done:
		return 0, fmt.Errorf("ping: %w", ErrConnectionLost)
	case <-ctx.Done():
		s.mu.Lock()
		delete(c.pings, ref)
		s.mu.Unlock()
		return 0, fmt.Errorf("ping: %w", ctx.Err())
	}
}

// Close closes the connection cleanly (close code 1000), stops reconnecting
// and waits for the reader goroutine to exit. Joined channels get a
// transport error (OnError, reason "connection_closed"), and pending calls
// return ErrClosed. It must not be called from a handler, which runs on
// the reader goroutine that Close waits for. Close is idempotent and
// always returns nil.
func (s *Socket) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	if s.reconnectTimer != nil && s.reconnectTimer.Stop() {
		s.wg.Done()
	}
	s.reconnectTimer = nil
	c := s.conn
	if c != nil {
		c.lossReason = reasonClosed
	}
	s.mu.Unlock()
	s.cancel()
	if c != nil {
		// The reader goes on until the server answers the close frame,
		// or closeWait passes.
		c.writeClose(ws.StatusNormalClosure, "", s.cfg.WriteTimeout)
		_ = c.nc.SetReadDeadline(time.Now().Add(closeWait))
	}
	s.wg.Wait()
	s.mu.Lock()
	s.finishLocked(ErrClosed)
	s.unlock()
	return nil
}

// finishLocked ends the socket: pending calls fail with err.
func (s *Socket) finishLocked(err error) {
	if s.err != nil {
		return
	}
	s.closed = true
	s.err = err
	close(s.done)
	s.cancel()
	for _, ch := range s.chans {
		ch.resetRejoinLocked()
		ch.stopJoinTimerLocked()
		ch.failPendingLocked(err)
		ch.failBufferLocked(err)
		ch.notifyJoinLocked(joinResult{err: err})
	}
}

// makeRefLocked returns the next ref. One counter serves every ref of the
// socket, as in phoenix.js.
func (s *Socket) makeRefLocked() string {
	s.ref++
	return strconv.FormatUint(s.ref, 10)
}

func heartbeat(ref string) wire.Frame {
	f, _ := wire.V2{}.EncodeClient(&wire.Message{
		Ref:   ref,
		Topic: wire.TopicPhoenix,
		Event: wire.EventHeartbeat,
	})
	return f
}

// queueLocked queues f to be written to the current connection by unlock.
func (s *Socket) queueLocked(f wire.Frame) {
	if s.conn != nil {
		s.out = append(s.out, f)
	}
}

func (s *Socket) queueCallLocked(c call) { s.calls = append(s.calls, c) }

// unlock releases s.mu, then writes the queued frames and makes the queued
// handler calls. It returns the write error, after which the connection is
// closed (and reconnected if configured).
func (s *Socket) unlock() error {
	out, calls, c := s.out, s.calls, s.conn
	s.out, s.calls = nil, nil
	var err error
	if len(out) > 0 && c != nil {
		c.wmu.Lock()
		s.mu.Unlock()
		err = c.write(out, s.cfg.WriteTimeout)
		c.wmu.Unlock()
		if err != nil {
			s.cfg.Logger.Info("client: write failed", logURL, s.url, logErr, err)
			_ = c.nc.Close()
		}
	} else {
		s.mu.Unlock()
	}
	for _, k := range calls {
		if k.onMsg != nil {
			k.onMsg(k.msg)
		} else {
			k.onRaw(k.raw)
		}
	}
	return err
}

// write writes frames in one system call. It must hold c.wmu.
func (c *conn) write(frames []wire.Frame, timeout time.Duration) error {
	if c.closeSent {
		return net.ErrClosed
	}
	n := 0
	for _, f := range frames {
		n += len(f.Data) + ws.MaxHeaderSize
	}
	buf := make([]byte, 0, n)
	for _, f := range frames {
		buf = appendFrame(buf, ws.OpCode(f.Opcode), f.Data)
	}
	if timeout > 0 {
		_ = c.nc.SetWriteDeadline(time.Now().Add(timeout))
	}
	_, err := c.nc.Write(buf)
	return err
}

// writeClose writes a close frame, once.
func (c *conn) writeClose(code ws.StatusCode, reason string, timeout time.Duration) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return
	}
	c.closeSent = true
	if timeout <= 0 || timeout > closeWait {
		timeout = closeWait
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(timeout))
	_, _ = c.nc.Write(appendFrame(nil, ws.OpClose, ws.NewCloseFrameBody(code, reason)))
}

// appendFrame appends a masked, final client frame.
func appendFrame(b []byte, op ws.OpCode, p []byte) []byte {
	b = append(b, 0x80|byte(op))
	switch n := len(p); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127,
			byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	mask := ws.NewMask()
	b = append(b, mask[:]...)
	start := len(b)
	b = append(b, p...)
	ws.Cipher(b[start:], mask, 0)
	return b
}

// ctrlWriter writes the reader's answers to control frames (pong, close)
// under the write lock.
type ctrlWriter struct {
	c       *conn
	timeout time.Duration
}

func (w ctrlWriter) Write(p []byte) (int, error) {
	w.c.wmu.Lock()
	defer w.c.wmu.Unlock()
	if w.c.closeSent {
		// After a close frame nothing else may be sent; the close the
		// server started was already answered by ours.
		return len(p), nil
	}
	if len(p) > 0 && ws.OpCode(p[0]&0x0f) == ws.OpClose {
		w.c.closeSent = true
	}
	if w.timeout > 0 {
		_ = w.c.nc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
	return w.c.nc.Write(p)
}

// armHeartbeatLocked schedules the next heartbeat, or the timeout of the
// pending one, an interval from now.
func (s *Socket) armHeartbeatLocked(c *conn) {
	d := s.cfg.HeartbeatInterval
	if d < 0 {
		return
	}
	c.hbDue = time.Now().Add(d)
	if c.hbTimer == nil {
		c.hbTimer = time.AfterFunc(d, func() { s.heartbeat(c) })
	} else {
		c.hbTimer.Reset(d)
	}
}

// heartbeat sends a heartbeat, or, if the previous one is still without a
// reply, closes the connection (code 1000, "heartbeat timeout") as
// phoenix.js does; the reader then reports the loss.
func (s *Socket) heartbeat(c *conn) {
	s.mu.Lock()
	if s.conn != c || s.closed || time.Now().Before(c.hbDue) {
		// A stale firing: the timer was re-armed meanwhile.
		s.mu.Unlock()
		return
	}
	if c.hbRef == "" {
		c.hbRef = s.makeRefLocked()
		s.queueLocked(heartbeat(c.hbRef))
		s.armHeartbeatLocked(c)
		_ = s.unlock()
		return
	}
	c.hbRef = ""
	c.lossReason = reasonHeartbeat
	s.mu.Unlock()
	s.cfg.Logger.Info("client: heartbeat timeout", logURL, s.url)
	c.writeClose(ws.StatusNormalClosure, "heartbeat timeout", s.cfg.WriteTimeout)
	_ = c.nc.Close()
}

// readLoop is the connection's one goroutine: it reads frames, dispatches
// them (handlers run here), and reports the loss of the connection.
func (s *Socket) readLoop(c *conn) {
	defer s.wg.Done()
	err := s.read(c)
	_ = c.nc.Close()
	s.lost(c, err)
}

func (s *Socket) read(c *conn) error {
	rd := &frameReader{}
	rd.init(c, s.cfg)
	for {
		op, data, err := rd.next()
		if err != nil {
			return err
		}
		m, err := wire.V2{}.DecodeServer(wire.Frame{Opcode: wire.Opcode(op), Data: data})
		if err != nil {
			s.cfg.Logger.Info("client: dropping malformed frame", logURL, s.url, logErr, err)
			continue
		}
		s.dispatch(c, &m)
	}
}

// dispatch routes one message, as phoenix.js's onConnMessage: heartbeat
// and ping replies by ref, the rest to the channels of its topic whose
// current join it belongs to.
func (s *Socket) dispatch(c *conn, m *wire.Message) {
	s.mu.Lock()
	if s.conn != c {
		s.mu.Unlock()
		return
	}
	if m.Ref != "" {
		if m.Ref == c.hbRef {
			c.hbRef = ""
			s.armHeartbeatLocked(c)
		}
		if p, ok := c.pings[m.Ref]; ok {
			delete(c.pings, m.Ref)
			p <- time.Now()
		}
	}
	for _, ch := range s.byTopic[m.Topic] {
		if m.JoinRef != "" && m.JoinRef != ch.joinRef {
			s.cfg.Logger.Debug("client: dropping outdated message",
				logTopic, m.Topic, logEvent, m.Event, "join_ref", m.JoinRef)
			continue
		}
		ch.handleLocked(m)
	}
	_ = s.unlock()
}

// lost handles the end of connection c: joined and joining channels get a
// transport error, then the socket reconnects, or ends.
func (s *Socket) lost(c *conn, err error) {
	s.mu.Lock()
	close(c.done)
	if c.hbTimer != nil {
		c.hbTimer.Stop()
	}
	if s.conn == c {
		s.conn = nil
	}
	reason := c.lossReason
	if reason == "" {
		reason = reasonError
		if CloseStatus(err) >= 0 {
			reason = reasonClosed
		}
	}
	payload := json.RawMessage(`{"source":"transport","reason":"` + reason + `"}`)
	cause := fmt.Errorf("%w (%s): %w", ErrConnectionLost, reason, err)
	for _, ch := range s.chans {
		ch.resetRejoinLocked()
		if ch.state == StateJoined || (ch.state == StateJoining && ch.joinRef != "") {
			ch.errorLocked(payload, cause)
		}
	}
	switch {
	case s.closed:
	case s.cfg.Reconnect:
		s.cfg.Logger.Info("client: connection lost", logURL, s.url, logReason, reason, logErr, err)
		s.scheduleReconnectLocked()
	default:
		s.cfg.Logger.Info("client: connection lost", logURL, s.url, logReason, reason, logErr, err)
		s.finishLocked(fmt.Errorf("%w: %w", ErrClosed, cause))
	}
	_ = s.unlock()
}

func (s *Socket) scheduleReconnectLocked() {
	tries := s.reconnectTries + 1
	d := s.cfg.ReconnectBackoff(tries)
	s.cfg.Logger.Debug("client: reconnecting", logURL, s.url, logTries, tries, logDelay, d)
	s.wg.Add(1)
	s.reconnectTimer = time.AfterFunc(d, s.reconnect)
}

func (s *Socket) reconnect() {
	defer s.wg.Done()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.reconnectTimer = nil
	s.reconnectTries++
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(s.life, s.cfg.Timeout)
	nc, br, err := s.dial(ctx)
	cancel()

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		if nc != nil {
			_ = nc.Close()
		}
		return
	}
	if err != nil {
		s.cfg.Logger.Info("client: reconnect failed", logURL, s.url, logTries, s.reconnectTries, logErr, err)
		s.scheduleReconnectLocked()
		s.mu.Unlock()
		return
	}
	s.cfg.Logger.Info("client: reconnected", logURL, s.url, logTries, s.reconnectTries)
	s.openLocked(nc, br)
	_ = s.unlock()
}

// withTimeout gives ctx a deadline of d from now unless it has one.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}
