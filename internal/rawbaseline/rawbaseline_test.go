//go:build linux

package rawbaseline

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

func TestRawParseFrame(t *testing.T) {
	t.Parallel()
	masked := func(payload string) []byte {
		var b bytes.Buffer
		if err := ws.WriteFrame(&b, ws.MaskFrame(ws.NewTextFrame([]byte(payload)))); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	two := append(masked("hello"), masked(strings.Repeat("y", 300))...)
	op, p, rest, err := parseFrame(two)
	testutil.Success(t, err)
	testutil.Equal(t, "op", op, ws.OpText)
	testutil.Equal(t, "payload", string(p), "hello")
	_, p, rest, err = parseFrame(rest)
	testutil.Success(t, err)
	testutil.Equal(t, "second payload", string(p), strings.Repeat("y", 300))
	testutil.Equal(t, "rest", len(rest), 0)

	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{name: "one byte", in: []byte{0x81}, want: errShort},
		{name: "header without mask key", in: []byte{0x81, 0x85, 1}, want: errShort},
		{name: "half a payload", in: masked("hello")[:8], want: errShort},
		{name: "extended length cut", in: []byte{0x81, 0xfe, 1}, want: errShort},
		{name: "too large", in: []byte{0x81, 0xff, 0, 0, 0, 0, 1, 0, 0, 0}, want: errTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := parseFrame(tt.in)
			testutil.ErrorIs(t, err, tt.want)
		})
	}
}

func TestRawFrame(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 125, 126, 70000} {
		f, err := ws.ReadFrame(bytes.NewReader(frame(ws.OpText, bytes.Repeat([]byte{'a'}, n))))
		testutil.Success(t, err)
		testutil.Equal(t, "length", len(f.Payload), n)
		testutil.Equal(t, "masked", f.Header.Masked, false)
	}
}

// start runs a Server behind an httptest server until the test ends.
func start(t *testing.T) (*Server, string) {
	t.Helper()
	return startWith(t, Config{})
}

func startWith(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	srv, err := NewWith(cfg)
	testutil.Success(t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		stop()
		testutil.ErrorIs(t, <-done, context.Canceled)
		hs.Close()
	})
	return srv, hs.URL
}

func dial(t *testing.T, url string) net.Conn {
	t.Helper()
	c, _, _, err := ws.Dial(context.Background(), "ws"+strings.TrimPrefix(url, "http")+"/socket/websocket?vsn=2.0.0")
	testutil.Success(t, err)
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return c
}

func send(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	testutil.Success(t, wsutil.WriteClientText(c, []byte(msg)))
}

func recv(t *testing.T, c net.Conn) string {
	t.Helper()
	b, err := wsutil.ReadServerText(c)
	testutil.Success(t, err)
	return string(b)
}

func TestRawJoinHeartbeatBroadcast(t *testing.T) {
	t.Parallel()
	srv, url := start(t)
	a, b := dial(t, url), dial(t, url)
	send(t, a, `["1","1","bench:x","phx_join",{}]`)
	testutil.Equal(t, "join reply", recv(t, a), `["1","1","bench:x","phx_reply",{"response":{},"status":"ok"}]`)
	send(t, b, `["3","3","bench:x","phx_join",{}]`)
	testutil.Equal(t, "join reply", recv(t, b), `["3","3","bench:x","phx_reply",{"response":{},"status":"ok"}]`)
	send(t, a, `[null,"9","phoenix","heartbeat",{}]`)
	testutil.Equal(t, "heartbeat reply", recv(t, a), `[null,"9","phoenix","phx_reply",{"response":{},"status":"ok"}]`)
	testutil.Equal(t, "Conns", srv.Conns(), 2)

	resp, err := http.Post(url+"/api/broadcast", "application/json", strings.NewReader(`{"topic":"bench:x","event":"ev","payload":{"n":1}}`))
	testutil.Success(t, err)
	resp.Body.Close()
	testutil.Equal(t, "status", resp.StatusCode, http.StatusOK)
	for _, c := range []net.Conn{a, b} {
		testutil.Equal(t, "broadcast", recv(t, c), `[null,null,"bench:x","ev",{"n":1}]`)
	}

	send(t, b, `["3","4","bench:x","phx_leave",{}]`)
	testutil.Equal(t, "leave reply", recv(t, b), `["3","4","bench:x","phx_reply",{"response":{},"status":"ok"}]`)
	resp, err = http.Post(url+"/api/broadcast", "application/json", strings.NewReader(`{"topic":"bench:x","event":"ev","payload":{"n":2}}`))
	testutil.Success(t, err)
	resp.Body.Close()
	testutil.Equal(t, "after leave, a", recv(t, a), `[null,null,"bench:x","ev",{"n":2}]`)
	send(t, b, `[null,"10","phoenix","heartbeat",{}]`) // b got nothing before this reply
	testutil.Equal(t, "after leave, b", recv(t, b), `[null,"10","phoenix","phx_reply",{"response":{},"status":"ok"}]`)

	resp, err = http.Post(url+"/api/broadcast", "application/json", strings.NewReader(`{"topic":""}`))
	testutil.Success(t, err)
	resp.Body.Close()
	testutil.Equal(t, "bad broadcast", resp.StatusCode, http.StatusBadRequest)

	a.Close()
	testutil.CheckFor(t, 5*time.Second, func() error {
		if n := srv.Conns(); n != 1 {
			return errors.New("the server still counts the closed connection")
		}
		return nil
	})
}

func TestRawCloseFrameIsEchoed(t *testing.T) {
	t.Parallel()
	srv, url := start(t)
	c := dial(t, url)
	testutil.Success(t, ws.WriteFrame(c, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))))
	f, err := ws.ReadFrame(c)
	testutil.Success(t, err)
	testutil.Equal(t, "opcode", f.Header.OpCode, ws.OpClose)
	testutil.CheckFor(t, 5*time.Second, func() error {
		if srv.Conns() != 0 {
			return errors.New("connection still open")
		}
		return nil
	})
}

// TestRawParallelBroadcastReachesEveryone splits a broadcast over four
// writers (200 subscribers, so every writer gets a slice) and checks that
// each subscriber gets each broadcast once, in order, also after some of
// them left (which moves others within the topic's list).
func TestRawParallelBroadcastReachesEveryone(t *testing.T) {
	t.Parallel()
	_, url := startWith(t, Config{Writers: 4})
	conns := make([]net.Conn, 200)
	for i := range conns {
		conns[i] = dial(t, url)
		send(t, conns[i], `["1","1","bench:p","phx_join",{}]`)
		recv(t, conns[i])
	}
	for i := 0; i < len(conns); i += 7 { // leave from the middle
		send(t, conns[i], `["1","2","bench:p","phx_leave",{}]`)
		recv(t, conns[i])
	}
	for n := range 3 {
		resp, err := http.Post(url+"/api/broadcast", "application/json", strings.NewReader(`{"topic":"bench:p","event":"ev","payload":{"n":`+string(rune('0'+n))+`}}`))
		testutil.Success(t, err)
		resp.Body.Close()
	}
	for i, c := range conns {
		if i%7 == 0 {
			continue
		}
		for n := range 3 {
			testutil.Equal(t, "broadcast", recv(t, c), `[null,null,"bench:p","ev",{"n":`+string(rune('0'+n))+`}]`)
		}
	}
}
