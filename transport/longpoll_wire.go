package transport

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/suzaku-go/suzaku/internal/jsonstr"
	"github.com/suzaku-go/suzaku/wire"
)

// Session tokens are "<id>.<expiry>.<node>.<mac>": a random 128-bit
// session id in base64url, the expiry in Unix seconds, the base64url name
// of the node that holds the session, and the base64url HMAC-SHA256 of
// the rest under the endpoint's secret. They are URL-safe and opaque to
// the client. A token without the node part names this node.
const (
	lpTokenContext  = "suzaku/longpoll/v1\x00" // domain separation for the MAC
	lpSessionIDSize = 16
	lpMaxTokenLen   = 256
	lpMaxNodeLen    = 96 // bytes of a node name, so that tokens fit lpMaxTokenLen
)

func newLPSessionID() string {
	var b [lpSessionIDSize]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (lp *LongPoll) tokenMAC(idExp string) []byte {
	m := hmac.New(sha256.New, lp.secret)
	m.Write([]byte(lpTokenContext))
	m.Write([]byte(idExp))
	return m.Sum(nil)
}

// signToken returns the token of session id, valid until exp.
// held by node.
func (lp *LongPoll) signToken(id string, exp time.Time) string {
	signed := id + "." + strconv.FormatInt(exp.Unix(), 10)
	if lp.node != "" {
		signed += "." + base64.RawURLEncoding.EncodeToString([]byte(lp.node))
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(lp.tokenMAC(signed))
}

// verifyToken returns the session id of a token signed by this endpoint's
// secret and not expired at now, and the node that holds the session ("":
// this one).
func (lp *LongPoll) verifyToken(token string, now time.Time) (id, node string, ok bool) {
	if len(token) > lpMaxTokenLen {
		return "", "", false
	}
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return "", "", false
	}
	signed, macText := token[:i], token[i+1:]
	mac, err := base64.RawURLEncoding.DecodeString(macText)
	if err != nil || !hmac.Equal(mac, lp.tokenMAC(signed)) {
		return "", "", false
	}
	id, rest, ok := strings.Cut(signed, ".")
	if !ok {
		return "", "", false
	}
	expText, nodeText, withNode := strings.Cut(rest, ".")
	exp, err := strconv.ParseInt(expText, 10, 64)
	if err != nil || now.Unix() >= exp {
		return "", "", false
	}
	if withNode {
		b, err := base64.RawURLEncoding.DecodeString(nodeText)
		if err != nil || len(b) == 0 {
			return "", "", false
		}
		if node = string(b); node == lp.node {
			node = ""
		}
	}
	return id, node, true
}

// lpRequest is what a request's token says.
type lpRequest struct {
	token     string     // the session token, "" when absent
	sess      *lpSession // its live session on this node, or nil
	id        string     // the session id, when signed
	owner     string     // the node holding the session, when another one
	fromQuery bool       // the token is the last "token" query value
	signed    bool       // the token carries our signature
}

// resolve finds the session token (header first, then the last "token"
// query value) and its session.
func (lp *LongPoll) resolve(r *http.Request) lpRequest {
	var req lpRequest
	if t := r.Header.Get(lpHeaderToken); t != "" {
		req.token = t
	} else if vs := r.URL.Query()["token"]; len(vs) > 0 {
		req.token, req.fromQuery = vs[len(vs)-1], true
	}
	if req.token == "" {
		return req
	}
	id, owner, ok := lp.verifyToken(req.token, time.Now())
	if !ok {
		return req
	}
	req.signed, req.id, req.owner = true, id, owner
	if owner != "" {
		return req
	}
	lp.mu.Lock()
	req.sess = lp.sessions[id]
	lp.mu.Unlock()
	return req
}

// lpBase64 is btoa's encoding: standard alphabet, padded, and no
// stray bits in the last character.
var lpBase64 = base64.StdEncoding.Strict()

// lpSplitBody calls fn with each frame of a POST body, in order, and stops
// at fn's first error. An ndjson body holds one frame per line, split on
// "\n" or "\r\n": a line starting with "[" is a text frame, any other the
// standard, padded base64 of a binary frame; empty lines are skipped and
// only the first maxBatch lines are read, as Phoenix does. Any other body
// is one text frame. Text must be valid UTF-8, as over WebSocket. Frames
// share body's memory.
func lpSplitBody(body []byte, ndjson bool, maxBatch int, fn func(line int, f wire.Frame) error) error {
	if !ndjson {
		if !utf8.Valid(body) {
			return errors.New("body: text frame is not valid UTF-8")
		}
		return fn(1, wire.Frame{Opcode: wire.OpText, Data: body})
	}
	rest := body
	for n := 1; n <= maxBatch && rest != nil; n++ {
		line, after, found := bytes.Cut(rest, []byte("\n"))
		if found {
			rest = after
		} else {
			rest = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		var f wire.Frame
		if line[0] == '[' {
			if !utf8.Valid(line) {
				return fmt.Errorf("line %d: text frame is not valid UTF-8", n)
			}
			f = wire.Frame{Opcode: wire.OpText, Data: line}
		} else {
			data := make([]byte, base64.StdEncoding.DecodedLen(len(line)))
			k, err := lpBase64.Decode(data, line)
			if err != nil {
				return fmt.Errorf("line %d: neither a JSON frame nor base64: %w", n, err)
			}
			f = wire.Frame{Opcode: wire.OpBinary, Data: data[:k]}
		}
		if err := fn(n, f); err != nil {
			return err
		}
	}
	return nil
}

// Responses are built by hand: keys sorted as Jason sorts them, and frames
// escaped straight from their bytes.

var lpRespPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const lpMaxPooledResp = 64 << 10

// lpWriteJSON sends body with the headers of every LongPoll answer: HTTP 200,
// the logical status is in the body.
func lpWriteJSON(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store") // the token may travel in a header
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// lpWriteStatus sends {"status":N}.
func lpWriteStatus(w http.ResponseWriter, status int) {
	b := strconv.AppendInt(append(make([]byte, 0, 16), `{"status":`...), int64(status), 10)
	lpWriteJSON(w, append(b, '}'))
}

// lpWriteError sends {"error":msg,"status":N}.
func lpWriteError(w http.ResponseWriter, status int, msg string) {
	b := lpAppendString(append(make([]byte, 0, 32+len(msg)), `{"error":`...), []byte(msg))
	b = strconv.AppendInt(append(b, `,"status":`...), int64(status), 10)
	lpWriteJSON(w, append(b, '}'))
}

// lpWriteMessages sends {"messages":[…],"status":N,"token":T}, each frame as
// a JSON string.
func lpWriteMessages(w http.ResponseWriter, status int, token string, frames [][]byte) {
	bp := lpRespPool.Get().(*[]byte)
	b := append((*bp)[:0], `{"messages":[`...)
	for i, f := range frames {
		if i > 0 {
			b = append(b, ',')
		}
		b = lpAppendString(b, f)
	}
	b = strconv.AppendInt(append(b, `],"status":`...), int64(status), 10)
	b = lpAppendString(append(b, `,"token":`...), []byte(token))
	b = append(b, '}')
	lpWriteJSON(w, b)
	if cap(b) <= lpMaxPooledResp {
		*bp = b
		lpRespPool.Put(bp)
	}
}

// lpAppendString appends s as a JSON string.
func lpAppendString(dst, s []byte) []byte { return jsonstr.Append(dst, string(s)) }
