package transport_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/transport"
	"github.com/suzaku-go/suzaku/wire"
)

// lpRoom is the test channel: it echoes, broadcasts, pushes binary and
// reports how it ended.
type lpRoom struct{ env *lpEnv }

func (r lpRoom) Join(ctx context.Context, ch *channel.Channel, p channel.Payload) (any, error) {
	var v struct{ Refuse bool }
	_ = p.Decode(&v)
	if v.Refuse {
		return nil, channel.Refuse("refused")
	}
	return nil, nil
}

func (r lpRoom) HandleIn(ctx context.Context, ch *channel.Channel, ev string, p channel.Payload) channel.Reply {
	switch ev {
	case "echo":
		if p.IsBinary() {
			_ = ch.Push("binary_received", map[string]int{"bytes": len(p.Bytes())})
		}
		return channel.OK(p) // a binary payload makes a binary reply
	case "shout":
		_ = ch.Broadcast(ctx, "shout", p)
		return channel.Reply{}
	case "push_binary":
		err := ch.Push("bin", channel.Binary{1, 2, 3})
		return channel.OK(map[string]string{"err": fmt.Sprint(err)})
	}
	return channel.Error(channel.Reason("unknown event"))
}

func (r lpRoom) Terminate(ctx context.Context, ch *channel.Channel, reason error) {
	select {
	case r.env.terms <- reason:
	default:
	}
}

// lpEnv is a LongPoll endpoint on an httptest server.
type lpEnv struct {
	t        testing.TB
	srv      *httptest.Server
	lp       *transport.LongPoll
	sock     *channel.Socket
	connects chan *channel.ConnectInfo
	terms    chan error
}

// newLP starts an endpoint on an httptest server. Its SessionTimeout
// defaults to a minute.
func newLP(t testing.TB, cfg transport.LongPollConfig) *lpEnv {
	t.Helper()
	if cfg.SessionTimeout == 0 {
		// Tiny windows keep tests fast; sessions must not expire between
		// two steps of a test on a loaded machine.
		cfg.SessionTimeout = time.Minute
	}
	env := newLPDirect(t, cfg)
	mux := http.NewServeMux()
	mux.Handle("/socket/longpoll", env.lp)
	env.srv = httptest.NewServer(mux)
	t.Cleanup(env.srv.Close)
	return env
}

// newLPDirect builds an endpoint that requests reach by calling
// ServeHTTP, with no network: it runs inside a synctest bubble. Connect refuses user=reject; ID names a
// session "user:<user>" for Socket.Disconnect.
func newLPDirect(t testing.TB, cfg transport.LongPollConfig) *lpEnv {
	t.Helper()
	env := &lpEnv{t: t, connects: make(chan *channel.ConnectInfo, 1000), terms: make(chan error, 1000)}
	r := &channel.Router{}
	testutil.Success(t, r.Handle("room:*", func() channel.Handler { return lpRoom{env} }))
	sock, err := channel.NewSocket(channel.Config{
		Router: r,
		Limits: channel.GenerousLimits(),
		Connect: func(ctx context.Context, info *channel.ConnectInfo) (any, error) {
			select {
			case env.connects <- info:
			default:
			}
			if info.Params.Get("user") == "reject" {
				return nil, errors.New("refused")
			}
			return info.Params.Get("user"), nil
		},
		ID: func(assigns any) string {
			if u, _ := assigns.(string); u != "" {
				return "user:" + u
			}
			return ""
		},
	})
	testutil.Success(t, err)
	cfg.Socket = sock
	lp, err := transport.NewLongPoll(cfg)
	testutil.Success(t, err)
	env.lp, env.sock = lp, sock
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = lp.Shutdown(ctx)
	})
	return env
}

// lpResp is a decoded LongPoll answer.
type lpResp struct {
	HTTP     int
	Header   http.Header
	Raw      string
	Status   int       `json:"status"`
	Token    string    `json:"token"`
	Messages *[]string `json:"messages"`
	Error    string    `json:"error"`
}

func (r lpResp) msgs() []string {
	if r.Messages == nil {
		return nil
	}
	return *r.Messages
}

// do sends one request to the endpoint.
func (e *lpEnv) do(ctx context.Context, method, query string, hdr http.Header, body string) (lpResp, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	if e.srv == nil {
		req := httptest.NewRequestWithContext(ctx, method, "/socket/longpoll?"+query, rd)
		for k, v := range hdr {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		e.lp.ServeHTTP(rec, req)
		return decodeResp(rec.Result())
	}
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+"/socket/longpoll?"+query, rd)
	if err != nil {
		return lpResp{}, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		return lpResp{}, err
	}
	return decodeResp(resp)
}

