package transport

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/closecode"
	"github.com/suzaku-go/suzaku/wire"
)

// Close codes sent by the server besides RFC 6455's own.
const (
	CloseGoingAway      = 1001 // disconnect by id, idle timeout
	CloseServiceRestart = 1012 // server shutdown: reconnect later
	CloseTryAgainLater  = 1013 // write queue over its limit: client too slow
)

// ErrConnClosed is returned by Send once the connection is closing.
var ErrConnClosed = errors.New("transport: connection closed")

// wsConn is one WebSocket connection. Reads come from the event loop (or,
// off Linux and for TLS, from a goroutine per connection) and go through
// a frameParser to the session. Writes are tried at once, without
// blocking; what the socket does not take waits in a bounded queue that a
// short-lived goroutine drains.
type wsConn struct {
	h    *WebSocket
	nc   net.Conn
	raw  syscall.RawConn // nil unless nc is a plain TCP connection
	sess *channel.Session

	clientKey string // what the connection counts against MaxConnsPerIP

	parser   frameParser  // touched by the one reader at a time
	lastRead atomic.Int64 // unix nanoseconds of the last bytes read
	// msgSince is when the message the parser holds part of began (unix
	// nanoseconds), 0 when it holds none: a message must complete within
	// IdleTimeout, so that a byte a minute cannot hold a buffer forever.
	msgSince atomic.Int64

	loop   *eventLoop // set while registered with the event loop
	pollID uint64

	mu       sync.Mutex
	queue    net.Buffers // headers and payloads waiting to be written
	queued   int         // bytes in queue, plus those flush is writing
	writing  bool        // a flush goroutine is running
	closing  bool        // a close frame is queued or sent: no more frames
	closeF   []byte      // close frame payload, queued behind the data
	closeBy  int64       // unix nanoseconds: give up on the closing handshake
	code     uint16      // the close code sent first, 0 if none (telemetry)
	finished bool
	born     int64 // unix nanoseconds of the upgrade (telemetry)

	// Backpressure (wsflow.go): reading stops while the session has too
	// much of the client's input waiting.
	readPaused bool
	pausedAt   int64         // unix nanoseconds
	resume     chan struct{} // closed to wake a paused reader goroutine
}

func newWSConn(h *WebSocket, nc net.Conn, sess *channel.Session) *wsConn {
	c := &wsConn{h: h, nc: nc, sess: sess}
	if tc, ok := nc.(*net.TCPConn); ok {
		if raw, err := tc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	c.born = time.Now().UnixNano()
	c.lastRead.Store(c.born)
	return c
}

// Send implements channel.Conn. It never blocks. A client that lets more
// than WriteQueueLimit bytes pile up is disconnected with 1013.
func (c *wsConn) Send(f wire.Frame) error {
	hdr := appendHeader(make([]byte, 0, 10), ws.OpCode(f.Opcode), len(f.Data))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return ErrConnClosed
	}
	if !c.writing && len(c.queue) == 0 && c.raw != nil {
		n, err := writeNow(c.raw, hdr, f.Data)
		switch {
		case err != nil:
			c.closing = true
			c.closeBy = 0 // the janitor finishes it
			return err
		case n == len(hdr)+len(f.Data):
			return nil
		}
		c.queue = consume(net.Buffers{hdr, f.Data}, n)
		c.queued = len(hdr) + len(f.Data) - n
		c.startFlushLocked()
		return nil
	}
	if c.queued+len(f.Data) > c.h.cfg.WriteQueueLimit {
		emitSlowClient(c.h.cfg.Hook, nameWebSocket, c.queued)
		c.closeLocked(CloseTryAgainLater, "write queue full: client too slow")
		return ErrConnClosed
	}
	c.queue = append(c.queue, hdr, f.Data)
	c.queued += len(hdr) + len(f.Data)
	c.startFlushLocked()
	return nil
}

// Close implements channel.Conn: it queues a close frame behind what is
// already queued (dropping it all for a slow client), then the client has
// closeWait to answer before the connection is cut.
func (c *wsConn) Close(code int, reason string) {
	c.mu.Lock()
	c.closeLocked(code, reason)
	c.mu.Unlock()
}

func (c *wsConn) closeLocked(code int, reason string) {
	if c.closing {
		return
	}
	c.closing = true
	c.code = uint16(code)
	c.closeBy = time.Now().Add(closeWait).UnixNano()
	if code == CloseTryAgainLater {
		c.queue, c.queued = nil, 0
		c.closeBy = time.Now().UnixNano() // it does not read: do not wait for it
	}
	if len(reason) > 123 {
		reason = reason[:123]
	}
	c.closeF = ws.NewCloseFrameBody(ws.StatusCode(code), reason)
	c.startFlushLocked()
}

func (c *wsConn) startFlushLocked() {
	if !c.writing {
		c.writing = true
		go c.flush()
	}
}

