package transport_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/transport"
)

type echoRoom struct{}

func (echoRoom) Join(ctx context.Context, ch *channel.Channel, p channel.Payload) (any, error) {
	return nil, nil
}

func (echoRoom) HandleIn(ctx context.Context, ch *channel.Channel, ev string, p channel.Payload) channel.Reply {
	return channel.OK(p)
}

// server starts an endpoint; connect records the ConnectInfo it saw.
func server(t *testing.T, cfg transport.WebSocketConfig, seen chan<- *channel.ConnectInfo) *httptest.Server {
	t.Helper()
	r := &channel.Router{}
	testutil.Success(t, r.Handle("room:*", func() channel.Handler { return echoRoom{} }))
	// Generous channel limits: these tests are about frames and size
	// limits of the transport; security_test.go covers the defaults.
	sock, err := channel.NewSocket(channel.Config{Router: r, Limits: channel.GenerousLimits(), Connect: func(ctx context.Context, info *channel.ConnectInfo) (any, error) {
		if seen != nil {
			seen <- info
		}
		if info.Params.Get("user") == "reject" {
			return nil, errors.New("refused")
		}
		return nil, nil
	}})
	testutil.Success(t, err)
	cfg.Socket = sock
	h, err := transport.NewWebSocket(cfg)
	testutil.Success(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		srv.Close()
	})
	return srv
}

// rawConn is a hand-driven WebSocket client, to send what a real client
// never would.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func handshake(t *testing.T, srv *httptest.Server, query string, hdr http.Header) (*rawConn, *http.Response) {
	t.Helper()
	nc, err := net.Dial("tcp", srv.Listener.Addr().String())
	testutil.Success(t, err)
	t.Cleanup(func() { nc.Close() })
	req, _ := http.NewRequest("GET", srv.URL+"/socket/websocket?"+query, nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	req.Header.Set("Sec-WebSocket-Version", "13")
	for k, v := range hdr {
		req.Header[k] = v
	}
	testutil.Success(t, req.Write(nc))
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, req)
	testutil.Success(t, err)
	return &rawConn{t: t, nc: nc, br: br}, resp
}

func dial(t *testing.T, srv *httptest.Server) *rawConn {
	t.Helper()
	c, resp := handshake(t, srv, "vsn=2.0.0", nil)
	testutil.Equal(t, "status", resp.StatusCode, http.StatusSwitchingProtocols)
	return c
}

// frame writes one frame with full control over its header bits.
func (c *rawConn) frame(fin bool, rsv byte, op ws.OpCode, masked bool, payload []byte) {
	c.t.Helper()
	b0 := byte(op) | rsv<<4
	if fin {
		b0 |= 0x80
	}
	buf := []byte{b0}
	mbit := byte(0)
	if masked {
		mbit = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		buf = append(buf, mbit|byte(n))
	case n <= 0xffff:
		buf = binary.BigEndian.AppendUint16(append(buf, mbit|126), uint16(n))
	default:
		buf = binary.BigEndian.AppendUint64(append(buf, mbit|127), uint64(n))
	}
	data := append([]byte(nil), payload...)
	if masked {
		mask := [4]byte{1, 2, 3, 4}
		buf = append(buf, mask[:]...)
		ws.Cipher(data, mask, 0)
	}
	_, err := c.nc.Write(append(buf, data...))
	testutil.Success(c.t, err)
}

func (c *rawConn) text(s string) { c.frame(true, 0, ws.OpText, true, []byte(s)) }

// next reads one server frame.
func (c *rawConn) next() (ws.OpCode, []byte) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	h, err := ws.ReadHeader(c.br)
	testutil.Success(c.t, err)
	if h.Masked {
		c.t.Fatal("server frame is masked")
	}
	p := make([]byte, h.Length)
	_, err = io.ReadFull(c.br, p)
	testutil.Success(c.t, err)
	return h.OpCode, p
}

// closeCode reads until a close frame and returns its code.
func (c *rawConn) closeCode() int {
	c.t.Helper()
	for {
		op, p := c.next()
		if op == ws.OpClose {
			code, _ := ws.ParseCloseFrameData(p)
			return int(code)
		}
	}
}

func (c *rawConn) roundTrip(ref string) {
	c.t.Helper()
	c.text(fmt.Sprintf(`[null,%q,"phoenix","heartbeat",{}]`, ref))
	op, p := c.next()
	want := fmt.Sprintf(`[null,%q,"phoenix","phx_reply",{"response":{},"status":"ok"}]`, ref)
	if op != ws.OpText || string(p) != want {
		c.t.Fatalf("heartbeat reply = %d %s, want %s", op, p, want)
	}
}

