package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/suzaku-go/suzaku/client"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

// These tests run the conformance contract across two nodes of one
// cluster, in-process, over a real Redis and a real NATS server: clients
// on either node, WebSocket and LongPoll.

const clusterWait = 10 * time.Second

var clusterRun = strconv.FormatUint(rand.Uint64(), 36)

// clusterBrokers returns the broker URL makers: Redis (REDIS_ADDR or the
// local server; skipped without one, failing in CI) and an in-process
// NATS server.
func clusterBrokers() []struct {
	name string
	url  func(t *testing.T) string
} {
	return []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"redis", func(t *testing.T) string {
			addr := os.Getenv("REDIS_ADDR")
			if addr == "" {
				addr = "127.0.0.1:6379"
			}
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				if os.Getenv("CI") != "" {
					t.Fatalf("no Redis at %s: %v", addr, err)
				}
				t.Skipf("no Redis at %s: %v", addr, err)
			}
			c.Close()
			return "redis://" + addr + "?cluster=conf" + clusterRun + strings.ReplaceAll(t.Name(), "/", "_")
		}},
		{"nats", func(t *testing.T) string {
			s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
			testutil.Success(t, err)
			s.Start()
			t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
			if !s.ReadyForConnections(clusterWait) {
				t.Fatal("NATS server not ready")
			}
			return s.ClientURL()
		}},
	}
}

// confNode is one conformance node, serving on a port of its own.
type confNode struct {
	name, http string
	app        *app
}

