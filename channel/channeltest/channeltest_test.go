package channeltest_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/channel/channeltest"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

type room struct{ user string }

func (r *room) Join(ctx context.Context, ch *channel.Channel, p channel.Payload) (any, error) {
	r.user = ch.Assigns().(string)
	if ch.Topic() == "room:private" {
		return nil, channel.Refuse("unauthorized")
	}
	ch.Send("after_join")
	return map[string]string{"user": r.user}, nil
}

func (r *room) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
	switch event {
	case "new_msg":
		var m struct {
			Body string `json:"body"`
		}
		_ = p.Decode(&m)
		_ = ch.Broadcast(ctx, "new_msg", map[string]string{"user": r.user, "body": m.Body})
		return channel.OK(map[string]string{"body": m.Body})
	case "echo":
		return channel.OK(p)
	}
	return channel.Error(channel.Reason("unknown"))
}

func (r *room) HandleInfo(ctx context.Context, ch *channel.Channel, msg any) {
	_ = ch.Push("welcome", map[string]string{"user": r.user})
}

func harness(t testing.TB) *channeltest.Harness {
	router := &channel.Router{}
	testutil.Success(t, router.Handle("room:*", func() channel.Handler { return &room{} }))
	return channeltest.New(t, channel.Config{
		Router: router,
		Connect: func(ctx context.Context, info *channel.ConnectInfo) (any, error) {
			if u := info.Params.Get("user"); u != "" {
				return u, nil
			}
			return nil, errors.New("no user")
		},
	})
}

func TestChannelTestFlow(t *testing.T) {
	t.Parallel()
	h := harness(t)
	ann := h.Connect(map[string]string{"user": "ann"})
	bob := h.Connect(map[string]string{"user": "bob"})
	r := ann.MustJoin("room:1", nil)
	var joined map[string]string
	testutil.Success(t, r.Decode(&joined))
	testutil.Equal(t, "join reply", joined["user"], "ann")
	ann.AssertPush("room:1", "welcome", map[string]string{"user": "ann"})
	bob.MustJoin("room:1", nil)

	ref := ann.Push("room:1", "new_msg", map[string]string{"body": "hi"})
	ann.AssertReply(ref, "ok", map[string]string{"body": "hi"})
	h.AssertBroadcast("room:1", "new_msg", map[string]string{"user": "ann", "body": "hi"})
	bob.AssertPush("room:1", "new_msg", map[string]string{"user": "ann", "body": "hi"})

	ref = bob.Push("room:1", "echo", channel.Binary{1, 2, 3})
	bob.AssertReply(ref, "ok", channel.Binary{1, 2, 3})

	ref = bob.Push("room:1", "nope", nil)
	bob.AssertReply(ref, "error", map[string]string{"reason": "unknown"})
	ann.RefutePush("room:1", "shout", 20*time.Millisecond)
}

func TestChannelTestJoinRefused(t *testing.T) {
	t.Parallel()
	h := harness(t)
	c := h.Connect(map[string]string{"user": "ann"})
	r := c.Join("room:private", nil)
	testutil.Equal(t, "status", r.Status, "error")
	testutil.Equal(t, "response", string(r.Response), `{"reason":"unauthorized"}`)
	_, err := h.TryConnect(nil)
	testutil.Error(t, err)
}

// TestChannelTestFailures checks that assertions fail when they should.
func TestChannelTestFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		do   func(h *channeltest.Harness, c *channeltest.Client)
	}{
		{"wrong reply", func(h *channeltest.Harness, c *channeltest.Client) {
			ref := c.Push("room:1", "echo", map[string]int{"a": 1})
			c.AssertReply(ref, "ok", map[string]int{"a": 2})
		}},
		{"wrong status", func(h *channeltest.Harness, c *channeltest.Client) {
			ref := c.Push("room:1", "echo", nil)
			c.AssertReply(ref, "error", nil)
		}},
		{"missing push", func(h *channeltest.Harness, c *channeltest.Client) {
			c.AssertPush("room:1", "never", nil)
		}},
		{"missing broadcast", func(h *channeltest.Harness, c *channeltest.Client) {
			h.AssertBroadcast("room:1", "new_msg", nil)
		}},
		{"refuted push arrives", func(h *channeltest.Harness, c *channeltest.Client) {
			c.RefutePush("room:1", "welcome", 100*time.Millisecond)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ft := &fakeT{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				h := harness(ft)
				h.SetTimeout(50 * time.Millisecond)
				c := h.Connect(map[string]string{"user": "ann"})
				c.MustJoin("room:1", nil)
				tt.do(h, c)
			}()
			<-done
			if !ft.failed {
				t.Fatal("assertion passed; it should have failed")
			}
		})
	}
}

// fakeT records a failure instead of failing the real test.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = true
	runtime.Goexit()
}

func TestChannelTestConnectToken(t *testing.T) {
	t.Parallel()
	var got channel.ConnectInfo
	connect := func(_ context.Context, info *channel.ConnectInfo) (any, error) {
		got = *info
		if info.AuthToken != "sekrit" {
			return nil, errors.New("bad token")
		}
		return "ann", nil
	}
	h := channeltest.New(t, channel.Config{Connect: connect})
	c := h.ConnectToken("sekrit")
	if got.AuthToken != "sekrit" || got.Params.Get("token") != "" || got.Params.Get("vsn") != "2.0.0" || got.Transport != "test" {
		t.Fatalf("ConnectInfo = %+v", got)
	}
	if a, ok := channel.SessionAssignsAs[string](c.Session()); !ok || a != "ann" {
		t.Fatalf("assigns = %v %v", a, ok)
	}
	if _, err := h.TryConnectInfo(&channel.ConnectInfo{AuthToken: "forged"}); err == nil {
		t.Fatal("TryConnectInfo with a forged token: no error")
	}
}

func TestChannelTestEventually(t *testing.T) {
	t.Parallel()
	n := 0
	channeltest.Eventually(t, time.Second, func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if n != 3 {
		t.Fatalf("polled %d times, want 3", n)
	}
}
