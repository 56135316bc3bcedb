package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku"
	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/client"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/metrics"
	"github.com/suzaku-go/suzaku/pubsub"
)

type echo struct{}

func (echo) Join(context.Context, *channel.Channel, channel.Payload) (any, error) { return nil, nil }

func (echo) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
	return channel.OK(p)
}

// node starts a server with metrics on GET /metrics and returns its
// address and socket.
func node(t *testing.T) (string, *channel.Socket) {
	t.Helper()
	m, err := metrics.New(metrics.Config{})
	testutil.Success(t, err)
	router := &channel.Router{}
	testutil.Success(t, router.Handle("echo:*", func() channel.Handler { return echo{} }))
	broker := pubsub.NewMemory(pubsub.MemoryConfig{Hook: m})
	sock, err := channel.NewSocket(channel.Config{Router: router, Broker: broker, Hook: m})
	testutil.Success(t, err)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m)
	srv, err := suzaku.New(suzaku.Config{Socket: sock, Handler: mux, ShutdownTimeout: 5 * time.Second})
	testutil.Success(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.Success(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		testutil.Success(t, <-done)
	})
	return ln.Addr().String(), sock
}

// scrape returns the samples of the exposition at addr, by their name and
// labels as written ("suzaku_connections{transport=\"websocket\"}").
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	testutil.Success(t, err)
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// expect polls the exposition until every sample has its value: the
// counters are exact once the node is at rest.
func expect(t *testing.T, addr string, want map[string]float64) {
	t.Helper()
	testutil.CheckFor(t, 5*time.Second, func() error {
		got := scrape(t, addr)
		for k, v := range want {
			if got[k] != v {
				return fmt.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
		return nil
	})
}

// TestMetricsExposition drives a node with the Go client (a known number
// of connections, joins, pushes and broadcasts) and checks the figures the
// conformance app must expose.
func TestMetricsExposition(t *testing.T) {
	t.Parallel()
	addr, sock := node(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	const clients, pushes = 3, 5
	var socks []*client.Socket
	for range clients {
		s, err := client.Dial(ctx, "ws://"+addr+"/socket/websocket", &client.Config{HeartbeatInterval: -1})
		testutil.Success(t, err)
		socks = append(socks, s)
		own := s.Channel("echo:own", nil)
		_, err = own.Join(ctx)
		testutil.Success(t, err)
		_, err = s.Channel("echo:shared", nil).Join(ctx)
		testutil.Success(t, err)
		for i := range pushes {
			_, err := own.Push(ctx, "ping", map[string]int{"i": i})
			testutil.Success(t, err)
		}
	}
	testutil.Success(t, sock.Broadcast(ctx, "echo:shared", "news", map[string]string{"a": "b"}))

	in := float64(clients * (2 + pushes)) // joins and pushes
	out := in + clients                   // their replies, and the broadcast
	expect(t, addr, map[string]float64{
		`suzaku_connections{transport="websocket"}`:              clients,
		`suzaku_connections{transport="longpoll"}`:               0,
		`suzaku_channels`:                                        2 * clients,
		`suzaku_pattern_channels{pattern="echo:*"}`:              2 * clients,
		`suzaku_messages_received_total`:                         in,
		`suzaku_messages_sent_total`:                             out,
		`suzaku_joins_total{pattern="echo:*"}`:                   2 * clients,
		`suzaku_replies_total{pattern="echo:*",status="ok"}`:     clients * pushes,
		`suzaku_broadcasts_total`:                                1,
		`suzaku_broadcast_fanout_sum`:                            clients,
		`suzaku_handle_duration_seconds_count{pattern="echo:*"}`: clients * pushes,
	})

	// A LongPoll session counts under its transport.
	resp, err := http.Get("http://" + addr + "/socket/longpoll?vsn=2.0.0")
	testutil.Success(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	expect(t, addr, map[string]float64{`suzaku_connections{transport="longpoll"}`: 1})

	// Closing a client takes its connection and channels away.
	socks[0].Close()
	expect(t, addr, map[string]float64{
		`suzaku_connections{transport="websocket"}`: clients - 1,
		`suzaku_channels`: 2 * (clients - 1),
		`suzaku_disconnections_total{code="1000",transport="websocket"}`: 1,
		`suzaku_channel_closes_total{pattern="echo:*",reason="closed"}`:  2,
	})
	for _, s := range socks[1:] {
		s.Close()
	}
	expect(t, addr, map[string]float64{`suzaku_connections{transport="websocket"}`: 0, `suzaku_channels`: 0})
	got := scrape(t, addr)
	if got["go_goroutines"] == 0 {
		t.Errorf("go_goroutines missing: the runtime collector is registered by default")
	}
}

func TestMetricsOwnRegistry(t *testing.T) {
	t.Parallel()
	m1, err := metrics.New(metrics.Config{})
	testutil.Success(t, err)
	m2, err := metrics.New(metrics.Config{})
	testutil.Success(t, err)
	if m1.Registry() == m2.Registry() {
		t.Fatal("two Metrics share a registry")
	}
	_, err = metrics.New(metrics.Config{Registry: m1.Registry()})
	testutil.Error(t, err) // the names are taken on that registry
}