// flush writes the queue until it is empty, then exits. After the close
// frame it half-closes the socket, so that the client closes its side.
func (c *wsConn) flush() {
	inflight := 0 // bytes of the batch being written, counted in c.queued
	for {
		c.mu.Lock()
		bufs := c.queue
		c.queue = nil
		// What is being written still counts against WriteQueueLimit
		// until the socket has taken it: a blocked write must not let
		// another limit's worth pile up behind it.
		c.queued = max(0, c.queued-inflight) // a slow client's queue may have been dropped
		inflight = 0
		for _, b := range bufs {
			inflight += len(b)
		}
		closeF := c.closeF
		c.closeF = nil
		if len(bufs) == 0 && closeF == nil {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if closeF != nil {
			bufs = append(bufs, appendHeader(nil, ws.OpClose, len(closeF)), closeF)
		}
		c.nc.SetWriteDeadline(time.Now().Add(c.h.cfg.WriteTimeout))
		if _, err := bufs.WriteTo(c.nc); err != nil {
			c.h.log.Debug("write", "err", err)
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			c.finish()
			return
		}
		if closeF != nil {
			if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
				_ = cw.CloseWrite()
			}
		}
	}
}

// appendHeader appends an unmasked, final frame header.
func appendHeader(b []byte, op ws.OpCode, n int) []byte {
	b = append(b, 0x80|byte(op))
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xffff:
		return append(b, 126, byte(n>>8), byte(n))
	default:
		return append(b, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// onData handles bytes read from the client.
func (c *wsConn) onData(data []byte) {
	now := time.Now().UnixNano()
	c.lastRead.Store(now)
	err := c.parser.feed(data, c.h.cfg.MaxMessageSize, c.handleFrame)
	switch {
	case !c.parser.pending():
		c.msgSince.Store(0)
	case c.msgSince.Load() == 0:
		c.msgSince.Store(now)
	}
	var ce *closeError
	if errors.As(err, &ce) && !c.isClosing() {
		c.h.log.Debug("closing connection", "code", int(ce.code), "reason", ce.reason)
		c.Close(int(ce.code), ce.reason)
	}
}

// handleFrame handles one control frame or one whole message.
func (c *wsConn) handleFrame(op ws.OpCode, payload []byte) error {
	switch op {
	case ws.OpPing:
		_ = c.Send(wire.Frame{Opcode: wire.Opcode(ws.OpPong), Data: payload})
		return nil
	case ws.OpPong:
		return nil
	case ws.OpClose:
		if c.isClosing() {
			c.finish() // the client answered our close frame
			return nil
		}
		code, reason := ws.ParseCloseFrameData(payload)
		switch {
		case len(payload) == 1:
			return protocolError("close frame payload of one byte")
		case len(payload) >= 2:
			if !closecode.Valid(int(code)) {
				return protocolError(fmt.Sprintf("close code %d is not one a peer may send", code))
			}
			if !utf8.ValidString(reason) {
				return &closeError{code: ws.StatusInvalidFramePayloadData, reason: "close reason is not valid UTF-8"}
			}
			c.Close(int(code), "") // echo the client's code
		default:
			c.Close(int(ws.StatusNormalClosure), "")
		}
		return nil
	}
	if c.isClosing() {
		return nil // closing: data is no longer delivered
	}
	if err := c.sess.Receive(wire.Frame{Opcode: wire.Opcode(op), Data: payload}); err != nil {
		return &closeError{code: ws.StatusInvalidFramePayloadData, reason: err.Error()}
	}
	return nil
}

func (c *wsConn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// finish tears the connection down: it leaves the event loop, closes the
// socket and the session. It is safe to call more than once.
func (c *wsConn) finish() {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	c.finished, c.closing = true, true
	code := c.code
	loop := c.loop // under c.mu: eventLoop.add registers no finished conn
	c.wakeReaderLocked()
	c.mu.Unlock()
	emitDisconnect(c.h.cfg.Hook, nameWebSocket, int(code), c.born)
	logDisconnected(c.h.log, c.sess, nameWebSocket, int(code), c.born)
	if loop != nil {
		loop.remove(c)
	}
	c.nc.Close()
	c.sess.Close()
	c.h.limits.release(c.clientKey)
	c.h.detach(c)
}

// readLoop reads with a goroutine, for connections the event loop cannot
// take (TLS, other platforms, DisableEventLoop).
func (c *wsConn) readLoop() {
	defer c.finish()
	buf := make([]byte, 4096)
	for {
		c.waitResumed()
		n, err := c.nc.Read(buf)
		if n > 0 {
			c.onData(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// expire is called by the janitor: it cuts a connection whose closing
// handshake took too long and closes one that has been idle too long, or
// that has been sending one message for longer than IdleTimeout (1008).
func (c *wsConn) expire(now int64) {
	c.mu.Lock()
	closing, closeBy, writing := c.closing, c.closeBy, c.writing
	paused, pausedAt := c.readPaused, c.pausedAt
	c.mu.Unlock()
	switch {
	case closing && now > closeBy && !(writing && now < closeBy+int64(c.h.cfg.WriteTimeout)):
		c.finish()
	case !closing && paused && now-pausedAt > int64(c.h.cfg.PauseTimeout):
		c.h.limits.hit(&c.h.limits.pausedHits, "pause timeout", c.clientKey)
		c.Close(CloseTryAgainLater, "server busy: messages not handled in time")
	case !closing && !paused && now-c.lastRead.Load() > int64(c.h.cfg.IdleTimeout):
		c.Close(CloseGoingAway, "idle timeout")
	case !closing && !paused && c.msgSince.Load() != 0 && now-c.msgSince.Load() > int64(c.h.cfg.IdleTimeout):
		c.Close(int(ws.StatusPolicyViolation), "message not completed within the idle timeout")
	}
}

// consume drops the first n bytes of bufs.
func consume(bufs net.Buffers, n int) net.Buffers {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if len(bufs) > 0 {
		bufs[0] = bufs[0][n:]
	}
	return bufs
}
