package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/cluster"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub/pubsubtest"
)

// These tests make nodes come and go, and restart a broker: a
// redis-server or nats-server process of the test's own, on a free port,
// never the shared one.

// freePort returns a port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.Success(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	testutil.Success(t, ln.Close())
	return port
}

// brokerProc is a broker server process the test owns.
type brokerProc struct {
	t    *testing.T
	kind string
	port int
	cmd  *exec.Cmd
}

// startBrokerProc starts a redis-server or nats-server on port, or skips
// the test (fails in CI) when the binary is missing.
func startBrokerProc(t *testing.T, kind string, port int) *brokerProc {
	t.Helper()
	p := &brokerProc{t: t, kind: kind, port: port}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *brokerProc) start() {
	t := p.t
	t.Helper()
	var bin string
	var args []string
	switch p.kind {
	case "redis":
		bin, args = "redis-server", []string{"--port", strconv.Itoa(p.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	case "nats":
		bin, args = "nats-server", []string{"-a", "127.0.0.1", "-p", strconv.Itoa(p.port)}
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		for _, dir := range []string{"/usr/bin/", "/usr/sbin/", "/usr/local/bin/"} {
			if _, serr := os.Stat(dir + bin); serr == nil {
				path, err = dir+bin, nil
				break
			}
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found: %v", bin, err)
		}
		t.Skipf("%s not found: %v", bin, err)
	}
	p.cmd = exec.Command(path, args...)
	testutil.Success(t, p.cmd.Start())
	testutil.CheckFor(t, waitFor, func() error {
		c, err := net.Dial("tcp", p.addr())
		if err != nil {
			return err
		}
		return c.Close()
	})
}

func (p *brokerProc) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

func (p *brokerProc) url() string {
	return p.kind + "://" + p.addr() + "?cluster=" + newName()
}

// stop kills the server and waits for it to exit.
func (p *brokerProc) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

// logCounter is a slog handler that counts records at Warn or above.
type logCounter struct {
	mu   sync.Mutex
	msgs []string
}

func (h *logCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *logCounter) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.msgs = append(h.msgs, r.Message)
	h.mu.Unlock()
	return nil
}
func (h *logCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logCounter) WithGroup(string) slog.Handler      { return h }

func (h *logCounter) lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.msgs...)
}

func listed(c *cluster.Cluster, topic string, keys ...string) error {
	l := c.Presence().List(topic)
	for _, k := range keys {
		if _, ok := l[k]; !ok {
			return fmt.Errorf("node %s lists %d users on %s, not %s", c.Node(), len(l), topic, k)
		}
	}
	return nil
}

