package channel_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

// TestSecurityJoinErrorGeneric answers a join error that is not a
// refusal with a generic reason, and logs the real error.
func TestSecurityJoinErrorGeneric(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	r := &channel.Router{}
	testutil.Success(t, r.Handle("room:*", func() channel.Handler { return &testRoom{} }))
	s := newSocket(t, channel.Config{Router: r, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	c := connect(t, s, nil)
	c.send("3", "3", "room:lobby", "phx_join", map[string]any{"Raw": true})
	c.expect(`["3","3","room:lobby","phx_reply",{"response":{"reason":"join failed"},"status":"error"}]`)
	if !strings.Contains(logs.String(), "plain error") {
		t.Errorf("log = %q, want the join's error", logs.String())
	}
	// A refusal is the handler's own answer.
	c.send("4", "4", "room:lobby", "phx_join", map[string]any{"Fail": true})
	c.expect(`["4","4","room:lobby","phx_reply",{"response":{"reason":"join failed"},"status":"error"}]`)
}

// TestSecurityLimits checks each message limit's answer and counter with
// the defaults.
func TestSecurityLimits(t *testing.T) {
	t.Parallel()
	r := &channel.Router{}
	testutil.Success(t, r.Handle("room:*", func() channel.Handler { return &testRoom{} }))
	s := newSocket(t, channel.Config{Router: r})
	c := connect(t, s, nil)
	long := "room:" + strings.Repeat("x", channel.DefaultMaxTopicLength)
	c.send("1", "1", long, "phx_join", map[string]any{})
	c.expect(`["1","1","` + long + `","phx_reply",{"response":{"reason":"topic too long"},"status":"error"}]`)
	c.send("2", "2", "room:a", "phx_join", map[string]any{})
	c.read()
	c.send("2", "3", "room:a", "echo", map[string]any{"b": strings.Repeat("x", channel.DefaultMaxPayload)})
	c.expect(`["2","3","room:a","phx_reply",{"response":{"reason":"payload too large"},"status":"error"}]`)
	hits := s.LimitHits()
	testutil.Equal(t, "topic hits", hits.TopicTooLong, uint64(1))
	testutil.Equal(t, "payload hits", hits.PayloadLarge, uint64(1))
}

// TestSecurityJoinRate refuses joins over JoinRate with
// {"reason":"rate limited"}.
func TestSecurityJoinRate(t *testing.T) {
	t.Parallel()
	r := &channel.Router{}
	testutil.Success(t, r.Handle("room:*", func() channel.Handler { return &testRoom{} }))
	s := newSocket(t, channel.Config{Router: r, Limits: channel.Limits{JoinRate: 0.001, JoinBurst: 2}})
	c := connect(t, s, nil)
	c.send("1", "1", "room:1", "phx_join", map[string]any{})
	c.send("2", "2", "room:2", "phx_join", map[string]any{})
	c.send("3", "3", "room:3", "phx_join", map[string]any{})
	c.read()
	c.read()
	c.expect(`["3","3","room:3","phx_reply",{"response":{"reason":"rate limited"},"status":"error"}]`)
	testutil.Equal(t, "join hits", s.LimitHits().JoinLimited, uint64(1))
}
