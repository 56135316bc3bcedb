package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku"
	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/cluster"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/transport"
)

// These tests run LongPoll without sticky sessions: two nodes on one real
// broker, and a client whose requests alternate between them.

var lpSecret = []byte("cluster-test-longpoll-secret-0123456789")

// echoRoom joins anything; new_msg broadcasts its payload and replies ok.
type echoRoom struct{}

func (echoRoom) Join(context.Context, *channel.Channel, channel.Payload) (any, error) {
	return nil, nil
}

func (echoRoom) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
	if err := ch.Broadcast(ctx, event, json.RawMessage(p.Bytes())); err != nil {
		return channel.Error(channel.Reason(err.Error()))
	}
	return channel.OK(nil)
}

// lpNode is one node: a cluster, a socket and a server on a port of its own.
type lpNode struct {
	name   string
	url    string
	c      *cluster.Cluster
	lp     *transport.LongPoll
	socket *channel.Socket
	stop   func()
}

func startLPNode(t testing.TB, brokerURL, name string, lpCfg transport.LongPollConfig) *lpNode {
	t.Helper()
	c := newCluster(t, brokerURL, name)
	router := &channel.Router{}
	testutil.Success(t, router.Handle("room:*", func() channel.Handler { return echoRoom{} }))
	socket, err := channel.NewSocket(channel.Config{
		Router:  router,
		Broker:  c.Broker(),
		Limits:  channel.GenerousLimits(), // the benchmark pushes faster than a person
		Connect: func(context.Context, *channel.ConnectInfo) (any, error) { return struct{}{}, nil },
	})
	testutil.Success(t, err)
	if lpCfg.Secret == nil {
		lpCfg.Secret = lpSecret
	}
	lpCfg.InsecureSkipOriginCheck = true
	srv, err := suzaku.New(suzaku.Config{Socket: socket, LongPoll: lpCfg, Services: []suzaku.Service{c}, ShutdownTimeout: 5 * time.Second})
	testutil.Success(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testutil.Success(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	stopped := false
	n := &lpNode{name: name, url: "http://" + ln.Addr().String() + "/socket/longpoll", c: c, lp: srv.LongPoll(), socket: socket}
	n.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: Serve() = %v", name, err)
		}
	}
	t.Cleanup(n.stop)
	testutil.CheckFor(t, waitFor, func() error { return c.Healthy(t.Context()) })
	return n
}

// lpAnswer is a LongPoll response body.
type lpAnswer struct {
	Status   int      `json:"status"`
	Token    string   `json:"token"`
	Messages []string `json:"messages"`
	Error    string   `json:"error"`
}

// lpClient is a LongPoll client that sends each request to the next node.
type lpClient struct {
	t     testing.TB
	nodes []*lpNode
	next  int
	token string
	ref   int
}

func (c *lpClient) node() *lpNode {
	n := c.nodes[c.next%len(c.nodes)]
	c.next++
	return n
}

func (c *lpClient) do(method string, n *lpNode, body string) lpAnswer {
	c.t.Helper()
	q := url.Values{"vsn": {"2.0.0"}}
	if c.token != "" {
		q.Set("token", c.token)
	}
	req, err := http.NewRequest(method, n.url+"?"+q.Encode(), strings.NewReader(body))
	testutil.Success(c.t, err)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-ndjson")
	}
	resp, err := http.DefaultClient.Do(req)
	testutil.Success(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	testutil.Success(c.t, err)
	var a lpAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		c.t.Fatalf("%s %s: %q is not a LongPoll answer: %v", method, n.name, b, err)
	}
	return a
}

// connect runs the handshake on the next node.
func (c *lpClient) connect() lpAnswer {
	c.t.Helper()
	c.token = ""
	a := c.do(http.MethodGet, c.node(), "")
	if a.Status != 410 || a.Token == "" {
		c.t.Fatalf("handshake = %+v, want 410 with a token", a)
	}
	c.token = a.Token
	return a
}

// push POSTs one frame to the next node and returns the answer.
func (c *lpClient) push(topic, event string, payload any) lpAnswer {
	c.t.Helper()
	c.ref++
	p, _ := json.Marshal(payload)
	frame := fmt.Sprintf(`["1","%d",%q,%q,%s]`, c.ref, topic, event, p)
	return c.do(http.MethodPost, c.node(), frame+"\n")
}

// pollFor polls the next nodes until a frame contains want.
func (c *lpClient) pollFor(want string) {
	c.t.Helper()
	deadline := time.Now().Add(waitFor)
	var seen []string
	for time.Now().Before(deadline) {
		n := c.node()
		a := c.do(http.MethodGet, n, "")
		switch a.Status {
		case 200:
			for _, m := range a.Messages {
				if strings.Contains(m, want) {
					return
				}
				seen = append(seen, m)
			}
		case 204:
		default:
			c.t.Fatalf("poll on %s = %+v, want 200 or 204 (seen %q)", n.name, a, seen)
		}
	}
	c.t.Fatalf("no frame with %q within %v; seen %q", want, waitFor, seen)
}

