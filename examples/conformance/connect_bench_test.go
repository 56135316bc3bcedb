//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"

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
		benchConnectJoin(b, a, func(ctx context.Context) error { <-ctx.Done(); return nil })
	})
	b.Run("raw", func(b *testing.B) {
		srv, err := rawbaseline.New()
		if err != nil {
			b.Fatal(err)
		}
		benchConnectJoin(b, srv, srv.Serve)
	})
}

func benchConnectJoin(b *testing.B, h http.Handler, loop func(context.Context) error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- loop(ctx) }()
	hs := &http.Server{Handler: h}
	if s, ok := h.(interface {
		Serve(context.Context, net.Listener) error
	}); ok {
		go func() { done <- s.Serve(ctx, ln) }()
	} else {
		go func() { done <- hs.Serve(ln) }()
	}
	defer func() {
		cancel()
		hs.Close()
		ln.Close()
		<-done
		<-done
	}()
	addr := ln.Addr().String()
	req := []byte("GET /socket/websocket?vsn=2.0.0&user=bench HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	join := maskedText([]byte(`["1","1","bench:connect","phx_join",{}]`))
	buf := bufio.NewReaderSize(nil, 4096)
	// One connection stays open throughout, as thousands do in the load
	// tool's scenario: without it, the endpoint would start and stop its
	// event loop with every connection.
	keep := connectJoin(b, addr, req, join, buf)
	defer keep.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		connectJoin(b, addr, req, join, buf).Close()
	}
	b.StopTimer()
}

// connectJoin opens a connection, upgrades it, joins and reads the reply.
func connectJoin(b *testing.B, addr string, req, join []byte, buf *bufio.Reader) net.Conn {
	{
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
		var hdr [2]byte
		if _, err := io.ReadFull(buf, hdr[:]); err != nil {
			b.Fatal(err)
		}
		n := int(hdr[1] & 0x7f)
		if n == 126 {
			var ext [2]byte
			if _, err := io.ReadFull(buf, ext[:]); err != nil {
				b.Fatal(err)
			}
			n = int(ext[0])<<8 | int(ext[1])
		}
		reply := make([]byte, n)
		if _, err := io.ReadFull(buf, reply); err != nil {
			b.Fatal(err)
		}
		if !bytes.Contains(reply, []byte(`"ok"`)) {
			b.Fatalf("join reply %s", reply)
		}
		return c
	}
}

// maskedText frames p as a masked client text frame (p < 126 bytes).
func maskedText(p []byte) []byte {
	if len(p) >= 126 {
		panic(fmt.Sprintf("maskedText: %d bytes", len(p)))
	}
	key := [4]byte{1, 2, 3, 4}
	out := append([]byte{0x81, 0x80 | byte(len(p))}, key[:]...)
	for i, c := range p {
		out = append(out, c^key[i%4])
	}
	return out
}