func TestWebSocketHandshake(t *testing.T) {
	t.Parallel()
	seen := make(chan *channel.ConnectInfo, 10)
	srv := server(t, transport.WebSocketConfig{AllowedOrigins: []string{"https://app.example.com", "//*.trusted.org:*", "//ports.example.com"}}, seen)
	tests := []struct {
		name     string
		query    string
		header   http.Header
		want     int
		protocol string
	}{
		{"v2", "vsn=2.0.0", nil, 101, ""},
		{"v1 by default", "", nil, 101, ""},
		{"unsupported vsn", "vsn=3.0.0", nil, 403, ""},
		{"bad vsn", "vsn=banana", nil, 403, ""},
		{"refused by connect", "vsn=2.0.0&user=reject", nil, 403, ""},
		{"allowed origin", "vsn=2.0.0", http.Header{"Origin": {"https://app.example.com"}}, 101, ""},
		{"wildcard origin", "vsn=2.0.0", http.Header{"Origin": {"http://a.b.trusted.org:81"}}, 101, ""},
		{"wrong scheme", "vsn=2.0.0", http.Header{"Origin": {"http://app.example.com"}}, 403, ""},
		{"another port", "vsn=2.0.0", http.Header{"Origin": {"https://app.example.com:8443"}}, 403, ""},
		{"explicit default port", "vsn=2.0.0", http.Header{"Origin": {"https://app.example.com:443"}}, 101, ""},
		{"no port in pattern, default port", "vsn=2.0.0", http.Header{"Origin": {"http://ports.example.com"}}, 101, ""},
		{"no port in pattern, other port", "vsn=2.0.0", http.Header{"Origin": {"http://ports.example.com:8080"}}, 403, ""},
		{"foreign origin", "vsn=2.0.0", http.Header{"Origin": {"https://evil.com"}}, 403, ""},
		{"auth token", "vsn=2.0.0", http.Header{"Sec-Websocket-Protocol": {"phoenix, base64url.bearer.phx.c2VjcmV0LXRvaw"}}, 101, "phoenix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, resp := handshake(t, srv, tt.query, tt.header)
			testutil.Equal(t, "status", resp.StatusCode, tt.want)
			testutil.Equal(t, "Sec-WebSocket-Protocol", resp.Header.Get("Sec-WebSocket-Protocol"), tt.protocol)
			if tt.name == "auth token" {
				info := lastInfo(seen)
				testutil.Equal(t, "AuthToken", info.AuthToken, "secret-tok")
				testutil.Equal(t, "Transport", info.Transport, "websocket")
			}
		})
	}
}

func lastInfo(c chan *channel.ConnectInfo) *channel.ConnectInfo {
	var info *channel.ConnectInfo
	for {
		select {
		case info = <-c:
		default:
			return info
		}
	}
}

func TestWebSocketDefaultOrigin(t *testing.T) {
	t.Parallel()
	srv := server(t, transport.WebSocketConfig{}, nil)
	host := srv.Listener.Addr().String()
	_, resp := handshake(t, srv, "vsn=2.0.0", http.Header{"Origin": {"http://" + host}})
	testutil.Equal(t, "same host", resp.StatusCode, 101)
	_, resp = handshake(t, srv, "vsn=2.0.0", http.Header{"Origin": {"http://elsewhere.test"}})
	testutil.Equal(t, "other host", resp.StatusCode, 403)
}

func TestWebSocketPlainGet(t *testing.T) {
	t.Parallel()
	srv := server(t, transport.WebSocketConfig{}, nil)
	resp, err := http.Get(srv.URL + "/socket/websocket")
	testutil.Success(t, err)
	resp.Body.Close()
	testutil.Equal(t, "status", resp.StatusCode, 400)
}

// TestWebSocketProtocolErrors sends frames RFC 6455 forbids; each closes
// that connection with its code, and the server goes on serving others.
func TestWebSocketProtocolErrors(t *testing.T) {
	t.Parallel()
	forEachMode(t, testProtocolErrors)
}

// forEachMode runs a test with the event loop and with a goroutine per
// connection.
func forEachMode(t *testing.T, f func(t *testing.T, cfg transport.WebSocketConfig)) {
	for _, mode := range []struct {
		name string
		cfg  transport.WebSocketConfig
	}{{"event loop", transport.WebSocketConfig{}}, {"goroutine", transport.WebSocketConfig{DisableEventLoop: true}}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			f(t, mode.cfg)
		})
	}
}

