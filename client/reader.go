package client

import (
	"io"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/suzaku-go/suzaku/internal/closecode"
)

// exactReadLimit is the largest declared message length read into a buffer
// of exactly that size; longer (or fragmented) messages grow their buffer
// as bytes arrive, so a peer cannot make the client allocate by declaring
// a length.
const exactReadLimit = 64 << 10

// frameReader reads whole data messages from a connection, answering
// control frames (ping, close) through the connection's write lock.
type frameReader struct {
	c   *conn
	cfg *settings
	rd  wsutil.Reader
	ctl wsutil.FrameHandlerFunc
}

func (r *frameReader) init(c *conn, cfg *settings) {
	r.c, r.cfg = c, cfg
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
		if hdr.OpCode == ws.OpClose {
			return 0, nil, r.close(hdr)
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

// close reads a close frame and answers it. gobwas/ws's handler would
// refuse 1012 and 1013, which servers send to have clients reconnect, so
// close codes are checked against the IANA registry here.
func (r *frameReader) close(hdr ws.Header) error {
	payload := make([]byte, hdr.Length)
	if _, err := io.ReadFull(&r.rd, payload); err != nil {
		return err
	}
	code, reason := ws.ParseCloseFrameData(payload)
	switch {
	case len(payload) == 0:
		code = ws.StatusNoStatusRcvd
	case len(payload) == 1 || !closecode.Valid(int(code)):
		return wsutil.ClosedError{Code: ws.StatusProtocolError, Reason: "invalid close frame"}
	case !utf8.ValidString(reason):
		return wsutil.ClosedError{Code: ws.StatusInvalidFramePayloadData, Reason: "close reason is not valid UTF-8"}
	}
	echo := code
	if code == ws.StatusNoStatusRcvd {
		echo = ws.StatusNormalClosure
	}
	r.c.writeClose(echo, "", r.cfg.WriteTimeout)
	return wsutil.ClosedError{Code: code, Reason: reason}
}
