//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/gobwas/ws"

	"github.com/suzaku-go/suzaku/internal/rawbaseline"
)

// BenchmarkConnectJoin opens a WebSocket, joins a bench topic, reads the
// reply and closes, one connection after the other, against this app and
// against the raw baseline in the same run: the load tool's connect
// scenario in miniature, for profiles and allocation counts of the
// server's side (go test -run '^$' -bench ConnectJoin -cpuprofile …).
// The client's work is the same for both.
func BenchmarkConnectJoin(b *testing.B) {
	b.Run("suzaku", func(b *testing.B) {
		// Info level, as the load tool runs the app: the connect and
		// join log lines are part of the cost.
		a, err := newApp(options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			b.Fatal(err)
		}
		benchConnectJoin(b, a.Serve)
	})
	b.Run("raw", func(b *testing.B) {
		srv, err := rawbaseline.New()
		if err != nil {
			b.Fatal(err)
		}
		benchConnectJoin(b, func(ctx context.Context, ln net.Listener) error {
			hs := &http.Server{Handler: srv}
			loop := make(chan error, 1)
			go func() { loop <- srv.Serve(ctx) }()
			go func() { <-ctx.Done(); hs.Close() }()
			err := hs.Serve(ln)
			<-loop
			if err != http.ErrServerClosed {
				return err
			}
			return nil
		})
	})
}

// benchConnectJoin serves on a loopback listener with serve and runs
// b.N connect+joins against it.
func benchConnectJoin(b *testing.B, serve func(context.Context, net.Listener) error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()
	defer func() {
		cancel()
		<-done
	}()
	addr := ln.Addr().String()
	req := []byte("GET /socket/websocket?vsn=2.0.0&user=bench HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	var join bytes.Buffer
	if err := ws.WriteFrame(&join, ws.MaskFrame(ws.NewTextFrame([]byte(`["1","1","bench:connect","phx_join",{}]`)))); err != nil {
		b.Fatal(err)
	}
	buf := bufio.NewReaderSize(nil, 4096)
	// One connection stays open throughout, as thousands do in the load
	// tool's scenario: without it, the endpoint would start and stop its
	// event loop with every connection.
	keep := connectJoin(b, addr, req, join.Bytes(), buf)
	defer keep.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		connectJoin(b, addr, req, join.Bytes(), buf).Close()
	}
	b.StopTimer()
}

// connectJoin opens a connection, upgrades it, joins and reads the reply.
func connectJoin(b *testing.B, addr string, req, join []byte, buf *bufio.Reader) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Write(req); err != nil {
		b.Fatal(err)
	}
	buf.Reset(c)
	for { // the 101 response's header
		line, err := buf.ReadSlice('\n')
		if err != nil {
			b.Fatal(err)
		}
		if len(line) == 2 {
			break
		}
	}
	if _, err := c.Write(join); err != nil {
		b.Fatal(err)
	}
	f, err := ws.ReadFrame(buf)
	if err != nil {
		b.Fatal(err)
	}
	if !bytes.Contains(f.Payload, []byte(`"ok"`)) {
		b.Fatalf("join reply %s", f.Payload)
	}
	return c
}
