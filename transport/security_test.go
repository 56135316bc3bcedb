package transport_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/transport"
)

// gateRoom blocks its "block" event until the gate opens, as a slow
// handler (a database stalled) would, and echoes everything else.
type gateRoom struct {
	gate  chan struct{}
	sessC chan *channel.Session
}

func (r gateRoom) Join(ctx context.Context, ch *channel.Channel, p channel.Payload) (any, error) {
	select {
	case r.sessC <- ch.Session():
	default:
	}
	return nil, nil
}

func (r gateRoom) HandleIn(ctx context.Context, ch *channel.Channel, ev string, p channel.Payload) channel.Reply {
	if ev == "block" {
		select {
		case <-r.gate:
		case <-ctx.Done():
		}
	}
	return channel.OK(nil)
}

func gateServer(t *testing.T, cfg transport.WebSocketConfig, limits channel.Limits) (*httptest.Server, gateRoom, *transport.WebSocket) {
	t.Helper()
	room := gateRoom{gate: make(chan struct{}), sessC: make(chan *channel.Session, 1)}
	r := &channel.Router{}
	testutil.Success(t, r.Handle("room:*", func() channel.Handler { return room }))
	sock, err := channel.NewSocket(channel.Config{Router: r, Limits: limits})
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
	return srv, room, h
}

// maskedText is one client text frame, masked, ready to write.
func maskedText(payload string) []byte {
	n := len(payload)
	buf := []byte{0x80 | byte(ws.OpText)}
	switch {
	case n < 126:
		buf = append(buf, 0x80|byte(n))
	case n <= 0xffff:
		buf = binary.BigEndian.AppendUint16(append(buf, 0x80|126), uint16(n))
	default:
		buf = binary.BigEndian.AppendUint64(append(buf, 0x80|127), uint64(n))
	}
	mask := [4]byte{1, 2, 3, 4}
	buf = append(buf, mask[:]...)
	data := []byte(payload)
	ws.Cipher(data, mask, 0)
	return append(buf, data...)
}

// TestSecurityFloodBackpressure replays the flood: one socket blocks its
// channel (slow {"ms":8000} in the conformance app), then sends 300
// messages of 1 MB. The server stops reading that socket once its
// channel holds MaxQueuedBytes: what it queues stays under the bound,
// the heap does not grow by the flood, TCP pushes back on the client
// (it cannot write the 300 MB), and another client's round trip is not
// held up. Not parallel: it measures the heap.
func TestSecurityFloodBackpressure(t *testing.T) {
	for _, mode := range []struct {
		name string
		cfg  transport.WebSocketConfig
	}{{"event loop", transport.WebSocketConfig{}}, {"goroutine", transport.WebSocketConfig{DisableEventLoop: true}}} {
		t.Run(mode.name, func(t *testing.T) { testFlood(t, mode.cfg) })
	}
}

func testFlood(t *testing.T, cfg transport.WebSocketConfig) {
	const (
		frames    = 300
		frameSize = 1 << 20
		bound     = 1 << 20 // MaxQueuedBytes
	)
	cfg.MaxMessageSize = 2 << 20
	limits := channel.Limits{MessageRate: -1, MaxPayload: 2 << 20, MaxQueuedBytes: bound, MaxChannelQueue: bound}
	srv, room, _ := gateServer(t, cfg, limits)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	flooder := dial(t, srv)
	flooder.text(`["1","1","room:a","phx_join",{}]`)
	flooder.next()
	sess := <-room.sessC
	flooder.text(`["1","2","room:a","block",{}]`)

	frame := maskedText(`["1","3","room:a","echo",{"b":"` + strings.Repeat("x", frameSize) + `"}]`)
	var wrote sync.WaitGroup
	written := make(chan int, 1)
	wrote.Add(1)
	go func() {
		defer wrote.Done()
		n := 0
		for range frames {
			flooder.nc.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := flooder.nc.Write(frame); err != nil {
				break // TCP pushed back: the server stopped reading
			}
			n++
		}
		written <- n
	}()
	wrote.Wait()
	n := <-written

	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	growth := int64(after.HeapInuse) - int64(before.HeapInuse)
	queued := sess.Queued()
	t.Logf("flood: client wrote %d of %d MB before TCP pushed back; server queued %d bytes, heap in use grew %.1f MiB",
		n, frames, queued, float64(growth)/(1<<20))

	if !sess.Paused() {
		t.Errorf("session not paused with %d bytes queued", queued)
	}
	// At most the bound, one message over it, and what one read buffer
	// held besides.
	if max := int64(bound + frameSize + 64<<10 + 4096); queued > max {
		t.Errorf("Queued() = %d bytes, want at most %d", queued, max)
	}
	if n >= frames {
		t.Errorf("client wrote all %d MB: the server never pushed back", frames)
	}
	if growth > 48<<20 {
		t.Errorf("heap in use grew %d MiB during the flood, want under 48 MiB", growth>>20)
	}

	// A bystander is served at once.
	bystander := dial(t, srv)
	start := time.Now()
	bystander.roundTrip("b1")
	if d := time.Since(start); d > time.Second {
		t.Errorf("bystander round trip took %v while the flooder was paused", d)
	}

	// Once the channel catches up, the connection is read again.
	close(room.gate)
	testutil.CheckFor(t, 10*time.Second, func() error {
		if sess.Paused() {
			return fmt.Errorf("still paused with %d bytes queued", sess.Queued())
		}
		return nil
	})
}

