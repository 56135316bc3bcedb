package transport

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// closeError is a reason to fail the connection with a WebSocket close code.
type closeError struct {
	code   ws.StatusCode
	reason string
}

func (e *closeError) Error() string { return fmt.Sprintf("websocket close %d: %s", e.code, e.reason) }

func protocolError(reason string) *closeError {
	return &closeError{code: ws.StatusProtocolError, reason: reason}
}

// frameParser turns the bytes a client sends into whole messages, checking
// RFC 6455 as it goes. Between calls it keeps only what an incomplete frame
// or a fragmented message needs: nothing at all for an idle connection.
//
// Its cost is linear in the bytes that arrive, however they are split: an
// incomplete frame waits in a buffer that grows geometrically (so a frame
// that comes in k pieces is copied O(1) times on average, not k times),
// and that buffer never holds more than twice what arrived (plus
// minPartial), whatever length the frame's header announces.
type frameParser struct {
	st *parseState // nil between whole messages
}

// minPartial is the smallest buffer an incomplete frame gets.
const minPartial = 2 << 10

type parseState struct {
	partial []byte    // an incomplete frame, header included; owned by the parser
	msg     []byte    // fragments of the message being assembled
	msgOp   ws.OpCode // opcode of that message
	inFrag  bool      // a fragmented message is in progress
}

// pending reports whether the parser holds part of a message.
func (fp *frameParser) pending() bool { return fp.st != nil }

// feed parses data, which the caller may reuse after feed returns, and
// calls handle for every control frame and every complete message, with a
// payload handle may keep. It returns handle's error, or a *closeError for
// a frame RFC 6455 forbids.
func (fp *frameParser) feed(data []byte, max int64, handle func(op ws.OpCode, payload []byte) error) error {
	p := fp.st
	if p == nil {
		p = &parseState{}
	}
	defer func() {
		if len(p.partial) == 0 && !p.inFrag {
			fp.st = nil
		} else {
			fp.st = p
		}
	}()
	// owned: data is the parser's own buffer (the incomplete frame with
	// the new bytes behind it), so payloads may be handed out without a
	// copy; start is where that buffer begins.
	owned := false
	var start []byte
	if len(p.partial) > 0 {
		data = p.grow(data)
		p.partial = nil
		owned, start = true, data
	}
	for len(data) > 0 {
		h, hlen, ok := parseHeader(data)
		if !ok {
			p.keep(data, 0, owned && len(data) == len(start))
			return nil
		}
		if h.Length < 0 {
			return protocolError("frame length has its most significant bit set")
		}
		state := ws.StateServerSide
		if p.inFrag {
			state = state.Set(ws.StateFragmented)
		}
		if err := ws.CheckHeader(h, state); err != nil {
			return protocolError(err.Error())
		}
		if !h.OpCode.IsControl() && int64(len(p.msg))+h.Length > max {
			return &closeError{code: ws.StatusMessageTooBig, reason: fmt.Sprintf("message over %d bytes", max)}
		}
		total := int64(hlen) + h.Length
		if int64(len(data)) < total {
			p.keep(data, int(total), owned && len(data) == len(start))
			return nil
		}
		var payload []byte
		if owned {
			payload = data[hlen:total:total] // nothing else will write there
		} else {
			payload = append([]byte(nil), data[hlen:total]...)
		}
		data = data[total:]
		ws.Cipher(payload, h.Mask, 0)
		if h.OpCode.IsControl() {
			if err := handle(h.OpCode, payload); err != nil {
				return err
			}
			continue
		}
		if h.OpCode == ws.OpContinuation {
			p.msg = append(p.msg, payload...)
		} else {
			p.msgOp, p.msg = h.OpCode, payload
		}
		p.inFrag = !h.Fin
		if p.inFrag {
			continue
		}
		msg := p.msg
		p.msg = nil
		if p.msgOp == ws.OpText && !utf8.Valid(msg) {
			return &closeError{code: ws.StatusInvalidFramePayloadData, reason: "text message is not valid UTF-8"}
		}
		if err := handle(p.msgOp, msg); err != nil {
			return err
		}
	}
	return nil
}

// keep holds rest, the start of an incomplete frame of total bytes (0
// while its header is incomplete). When rest already is the parser's own
// buffer, it is kept as is; otherwise it is copied into a buffer of at
// most twice its size (at least minPartial), never more than total.
func (p *parseState) keep(rest []byte, total int, isOwn bool) {
	if isOwn {
		p.partial = rest
		return
	}
	n := max(2*len(rest), minPartial)
	if total > 0 {
		n = min(n, total)
	}
	p.partial = append(make([]byte, 0, max(n, len(rest))), rest...)
}

// grow appends data to the incomplete frame, doubling its buffer when it
// is full (never beyond the frame's announced length, which is checked
// against the limit first): the copying stays linear in the bytes
// received however small the pieces, and the buffer at most twice them.
func (p *parseState) grow(data []byte) []byte {
	b := p.partial
	if need := len(b) + len(data); need > cap(b) {
		n := max(2*cap(b), need)
		if h, hlen, ok := parseHeader(b); ok && h.Length >= 0 {
			n = max(min(n, hlen+int(h.Length)), need)
		}
		nb := make([]byte, len(b), n)
		copy(nb, b)
		b = nb
	}
	return append(b, data...)
}

// parseHeader reads a frame header from the start of b. ok is false when b
// holds only part of it. A 64-bit length with its top bit set comes back
// negative.
func parseHeader(b []byte) (h ws.Header, n int, ok bool) {
	if len(b) < 2 {
		return h, 0, false
	}
	h.Fin = b[0]&0x80 != 0
	h.Rsv = (b[0] & 0x70) >> 4
	h.OpCode = ws.OpCode(b[0] & 0x0f)
	h.Masked = b[1]&0x80 != 0
	n = 2
	switch l := b[1] & 0x7f; l {
	case 126:
		if len(b) < 4 {
			return h, 0, false
		}
		h.Length = int64(binary.BigEndian.Uint16(b[2:4]))
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0, false
		}
		h.Length = int64(binary.BigEndian.Uint64(b[2:10]))
		n = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, false
		}
		copy(h.Mask[:], b[n:n+4])
		n += 4
	}
	return h, n, true
}
