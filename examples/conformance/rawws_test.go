package main

import (
	"bufio"
	"context"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// websocketDialer opens a raw WebSocket, to send what no client would.
type websocketDialer struct{}

type rawWS struct {
	nc net.Conn
	br *bufio.Reader
}

func (websocketDialer) dial(u string) (*rawWS, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, br, _, err := ws.Dial(ctx, u)
	if err != nil {
		return nil, 0, err
	}
	if br == nil {
		br = bufio.NewReader(nc)
	}
	return &rawWS{nc: nc, br: br}, 101, nil
}

// sendGarbage sends a text frame that is not a Phoenix message and returns
// the close code the server answers with.
func (c *rawWS) sendGarbage(t *testing.T) int {
	t.Helper()
	defer c.nc.Close()
	if err := wsutil.WriteClientText(c.nc, []byte("this is not json")); err != nil {
		t.Fatal(err)
	}
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		h, err := ws.ReadHeader(c.br)
		if err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		p := make([]byte, h.Length)
		if _, err := ioReadFull(c.br, p); err != nil {
			t.Fatal(err)
		}
		if h.OpCode == ws.OpClose {
			code, _ := ws.ParseCloseFrameData(p)
			return int(code)
		}
	}
}

func ioReadFull(r *bufio.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
