package transport

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/wire"
)

// newTestConn returns a wsConn over nc with a served session, on an
// endpoint with cfg.
func newTestConn(t *testing.T, cfg WebSocketConfig, nc net.Conn) *wsConn {
	t.Helper()
	sock, err := channel.NewSocket(channel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Socket = sock
	h, err := NewWebSocket(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := sock.Connect(context.Background(), &channel.ConnectInfo{}, wire.V2{})
	if err != nil {
		t.Fatal(err)
	}
	c := newWSConn(h, nc, sess)
	if err := sess.Serve(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	return c
}

// TestWebSocketQueueBoundWhileFlushBlocked: the bytes a connection holds
// for a client that does not read stay within WriteQueueLimit (plus one
// frame), even while a flush is blocked writing the previous batch.
func TestWebSocketQueueBoundWhileFlushBlocked(t *testing.T) {
	t.Parallel()
	const limit = 10_000
	server, client := net.Pipe() // no raw socket: every Send queues
	defer client.Close()
	c := newTestConn(t, WebSocketConfig{WriteQueueLimit: limit, WriteTimeout: 10 * time.Second}, server)
	defer c.finish()
	frame := wire.Frame{Opcode: wire.OpText, Data: make([]byte, 100)}
	// Queue almost a limit's worth while the flush goroutine is held
	// back, so that it then takes it all in one batch and blocks on it.
	c.mu.Lock()
	c.writing = true
	c.mu.Unlock()
	accepted := 0
	for range limit/len(frame.Data) - 2 {
		if err := c.Send(frame); err != nil {
			t.Fatal(err)
		}
		accepted += len(frame.Data)
	}
	go c.flush()
	// The flush has taken the batch once the client sees its first byte.
	one := make([]byte, 1)
	if _, err := client.Read(one); err != nil {
		t.Fatal(err)
	}
	for c.Send(frame) == nil {
		accepted += len(frame.Data)
	}
	if accepted > limit+len(frame.Data) {
		t.Fatalf("accepted %d bytes for a client that reads nothing, want at most WriteQueueLimit %d", accepted, limit)
	}
}

// TestWebSocketAddAfterFinish: the event loop never registers a
// connection that finish has already torn down (the janitor may finish a
// connection before ServeHTTP has added it to the loop): the poller would
// hold it forever.
func TestWebSocketAddAfterFinish(t *testing.T) {
	t.Parallel()
	if !eventLoopSupported {
		t.Skip("no event loop on this platform")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := newTestConn(t, WebSocketConfig{}, nc)
	loop, err := newEventLoop()
	if err != nil {
		t.Fatal(err)
	}
	defer loop.close()
	// finish has marked the connection finished and read c.loop (nil),
	// but has not closed the socket yet: add runs now.
	c.mu.Lock()
	c.finished = true
	c.mu.Unlock()
	_ = loop.add(c)
	if p := loop.poller(c); p != nil {
		p.mu.Lock()
		delete(p.conns, c.pollID)
		p.mu.Unlock()
		t.Fatal("add registered a finished connection: nothing will ever remove it")
	}
}
