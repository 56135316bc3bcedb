package transport_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/transport"
)

// TestSecurityLongPollSessionsPerIP refuses a client's session over
// MaxSessionsPerIP with {"status":500}, which phoenix.js retries, and
// counts it; a session that ends gives its slot back.
func TestSecurityLongPollSessionsPerIP(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{MaxSessionsPerIP: 2})
	env.open("user=a")
	env.open("user=b")
	r := env.must("GET", "user=c&vsn=2.0.0", nil, "")
	testutil.Equal(t, "third session", r.Raw, `{"status":500}`)
	testutil.Equal(t, "per-IP hits", env.lp.LimitHits().PerIP, uint64(1))
	// Ending a session frees its slot.
	testutil.Success(t, env.sock.Disconnect(context.Background(), "user:a"))
	testutil.CheckFor(t, 5*time.Second, func() error {
		if r := env.must("GET", "user=c&vsn=2.0.0", nil, ""); r.Status != 410 {
			return fmt.Errorf("new session after one ended: %s", r.Raw)
		}
		return nil
	})
}

// TestSecurityLongPollBackpressure holds a POST while the session's
// channels are behind, and answers {"status":408} once Window passes,
// without reading its body: a LongPoll client cannot queue more than
// MaxQueuedBytes either.
func TestSecurityLongPollBackpressure(t *testing.T) {
	t.Parallel()
	room := gateRoom{gate: make(chan struct{}), sessC: make(chan *channel.Session, 1)}
	r := &channel.Router{}
	testutil.Success(t, r.Handle("room:*", func() channel.Handler { return room }))
	sock, err := channel.NewSocket(channel.Config{Router: r, Limits: channel.Limits{MessageRate: -1, MaxQueuedBytes: 4096, MaxChannelQueue: 4096}})
	testutil.Success(t, err)
	lp, err := transport.NewLongPoll(transport.LongPollConfig{Socket: sock, Window: 300 * time.Millisecond, SessionTimeout: time.Minute})
	testutil.Success(t, err)
	srv := httptest.NewServer(lp)
	t.Cleanup(func() {
		close(room.gate)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = lp.Shutdown(ctx)
		srv.Close()
	})
	env := &lpEnv{t: t, srv: srv, lp: lp, sock: sock}
	c := env.open("")
	post := func(lines ...string) lpResp {
		return env.must("POST", c.query(), http.Header{"Content-Type": {"application/x-ndjson"}}, strings.Join(lines, "\n"))
	}
	testutil.Equal(t, "join", post(`["1","1","room:a","phx_join",{}]`).Raw, `{"status":200}`)
	sess := <-room.sessC
	var batch []string
	batch = append(batch, `["1","2","room:a","block",{}]`)
	for i := range 20 {
		batch = append(batch, fmt.Sprintf(`["1","%d","room:a","echo",{"b":"%s"}]`, i+3, strings.Repeat("x", 500)))
	}
	testutil.Equal(t, "first batch", post(batch...).Raw, `{"status":200}`)
	if !sess.Paused() {
		t.Fatalf("session not paused with %d bytes queued", sess.Queued())
	}
	start := time.Now()
	testutil.Equal(t, "POST while behind", post(batch[1:]...).Raw, `{"status":408}`)
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("408 after %v, want it held for the window", d)
	}
	testutil.Equal(t, "timeout hits", lp.LimitHits().Timeout, uint64(1))
}