func decodeResp(resp *http.Response) (lpResp, error) {
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return lpResp{}, err
	}
	out := lpResp{HTTP: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if resp.StatusCode == http.StatusOK && len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return out, fmt.Errorf("decode %q: %w", raw, err)
		}
	}
	return out, nil
}

func (e *lpEnv) must(method, query string, hdr http.Header, body string) lpResp {
	e.t.Helper()
	r, err := e.do(context.Background(), method, query, hdr, body)
	testutil.Success(e.t, err)
	testutil.Equal(e.t, "HTTP status", r.HTTP, http.StatusOK)
	return r
}

// lpClient drives one session as phoenix.js 1.8.16 does: user params
// first, then vsn, then the session token as the last "token" parameter.
type lpClient struct {
	env    *lpEnv
	params string
	token  string
}

// open starts a session and checks the 410 answer.
func (e *lpEnv) open(params string) *lpClient {
	e.t.Helper()
	c := &lpClient{env: e, params: params}
	r := e.must("GET", c.query(), nil, "")
	testutil.Equal(e.t, "open status", r.Status, 410)
	if r.Token == "" {
		e.t.Fatalf("open %q: no token in %s", params, r.Raw)
	}
	c.token = r.Token
	return c
}

func (c *lpClient) query() string {
	q := "vsn=2.0.0&"
	if c.params != "" {
		q = c.params + "&" + q
	}
	if c.token != "" {
		q += "token=" + url.QueryEscape(c.token)
	}
	return q
}

func (c *lpClient) poll() lpResp {
	c.env.t.Helper()
	return c.env.must("GET", c.query(), nil, "")
}

// post sends lines as one ndjson batch.
func (c *lpClient) post(lines ...string) lpResp {
	c.env.t.Helper()
	return c.env.must("POST", c.query(), http.Header{"Content-Type": {"application/x-ndjson"}}, strings.Join(lines, "\n"))
}

// collect polls until n messages have arrived, and returns them.
func (c *lpClient) collect(n int) []string {
	c.env.t.Helper()
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < n {
		if time.Now().After(deadline) {
			c.env.t.Fatalf("collect(%d): got %d messages: %q", n, len(got), got)
		}
		r := c.poll()
		switch r.Status {
		case 200:
			got = append(got, r.msgs()...)
		case 204:
		default:
			c.env.t.Fatalf("poll: %s", r.Raw)
		}
	}
	return got
}

// join joins topic and checks the ok reply.
func (c *lpClient) join(topic, ref string) {
	c.env.t.Helper()
	testutil.Equal(c.env.t, "join post", c.post(fmt.Sprintf(`[%q,%q,%q,"phx_join",{}]`, ref, ref, topic)).Raw, `{"status":200}`)
	got := c.collect(1)
	testutil.Equal(c.env.t, "join reply", got, []string{fmt.Sprintf(`[%q,%q,%q,"phx_reply",{"response":{},"status":"ok"}]`, ref, ref, topic)})
}

func heartbeat(ref string) string { return fmt.Sprintf(`[null,%q,"phoenix","heartbeat",{}]`, ref) }

func heartbeatReply(ref string) string {
	return fmt.Sprintf(`[null,%q,"phoenix","phx_reply",{"response":{},"status":"ok"}]`, ref)
}

// binaryLine is the ndjson line of a binary push, as phoenix.js sends it.
func binaryLine(t testing.TB, joinRef, ref, topic, event string, payload []byte) string {
	t.Helper()
	f, err := wire.V2{}.EncodeClient(&wire.Message{JoinRef: joinRef, Ref: ref, Topic: topic, Event: event, Payload: payload, Binary: true})
	testutil.Success(t, err)
	return base64.StdEncoding.EncodeToString(f.Data)
}

// waitTerm waits for a channel's Terminate.
func (e *lpEnv) waitTerm() error {
	e.t.Helper()
	select {
	case err := <-e.terms:
		return err
	case <-time.After(5 * time.Second):
		e.t.Fatal("no channel terminated")
		return nil
	}
}

func lastConnect(c chan *channel.ConnectInfo) *channel.ConnectInfo {
	var info *channel.ConnectInfo
	for {
		select {
		case info = <-c:
		default:
			return info
		}
	}
}
