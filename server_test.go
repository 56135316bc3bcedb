package suzaku_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku"
	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/client"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

type echo struct{}

func (echo) Join(context.Context, *channel.Channel, channel.Payload) (any, error) { return nil, nil }

func (echo) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
	return channel.OK(p)
}

// flaky fails once, then runs until its context ends.
type flaky struct{ starts atomic.Int32 }

func (f *flaky) Serve(ctx context.Context) error {
	if f.starts.Add(1) == 1 {
		return errors.New("first start fails")
	}
	<-ctx.Done()
	return ctx.Err()
}

func TestServer(t *testing.T) {
	t.Parallel()
	router := &channel.Router{}
	testutil.Success(t, router.Handle("echo:*", func() channel.Handler { return echo{} }))
	socket, err := channel.NewSocket(channel.Config{Router: router})
	testutil.Success(t, err)
	svc := &flaky{}
	api := http.NewServeMux()
	api.HandleFunc("GET /api/ping", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "pong") })
	srv, err := suzaku.New(suzaku.Config{Socket: socket, Handler: api, Services: []suzaku.Service{svc}, ShutdownTimeout: 5 * time.Second})
	testutil.Success(t, err)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.Success(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	// The application's handler.
	resp, err := http.Get(base + "/api/ping")
	testutil.Success(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	testutil.Equal(t, "api", string(body), "pong")

	// WebSocket.
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	sock, err := client.Dial(dctx, "ws://"+ln.Addr().String()+"/socket/websocket", nil)
	testutil.Success(t, err)
	ch := sock.Channel("echo:1", nil)
	_, err = ch.Join(dctx)
	testutil.Success(t, err)
	r, err := ch.Push(dctx, "hi", map[string]int{"n": 1})
	testutil.Success(t, err)
	testutil.Equal(t, "echo", string(r.Response), `{"n":1}`)

	// LongPoll opens a session.
	resp, err = http.Get(base + "/socket/longpoll?vsn=2.0.0")
	testutil.Success(t, err)
	var lp struct {
		Status int    `json:"status"`
		Token  string `json:"token"`
	}
	testutil.Success(t, json.NewDecoder(resp.Body).Decode(&lp))
	resp.Body.Close()
	testutil.Equal(t, "longpoll status", lp.Status, 410)

	// The service was restarted by the supervisor.
	testutil.CheckFor(t, 5*time.Second, func() error {
		if n := svc.starts.Load(); n < 2 {
			return errors.New("service not restarted")
		}
		return nil
	})

	// Cancelling drains: the socket is closed with 1012, Serve returns nil.
	cancel()
	select {
	case err := <-served:
		testutil.Success(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	<-sock.Done()
	if code := client.CloseStatus(sock.Err()); code != 1012 {
		t.Fatalf("close code %d (%v), want 1012", code, sock.Err())
	}
	_, err = http.Get(base + "/api/ping")
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("server still answers after shutdown: %v", err)
	}
}

func TestServerConfig(t *testing.T) {
	t.Parallel()
	socket, _ := channel.NewSocket(channel.Config{})
	_, err := suzaku.New(suzaku.Config{Socket: socket, WebSocket: transportWithBadOrigin()})
	testutil.Error(t, err)
}

// TestServerProtocols checks HTTP/2 over TLS, h2c, and WebSocket over TLS
// (which takes the reader-goroutine path: TLS cannot go to epoll).
func TestServerProtocols(t *testing.T) {
	t.Parallel()
	cert, err := suzaku.DevCertificate()
	testutil.Success(t, err)
	router := &channel.Router{}
	testutil.Success(t, router.Handle("echo:*", func() channel.Handler { return echo{} }))
	socket, _ := channel.NewSocket(channel.Config{Router: router})
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) })
	tests := []struct {
		name   string
		cfg    suzaku.Config
		scheme string
		client *http.Client
		want   string
	}{
		{"tls", suzaku.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}, "https",
			&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}}, "HTTP/2.0"},
		{"h2c", suzaku.Config{H2C: true}, "http", &http.Client{Transport: h2cTransport()}, "HTTP/2.0"},
		{"plain", suzaku.Config{}, "http", http.DefaultClient, "HTTP/1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			cfg.Handler, cfg.Socket = hello, socket
			srv, err := suzaku.New(cfg)
			testutil.Success(t, err)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			testutil.Success(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ctx, ln) }()
			defer func() { cancel(); <-served }()

			resp, err := tt.client.Get(tt.scheme + "://" + ln.Addr().String() + "/")
			testutil.Success(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			testutil.Equal(t, "protocol", string(body), tt.want)

			ws := "ws"
			if tt.scheme == "https" {
				ws = "wss"
			}
			dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer dcancel()
			sock, err := client.Dial(dctx, ws+"://"+ln.Addr().String()+"/socket/websocket",
				&client.Config{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
			testutil.Success(t, err)
			defer sock.Close()
			ch := sock.Channel("echo:1", nil)
			_, err = ch.Join(dctx)
			testutil.Success(t, err)
			r, err := ch.Push(dctx, "hi", map[string]int{"n": 2})
			testutil.Success(t, err)
			testutil.Equal(t, "echo", string(r.Response), `{"n":2}`)
		})
	}
}

func h2cTransport() *http.Transport {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return tr
}
