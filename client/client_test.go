package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/suzaku-go/suzaku/client"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/wire"
)

const wait = 5 * time.Second // CheckFor timeout

// fastConfig is a Config with short backoffs, so that reconnects and
// rejoins happen within a test.
func fastConfig() *client.Config {
	return &client.Config{
		Timeout:          3 * time.Second,
		ReconnectBackoff: func(int) time.Duration { return 5 * time.Millisecond },
		RejoinBackoff:    func(int) time.Duration { return 5 * time.Millisecond },
	}
}

func dial(t *testing.T, fs *fakeServer, cfg *client.Config) *client.Socket {
	t.Helper()
	s, err := client.Dial(t.Context(), fs.URL(), cfg)
	testutil.Success(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func join(t *testing.T, s *client.Socket, topic string) *client.Channel {
	t.Helper()
	ch := s.Channel(topic, nil)
	_, err := ch.Join(t.Context())
	testutil.Success(t, err)
	return ch
}

// recorder collects handler payloads.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) add(p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, string(p))
}

func (r *recorder) msg(m client.Message) { r.add(m.Payload) }

func (r *recorder) raw(p json.RawMessage) { r.add(p) }

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// has returns a CheckFor condition: r got want.
func (r *recorder) has(want string) func() error {
	return func() error {
		for _, g := range r.list() {
			if g == want {
				return nil
			}
		}
		return fmt.Errorf("got %q, want %s among them", r.list(), want)
	}
}

func stateIs(ch *client.Channel, want client.State) func() error {
	return func() error {
		if got := ch.State(); got != want {
			return fmt.Errorf("State() = %v, want %v", got, want)
		}
		return nil
	}
}

func TestClientDialURLAndAuth(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	cfg := &client.Config{
		Params:    url.Values{"token": {"abc"}, "vsn": {"1.0.0"}},
		AuthToken: "secret-tok",
		Header:    http.Header{"X-Test": {"1"}},
	}
	s, err := client.Dial(t.Context(), fs.URL()+"?a=1", cfg)
	testutil.Success(t, err)
	defer s.Close()

	r := fs.request(0)
	testutil.Equal(t, "RawQuery", r.URL.RawQuery, "a=1&token=abc&vsn=2.0.0")
	var protocols []string
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			protocols = append(protocols, strings.TrimSpace(p))
		}
	}
	// The value phoenix.js 1.8.16 sends for authToken "secret-tok".
	testutil.Equal(t, "subprotocols", protocols, []string{"phoenix", "base64url.bearer.phx.c2VjcmV0LXRvaw"})
	testutil.Equal(t, "X-Test", r.Header.Get("X-Test"), "1")
	testutil.Equal(t, "Connected()", s.Connected(), true)
}

func TestClientDialRefused(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	fs.refuse.Store(http.StatusForbidden)
	_, err := client.Dial(t.Context(), fs.URL(), nil)
	testutil.Error(t, err)
	testutil.Equal(t, "HandshakeStatus(err)", client.HandshakeStatus(err), http.StatusForbidden)

	_, err = client.Dial(t.Context(), "ftp://example.com/socket", nil)
	testutil.Error(t, err)
}

func TestClientDialSourceAddress(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	s := dial(t, fs, &client.Config{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}})
	host, _, err := net.SplitHostPort(fs.request(0).RemoteAddr)
	testutil.Success(t, err)
	testutil.Equal(t, "remote host", host, "127.0.0.2")
	_ = s

	var dials atomic.Int32
	nd := &net.Dialer{}
	dial(t, fs, &client.Config{NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nd.DialContext(ctx, network, addr)
	}})
	testutil.Equal(t, "NetDial calls", dials.Load(), int32(1))
}

func TestClientJoin(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	s := dial(t, fs, nil)
	ch := s.Channel("room:1", map[string]string{"user": "u1"})
	testutil.Equal(t, "State()", ch.State(), client.StateClosed)

	resp, err := ch.Join(t.Context())
	testutil.Success(t, err)
	testutil.Equal(t, "response", string(resp), `{"params":{"user":"u1"},"topic":"room:1"}`)
	testutil.Equal(t, "State()", ch.State(), client.StateJoined)

	joins := fs.messages(wire.EventJoin)
	testutil.Equal(t, "joins", len(joins), 1)
	testutil.Equal(t, "join ref", joins[0].m.Ref, ch.JoinRef())
	testutil.Equal(t, "join join_ref", joins[0].m.JoinRef, ch.JoinRef())

	_, err = ch.Join(t.Context())
	testutil.ErrorIs(t, err, client.ErrAlreadyJoined)
}

func TestClientJoinRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		topic string
		want  string
	}{
		{
			name:  "error reply",
			topic: "denied:1",
			want:  `{"reason":"unauthorized"}`,
		},
		{
			name:  "unmatched topic, null join_ref",
			topic: "unmatched",
			want:  `{"reason":"unmatched topic"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := newFakeServer(t)
			var mu sync.Mutex
			var tries []int
			cfg := fastConfig()
			cfg.RejoinBackoff = func(n int) time.Duration {
				mu.Lock()
				defer mu.Unlock()
				tries = append(tries, n)
				return time.Millisecond
			}
			s := dial(t, fs, cfg)
			ch := s.Channel(tt.topic, nil)
			_, err := ch.Join(t.Context())
			testutil.ErrorIs(t, err, client.ErrJoinRefused)
			var je *client.JoinError
			testutil.Equal(t, "errors.As(JoinError)", errors.As(err, &je), true)
			testutil.Equal(t, "Response", string(je.Response), tt.want)

			// As phoenix.js, the channel keeps rejoining, each time with a
			// new join_ref and the next backoff step, until Leave.
			testutil.CheckFor(t, wait, func() error {
				if n := len(fs.messages(wire.EventJoin)); n < 3 {
					return fmt.Errorf("%d joins, want 3", n)
				}
				return nil
			})
			testutil.Success(t, ch.Leave(t.Context()))
			testutil.Equal(t, "State()", ch.State(), client.StateClosed)
			joins := fs.messages(wire.EventJoin)
			testutil.Equal(t, "second join_ref differs", joins[1].m.JoinRef != joins[0].m.JoinRef, true)
			mu.Lock()
			defer mu.Unlock()
			testutil.Equal(t, "backoff tries", tries[:2], []int{1, 2})
		})
	}
}

func TestClientJoinTimeout(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	s := dial(t, fs, fastConfig())
	ch := s.Channel("silent:1", nil)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := ch.Join(ctx)
	testutil.ErrorIs(t, err, context.DeadlineExceeded)

	// phoenix.js sends phx_leave for the timed-out attempt, then rejoins.
	first := fs.messages(wire.EventJoin)[0].m.JoinRef
	testutil.CheckFor(t, wait, func() error {
		leaves := fs.messages(wire.EventLeave)
		if len(leaves) == 0 || leaves[0].m.JoinRef != first {
			return fmt.Errorf("leaves %v, want one with join_ref %s", leaves, first)
		}
		if n := len(fs.messages(wire.EventJoin)); n < 2 {
			return fmt.Errorf("%d joins, want a rejoin", n)
		}
		return nil
	})
	testutil.Success(t, ch.Leave(t.Context()))
}

func TestClientPush(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	s := dial(t, fs, nil)
	ch := join(t, s, "room:1")

	tests := []struct {
		name    string
		event   string
		payload any
		want    client.Reply
	}{
		{
			name:    "json",
			event:   "echo",
			payload: map[string]string{"body": "hi"},
			want:    client.Reply{Status: "ok", Response: []byte(`{"body":"hi"}`)},
		},
		{
			name:    "raw json",
			event:   "echo",
			payload: json.RawMessage(`[1,2]`),
			want:    client.Reply{Status: "ok", Response: []byte(`[1,2]`)},
		},
		{
			name:    "nil is an empty object",
			event:   "echo",
			payload: nil,
			want:    client.Reply{Status: "ok", Response: []byte(`{}`)},
		},
		{
			name:    "binary",
			event:   "echo",
			payload: client.Binary{1, 2, 3},
			want:    client.Reply{Status: "ok", Response: []byte{1, 2, 3}, Binary: true},
		},
		{
			name:    "error status is a reply",
			event:   "error",
			payload: map[string]string{"reason": "nope"},
			want:    client.Reply{Status: "error", Response: []byte(`{"reason":"nope"}`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ch.Push(t.Context(), tt.event, tt.payload)
			testutil.Success(t, err)
			testutil.Equal(t, "Push()", got, tt.want)
		})
	}

	// Every frame of the channel carries its join_ref; every ref is new.
	testutil.Success(t, ch.Leave(t.Context()))
	testutil.CheckFor(t, wait, func() error {
		if len(fs.messages(wire.EventLeave)) == 0 {
			return errors.New("no phx_leave yet")
		}
		return nil
	})
	last := 0
	for _, m := range fs.messages("") {
		if m.m.Topic != "room:1" {
			continue
		}
		testutil.Equal(t, m.m.Event+" join_ref", m.m.JoinRef, fs.messages(wire.EventJoin)[0].m.Ref)
		ref, err := strconv.Atoi(m.m.Ref)
		testutil.Success(t, err)
		if ref <= last {
			t.Fatalf("%s ref = %d, want > %d", m.m.Event, ref, last)
		}
		last = ref
	}
	testutil.Equal(t, "binary frame received", fs.messages("echo")[3].m.Binary, true)
}

func TestClientPushTimeout(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	cfg := fastConfig()
	cfg.Timeout = 50 * time.Millisecond
	s := dial(t, fs, cfg)
	ch := join(t, s, "room:1")

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := ch.Push(ctx, "noreply", nil)
	testutil.ErrorIs(t, err, context.DeadlineExceeded)

	// Without a ctx deadline, Config.Timeout applies.
	_, err = ch.Push(context.Background(), "noreply", nil)
	testutil.ErrorIs(t, err, context.DeadlineExceeded)

	// The channel is still fine.
	ctx, cancel = context.WithTimeout(t.Context(), wait)
	defer cancel()
	_, err = ch.Push(ctx, "echo", nil)
	testutil.Success(t, err)
}

func TestClientPushErrors(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	s := dial(t, fs, nil)

	ch := s.Channel("room:1", nil)
	_, err := ch.Push(t.Context(), "echo", nil)
	testutil.ErrorIs(t, err, client.ErrNotJoined)
	testutil.ErrorIs(t, ch.Send(t.Context(), "echo", nil), client.ErrNotJoined)

	_, err = ch.Join(t.Context())
	testutil.Success(t, err)
	_, err = ch.Push(t.Context(), "echo", func() {})
	testutil.Error(t, err)

	testutil.Success(t, ch.Leave(t.Context()))
	_, err = ch.Push(t.Context(), "echo", nil)
	testutil.ErrorIs(t, err, client.ErrChannelClosed)

	testutil.Success(t, s.Close())
	_, err = s.Channel("room:2", nil).Join(t.Context())
	testutil.ErrorIs(t, err, client.ErrClosed)
}

func TestClientSend(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	s := dial(t, fs, nil)
	ch := join(t, s, "room:1")
	testutil.Success(t, ch.Send(t.Context(), "noreply", map[string]int{"n": 1}))
	testutil.CheckFor(t, wait, func() error {
		if len(fs.messages("noreply")) != 1 {
			return errors.New("no message yet")
		}
		return nil
	})
	testutil.Equal(t, "payload", string(fs.messages("noreply")[0].m.Payload), `{"n":1}`)
}

func TestClientStaleMessagesDropped(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	s := dial(t, fs, nil)
	ch := s.Channel("room:1", nil)
	var rec recorder
	ch.On("shout", rec.msg)
	_, err := ch.Join(t.Context())
	testutil.Success(t, err)

	// The server sends a push with an outdated join_ref, a push and a
	// broadcast, then the reply: handlers run in order before it.
	_, err = ch.Push(t.Context(), "stale", nil)
	testutil.Success(t, err)
	testutil.Equal(t, "shouts", rec.list(), []string{`{"n":1}`, `{"n":2}`})
}

func TestClientPushBufferedUntilJoined(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	s := dial(t, fs, nil)
	ch := s.Channel("slow:1", nil)

	joined := make(chan error, 1)
	go func() {
		_, err := ch.Join(t.Context())
		joined <- err
	}()
	testutil.CheckFor(t, wait, stateIs(ch, client.StateJoining))

	pushed := make(chan error, 1)
	go func() {
		r, err := ch.Push(t.Context(), "echo", map[string]int{"n": 1})
		if err == nil && string(r.Response) != `{"n":1}` {
			err = fmt.Errorf("Response = %s", r.Response)
		}
		pushed <- err
	}()
	testutil.CheckFor(t, wait, func() error {
		if n := ch.BufferLen(); n != 1 {
			return fmt.Errorf("BufferLen() = %d, want 1", n)
		}
		return nil
	})
	fs.releaseSlow()
	testutil.Success(t, <-joined)
	testutil.Success(t, <-pushed)
	testutil.Equal(t, "echo join_ref", fs.messages("echo")[0].m.JoinRef, ch.JoinRef())
}

func TestClientPing(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	s := dial(t, fs, nil)
	rtt, err := s.Ping(t.Context())
	testutil.Success(t, err)
	testutil.Equal(t, "rtt > 0", rtt > 0, true)

	fs.ignoreHeartbeats.Store(true)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err = s.Ping(ctx)
	testutil.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestClientReconnectRejoin(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	cfg := fastConfig()
	cfg.Reconnect = true
	s := dial(t, fs, cfg)
	ch := s.Channel("room:1", map[string]int{"v": 1})
	var errs, shouts recorder
	ch.OnError(errs.raw)
	ch.On("shout", shouts.msg)
	_, err := ch.Join(t.Context())
	testutil.Success(t, err)
	first := ch.JoinRef()
	left := join(t, s, "room:left")
	testutil.Success(t, left.Leave(t.Context()))

	fs.closeAll(ws.StatusGoingAway)
	testutil.CheckFor(t, wait, errs.has(`{"source":"transport","reason":"connection_closed"}`))
	testutil.CheckFor(t, wait, func() error {
		if ch.State() != client.StateJoined || ch.JoinRef() == first {
			return fmt.Errorf("State() = %v with join_ref %s, want a rejoin", ch.State(), ch.JoinRef())
		}
		return nil
	})
	testutil.Equal(t, "connections", fs.connCount(), 2)
	var rejoins []wire.Message
	for _, m := range fs.messages(wire.EventJoin) {
		if m.conn == 1 {
			rejoins = append(rejoins, m.m)
		}
	}
	// Only the joined channel rejoins, with its params and a new join_ref.
	testutil.Equal(t, "rejoins", len(rejoins), 1)
	testutil.Equal(t, "rejoin topic", rejoins[0].Topic, "room:1")
	testutil.Equal(t, "rejoin join_ref", rejoins[0].JoinRef, ch.JoinRef())
	testutil.Equal(t, "rejoin params", string(rejoins[0].Payload), `{"v":1}`)

	_, err = ch.Push(t.Context(), "stale", nil)
	testutil.Success(t, err)
	testutil.Equal(t, "shouts", shouts.list(), []string{`{"n":1}`, `{"n":2}`})
}

func TestClientPendingPushFailsOnDisconnect(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	cfg := fastConfig()
	cfg.Reconnect = true
	s := dial(t, fs, cfg)
	ch := join(t, s, "room:1")

	_, err := ch.Push(t.Context(), "disconnect", nil)
	testutil.ErrorIs(t, err, client.ErrConnectionLost)
	testutil.CheckFor(t, wait, stateIs(ch, client.StateJoined))
	_, err = ch.Push(t.Context(), "echo", nil)
	testutil.Success(t, err)
}

func TestClientNoReconnect(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	s := dial(t, fs, nil)
	ch := join(t, s, "room:1")

	fs.closeAll(ws.StatusGoingAway)
	select {
	case <-s.Done():
	case <-time.After(wait):
		t.Fatal("Done() not closed after the server closed the connection")
	}
	testutil.ErrorIs(t, s.Err(), client.ErrClosed)
	testutil.ErrorIs(t, s.Err(), client.ErrConnectionLost)
	testutil.Equal(t, "CloseStatus(Err())", client.CloseStatus(s.Err()), int(ws.StatusGoingAway))
	testutil.Equal(t, "State()", ch.State(), client.StateErrored)
	testutil.Equal(t, "Connected()", s.Connected(), false)
	_, err := ch.Push(t.Context(), "echo", nil)
	testutil.ErrorIs(t, err, client.ErrClosed)
	testutil.Equal(t, "connections", fs.connCount(), 1)
}

func TestClientCrashRejoin(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	s := dial(t, fs, fastConfig())
	n := 0
	ch := s.Channel("room:1", func() any { n++; return map[string]int{"n": n} })
	var errs recorder
	ch.OnError(errs.raw)
	_, err := ch.Join(t.Context())
	testutil.Success(t, err)
	first := ch.JoinRef()

	_, err = ch.Push(t.Context(), "crash", nil)
	testutil.ErrorIs(t, err, client.ErrChannelErrored)
	testutil.CheckFor(t, wait, errs.has(`{"reason":"channel_crash"}`))
	testutil.CheckFor(t, wait, func() error {
		if ch.State() != client.StateJoined || ch.JoinRef() == first {
			return fmt.Errorf("State() = %v with join_ref %s, want a rejoin", ch.State(), ch.JoinRef())
		}
		return nil
	})
	joins := fs.messages(wire.EventJoin)
	testutil.Equal(t, "joins", len(joins), 2)
	// A params function is called again for the rejoin.
	testutil.Equal(t, "rejoin params", string(joins[1].m.Payload), `{"n":2}`)
	testutil.Equal(t, "connections", fs.connCount(), 1)
}

func TestClientServerClose(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	s := dial(t, fs, fastConfig())
	ch := s.Channel("room:1", nil)
	var closes recorder
	ch.OnClose(closes.raw)
	_, err := ch.Join(t.Context())
	testutil.Success(t, err)

	r, err := ch.Push(t.Context(), "close", nil)
	testutil.Success(t, err)
	testutil.Equal(t, "Status", r.Status, "ok")
	testutil.CheckFor(t, wait, closes.has(`{}`))
	testutil.Equal(t, "State()", ch.State(), client.StateClosed)
	_, err = ch.Push(t.Context(), "echo", nil)
	testutil.ErrorIs(t, err, client.ErrChannelClosed)
}

func TestClientLeave(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	s := dial(t, fs, nil)
	ch := s.Channel("room:1", nil)
	var closes recorder
	ch.OnClose(closes.raw)
	_, err := ch.Join(t.Context())
	testutil.Success(t, err)
	ref := ch.JoinRef()

	testutil.Success(t, ch.Leave(t.Context()))
	// The leave is acknowledged locally at once, as in phoenix.js.
	testutil.Equal(t, "State()", ch.State(), client.StateClosed)
	testutil.Equal(t, "OnClose", closes.list(), []string{`"leave"`})
	testutil.Success(t, ch.Leave(t.Context()))
	testutil.CheckFor(t, wait, func() error {
		leaves := fs.messages(wire.EventLeave)
		if len(leaves) != 1 || leaves[0].m.JoinRef != ref {
			return fmt.Errorf("leaves = %v, want one with join_ref %s", leaves, ref)
		}
		return nil
	})
}

func TestClientDuplicateTopic(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	s := dial(t, fs, nil)
	a := s.Channel("room:1", nil)
	var closes recorder
	a.OnClose(closes.raw)
	_, err := a.Join(t.Context())
	testutil.Success(t, err)
	aRef := a.JoinRef()

	b := join(t, s, "room:1")
	testutil.Equal(t, "a.State()", a.State(), client.StateClosed)
	testutil.Equal(t, "b.State()", b.State(), client.StateJoined)
	testutil.Equal(t, "a OnClose", closes.list(), []string{`"leave"`})
	leaves := fs.messages(wire.EventLeave)
	testutil.Equal(t, "leaves", len(leaves), 1)
	testutil.Equal(t, "leave join_ref", leaves[0].m.JoinRef, aRef)
}

func TestClientClose(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	cfg := fastConfig()
	cfg.Reconnect = true
	s, err := client.Dial(t.Context(), fs.URL(), cfg)
	testutil.Success(t, err)
	ch := s.Channel("room:1", nil)
	var errs recorder
	ch.OnError(errs.raw)
	_, err = ch.Join(t.Context())
	testutil.Success(t, err)

	testutil.Success(t, s.Close())
	testutil.Success(t, s.Close())
	select {
	case <-s.Done():
	default:
		t.Fatal("Done() not closed after Close")
	}
	testutil.ErrorIs(t, s.Err(), client.ErrClosed)
	testutil.Equal(t, "OnError", errs.list(), []string{`{"source":"transport","reason":"connection_closed"}`})
	testutil.CheckFor(t, wait, func() error {
		if codes := fs.codes(); len(codes) != 1 || codes[0] != int(ws.StatusNormalClosure) {
			return fmt.Errorf("server close codes = %v, want [1000]", codes)
		}
		return nil
	})
	testutil.Equal(t, "connections", fs.connCount(), 1)
	_, err = s.Ping(t.Context())
	testutil.ErrorIs(t, err, client.ErrClosed)
	_, err = ch.Push(t.Context(), "echo", nil)
	testutil.ErrorIs(t, err, client.ErrClosed)
}

func TestClientConcurrentPushes(t *testing.T) {
	t.Parallel()
	fs := newFakeServer(t)
	s := dial(t, fs, nil)
	chans := []*client.Channel{join(t, s, "room:1"), join(t, s, "room:2")}
	var wg sync.WaitGroup
	errs := make(chan error, 16*50)
	for g := range 16 {
		wg.Go(func() {
			ch := chans[g%len(chans)]
			for i := range 50 {
				want := fmt.Sprintf(`{"g":%d,"i":%d}`, g, i)
				r, err := ch.Push(t.Context(), "echo", json.RawMessage(want))
				if err == nil && string(r.Response) != want {
					err = fmt.Errorf("Push(%s) = %s", want, r.Response)
				}
				if err != nil {
					errs <- err
				}
				if i%10 == 0 {
					_, _ = s.Ping(t.Context())
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
