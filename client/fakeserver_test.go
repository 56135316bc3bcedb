package client_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/suzaku-go/suzaku/wire"
)

// fakeServer is a small Phoenix Channels server for the client's tests. It
// speaks V2 JSON and binary and behaves by topic and event:
//
//	join "denied:*"     error reply {"reason":"unauthorized"}
//	join "unmatched"    error reply with a null join_ref, as Phoenix for an unmatched topic
//	join "silent:*"     no reply (join timeout)
//	join "slow:*"       ok once release is closed
//	join anything else  ok, response {"topic":…,"params":…}
//	"echo"              ok reply with the payload (binary for binary)
//	"error"             error reply with the payload
//	"noreply"           nothing
//	"crash"             phx_error (the channel is gone)
//	"close"             ok reply, then phx_close
//	"stale"             a push with an outdated join_ref, a push, a broadcast, then an ok reply
//	"disconnect"        close with 1001
//	phx_leave           ok reply, then phx_close
//
// Heartbeats get an ok reply unless ignoreHeartbeats is set.
type fakeServer struct {
	t   testing.TB
	srv *httptest.Server
	wg  sync.WaitGroup

	ignoreHeartbeats atomic.Bool
	refuse           atomic.Int32 // HTTP status to refuse upgrades with
	release          chan struct{}
	releaseOnce      sync.Once

	mu         sync.Mutex
	dials      []time.Time // pipeDial calls
	conns      []*fakeConn
	requests   []*http.Request
	msgs       []fakeMsg
	closeCodes []int
}

type fakeMsg struct {
	conn int
	at   time.Time
	m    wire.Message
}

type fakeConn struct {
	id        int
	nc        net.Conn
	wmu       sync.Mutex
	closeSent bool
	joined    map[string]string // topic → join_ref; only the read loop touches it
}

func newFakeServer(t testing.TB) *fakeServer {
	fs := startFakeServer()
	fs.t = t
	t.Cleanup(fs.Close)
	return fs
}

// startFakeServer starts a fakeServer for an example, which has no
// testing.TB: the caller closes it.
func startFakeServer() *fakeServer {
	fs := &fakeServer{release: make(chan struct{})}
	fs.srv = httptest.NewServer(fs)
	return fs
}

// URL is the server's WebSocket endpoint.
func (fs *fakeServer) URL() string {
	return "ws" + strings.TrimPrefix(fs.srv.URL, "http") + "/socket/websocket"
}

// newPipeServer returns a fakeServer reached through in-memory pipes, with
// pipeDial as the client's Config.NetDial, for tests in a synctest bubble.
func newPipeServer(t testing.TB) *fakeServer {
	fs := &fakeServer{t: t, release: make(chan struct{})}
	t.Cleanup(fs.Close)
	return fs
}

// pipeDial connects the client to the server through net.Pipe. It fails
// while refuse is set.
func (fs *fakeServer) pipeDial(ctx context.Context, network, addr string) (net.Conn, error) {
	fs.mu.Lock()
	fs.dials = append(fs.dials, time.Now())
	fs.mu.Unlock()
	if fs.refuse.Load() != 0 {
		return nil, errors.New("fake server: connection refused")
	}
	cli, srv := net.Pipe()
	fs.wg.Add(1)
	go func() {
		defer fs.wg.Done()
		defer srv.Close()
		up := ws.Upgrader{Protocol: func(p []byte) bool { return string(p) == "phoenix" }}
		if _, err := up.Upgrade(srv); err != nil {
			return
		}
		fs.mu.Lock()
		c := &fakeConn{id: len(fs.conns), nc: srv, joined: make(map[string]string)}
		fs.conns = append(fs.conns, c)
		fs.mu.Unlock()
		fs.serve(c, bufio.NewReader(srv))
	}()
	return cli, nil
}

func (fs *fakeServer) dialTimes() []time.Time {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]time.Time(nil), fs.dials...)
}

