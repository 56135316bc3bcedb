package transport_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/telemetry"
	"github.com/suzaku-go/suzaku/transport"
)

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{22}\.[0-9]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$`)

// TestLongPollOpen checks the first GET, as phoenix.js 1.8.16 sends it.
func TestLongPollOpen(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{})
	r := env.must("GET", "token=user-tok&foo=bar&vsn=2.0.0&", http.Header{
		"Accept": {"application/json"}, "X-Phoenix-Authtoken": {"secret-tok"},
	}, "")
	if !tokenRE.MatchString(r.Token) {
		t.Fatalf("token = %q, want id.expiry.node.mac in base64url", r.Token)
	}
	testutil.Equal(t, "body", r.Raw, `{"messages":[],"status":410,"token":"`+r.Token+`"}`)
	testutil.Equal(t, "content-type", r.Header.Get("Content-Type"), "application/json; charset=utf-8")
	testutil.Equal(t, "cache-control", r.Header.Get("Cache-Control"), "no-store")
	testutil.Equal(t, "access-control-allow-origin", r.Header.Get("Access-Control-Allow-Origin"), "*")
	testutil.Equal(t, "Sessions()", env.lp.Sessions(), 1)

	info := lastConnect(env.connects)
	testutil.Equal(t, "Transport", info.Transport, "longpoll")
	testutil.Equal(t, "AuthToken", info.AuthToken, "secret-tok")
	testutil.Equal(t, "Params", info.Params, url.Values{"token": {"user-tok"}, "foo": {"bar"}, "vsn": {"2.0.0"}})
	if info.RemoteAddr == "" {
		t.Fatal("RemoteAddr is empty")
	}
}

// TestLongPollJoinAndReply runs the captured session of PROTOCOL §5.3: a
// batched POST, then the replies in one poll, in order.
func TestLongPollJoinAndReply(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{Window: 20 * time.Millisecond})
	c := env.open("user_token=u")
	r := c.post(`["3","3","room:lobby","phx_join",{}]`, `["3","4","room:lobby","echo",{"body":"hi"}]`, `["3","5","room:lobby","echo",{"n":2}]`)
	testutil.Equal(t, "post", r.Raw, `{"status":200}`)
	got := c.collect(3)
	testutil.Equal(t, "messages", got, []string{
		`["3","3","room:lobby","phx_reply",{"response":{},"status":"ok"}]`,
		`["3","4","room:lobby","phx_reply",{"response":{"body":"hi"},"status":"ok"}]`,
		`["3","5","room:lobby","phx_reply",{"response":{"n":2},"status":"ok"}]`,
	})
	r = c.poll()
	testutil.Equal(t, "poll body", r.Raw[:len(`{"messages":[`)], `{"messages":[`)
	testutil.Equal(t, "idle poll", r.Status, 204)
}

// TestLongPollBatchOrder sends many lines in one POST, with \r\n endings
// and blank lines: the replies come in order.
func TestLongPollBatchOrder(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{Window: 50 * time.Millisecond})
	c := env.open("")
	var lines, want []string
	for i := range 50 {
		lines = append(lines, heartbeat(fmt.Sprint(i)))
		want = append(want, heartbeatReply(fmt.Sprint(i)))
	}
	body := strings.Join(lines[:25], "\r\n") + "\n\n" + strings.Join(lines[25:], "\n") + "\n"
	r := env.must("POST", c.query(), http.Header{"Content-Type": {"application/x-ndjson; charset=utf-8"}}, body)
	testutil.Equal(t, "post", r.Raw, `{"status":200}`)
	testutil.Equal(t, "replies", c.collect(50), want)
}

// TestLongPollMaxBatch sends 101 lines: as Phoenix, only the first 100 are
// processed and the POST succeeds.
func TestLongPollMaxBatch(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{})
	c := env.open("")
	var lines []string
	for i := 1; i <= 101; i++ {
		lines = append(lines, heartbeat(fmt.Sprint(i)))
	}
	testutil.Equal(t, "post", c.post(lines...).Raw, `{"status":200}`)
	// Heartbeats are answered while the POST is handled: one poll has all.
	got := c.poll().msgs()
	testutil.Equal(t, "replies", len(got), 100)
	testutil.Equal(t, "last reply", got[99], heartbeatReply("100"))
}

// TestLongPollBinary: a base64 line is a binary push; the reply to it
// would be a binary frame, which LongPoll cannot carry: the client gets an
// error reply instead, and Push of a binary payload fails with
// ErrLongPollBinary.
func TestLongPollBinary(t *testing.T) {
	t.Parallel()
	var drops atomic.Int64
	hook := telemetry.HookFunc(func(e telemetry.Event) {
		if e.Kind == telemetry.KindDrop && e.Transport == "longpoll" && e.Reason == "binary" {
			drops.Add(int64(e.N))
		}
	})
	env := newLP(t, transport.LongPollConfig{Hook: hook})
	c := env.open("")
	c.join("room:bin", "1")
	bin := binaryLine(t, "1", "2", "room:bin", "echo", []byte{1, 2, 3})
	testutil.Equal(t, "captured form", binaryLine(t, "3", "5", "room:lobby", "bin", []byte{1, 2, 3}), "AAEBCgMzNXJvb206bG9iYnliaW4BAgM=")
	testutil.Equal(t, "post", c.post(bin).Raw, `{"status":200}`)
	testutil.Equal(t, "post", c.post(`["1","3","room:bin","echo",{"after":true}]`, `["1","4","room:bin","push_binary",{}]`).Raw, `{"status":200}`)
	testutil.Equal(t, "messages", c.collect(4), []string{
		`["1",null,"room:bin","binary_received",{"bytes":3}]`,
		`["1","2","room:bin","phx_reply",{"response":{"reason":"binary replies are not supported on this transport"},"status":"error"}]`,
		`["1","3","room:bin","phx_reply",{"response":{"after":true},"status":"ok"}]`,
		`["1","4","room:bin","phx_reply",{"response":{"err":"` + transport.ErrLongPollBinary.Error() + `"},"status":"ok"}]`,
	})
	testutil.Equal(t, "binary frames dropped (telemetry)", drops.Load(), int64(2)) // the echo's reply and the push
}

// TestLongPollPollTimeout: an idle poll is answered 204 after the
// window, 10 s by default (fake time).
func TestLongPollPollTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		env := newLPDirect(t, transport.LongPollConfig{})
		c := env.open("")
		start := time.Now()
		r := c.poll()
		testutil.Equal(t, "body", r.Raw, `{"messages":[],"status":204,"token":"`+c.token+`"}`)
		testutil.Equal(t, "held for", time.Since(start), 10*time.Second)
	})
}

// TestLongPollTokenSources finds the session token in the header, or in
// the last "token" parameter after the user's own.
func TestLongPollTokenSources(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{Window: 20 * time.Millisecond})
	c := env.open("token=user-tok")
	testutil.Equal(t, "user token", lastConnect(env.connects).Params["token"], []string{"user-tok"})
	tok := url.QueryEscape(c.token)
	tests := []struct {
		name  string
		query string
		hdr   http.Header
	}{
		{"last query token", "token=user-tok&vsn=2.0.0&token=" + tok, nil},
		{"header", "token=user-tok&vsn=2.0.0&", http.Header{"X-Phoenix-Longpoll-Token": {c.token}}},
		{"header beats query", "token=user-tok&vsn=2.0.0&token=junk", http.Header{"X-Phoenix-Longpoll-Token": {c.token}}},
		{"header alone", "", http.Header{"X-Phoenix-Longpoll-Token": {c.token}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.must("GET", tt.query, tt.hdr, "")
			testutil.Equal(t, "poll", r.Raw, `{"messages":[],"status":204,"token":"`+c.token+`"}`)
			r = env.must("POST", tt.query, tt.hdr, heartbeat("hb"))
			testutil.Equal(t, "post", r.Raw, `{"status":200}`)
			r = env.must("GET", tt.query, tt.hdr, "")
			testutil.Equal(t, "reply", r.msgs(), []string{heartbeatReply("hb")})
		})
	}
	testutil.Equal(t, "connects", len(env.connects), 0)
	testutil.Equal(t, "Sessions()", env.lp.Sessions(), 1)
}

// TestLongPollBadToken: a GET whose token does not verify, or names a
// session that is gone, starts a new session with the request's params.
func TestLongPollBadToken(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{Window: 20 * time.Millisecond})
	other := newLP(t, transport.LongPollConfig{})
	foreign := other.open("").token
	good := env.open("user=gone").token
	testutil.Success(t, env.sock.Disconnect(context.Background(), "user:gone"))
	testutil.CheckFor(t, 5*time.Second, func() error {
		if n := env.lp.Sessions(); n != 0 {
			return fmt.Errorf("%d sessions", n)
		}
		return nil
	})
	tampered := good[:len(good)-2] + "AA"
	if tampered == good {
		tampered = good[:len(good)-2] + "BB"
	}
	tests := []struct {
		name, token string
		params      []string // "token" params Connect sees
	}{
		{"garbage", "garbage", []string{"user-tok", "garbage"}},
		{"tampered", tampered, []string{"user-tok", tampered}},
		{"other secret", foreign, []string{"user-tok", foreign}},
		{"session gone", good, []string{"user-tok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.must("GET", "token=user-tok&vsn=2.0.0&token="+url.QueryEscape(tt.token), nil, "")
			testutil.Equal(t, "status", r.Status, 410)
			if r.Token == "" || r.Token == tt.token {
				t.Fatalf("token = %q, want a new one", r.Token)
			}
			testutil.Equal(t, "Connect params", lastConnect(env.connects).Params["token"], tt.params)
			p := env.must("POST", "token="+url.QueryEscape(tt.token), nil, heartbeat("1"))
			testutil.Equal(t, "post to it", p.Raw, `{"status":410}`)
		})
	}
}

func TestLongPollPostWithoutSession(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{})
	for _, q := range []string{"vsn=2.0.0", "vsn=2.0.0&token=nope"} {
		r := env.must("POST", q, http.Header{"Content-Type": {"application/x-ndjson"}}, heartbeat("1"))
		testutil.Equal(t, "post "+q, r.Raw, `{"status":410}`)
	}
	testutil.Equal(t, "Sessions()", env.lp.Sessions(), 0)
}

// TestLongPollHandshake checks the refusals of a new session: HTTP 200
// with {"status":403}.
func TestLongPollHandshake(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{AllowedOrigins: []string{"https://app.example.com"}})
	tests := []struct {
		name   string
		query  string
		origin string
		want   int
	}{
		{"v2", "vsn=2.0.0", "", 410},
		{"v1 without vsn", "", "", 410},
		{"unsupported vsn", "vsn=3.0.0", "", 403},
		{"bad vsn", "vsn=banana", "", 403},
		{"refused by connect", "user=reject&vsn=2.0.0", "", 403},
		{"allowed origin", "vsn=2.0.0", "https://app.example.com", 410},
		{"foreign origin", "vsn=2.0.0", "https://evil.com", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hdr := http.Header{}
			if tt.origin != "" {
				hdr.Set("Origin", tt.origin)
			}
			r := env.must("GET", tt.query, hdr, "")
			testutil.Equal(t, "status", r.Status, tt.want)
			if tt.want == 403 {
				testutil.Equal(t, "body", r.Raw, `{"status":403}`)
			}
		})
	}
	r := env.must("POST", "vsn=2.0.0", http.Header{"Origin": {"https://evil.com"}}, "x")
	testutil.Equal(t, "post from a foreign origin", r.Raw, `{"status":403}`)
}

// TestLongPollBadBody: a line that does not decode answers 400 after the
// lines before it ran; the lines after it do not run; the session goes on.
func TestLongPollBadBody(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{Window: 20 * time.Millisecond})
	c := env.open("")
	tests := []struct {
		name  string
		ctype string
		body  string
		err   string
	}{
		{"bad JSON", "application/x-ndjson", heartbeat("a") + "\n[broken\n" + heartbeat("z"), "line 2: wire: v2 decode: "},
		{"wrong arity", "application/x-ndjson", heartbeat("a") + "\r\n[null,\"1\",\"phoenix\"]", "line 2: wire: v2 decode: "},
		{"bad base64", "application/x-ndjson", heartbeat("a") + "\n\n!!!", "line 3: neither a JSON frame nor base64: "},
		{"bad binary frame", "application/x-ndjson", heartbeat("a") + "\nAAAA", "line 2: wire: v2 decode: "},
		{"bad UTF-8", "application/x-ndjson", heartbeat("a") + "\n[\"\xff\"]", "line 2: text frame is not valid UTF-8"},
		{"plain body", "text/plain", "not json", "body: wire: v2 decode: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := env.must("POST", c.query(), http.Header{"Content-Type": {tt.ctype}}, tt.body)
			testutil.Equal(t, "status", r.Status, 400)
			if !strings.HasPrefix(r.Error, tt.err) {
				t.Fatalf("error = %q, want prefix %q", r.Error, tt.err)
			}
			testutil.Equal(t, "body keys", r.Raw[:len(`{"error":`)], `{"error":`)
			want := []string{heartbeatReply("a")}
			if tt.ctype != "application/x-ndjson" {
				want = []string{}
			}
			testutil.Equal(t, "replies before the bad line", c.poll().msgs(), want)
			testutil.Equal(t, "post after", c.post(heartbeat("ok")).Raw, `{"status":200}`)
			testutil.Equal(t, "session goes on", c.poll().msgs(), []string{heartbeatReply("ok")})
		})
	}
}

// TestLongPollBodyTooLarge refuses the whole body: nothing of it runs.
func TestLongPollBodyTooLarge(t *testing.T) {
	t.Parallel()
	env := newLPDirect(t, transport.LongPollConfig{MaxBodySize: 64, Window: 20 * time.Millisecond})
	c := env.open("")
	r := c.post(heartbeat("1"), heartbeat("2"))
	testutil.Equal(t, "body", r.Raw, `{"error":"request body over 64 bytes","status":413}`)
	testutil.Equal(t, "nothing ran", c.poll().Status, 204)
	testutil.Equal(t, "post after", c.post(heartbeat("3")).Raw, `{"status":200}`)
	testutil.Equal(t, "session goes on", c.poll().msgs(), []string{heartbeatReply("3")})
}

// TestLongPollV1 speaks vsn 1.0.0 with a plain (not ndjson) body.
func TestLongPollV1(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{})
	r := env.must("GET", "vsn=1.0.0", nil, "")
	testutil.Equal(t, "open", r.Status, 410)
	q := "vsn=1.0.0&token=" + url.QueryEscape(r.Token)
	p := env.must("POST", q, http.Header{"Content-Type": {"application/json"}}, `{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"1"}`)
	testutil.Equal(t, "post", p.Raw, `{"status":200}`)
	testutil.Equal(t, "reply", env.must("GET", q, nil, "").msgs(), []string{`{"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"phoenix"}`})
}

func TestLongPollPreflight(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{})
	r := env.must("OPTIONS", "vsn=2.0.0", http.Header{
		"Access-Control-Request-Headers": {"x-phoenix-longpoll-token, content-type"},
		"Access-Control-Request-Method":  {"POST"},
	}, "")
	testutil.Equal(t, "body", r.Raw, "")
	testutil.Equal(t, "allow-origin", r.Header.Get("Access-Control-Allow-Origin"), "*")
	testutil.Equal(t, "allow-headers", r.Header.Get("Access-Control-Allow-Headers"), "x-phoenix-longpoll-token, content-type")
	testutil.Equal(t, "allow-methods", r.Header.Get("Access-Control-Allow-Methods"), "get, post, options")
	testutil.Equal(t, "max-age", r.Header.Get("Access-Control-Max-Age"), "3600")
}

func TestLongPollMethods(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{})
	for _, m := range []string{"PUT", "DELETE", "PATCH"} {
		r, err := env.do(context.Background(), m, "vsn=2.0.0", nil, "")
		testutil.Success(t, err)
		testutil.Equal(t, m, r.HTTP, http.StatusBadRequest)
	}
}

func TestLongPollConfig(t *testing.T) {
	t.Parallel()
	sock, _ := channel.NewSocket(channel.Config{})
	tests := []struct {
		name string
		cfg  transport.LongPollConfig
	}{
		{"no socket", transport.LongPollConfig{}},
		{"short secret", transport.LongPollConfig{Socket: sock, Secret: []byte("short")}},
		{"bad origin", transport.LongPollConfig{Socket: sock, AllowedOrigins: []string{"http://"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := transport.NewLongPoll(tt.cfg)
			testutil.Error(t, err)
		})
	}
	_, err := transport.NewLongPoll(transport.LongPollConfig{Socket: sock, Secret: make([]byte, 32)})
	testutil.Success(t, err)
}