// TestClusterBrokerRestart kills the broker under two nodes and starts it
// again on its port: local delivery never stops, the reconnect loop warns
// once rather than per message, and cross-node delivery and presence
// (including changes made during the outage) resume within 5 s of the
// broker's return.
func TestClusterBrokerRestart(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"redis", "nats"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			proc := startBrokerProc(t, kind, freePort(t))
			url := proc.url()
			logs := &logCounter{}
			a, err := cluster.New(cluster.Config{Broker: url, Node: "a", Logger: slog.New(logs)})
			testutil.Success(t, err)
			b := newCluster(t, url, "b")
			start(t, a)
			start(t, b)
			const room = "room:restart"
			_, err = a.Presence().Track(t.Context(), &owner{room}, "alice", map[string]any{})
			testutil.Success(t, err)
			_, err = b.Presence().Track(t.Context(), &owner{room}, "bob", map[string]any{})
			testutil.Success(t, err)
			for _, c := range []*cluster.Cluster{a, b} {
				testutil.CheckFor(t, waitFor, func() error { return listed(c, room, "alice", "bob") })
			}
			topic := pubsubtest.NewTopic("restart")
			ra, rb := pubsubtest.NewRecorder("a", 256), pubsubtest.NewRecorder("b", 256)
			testutil.Success(t, a.Broker().Subscribe(t.Context(), topic, ra))
			testutil.Success(t, b.Broker().Subscribe(t.Context(), topic, rb))

			proc.stop()
			for _, c := range []*cluster.Cluster{a, b} {
				testutil.CheckFor(t, waitFor, func() error {
					if c.Healthy(t.Context()) == nil {
						return errors.New(c.Node() + " is still healthy")
					}
					return nil
				})
			}
			// Local delivery never stops.
			for i := range 100 {
				testutil.Success(t, a.Broker().Broadcast(t.Context(), pubsubtest.Msg(topic, "during"+strconv.Itoa(i))))
			}
			for i := range 100 {
				if m := ra.Next(t); m.Event != "during"+strconv.Itoa(i) {
					t.Fatalf("a got %q, want during%d", m.Event, i)
				}
			}
			// A change during the outage.
			_, err = a.Presence().Track(t.Context(), &owner{room}, "carol", map[string]any{})
			testutil.Success(t, err)
			time.Sleep(500 * time.Millisecond) // an outage of some length; not an assertion

			proc.start()
			back := time.Now()
			var got atomic.Bool
			testutil.CheckFor(t, 5*time.Second, func() error {
				if !got.Load() {
					_ = a.Broker().Broadcast(t.Context(), pubsubtest.Msg(topic, "after"))
					for {
						m, ok := rb.TryNext()
						if !ok {
							break
						}
						if m.Event == "after" {
							got.Store(true)
						}
					}
					if !got.Load() {
						return errors.New("b has not received a's broadcast since the broker's return")
					}
				}
				return listed(b, room, "alice", "bob", "carol")
			})
			t.Logf("%s: delivery and presence resumed %v after the broker's return", kind, time.Since(back).Round(10*time.Millisecond))
			for _, c := range []*cluster.Cluster{a, b} {
				testutil.CheckFor(t, waitFor, func() error { return c.Healthy(t.Context()) })
			}
			var warns []string
			for _, l := range logs.lines() {
				if strings.Contains(l, "pubsub") {
					warns = append(warns, l)
				}
			}
			if len(warns) == 0 || len(warns) > 2 {
				t.Errorf("a's broker logged %d warnings for one outage, want 1 (or 2): %q", len(warns), warns)
			}
		})
	}
}

// TestClusterNodeDown stops a node without its goodbye, as SIGKILL would
// (no permdown, no leaves): its users leave the other node's lists within
// 15 s, by heartbeat-based down detection.
func TestClusterNodeDown(t *testing.T) {
	t.Parallel()
	url := redisURL(t)
	a, err := cluster.New(cluster.Config{Broker: url, Node: "a", KeepPresenceOnShutdown: true})
	testutil.Success(t, err)
	b := newCluster(t, url, "b")
	stopA := start(t, a)
	start(t, b)
	const room = "room:down"
	_, err = a.Presence().Track(t.Context(), &owner{room}, "alice", map[string]any{})
	testutil.Success(t, err)
	testutil.CheckFor(t, waitFor, func() error { return listed(b, room, "alice") })
	stopA()
	gone := time.Now()
	testutil.CheckFor(t, 15*time.Second, func() error {
		if listed(b, room, "alice") == nil {
			return errors.New("alice is still listed on b")
		}
		return nil
	})
	t.Logf("a's users left b's list %v after a went silent", time.Since(gone).Round(10*time.Millisecond))
}

// TestClusterNodeJoin starts a node next to a running one: within 5 s
// each lists the other's users.
func TestClusterNodeJoin(t *testing.T) {
	t.Parallel()
	url := redisURL(t)
	a := newCluster(t, url, "a")
	start(t, a)
	const room = "room:join"
	_, err := a.Presence().Track(t.Context(), &owner{room}, "alice", map[string]any{})
	testutil.Success(t, err)
	testutil.CheckFor(t, waitFor, func() error { return a.Healthy(t.Context()) })
	time.Sleep(2 * time.Second) // a is settled and idle; not an assertion

	b := newCluster(t, url, "b")
	_, err = b.Presence().Track(t.Context(), &owner{room}, "bob", map[string]any{})
	testutil.Success(t, err)
	start(t, b)
	joined := time.Now()
	testutil.CheckFor(t, 5*time.Second, func() error {
		return errors.Join(listed(a, room, "alice", "bob"), listed(b, room, "alice", "bob"))
	})
	t.Logf("b joined the cluster's presence in %v", time.Since(joined).Round(10*time.Millisecond))
}
