package transport_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/transport"
)

func (e *lpEnv) waitSessions(n int) {
	e.t.Helper()
	testutil.CheckFor(e.t, 5*time.Second, func() error {
		if got := e.lp.Sessions(); got != n {
			return fmt.Errorf("Sessions() = %d, want %d", got, n)
		}
		return nil
	})
}

// pollAsync starts a poll and returns where its answer will be.
func (c *lpClient) pollAsync(ctx context.Context) <-chan lpResp {
	out := make(chan lpResp, 1)
	q := c.query()
	go func() {
		r, err := c.env.do(ctx, "GET", q, nil, "")
		if err != nil {
			r.Raw = err.Error()
		}
		out <- r
	}()
	return out
}

// waitPolls waits until n sessions have a poll waiting.
func (e *lpEnv) waitPolls(n int) {
	e.t.Helper()
	testutil.CheckFor(e.t, 5*time.Second, func() error {
		if got := transport.LongPollWaiting(e.lp); got != n {
			return fmt.Errorf("%d polls waiting, want %d", got, n)
		}
		return nil
	})
}

func within(t *testing.T, c <-chan lpResp, d time.Duration) lpResp {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(d):
		t.Fatalf("no answer within %v", d)
		return lpResp{}
	}
}

// TestLongPollSessionExpiry: polls keep a session alive; with no poll for
// SessionTimeout it ends, its channels terminate with ErrClosed, and its
// token then opens a new session. Fake time: the defaults, exactly.
func TestLongPollSessionExpiry(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		env := newLPDirect(t, transport.LongPollConfig{}) // Window 10 s, SessionTimeout 15 s
		c := env.open("")
		c.join("room:exp", "1")
		for range 5 { // 50 s of polls, longer than the 15 s timeout
			testutil.Equal(t, "poll", c.poll().Status, 204)
		}
		time.Sleep(transport.DefaultLongPollWindow*3/2 - time.Millisecond)
		synctest.Wait()
		testutil.Equal(t, "Sessions() just before the timeout", env.lp.Sessions(), 1)
		time.Sleep(time.Millisecond)
		synctest.Wait()
		testutil.Equal(t, "Sessions() at the timeout", env.lp.Sessions(), 0)
		testutil.ErrorIs(t, <-env.terms, channel.ErrClosed)
		r := c.poll()
		testutil.Equal(t, "next poll", r.Status, 410)
		if r.Token == c.token {
			t.Fatal("the expired session's token came back")
		}
	})
}

// TestLongPollClose: Socket.Disconnect closes the session's Conn; the
// waiting poll gets 410 with its token (phoenix.js 1.8.2+ reconnects and
// rejoins), POSTs get 410, channels terminate.
func TestLongPollClose(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{Window: 5 * time.Second})
	c := env.open("user=bob")
	c.join("room:close", "1")
	waiting := c.pollAsync(context.Background())
	env.waitPolls(1)
	testutil.Success(t, env.sock.Disconnect(context.Background(), "user:bob"))
	r := within(t, waiting, 2*time.Second)
	testutil.Equal(t, "waiting poll", r.Raw, `{"messages":[],"status":410,"token":"`+c.token+`"}`)
	testutil.ErrorIs(t, env.waitTerm(), channel.ErrClosed)
	testutil.Equal(t, "post", c.post(heartbeat("1")).Raw, `{"status":410}`)
	env.waitSessions(0)
}

// TestLongPollBufferLimit ends a session whose client lets too much pile
// up.
func TestLongPollBufferLimit(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{BufferLimit: 200})
	c := env.open("")
	var lines []string
	for i := range 10 {
		lines = append(lines, heartbeat(fmt.Sprint(i)))
	}
	testutil.Equal(t, "post", c.post(lines...).Raw, `{"status":410}`)
	env.waitSessions(0)
	testutil.Equal(t, "poll", c.poll().Status, 410)
}