// Close stops the server and waits for its connections to end.
func (fs *fakeServer) Close() {
	fs.releaseSlow()
	if fs.srv != nil {
		fs.srv.Close()
	}
	fs.mu.Lock()
	for _, c := range fs.conns {
		_ = c.nc.Close()
	}
	fs.mu.Unlock()
	fs.wg.Wait()
}

func (fs *fakeServer) releaseSlow() { fs.releaseOnce.Do(func() { close(fs.release) }) }

func (fs *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if st := fs.refuse.Load(); st != 0 {
		http.Error(w, "refused", int(st))
		return
	}
	// Recorded before the upgrade, so that it is there when Dial returns.
	fs.mu.Lock()
	fs.requests = append(fs.requests, r)
	fs.mu.Unlock()
	up := ws.HTTPUpgrader{Protocol: func(p string) bool { return p == "phoenix" }}
	nc, rw, _, err := up.Upgrade(r, w)
	if err != nil {
		return
	}
	fs.wg.Add(1)
	defer fs.wg.Done()
	fs.mu.Lock()
	c := &fakeConn{id: len(fs.conns), nc: nc, joined: make(map[string]string)}
	fs.conns = append(fs.conns, c)
	fs.mu.Unlock()
	defer nc.Close()
	fs.serve(c, rw.Reader)
}

func (fs *fakeServer) serve(c *fakeConn, br *bufio.Reader) {
	rd := wsutil.Reader{Source: br, State: ws.StateServerSide}
	ctl := wsutil.ControlFrameHandler(fakeCtrlWriter{c}, ws.StateServerSide)
	for {
		hdr, err := rd.NextFrame()
		if err != nil {
			return
		}
		if hdr.OpCode == ws.OpClose {
			// Recorded before answering, which fails if the client has
			// already dropped the connection.
			p, _ := io.ReadAll(&rd)
			code := ws.StatusNoStatusRcvd
			if len(p) >= 2 {
				code, _ = ws.ParseCloseFrameData(p)
			}
			fs.mu.Lock()
			fs.closeCodes = append(fs.closeCodes, int(code))
			fs.mu.Unlock()
			f, _ := ws.CompileFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(code, "")))
			_, _ = fakeCtrlWriter{c}.Write(f)
			return
		}
		if hdr.OpCode.IsControl() {
			if err := ctl(hdr, &rd); err != nil {
				return
			}
			continue
		}
		data, err := io.ReadAll(&rd)
		if err != nil {
			return
		}
		m, err := wire.V2{}.Decode(wire.Frame{Opcode: wire.Opcode(hdr.OpCode), Data: data})
		if err != nil {
			if fs.t != nil {
				fs.t.Errorf("fake server: decode %q: %v", data, err)
			}
			return
		}
		fs.mu.Lock()
		fs.msgs = append(fs.msgs, fakeMsg{conn: c.id, at: time.Now(), m: m})
		fs.mu.Unlock()
		if !fs.handle(c, &m) {
			return
		}
	}
}

