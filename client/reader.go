package client

import (
	"io"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// exactReadLimit is the largest declared message length read into a buffer
// of exactly that size; longer (or fragmented) messages grow their buffer
// as bytes arrive, so a peer cannot make the client allocate by declaring
// a length.
const exactReadLimit = 64 << 10

// frameReader reads whole data messages from a connection, answering
// control frames (ping, close) through the connection's write lock.
type frameReader struct {
	rd  wsutil.Reader
	ctl wsutil.FrameHandlerFunc
}

func (r *frameReader) init(c *conn, cfg *settings) {
	r.rd = wsutil.Reader{
		Source:         c.br,
		State:          ws.StateClientSide,
		MaxMessageSize: cfg.MaxMessageSize,
	}
	r.ctl = wsutil.ControlFrameHandler(ctrlWriter{c: c, timeout: cfg.WriteTimeout}, ws.StateClientSide)
	r.rd.OnIntermediate = r.ctl
}

// next returns the next data message. A close frame from the server ends
// the loop with a wsutil.ClosedError carrying its code.
func (r *frameReader) next() (ws.OpCode, []byte, error) {
	for {
		hdr, err := r.rd.NextFrame()
		if err != nil {
			return 0, nil, err
		}
		if hdr.OpCode.IsControl() {
			if err := r.ctl(hdr, &r.rd); err != nil {
				return 0, nil, err
			}
			continue
		}
		var data []byte
		if hdr.Fin && hdr.Length <= exactReadLimit {
			data = make([]byte, hdr.Length)
			_, err = io.ReadFull(&r.rd, data)
		} else {
			data, err = io.ReadAll(&r.rd)
		}
		if err != nil {
			return 0, nil, err
		}
		return hdr.OpCode, data, nil
	}
}