// TestLongPollConcurrentPolls: a second poll takes over, the first gets
// 204 at once, and the frames go to the second.
func TestLongPollConcurrentPolls(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{Window: 5 * time.Second})
	c := env.open("")
	a, b := c.pollAsync(context.Background()), c.pollAsync(context.Background())
	var second <-chan lpResp
	select {
	case r := <-a:
		testutil.Equal(t, "superseded poll", r.Raw, `{"messages":[],"status":204,"token":"`+c.token+`"}`)
		second = b
	case r := <-b:
		testutil.Equal(t, "superseded poll", r.Raw, `{"messages":[],"status":204,"token":"`+c.token+`"}`)
		second = a
	case <-time.After(2 * time.Second):
		t.Fatal("neither poll was answered at once")
	}
	testutil.Equal(t, "post", c.post(heartbeat("1")).Raw, `{"status":200}`)
	testutil.Equal(t, "taking poll", within(t, second, 2*time.Second).msgs(), []string{heartbeatReply("1")})
}

// TestLongPollClientGone: frames sent after a client dropped its poll are
// kept for its next one.
func TestLongPollClientGone(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{Window: 5 * time.Second})
	c := env.open("")
	ctx, cancel := context.WithCancel(context.Background())
	dropped := c.pollAsync(ctx)
	env.waitPolls(1)
	cancel()
	testutil.Equal(t, "HTTP status of the dropped poll", within(t, dropped, 2*time.Second).HTTP, 0)
	env.waitPolls(0) // the server saw the client go
	testutil.Equal(t, "post", c.post(heartbeat("1"), heartbeat("2")).Raw, `{"status":200}`)
	testutil.Equal(t, "next poll", c.poll().msgs(), []string{heartbeatReply("1"), heartbeatReply("2")})
}

// TestLongPollBroadcast fans a broadcast out to LongPoll clients, from a
// channel and from the socket.
func TestLongPollBroadcast(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{Window: 5 * time.Second})
	clients := []*lpClient{env.open(""), env.open(""), env.open("")}
	for i, c := range clients {
		c.join("room:fan", fmt.Sprint(i+1))
	}
	testutil.Equal(t, "post", clients[0].post(`["1","9","room:fan","shout",{"a":1}]`).Raw, `{"status":200}`)
	for i, c := range clients {
		testutil.Equal(t, fmt.Sprint("client ", i), c.collect(1), []string{`[null,null,"room:fan","shout",{"a":1}]`})
	}
	testutil.Success(t, env.sock.Broadcast(context.Background(), "room:fan", "news", map[string]int{"b": 2}))
	for i, c := range clients {
		testutil.Equal(t, fmt.Sprint("client ", i), c.collect(1), []string{`[null,null,"room:fan","news",{"b":2}]`})
	}
}

// TestLongPollShutdown ends every session: waiting polls get 410, channels
// terminate, new sessions are refused with a status phoenix.js retries.
func TestLongPollShutdown(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{Window: 5 * time.Second})
	a, b := env.open(""), env.open("")
	a.join("room:down", "1")
	waiting := b.pollAsync(context.Background())
	env.waitPolls(1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- env.lp.Shutdown(ctx) }()
	testutil.Equal(t, "waiting poll", within(t, waiting, 2*time.Second).Status, 410)
	select {
	case err := <-done:
		testutil.Success(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	testutil.ErrorIs(t, env.waitTerm(), channel.ErrClosed)
	testutil.Equal(t, "Sessions()", env.lp.Sessions(), 0)
	testutil.Equal(t, "new session", env.must("GET", "vsn=2.0.0", nil, "").Raw, `{"status":500}`)
	testutil.Equal(t, "old session", a.post(heartbeat("1")).Raw, `{"status":410}`)
}

// TestLongPollSharedSecret: endpoints with the same Secret accept each
// other's tokens, which forwarding between nodes relies on.
func TestLongPollSharedSecret(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcdef")
	a := newLP(t, transport.LongPollConfig{Secret: secret})
	b := newLP(t, transport.LongPollConfig{Secret: secret})
	tok := a.open("").token
	// b knows the signature but not the session: a new session, and the
	// token is not mistaken for the user's own parameter.
	r := b.must("GET", "token=user-tok&vsn=2.0.0&token="+url.QueryEscape(tok), nil, "")
	testutil.Equal(t, "status", r.Status, 410)
	testutil.Equal(t, "Connect params", lastConnect(b.connects).Params["token"], []string{"user-tok"})
}
