package suzaku_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku"
	"github.com/suzaku-go/suzaku/api"
	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/transport"
)

// slowBody sends a request whose body comes one byte every gap, and
// returns how long the server took to give up on it (answer or close).
func slowBody(t *testing.T, addr, path string, hdr string, gap time.Duration) (time.Duration, string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	testutil.Success(t, err)
	defer nc.Close()
	start := time.Now()
	fmt.Fprintf(nc, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n%sContent-Length: 1000\r\n\r\n{", path, addr, hdr)
	answered := make(chan string, 1)
	go func() {
		nc.SetReadDeadline(time.Now().Add(20 * time.Second))
		line, _ := bufio.NewReader(nc).ReadString('\n')
		answered <- strings.TrimSpace(line)
	}()
	t0 := time.NewTicker(gap)
	defer t0.Stop()
	for {
		select {
		case line := <-answered:
			return time.Since(start), line
		case <-t0.C:
			if _, err := nc.Write([]byte(" ")); err != nil {
				return time.Since(start), "write: " + err.Error()
			}
		}
	}
}

// TestSecuritySlowBody feeds request bodies a byte every 100 ms to an api
// handler, a LongPoll POST and a plain handler: each is cut off at its
// deadline instead of being held open for as long as the client likes.
func TestSecuritySlowBody(t *testing.T) {
	t.Parallel()
	socket, err := channel.NewSocket(channel.Config{})
	testutil.Success(t, err)
	mux := http.NewServeMux()
	type in struct{ A string }
	mux.Handle("POST /api/thing", api.Handle(&api.Config{BodyTimeout: 500 * time.Millisecond}, func(ctx context.Context, r *http.Request, v in) (in, error) { return v, nil }))
	mux.HandleFunc("POST /plain", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "slow", http.StatusRequestTimeout)
		}
	})
	srv, err := suzaku.New(suzaku.Config{Socket: socket, Handler: mux, BodyTimeout: 700 * time.Millisecond,
		LongPoll: transport.LongPollConfig{BodyTimeout: 500 * time.Millisecond}})
	testutil.Success(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.Success(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-served })
	addr := ln.Addr().String()

	// A LongPoll session to post to.
	resp, err := http.Get("http://" + addr + "/socket/longpoll?vsn=2.0.0")
	testutil.Success(t, err)
	var lp struct{ Token string }
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	testutil.Success(t, jsonUnmarshal(body, &lp))

	for _, tc := range []struct{ name, path, hdr string }{
		{"api handler", "/api/thing", ""},
		{"longpoll POST", "/socket/longpoll?vsn=2.0.0", "X-Phoenix-Longpoll-Token: " + lp.Token + "\r\n"},
		{"plain handler", "/plain", ""},
	} {
		took, line := slowBody(t, addr, tc.path, tc.hdr, 100*time.Millisecond)
		t.Logf("%s: cut after %v (%q)", tc.name, took.Round(10*time.Millisecond), line)
		if took > 3*time.Second {
			t.Errorf("%s: a body trickling a byte every 100 ms held the request for %v", tc.name, took)
		}
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