// handle answers one client message; false ends the connection.
func (fs *fakeServer) handle(c *fakeConn, m *wire.Message) bool {
	reply := func(joinRef, status string, payload []byte, binary bool) {
		c.send(&wire.Message{Kind: wire.KindReply, JoinRef: joinRef, Ref: m.Ref, Topic: m.Topic,
			Status: status, Payload: payload, Binary: binary})
	}
	if m.Topic == wire.TopicPhoenix && m.Event == wire.EventHeartbeat {
		if !fs.ignoreHeartbeats.Load() {
			reply("", wire.StatusOK, nil, false)
		}
		return true
	}
	switch m.Event {
	case wire.EventJoin:
		switch {
		case strings.HasPrefix(m.Topic, "denied:"):
			reply(m.JoinRef, wire.StatusError, []byte(`{"reason":"unauthorized"}`), false)
		case m.Topic == "unmatched":
			reply("", wire.StatusError, []byte(`{"reason":"unmatched topic"}`), false)
		case strings.HasPrefix(m.Topic, "silent:"):
		default:
			if strings.HasPrefix(m.Topic, "slow:") {
				<-fs.release
			}
			c.joined[m.Topic] = m.JoinRef
			resp, _ := json.Marshal(map[string]any{"topic": m.Topic, "params": json.RawMessage(m.Payload)})
			reply(m.JoinRef, wire.StatusOK, resp, false)
		}
		return true
	case wire.EventLeave:
		reply(m.JoinRef, wire.StatusOK, nil, false)
		if jr, ok := c.joined[m.Topic]; ok && (m.JoinRef == "" || m.JoinRef == jr) {
			delete(c.joined, m.Topic)
			c.send(&wire.Message{JoinRef: jr, Ref: jr, Topic: m.Topic, Event: wire.EventClose})
		}
		return true
	}
	jr, ok := c.joined[m.Topic]
	if !ok {
		reply("", wire.StatusError, []byte(`{"reason":"unmatched topic"}`), false)
		return true
	}
	if m.JoinRef != "" && m.JoinRef != jr {
		return true // stale: dropped, as Phoenix does
	}
	switch m.Event {
	case "echo":
		reply(jr, wire.StatusOK, m.Payload, m.Binary)
	case "error":
		reply(jr, wire.StatusError, m.Payload, false)
	case "noreply":
	case "crash":
		delete(c.joined, m.Topic)
		c.send(&wire.Message{JoinRef: jr, Ref: jr, Topic: m.Topic, Event: wire.EventError,
			Payload: []byte(`{"reason":"channel_crash"}`)})
	case "close":
		reply(jr, wire.StatusOK, nil, false)
		delete(c.joined, m.Topic)
		c.send(&wire.Message{JoinRef: jr, Ref: jr, Topic: m.Topic, Event: wire.EventClose})
	case "stale":
		c.send(&wire.Message{JoinRef: "stale" + jr, Topic: m.Topic, Event: "shout", Payload: []byte(`{"n":0}`)})
		c.send(&wire.Message{JoinRef: jr, Topic: m.Topic, Event: "shout", Payload: []byte(`{"n":1}`)})
		c.send(&wire.Message{Kind: wire.KindBroadcast, Topic: m.Topic, Event: "shout", Payload: []byte(`{"n":2}`)})
		reply(jr, wire.StatusOK, nil, false)
	case "disconnect":
		c.close(ws.StatusGoingAway)
	default:
		reply(jr, wire.StatusOK, nil, false)
	}
	return true
}

func (c *fakeConn) send(m *wire.Message) {
	f, err := wire.V2{}.Encode(m)
	if err != nil {
		panic(err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return
	}
	_ = wsutil.WriteServerMessage(c.nc, ws.OpCode(f.Opcode), f.Data)
}

// close starts a close handshake with code; the read loop ends when the
// client answers.
func (c *fakeConn) close(code ws.StatusCode) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return
	}
	c.closeSent = true
	_ = ws.WriteFrame(c.nc, ws.NewCloseFrame(ws.NewCloseFrameBody(code, "")))
	_ = c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
}

type fakeCtrlWriter struct{ c *fakeConn }

func (w fakeCtrlWriter) Write(p []byte) (int, error) {
	w.c.wmu.Lock()
	defer w.c.wmu.Unlock()
	if w.c.closeSent {
		return len(p), nil
	}
	if len(p) > 0 && ws.OpCode(p[0]&0x0f) == ws.OpClose {
		w.c.closeSent = true
	}
	return w.c.nc.Write(p)
}

// closeAll closes every connection with code, as a server going away.
func (fs *fakeServer) closeAll(code ws.StatusCode) {
	fs.mu.Lock()
	conns := fs.conns
	fs.mu.Unlock()
	for _, c := range conns {
		c.close(code)
	}
}

func (fs *fakeServer) connCount() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return len(fs.conns)
}

func (fs *fakeServer) request(i int) *http.Request {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.requests[i]
}

// messages returns the messages received so far with event (all if "").
func (fs *fakeServer) messages(event string) []fakeMsg {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var out []fakeMsg
	for _, m := range fs.msgs {
		if event == "" || m.m.Event == event {
			out = append(out, m)
		}
	}
	return out
}

func (fs *fakeServer) codes() []int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]int(nil), fs.closeCodes...)
}
