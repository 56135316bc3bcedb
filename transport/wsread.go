package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/suzaku-go/suzaku/wire"
)

// closeError is a reason to fail the connection with a WebSocket close code.
type closeError struct {
	code   ws.StatusCode
	reason string
}

func (e *closeError) Error() string { return fmt.Sprintf("websocket close %d: %s", e.code, e.reason) }

func protocolError(err error) *closeError {
	return &closeError{code: ws.StatusProtocolError, reason: err.Error()}
}

// readLoop reads frames until the connection ends, checking each against
// RFC 6455: a violation closes the connection with the matching code.
func (c *wsConn) readLoop(pending []byte) {
	defer c.finish()
	var r io.Reader = c.nc
	if len(pending) > 0 {
		r = io.MultiReader(bytes.NewReader(pending), c.nc)
	}
	hdrBuf := make([]byte, 2, ws.MaxHeaderSize-2)
	var (
		msg     []byte // message being assembled from fragments
		msgOp   ws.OpCode
		inFrag  bool
		maxSize = c.h.cfg.MaxMessageSize
	)
	for {
		c.armReadDeadline()
		h, err := ws.ReadHeaderBuffer(r, hdrBuf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !c.isClosing() {
				c.Close(int(ws.StatusGoingAway), "idle timeout")
				c.waitFlushed()
			}
			return // EOF, reset: nothing to say to the peer
		}
		state := ws.StateServerSide
		if inFrag {
			state = state.Set(ws.StateFragmented)
		}
		if err := ws.CheckHeader(h, state); err != nil {
			c.fail(protocolError(err))
			return
		}
		if !h.OpCode.IsControl() && int64(len(msg))+h.Length > maxSize {
			c.fail(&closeError{code: ws.StatusMessageTooBig, reason: fmt.Sprintf("message over %d bytes", maxSize)})
			return
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(r, payload); err != nil {
			return
		}
		ws.Cipher(payload, h.Mask, 0)

		if h.OpCode.IsControl() {
			if done := c.control(h.OpCode, payload); done {
				return
			}
			continue
		}
		if c.isClosing() {
			continue // closing: data is no longer delivered
		}
		if h.OpCode != ws.OpContinuation {
			msgOp, msg = h.OpCode, payload
		} else {
			msg = append(msg, payload...)
		}
		inFrag = !h.Fin
		if inFrag {
			continue
		}
		if msgOp == ws.OpText && !utf8.Valid(msg) {
			c.fail(&closeError{code: ws.StatusInvalidFramePayloadData, reason: "text message is not valid UTF-8"})
			return
		}
		f := wire.Frame{Opcode: wire.Opcode(msgOp), Data: msg}
		msg = nil
		if err := c.sess.Receive(f); err != nil {
			c.h.log.Debug("bad frame", "err", err)
			c.fail(&closeError{code: ws.StatusInvalidFramePayloadData, reason: err.Error()})
			return
		}
	}
}

// control handles ping, pong and close. It reports whether the read loop
// is done.
func (c *wsConn) control(op ws.OpCode, payload []byte) bool {
	switch op {
	case ws.OpPing:
		c.sendControl(ws.OpPong, payload)
	case ws.OpClose:
		code, reason := ws.ParseCloseFrameData(payload)
		switch {
		case len(payload) == 1:
			c.Close(int(ws.StatusProtocolError), "close frame payload of one byte")
		case len(payload) >= 2 && ws.CheckCloseFrameData(code, reason) != nil:
			err := ws.CheckCloseFrameData(code, reason)
			if errors.Is(err, ws.ErrProtocolInvalidUTF8) {
				c.Close(int(ws.StatusInvalidFramePayloadData), err.Error())
			} else {
				c.Close(int(ws.StatusProtocolError), err.Error())
			}
		case code.Empty():
			c.Close(int(ws.StatusNormalClosure), "")
		default:
			c.Close(int(code), "") // echo the client's code
		}
		c.waitFlushed()
		return true
	}
	return false
}

// sendControl queues a pong, ahead of nothing else: it is ordered with the
// data frames, which RFC 6455 allows.
func (c *wsConn) sendControl(op ws.OpCode, payload []byte) {
	_ = c.Send(wire.Frame{Opcode: wire.Opcode(op), Data: append([]byte(nil), payload...)})
}

// fail closes the connection for a protocol violation and drains the
// socket until the client answers or closeWait passes.
func (c *wsConn) fail(e *closeError) {
	c.h.log.Debug("closing connection", "code", int(e.code), "reason", e.reason)
	c.Close(int(e.code), e.reason)
	c.waitFlushed()
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite() // FIN after the close frame: the client closes too
	}
	c.armReadDeadline()
	_, _ = io.Copy(io.Discard, io.LimitReader(c.nc, 1<<16))
}

// waitFlushed waits, for closeWait at most, until the writer is idle, so
// that the close frame is out before the socket is closed.
func (c *wsConn) waitFlushed() {
	deadline := time.Now().Add(closeWait)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		idle := !c.writing
		c.mu.Unlock()
		if idle {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// armReadDeadline sets the idle deadline, or the short closing one.
func (c *wsConn) armReadDeadline() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		c.nc.SetReadDeadline(time.Now().Add(closeWait))
		return
	}
	c.nc.SetReadDeadline(time.Now().Add(c.h.cfg.IdleTimeout))
}

// finish tears the connection down once the reader is done.
func (c *wsConn) finish() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	c.closeNow()
	c.sess.Close()
	c.h.track(c, false)
}
