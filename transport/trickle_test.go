package transport_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/transport"
)

// TestWebSocketTrickleCPU measures the server's CPU time while 20 sockets
// each trickle a 1 MB frame in 1 KiB pieces (the review's figure: 1.64 s
// with a parser that copied the frame on every piece). It is a load
// measurement, not a check: it runs only with SUZAKU_TRICKLE=1, under the
// load lock:
//
//	SUZAKU_TRICKLE=1 flock /tmp/suzaku-load.lock go test -run TestWebSocketTrickleCPU -v ./transport/
//
// The server runs in a child process (this test binary again), so that
// the figure is the server's alone.
func TestWebSocketTrickleCPU(t *testing.T) {
	if os.Getenv("SUZAKU_TRICKLE") != "1" {
		t.Skip("a load measurement: set SUZAKU_TRICKLE=1 and run it under flock /tmp/suzaku-load.lock")
	}
	const conns, size, piece = 20, 1_000_000, 1 << 10
	cmd := exec.Command(os.Args[0], "-test.run=^TestWebSocketTrickleServer$")
	cmd.Env = append(os.Environ(), "SUZAKU_TRICKLE_SERVER=1")
	stdin, err := cmd.StdinPipe()
	testutil.Success(t, err)
	stdout, err := cmd.StdoutPipe()
	testutil.Success(t, err)
	cmd.Stderr = os.Stderr
	testutil.Success(t, cmd.Start())
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	testutil.Success(t, err)
	addr := strings.TrimSpace(strings.TrimPrefix(line, "addr "))

	var ncs []net.Conn
	var brs []*bufio.Reader
	for range conns {
		nc, err := net.Dial("tcp", addr)
		testutil.Success(t, err)
		defer nc.Close()
		req, _ := http.NewRequest("GET", "http://"+addr+"/socket/websocket?vsn=2.0.0", nil)
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		req.Header.Set("Sec-WebSocket-Version", "13")
		testutil.Success(t, req.Write(nc))
		br := bufio.NewReader(nc)
		resp, err := http.ReadResponse(br, req)
		testutil.Success(t, err)
		testutil.Equal(t, "status", resp.StatusCode, http.StatusSwitchingProtocols)
		hdr := binary.BigEndian.AppendUint64([]byte{0x82, 0x80 | 127}, size)
		_, err = nc.Write(append(hdr, 0, 0, 0, 0)) // a zero mask
		testutil.Success(t, err)
		ncs, brs = append(ncs, nc), append(brs, br)
	}
	start := time.Now()
	chunk := make([]byte, piece)
	for sent := 0; sent < size; sent += piece {
		n := min(piece, size-sent)
		for _, nc := range ncs {
			_, err := nc.Write(chunk[:n])
			testutil.Success(t, err)
		}
		time.Sleep(200 * time.Microsecond)
	}
	// The server answers the whole (undecodable) message with a close frame.
	var wg sync.WaitGroup
	for _, br := range brs {
		wg.Go(func() {
			for {
				h, err := ws.ReadHeader(br)
				if err != nil {
					return
				}
				if _, err := io.CopyN(io.Discard, br, h.Length); err != nil || h.OpCode == ws.OpClose {
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	stdin.Close()
	line, err = out.ReadString('\n')
	testutil.Success(t, err)
	testutil.Success(t, cmd.Wait())
	t.Logf("%d sockets x %d bytes in %d-byte pieces, %v: server %s", conns, size, piece, elapsed.Round(time.Millisecond), strings.TrimSpace(line))
}

// TestWebSocketTrickleServer is the server half of TestWebSocketTrickleCPU:
// it serves until stdin closes, then prints its CPU time.
func TestWebSocketTrickleServer(t *testing.T) {
	if os.Getenv("SUZAKU_TRICKLE_SERVER") != "1" {
		t.Skip("the child process of TestWebSocketTrickleCPU")
	}
	sock, err := channel.NewSocket(channel.Config{Router: &channel.Router{}})
	testutil.Success(t, err)
	h, err := transport.NewWebSocket(transport.WebSocketConfig{Socket: sock, InsecureSkipOriginCheck: true})
	testutil.Success(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.Success(t, err)
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	var before syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	fmt.Printf("addr %s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	var after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
	fmt.Printf("cpu %v (user %v, sys %v)\n", cpu.Round(time.Millisecond),
		time.Duration(after.Utime.Nano()-before.Utime.Nano()).Round(time.Millisecond),
		time.Duration(after.Stime.Nano()-before.Stime.Nano()).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = h.Shutdown(ctx)
	_ = srv.Shutdown(ctx)
}