func TestClusterLongPollRoundRobin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		url  func(testing.TB) string
	}{{"redis", redisURL}, {"nats", natsURL}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := tc.url(t)
			a := startLPNode(t, url, "a", transport.LongPollConfig{})
			b := startLPNode(t, url, "b", transport.LongPollConfig{})
			c := &lpClient{t: t, nodes: []*lpNode{a, b}}
			c.connect() // on a: a holds the session
			// Every other request reaches b, which forwards it to a.
			for i := range 6 {
				ans := c.push("room:rr", "phx_join", map[string]any{})
				if i > 0 {
					ans = c.push("room:rr", "new_msg", map[string]any{"body": fmt.Sprint("m", i)})
				}
				if ans.Status != 200 {
					t.Fatalf("POST %d = %+v, want 200", i, ans)
				}
				if i > 0 {
					c.pollFor(fmt.Sprintf(`"m%d"`, i))
				}
			}
			// The owner counts a request served once its reply is sent, which
			// may be just after the client has it: wait for rest.
			testutil.CheckFor(t, waitFor, func() error {
				if st := b.lp.ForwardStats(); st.Forwarding != 0 || st.Overflow != 0 || st.Forwarded < 6 {
					return fmt.Errorf("b: ForwardStats() = %+v at rest, want 6 or more forwarded, nothing in flight", st)
				}
				if st := a.lp.ForwardStats(); st.Serving != 0 || st.Served < 6 {
					return fmt.Errorf("a: ForwardStats() = %+v at rest, want 6 or more served, nothing in flight", st)
				}
				return nil
			})
			// A broadcast from b reaches the session on a, polled via b.
			testutil.Success(t, b.socket.Broadcast(t.Context(), "room:rr", "from_b", map[string]string{"x": "y"}))
			c.pollFor(`"from_b"`)
			if n := a.lp.Sessions() + b.lp.Sessions(); n != 1 {
				t.Errorf("sessions on a and b = %d, want 1: requests must not open new ones", n)
			}
		})
	}
}

// TestClusterLongPollOwnerGone kills the node that holds a session: a poll
// that reaches the other node is answered as for a missing session (a new
// session there, 410) within the acknowledgement timeout, and a POST gets
// {"status":410}.
func TestClusterLongPollOwnerGone(t *testing.T) {
	t.Parallel()
	url := redisURL(t)
	a := startLPNode(t, url, "a", transport.LongPollConfig{})
	b := startLPNode(t, url, "b", transport.LongPollConfig{})
	c := &lpClient{t: t, nodes: []*lpNode{a, b}}
	c.connect()
	if ans := c.push("room:gone", "phx_join", map[string]any{}); ans.Status != 200 {
		t.Fatalf("join via b = %+v", ans)
	}
	old := c.token
	a.stop()
	if ans := c.do(http.MethodPost, b, `["1","9","room:gone","new_msg",{}]`); ans.Status != 410 {
		t.Errorf("POST via b for a's session after a stopped = %+v, want 410", ans)
	}
	start := time.Now()
	ans := c.do(http.MethodGet, b, "")
	if ans.Status != 410 || ans.Token == "" || ans.Token == old {
		t.Fatalf("poll via b for a's session after a stopped = %+v, want 410 and a new token", ans)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("the poll took %v, want about the 2 s acknowledgement timeout at most", d)
	}
	c.token = ans.Token // now held by b
	if ans := c.do(http.MethodPost, b, `["1","10","room:gone","phx_join",{}]`); ans.Status != 200 {
		t.Errorf("join on the new session = %+v, want 200", ans)
	}
	if st := b.lp.ForwardStats(); st.Forwarding != 0 {
		t.Errorf("b: ForwardStats() = %+v, want nothing in flight", st)
	}
}

// TestClusterLongPollForwardBound holds forwarded polls until the bound:
// one more is refused with {"status":500}, and once they end, requests
// are forwarded again.
func TestClusterLongPollForwardBound(t *testing.T) {
	t.Parallel()
	url := redisURL(t)
	a := startLPNode(t, url, "a", transport.LongPollConfig{Window: 2 * time.Second})
	b := startLPNode(t, url, "b", transport.LongPollConfig{Window: 2 * time.Second, MaxForwarded: 2})
	var clients []*lpClient
	for range 3 {
		c := &lpClient{t: t, nodes: []*lpNode{a}}
		c.connect()
		c.nodes = []*lpNode{b}
		clients = append(clients, c)
	}
	// Two held polls fill b's bound.
	done := make(chan lpAnswer, 2)
	for _, c := range clients[:2] {
		go func() { done <- c.do(http.MethodGet, b, "") }()
	}
	testutil.CheckFor(t, waitFor, func() error {
		if st := b.lp.ForwardStats(); st.Forwarding != 2 {
			return fmt.Errorf("b forwards %d polls, want 2", st.Forwarding)
		}
		return nil
	})
	if ans := clients[2].do(http.MethodGet, b, ""); ans.Status != 500 {
		t.Errorf("a third forwarded poll = %+v, want 500 (over MaxForwarded)", ans)
	}
	if st := b.lp.ForwardStats(); st.Overflow != 1 {
		t.Errorf("b: Overflow = %d, want 1", st.Overflow)
	}
	for range 2 {
		if ans := <-done; ans.Status != 204 {
			t.Errorf("held forwarded poll = %+v, want 204 after the window", ans)
		}
	}
	if ans := clients[2].do(http.MethodGet, b, ""); ans.Status != 204 {
		t.Errorf("a forwarded poll after the others ended = %+v, want 204", ans)
	}
}