func testProtocolErrors(t *testing.T, cfg transport.WebSocketConfig) {
	cfg.MaxMessageSize = 1024
	srv := server(t, cfg, nil)
	bystander := dial(t, srv)
	tests := []struct {
		name string
		send func(c *rawConn)
		want int
	}{
		{"unmasked frame", func(c *rawConn) { c.frame(true, 0, ws.OpText, false, []byte(`[null,"1","phoenix","heartbeat",{}]`)) }, 1002},
		{"reserved bit", func(c *rawConn) { c.frame(true, 4, ws.OpText, true, []byte(`[]`)) }, 1002},
		{"reserved data opcode", func(c *rawConn) { c.frame(true, 0, 3, true, nil) }, 1002},
		{"reserved control opcode", func(c *rawConn) { c.frame(true, 0, 0xB, true, nil) }, 1002},
		{"fragmented control", func(c *rawConn) { c.frame(false, 0, ws.OpPing, true, []byte("x")) }, 1002},
		{"oversized control", func(c *rawConn) { c.frame(true, 0, ws.OpPing, true, make([]byte, 126)) }, 1002},
		{"continuation without start", func(c *rawConn) { c.frame(true, 0, ws.OpContinuation, true, []byte("x")) }, 1002},
		{"new message inside a fragmented one", func(c *rawConn) {
			c.frame(false, 0, ws.OpText, true, []byte(`[null,`))
			c.frame(true, 0, ws.OpText, true, []byte(`[]`))
		}, 1002},
		{"bad UTF-8", func(c *rawConn) { c.frame(true, 0, ws.OpText, true, []byte{'[', 0xff, 0xfe, ']'}) }, 1007},
		{"bad UTF-8 across fragments", func(c *rawConn) {
			c.frame(false, 0, ws.OpText, true, []byte{'"', 0xe2, 0x82})
			c.frame(true, 0, ws.OpContinuation, true, []byte{'"'})
		}, 1007},
		{"message too big", func(c *rawConn) { c.text(strings.Repeat(" ", 1025)) }, 1009},
		{"fragments too big", func(c *rawConn) {
			c.frame(false, 0, ws.OpText, true, make([]byte, 600))
			c.frame(true, 0, ws.OpContinuation, true, make([]byte, 600))
		}, 1009},
		{"not JSON", func(c *rawConn) { c.text("this is not json") }, 1007},
		{"wrong arity", func(c *rawConn) { c.text(`[null,"1","phoenix"]`) }, 1007},
		{"close with one byte", func(c *rawConn) { c.frame(true, 0, ws.OpClose, true, []byte{3}) }, 1002},
		{"close with bad code", func(c *rawConn) { c.frame(true, 0, ws.OpClose, true, []byte{0x03, 0xec}) }, 1002},
		{"close with bad UTF-8", func(c *rawConn) { c.frame(true, 0, ws.OpClose, true, []byte{0x03, 0xe8, 0xff}) }, 1007},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, srv)
			c.t = t
			tt.send(c)
			testutil.Equal(t, "close code", c.closeCode(), tt.want)
			// Once the client closes its side, as browsers do, the server
			// closes the TCP connection too: no hanging.
			testutil.Success(t, c.nc.(*net.TCPConn).CloseWrite())
			c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err := io.Copy(io.Discard, c.br)
			testutil.Success(t, err)
		})
	}
	t.Cleanup(func() { bystander.roundTrip("still-here") })
}

func TestWebSocketFramesAndControl(t *testing.T) {
	t.Parallel()
	forEachMode(t, testFramesAndControl)
}

func testFramesAndControl(t *testing.T, cfg transport.WebSocketConfig) {
	srv := server(t, cfg, nil)
	c := dial(t, srv)

	// A message in three fragments, with a ping in the middle.
	c.frame(false, 0, ws.OpText, true, []byte(`[null,"1","pho`))
	c.frame(true, 0, ws.OpPing, true, []byte("hi"))
	op, p := c.next()
	testutil.Equal(t, "pong", op, ws.OpPong)
	testutil.Equal(t, "pong payload", string(p), "hi")
	c.frame(false, 0, ws.OpContinuation, true, []byte(`enix","heartb`))
	c.frame(true, 0, ws.OpContinuation, true, []byte(`eat",{}]`))
	op, p = c.next()
	testutil.Equal(t, "reply", string(p), `[null,"1","phoenix","phx_reply",{"response":{},"status":"ok"}]`)
	testutil.Equal(t, "opcode", op, ws.OpText)

	// A join, then an echo of a large payload (16-bit and 64-bit lengths).
	c.text(`["1","1","room:a","phx_join",{}]`)
	c.next()
	for _, n := range []int{200, 70000} {
		body := strings.Repeat("x", n)
		c.text(`["1","2","room:a","echo",{"b":"` + body + `"}]`)
		_, p = c.next()
		var f []any
		testutil.Success(t, json.Unmarshal(p, &f))
		testutil.Equal(t, "echo size", len(f[4].(map[string]any)["response"].(map[string]any)["b"].(string)), n)
	}

	// A clean close is echoed.
	c.frame(true, 0, ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusGoingAway, "bye"))
	testutil.Equal(t, "close echo", c.closeCode(), 1001)
}

