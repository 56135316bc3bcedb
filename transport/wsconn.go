package transport

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/suzaku-go/suzaku/channel"
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

// wsConn is one WebSocket connection: a bounded write queue drained by a
// goroutine that exists only while there is something to write, and the
// state of the closing handshake.
type wsConn struct {
	h    *WebSocket
	nc   net.Conn
	sess *channel.Session

	mu      sync.Mutex
	queue   []wire.Frame
	queued  int  // bytes in queue
	writing bool // a flush goroutine is running
	closing bool // a close frame is queued or sent: no more frames
	closeF  []byte

	closeOnce sync.Once
}

func newWSConn(h *WebSocket, nc net.Conn, sess *channel.Session) *wsConn {
	return &wsConn{h: h, nc: nc, sess: sess}
}

// Send implements channel.Conn. It never blocks: frames are queued and
// written by a short-lived goroutine, coalesced into one writev when they
// pile up. A client that lets more than WriteQueueLimit bytes pile up is
// disconnected with 1013.
func (c *wsConn) Send(f wire.Frame) error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return ErrConnClosed
	}
	if c.queued+len(f.Data) > c.h.cfg.WriteQueueLimit {
		c.mu.Unlock()
		c.Close(CloseTryAgainLater, "write queue full: client too slow")
		return ErrConnClosed
	}
	c.queue = append(c.queue, f)
	c.queued += len(f.Data)
	c.startFlushLocked()
	c.mu.Unlock()
	return nil
}

// Close implements channel.Conn: it queues a close frame behind what is
// already queued (dropping it all for a slow client) and then waits for the
// client's close frame, for closeWait at most.
func (c *wsConn) Close(code int, reason string) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	if code == CloseTryAgainLater {
		c.queue, c.queued = nil, 0
	}
	if len(reason) > 123 {
		reason = reason[:123]
	}
	c.closeF = ws.NewCloseFrameBody(ws.StatusCode(code), reason)
	c.startFlushLocked()
	c.mu.Unlock()
}

func (c *wsConn) startFlushLocked() {
	if !c.writing {
		c.writing = true
		go c.flush()
	}
}

// flush writes the queue until it is empty, then exits.
func (c *wsConn) flush() {
	for {
		c.mu.Lock()
		frames := c.queue
		c.queue, c.queued = nil, 0
		closeF := c.closeF
		c.closeF = nil
		if len(frames) == 0 && closeF == nil {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()

		bufs := make(net.Buffers, 0, 2*len(frames)+2)
		hdrs := make([]byte, 0, 10*len(frames)+2)
		for _, f := range frames {
			start := len(hdrs)
			hdrs = appendHeader(hdrs, ws.OpCode(f.Opcode), len(f.Data))
			bufs = append(bufs, hdrs[start:len(hdrs):len(hdrs)], f.Data)
		}
		if closeF != nil {
			start := len(hdrs)
			hdrs = appendHeader(hdrs, ws.OpClose, len(closeF))
			bufs = append(bufs, hdrs[start:len(hdrs):len(hdrs)], closeF)
		}
		c.nc.SetWriteDeadline(time.Now().Add(c.h.cfg.WriteTimeout))
		if _, err := bufs.WriteTo(c.nc); err != nil {
			c.h.log.Debug("write", "err", err)
			c.mu.Lock()
			c.closing = true
			c.queue, c.queued, c.writing = nil, 0, false
			c.mu.Unlock()
			c.closeNow()
			return
		}
		if closeF != nil {
			// The close frame is out: give the client closeWait to answer
			// with its own, then the reader closes the socket.
			c.mu.Lock()
			c.nc.SetReadDeadline(time.Now().Add(closeWait))
			c.mu.Unlock()
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
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}

func (c *wsConn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// closeNow closes the socket; the reader notices and ends the session.
func (c *wsConn) closeNow() {
	c.closeOnce.Do(func() { c.nc.Close() })
}