// TestSecurityPauseTimeout closes, with 1013, a connection whose channel
// does not catch up within PauseTimeout.
func TestSecurityPauseTimeout(t *testing.T) {
	t.Parallel()
	limits := channel.Limits{MessageRate: -1, MaxQueuedBytes: 4096, MaxChannelQueue: 4096}
	srv, room, h := gateServer(t, transport.WebSocketConfig{PauseTimeout: 300 * time.Millisecond}, limits)
	t.Cleanup(func() { close(room.gate) })
	c := dial(t, srv)
	c.text(`["1","1","room:a","phx_join",{}]`)
	c.next()
	<-room.sessC
	c.text(`["1","2","room:a","block",{}]`)
	for i := range 10 {
		c.text(fmt.Sprintf(`["1","%d","room:a","echo",{"b":"%s"}]`, i+3, strings.Repeat("x", 1000)))
	}
	testutil.Equal(t, "close code", c.closeCode(), transport.CloseTryAgainLater)
	testutil.Equal(t, "paused hits", h.LimitHits().Paused, uint64(1))
}

// TestSecurityConnsPerIP refuses a client's connection over
// MaxConnsPerIP with 429 and counts it; X-Forwarded-For is believed only
// from a trusted proxy.
func TestSecurityConnsPerIP(t *testing.T) {
	t.Parallel()
	srv, _, h := gateServer(t, transport.WebSocketConfig{MaxConnsPerIP: 2, TrustedProxies: []string{"127.0.0.1"}}, channel.Limits{})
	xff := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {"6.6.6.6, " + ip}} }
	for range 2 {
		_, resp := handshake(t, srv, "vsn=2.0.0", xff("1.2.3.4"))
		testutil.Equal(t, "status", resp.StatusCode, http.StatusSwitchingProtocols)
	}
	_, resp := handshake(t, srv, "vsn=2.0.0", xff("1.2.3.4"))
	testutil.Equal(t, "third from 1.2.3.4", resp.StatusCode, http.StatusTooManyRequests)
	_, resp = handshake(t, srv, "vsn=2.0.0", xff("5.6.7.8"))
	testutil.Equal(t, "another client", resp.StatusCode, http.StatusSwitchingProtocols)
	testutil.Equal(t, "per-IP hits", h.LimitHits().PerIP, uint64(1))
}

// TestSecurityConnsPerIPUntrusted counts every client as the peer when
// the peer is not a trusted proxy: a forged X-Forwarded-For changes
// nothing.
func TestSecurityConnsPerIPUntrusted(t *testing.T) {
	t.Parallel()
	srv, _, _ := gateServer(t, transport.WebSocketConfig{MaxConnsPerIP: 1}, channel.Limits{})
	_, resp := handshake(t, srv, "vsn=2.0.0", http.Header{"X-Forwarded-For": {"1.1.1.1"}})
	testutil.Equal(t, "first", resp.StatusCode, http.StatusSwitchingProtocols)
	_, resp = handshake(t, srv, "vsn=2.0.0", http.Header{"X-Forwarded-For": {"2.2.2.2"}})
	testutil.Equal(t, "second, forged XFF", resp.StatusCode, http.StatusTooManyRequests)
}

// TestSecurityRateLimit answers messages over the rate with
// {"reason":"rate limited"} and closes a client that keeps on with 1008.
func TestSecurityRateLimit(t *testing.T) {
	t.Parallel()
	srv, _, _ := gateServer(t, transport.WebSocketConfig{}, channel.Limits{MessageRate: 1, MessageBurst: 5})
	c := dial(t, srv)
	for i := range 5 {
		c.roundTrip(fmt.Sprint(i))
	}
	c.text(`[null,"x","phoenix","heartbeat",{}]`)
	_, p := c.next()
	testutil.Equal(t, "over the rate", string(p), `[null,"x","phoenix","phx_reply",{"response":{"reason":"rate limited"},"status":"error"}]`)
	for i := range 20 {
		c.text(fmt.Sprintf(`[null,"f%d","phoenix","heartbeat",{}]`, i))
	}
	testutil.Equal(t, "close code", c.closeCode(), channel.ClosePolicyViolation)
}

// TestSecurityOriginOtherPort refuses, by default, a page served from
// another port of the same host: another origin, which a check that
// ignores ports lets in.
func TestSecurityOriginOtherPort(t *testing.T) {
	t.Parallel()
	srv, _, _ := gateServer(t, transport.WebSocketConfig{}, channel.Limits{})
	addr := srv.Listener.Addr().(*net.TCPAddr)
	other := fmt.Sprintf("http://127.0.0.1:%d", addr.Port+1)
	_, resp := handshake(t, srv, "vsn=2.0.0", http.Header{"Origin": {other}})
	testutil.Equal(t, "origin "+other, resp.StatusCode, http.StatusForbidden)
	_, resp = handshake(t, srv, "vsn=2.0.0", http.Header{"Origin": {"http://" + addr.String()}})
	testutil.Equal(t, "same origin", resp.StatusCode, http.StatusSwitchingProtocols)
}