func TestWebSocketIdleTimeout(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, cfg transport.WebSocketConfig) {
		cfg.IdleTimeout = 50 * time.Millisecond
		srv := server(t, cfg, nil)
		c := dial(t, srv)
		testutil.Equal(t, "close code", c.closeCode(), 1001)
	})
}

func TestWebSocketShutdown(t *testing.T) {
	t.Parallel()
	r := &channel.Router{}
	sock, _ := channel.NewSocket(channel.Config{Router: r})
	h, err := transport.NewWebSocket(transport.WebSocketConfig{Socket: sock})
	testutil.Success(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	conns := []*rawConn{dial(t, srv), dial(t, srv)}
	testutil.CheckFor(t, 5*time.Second, func() error {
		if n := h.Conns(); n != 2 {
			return fmt.Errorf("%d conns", n)
		}
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() {
		for _, c := range conns {
			testutil.Equal(t, "close code", c.closeCode(), transport.CloseServiceRestart)
		}
	}()
	testutil.Success(t, h.Shutdown(ctx))
	testutil.Equal(t, "conns after shutdown", h.Conns(), 0)
}

func TestWebSocketConfig(t *testing.T) {
	t.Parallel()
	_, err := transport.NewWebSocket(transport.WebSocketConfig{})
	testutil.Error(t, err)
	sock, _ := channel.NewSocket(channel.Config{})
	_, err = transport.NewWebSocket(transport.WebSocketConfig{Socket: sock, AllowedOrigins: []string{"http://"}})
	testutil.Error(t, err)
}

// TestWebSocketCloseCodes accepts the codes of the IANA registry that
// RFC 6455 did not list (1012, 1013) and refuses those never to be sent.
func TestWebSocketCloseCodes(t *testing.T) {
	t.Parallel()
	srv := server(t, transport.WebSocketConfig{}, nil)
	tests := []struct {
		name       string
		code, want int
	}{
		{"service restart", 1012, 1012},
		{"try again later", 1013, 1013},
		{"application", 4000, 4000},
		{"no status must not be sent", 1005, 1002},
		{"abnormal must not be sent", 1006, 1002},
		{"unassigned", 2000, 1002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, srv)
			c.t = t
			c.frame(true, 0, ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusCode(tt.code), ""))
			testutil.Equal(t, "close code", c.closeCode(), tt.want)
		})
	}
}

// TestWebSocketShutdownBatches closes connections in batches: the last
// one gets its close frame only after the first batch has gone.
func TestWebSocketShutdownBatches(t *testing.T) {
	t.Parallel()
	sock, _ := channel.NewSocket(channel.Config{})
	h, err := transport.NewWebSocket(transport.WebSocketConfig{Socket: sock, DrainBatch: 2, DrainInterval: 1500 * time.Millisecond})
	testutil.Success(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()
	conns := []*rawConn{dial(t, srv), dial(t, srv), dial(t, srv)}
	testutil.CheckFor(t, 5*time.Second, func() error {
		if n := h.Conns(); n != 3 {
			return fmt.Errorf("%d conns", n)
		}
		return nil
	})
	type closed struct{ code, left int }
	got := make(chan closed, 3)
	for _, c := range conns {
		go func() {
			code := c.closeCode()
			got <- closed{code, h.Conns()}
			c.nc.Close() // as a browser answers the close: the server lets go at once
		}()
	}
	testutil.Success(t, h.Shutdown(context.Background()))
	var lefts []int
	for range 3 {
		c := <-got
		testutil.Equal(t, "close code", c.code, transport.CloseServiceRestart)
		lefts = append(lefts, c.left)
	}
	// The third close frame arrived after the first two connections were
	// gone: at most one connection was left when it came.
	if lefts[2] > 1 {
		t.Fatalf("connections left when each close frame arrived: %v; want the last batch alone", lefts)
	}
}

// TestWebSocketTrickleDeadline: a message must complete within the idle
// timeout; a byte now and then does not keep an incomplete one alive.
func TestWebSocketTrickleDeadline(t *testing.T) {
	t.Parallel()
	forEachMode(t, func(t *testing.T, cfg transport.WebSocketConfig) {
		cfg.IdleTimeout = 200 * time.Millisecond
		srv := server(t, cfg, nil)
		c := dial(t, srv)
		// A masked binary frame announcing 1000 bytes, then one byte every 20 ms.
		_, err := c.nc.Write([]byte{0x82, 0x80 | 126, 0x03, 0xe8, 1, 2, 3, 4})
		testutil.Success(t, err)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			tk := time.NewTicker(20 * time.Millisecond)
			defer tk.Stop()
			for range 500 {
				select {
				case <-stop:
					return
				case <-tk.C:
				}
				if _, err := c.nc.Write([]byte{0}); err != nil {
					return
				}
			}
		}()
		defer func() { close(stop); <-done }()
		testutil.Equal(t, "close code", c.closeCode(), 1008)
	})
}