func startNode(t *testing.T, broker, name string) *confNode {
	t.Helper()
	a, err := newApp(options{broker: broker, node: name}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	testutil.Success(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.Success(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	testutil.CheckFor(t, clusterWait, func() error { return a.cluster.Healthy(ctx) })
	return &confNode{name: name, http: "http://" + ln.Addr().String(), app: a}
}

func (n *confNode) ws() string {
	return "ws" + strings.TrimPrefix(n.http, "http") + "/socket/websocket"
}

func (n *confNode) post(t *testing.T, path string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(n.http+path, "application/json", bytes.NewReader(b))
	testutil.Success(t, err)
	resp.Body.Close()
	testutil.Equal(t, "POST "+path, resp.StatusCode, 200)
}

// inbox records what one joined channel receives.
type inbox struct {
	mu   sync.Mutex
	msgs []client.Message
}

func (b *inbox) add(m client.Message) {
	b.mu.Lock()
	b.msgs = append(b.msgs, m)
	b.mu.Unlock()
}

// count returns how many messages of event contain text.
func (b *inbox) count(event, text string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, m := range b.msgs {
		if m.Event == event && strings.Contains(string(m.Payload), text) {
			n++
		}
	}
	return n
}

// wait waits for a message of event containing text.
func (b *inbox) wait(t *testing.T, who, event, text string) {
	t.Helper()
	testutil.CheckFor(t, clusterWait, func() error {
		if b.count(event, text) == 0 {
			return fmt.Errorf("%s has no %s with %s", who, event, text)
		}
		return nil
	})
}

// waitPresence waits for user to appear in a presence_state or a
// presence_diff.
func (b *inbox) waitPresence(t *testing.T, who, user string) {
	t.Helper()
	key := `"` + user + `"`
	testutil.CheckFor(t, clusterWait, func() error {
		if b.count("presence_state", key)+b.count("presence_diff", key) == 0 {
			return fmt.Errorf("%s has no presence of %s", who, user)
		}
		return nil
	})
}

func joinRoom(t *testing.T, n *confNode, user, topic string) (*client.Channel, *inbox) {
	t.Helper()
	s := dial(t, n.ws(), user)
	ch := s.Channel(topic, nil)
	in := &inbox{}
	for _, e := range []string{"new_msg", "shout", "secret", "marker", "presence_diff", "presence_state"} {
		ch.On(e, in.add)
	}
	_, err := ch.Join(ctx5(t))
	testutil.Success(t, err)
	return ch, in
}

func TestConformanceClusterTwoNodes(t *testing.T) {
	t.Parallel()
	for _, bk := range clusterBrokers() {
		t.Run(bk.name, func(t *testing.T) {
			t.Parallel()
			broker := bk.url(t)
			a, b := startNode(t, broker, "a"), startNode(t, broker, "b")
			const topic = "room:cluster"
			ann, annIn := joinRoom(t, a, "ann", topic)
			bob, bobIn := joinRoom(t, b, "bob", topic)
			_, admIn := joinRoom(t, b, "admin-b", topic)

			// Presence covers both nodes. Whether a member first sees
			// another in presence_state or in a presence_diff depends on
			// whether the join crossed the broker before its own join, so
			// either counts.
			for _, in := range []*inbox{annIn, bobIn, admIn} {
				in.waitPresence(t, "a member", "admin-b")
			}
			annIn.waitPresence(t, "ann", "bob")
			bobIn.waitPresence(t, "bob", "ann")

			// new_msg reaches every subscriber on both nodes once, the
			// sender included; a marker from the same sender comes after.
			_, err := ann.Push(ctx5(t), "new_msg", map[string]string{"body": "hello-all"})
			testutil.Success(t, err)
			a.post(t, "/api/broadcast", map[string]any{"topic": topic, "event": "marker", "payload": map[string]string{"m": "m1"}})
			for name, in := range map[string]*inbox{"ann": annIn, "bob": bobIn, "admin-b": admIn} {
				in.wait(t, name, "marker", "m1")
				testutil.Equal(t, name+": new_msg hello-all", in.count("new_msg", "hello-all"), 1)
			}

			// shout_others from b skips only the sender.
			_, err = bob.Push(ctx5(t), "shout_others", map[string]string{"body": "shout-1"})
			testutil.Success(t, err)
			_, err = bob.Push(ctx5(t), "new_msg", map[string]string{"body": "after-shout"})
			testutil.Success(t, err)
			for name, in := range map[string]*inbox{"ann": annIn, "bob": bobIn, "admin-b": admIn} {
				in.wait(t, name, "new_msg", "after-shout")
				want := 1
				if name == "bob" {
					want = 0
				}
				testutil.Equal(t, name+": shout", in.count("shout", "shout-1"), want)
			}

			// Interception per subscriber: a secret broadcast on a reaches
			// the admin on b only.
			a.post(t, "/api/broadcast", map[string]any{"topic": topic, "event": "secret", "payload": map[string]string{"s": "s1"}})
			a.post(t, "/api/broadcast", map[string]any{"topic": topic, "event": "marker", "payload": map[string]string{"m": "m2"}})
			for name, in := range map[string]*inbox{"ann": annIn, "bob": bobIn, "admin-b": admIn} {
				in.wait(t, name, "marker", "m2")
				want := 0
				if name == "admin-b" {
					want = 1
				}
				testutil.Equal(t, name+": secret", in.count("secret", "s1"), want)
			}

			// Disconnect by id on a closes bob's socket on b; it rejoins.
			errored := make(chan struct{}, 4)
			bob.OnError(func(json.RawMessage) { errored <- struct{}{} })
			a.post(t, "/api/disconnect", map[string]string{"id": "users_socket:bob"})
			select {
			case <-errored:
			case <-time.After(clusterWait):
				t.Fatal("bob's socket on b was not closed by a disconnect on a")
			}
			testutil.CheckFor(t, clusterWait, func() error {
				if bob.State() != client.StateJoined {
					return fmt.Errorf("bob is %v", bob.State())
				}
				return nil
			})
			_ = ann
		})
	}
}

// lpConf is a LongPoll client of the conformance app whose requests go to
// its nodes in turn.
type lpConf struct {
	t     *testing.T
	nodes []*confNode
	next  int
	token string
	ref   int
}

func (c *lpConf) do(method, body string) (status int, token string, msgs []string) {
	c.t.Helper()
	n := c.nodes[c.next%len(c.nodes)]
	c.next++
	q := url.Values{"vsn": {"2.0.0"}, "user": {"lp-user"}}
	if c.token != "" {
		q.Set("token", c.token)
	}
	req, err := http.NewRequest(method, n.http+"/socket/longpoll?"+q.Encode(), strings.NewReader(body))
	testutil.Success(c.t, err)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	testutil.Success(c.t, err)
	defer resp.Body.Close()
	var a struct {
		Status   int
		Token    string
		Messages []string
	}
	testutil.Success(c.t, json.NewDecoder(resp.Body).Decode(&a))
	return a.Status, a.Token, a.Messages
}

func (c *lpConf) push(topic, event string, payload string) {
	c.t.Helper()
	c.ref++
	if st, _, _ := c.do(http.MethodPost, fmt.Sprintf(`["1","%d",%q,%q,%s]`, c.ref, topic, event, payload)); st != 200 {
		c.t.Fatalf("POST %s = %d, want 200", event, st)
	}
}

// waitFor polls until a frame contains all of want; it returns the
// frames seen.
func (c *lpConf) waitFor(want ...string) []string {
	c.t.Helper()
	var seen []string
	deadline := time.Now().Add(clusterWait)
	for time.Now().Before(deadline) {
		st, _, msgs := c.do(http.MethodGet, "")
		if st != 200 && st != 204 {
			c.t.Fatalf("poll = %d, want 200 or 204", st)
		}
		seen = append(seen, msgs...)
		for _, m := range msgs {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(m, w)
			}
			if ok {
				return seen
			}
		}
	}
	c.t.Fatalf("no frame with %q; seen %q", want, seen)
	return nil
}

// TestConformanceClusterLongPoll drives a LongPoll session with requests
// alternating between two nodes (no sticky sessions), next to a
// WebSocket client on the other node.
func TestConformanceClusterLongPoll(t *testing.T) {
	t.Parallel()
	for _, bk := range clusterBrokers() {
		t.Run(bk.name, func(t *testing.T) {
			t.Parallel()
			broker := bk.url(t)
			a, b := startNode(t, broker, "a"), startNode(t, broker, "b")
			const topic = "room:lpcluster"
			c := &lpConf{t: t, nodes: []*confNode{a, b}}
			st, tok, _ := c.do(http.MethodGet, "")
			if st != 410 || tok == "" {
				t.Fatalf("handshake = %d %q", st, tok)
			}
			c.token = tok
			c.push(topic, "phx_join", "{}")
			c.waitFor(`"phx_reply"`, `"ok"`)
			ws, wsIn := joinRoom(t, b, "wsuser", topic)
			c.waitFor(`"presence_diff"`, `"wsuser"`)
			_, err := ws.Push(ctx5(t), "new_msg", map[string]string{"body": "from-ws"})
			testutil.Success(t, err)
			seen := c.waitFor(`"new_msg"`, `"from-ws"`)
			c.push(topic, "new_msg", `{"body":"from-lp"}`)
			wsIn.wait(t, "wsuser", "new_msg", "from-lp")
			c.push(topic, "shout_others", `{"body":"lp-shout"}`)
			wsIn.wait(t, "wsuser", "shout", "lp-shout")
			seen = append(seen, c.waitFor(`"new_msg"`, `"from-lp"`)...)
			n := 0
			for _, m := range seen {
				if strings.Contains(m, `"from-ws"`) {
					n++
				}
			}
			testutil.Equal(t, "from-ws frames on the LongPoll session", n, 1)
			testutil.Equal(t, "LongPoll sessions on both nodes", a.app.LongPoll().Sessions()+b.app.LongPoll().Sessions(), 1)
		})
	}
}
