package transport

import (
	"encoding/binary"
	"errors"
)

// The messages LongPoll nodes exchange over the broker to forward a
// request to the node that holds its session (longpoll_forward.go), on
// topic lpFwdTopic, as binary payloads:
//
//	request: [kind][uvarint id][uvarint len][from node][uvarint len][session id][flags][body…]
//	reply:   [kind][uvarint id][uvarint status][uvarint len][message]{[uvarint len][frame]}…
//
// A request's kind is poll, post (body: the POST body; flags bit 0:
// ndjson) or cancel (the poll's client went away). A reply's is ack (the
// owner has the session and is on it), gone (no such session), messages
// (a poll's answer: status 200 or 204, and frames) or status (a POST's
// answer, with an error message or none).
const (
	lpFwdTopic        = "suzaku:longpoll"
	lpFwdEventRequest = "request"
	lpFwdEventReply   = "reply"

	lpFwdPoll   = 'p'
	lpFwdPost   = 'b'
	lpFwdCancel = 'c'

	lpFwdAck      = 'a'
	lpFwdGone     = 'g'
	lpFwdMessages = 'm'
	lpFwdStatus   = 's'

	lpFwdNDJSON = 1 << 0
)

var errLPFwdMalformed = errors.New("transport: malformed longpoll forwarding message")

// lpFwdRequest is a forwarded request.
type lpFwdRequest struct {
	kind    byte
	id      uint64 // the sender's request id
	from    string // the sender's node, where replies go
	session string // the session id
	ndjson  bool
	body    []byte // a post's body
}

func (q *lpFwdRequest) append(b []byte) []byte {
	b = append(b, q.kind)
	b = binary.AppendUvarint(b, q.id)
	b = lpFwdAppendBytes(b, []byte(q.from))
	b = lpFwdAppendBytes(b, []byte(q.session))
	var flags byte
	if q.ndjson {
		flags |= lpFwdNDJSON
	}
	b = append(b, flags)
	return append(b, q.body...)
}

// decodeLPFwdRequest parses a request; the body is a copy.
func decodeLPFwdRequest(b []byte) (lpFwdRequest, error) {
	var q lpFwdRequest
	if len(b) < 1 {
		return q, errLPFwdMalformed
	}
	q.kind, b = b[0], b[1:]
	if q.kind != lpFwdPoll && q.kind != lpFwdPost && q.kind != lpFwdCancel {
		return q, errLPFwdMalformed
	}
	id, k := binary.Uvarint(b)
	if k <= 0 {
		return q, errLPFwdMalformed
	}
	q.id, b = id, b[k:]
	from, b, ok1 := lpFwdCut(b)
	session, b, ok2 := lpFwdCut(b)
	if !ok1 || !ok2 || len(from) == 0 || len(b) < 1 || b[0]&^lpFwdNDJSON != 0 {
		return q, errLPFwdMalformed
	}
	q.from, q.session, q.ndjson = string(from), string(session), b[0]&lpFwdNDJSON != 0
	if len(b) > 1 {
		q.body = append([]byte(nil), b[1:]...)
	}
	return q, nil
}

// lpFwdReply is the owner's answer to a forwarded request.
type lpFwdReply struct {
	kind   byte
	id     uint64
	status int
	msg    string   // a status reply's error message, or ""
	frames [][]byte // a messages reply's frames
}

func (p *lpFwdReply) append(b []byte) []byte {
	b = append(b, p.kind)
	b = binary.AppendUvarint(b, p.id)
	b = binary.AppendUvarint(b, uint64(p.status))
	b = lpFwdAppendBytes(b, []byte(p.msg))
	for _, f := range p.frames {
		b = lpFwdAppendBytes(b, f)
	}
	return b
}

// decodeLPFwdReply parses a reply; frames are copies.
func decodeLPFwdReply(b []byte) (lpFwdReply, error) {
	var p lpFwdReply
	if len(b) < 1 {
		return p, errLPFwdMalformed
	}
	p.kind, b = b[0], b[1:]
	switch p.kind {
	case lpFwdAck, lpFwdGone, lpFwdMessages, lpFwdStatus:
	default:
		return p, errLPFwdMalformed
	}
	id, k := binary.Uvarint(b)
	if k <= 0 {
		return p, errLPFwdMalformed
	}
	p.id, b = id, b[k:]
	status, k := binary.Uvarint(b)
	if k <= 0 || status > 999 {
		return p, errLPFwdMalformed
	}
	p.status, b = int(status), b[k:]
	msg, b, ok := lpFwdCut(b)
	if !ok {
		return p, errLPFwdMalformed
	}
	p.msg = string(msg)
	for len(b) > 0 {
		var f []byte
		if f, b, ok = lpFwdCut(b); !ok {
			return p, errLPFwdMalformed
		}
		p.frames = append(p.frames, append([]byte(nil), f...))
	}
	return p, nil
}

func lpFwdAppendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// lpFwdCut reads a uvarint length and that many bytes from b.
func lpFwdCut(b []byte) (v, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	b = b[k:]
	return b[:n:n], b[n:], true
}
