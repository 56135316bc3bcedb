package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/channel/channeltest"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub/redis"
	"github.com/suzaku-go/suzaku/stream"
)

type streamJoiner struct{}

func (streamJoiner) Join(context.Context, *channel.Channel, channel.Payload) (any, error) {
	return nil, nil
}

// TestRedisStreamsRestart: a Redis without persistence restarts and loses
// every topic. The next publish starts a new epoch; a live client, whose
// next message comes in that epoch, gets phx_error (phoenix.js rejoins), and
// its rejoin at the old position says recovered false, with the new
// position.
func TestRedisStreamsRestart(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t)
	b := newBroker(t, redis.Config{Node: "a", Addr: srv.addr(), Channel: newChannel(), ReconnectWait: 100 * time.Millisecond})
	serve(t, b, true)
	store, err := redis.NewStreams(b, redis.StreamConfig{})
	testutil.Success(t, err)
	r := &channel.Router{}
	testutil.Success(t, r.HandleStream("stream:*", func() channel.Handler { return streamJoiner{} }, stream.Limits{}))
	h := channeltest.New(t, channel.Config{Router: r, Broker: b, Streams: store})
	ctx := context.Background()
	publish := func() stream.Position {
		t.Helper()
		var pos stream.Position
		testutil.CheckFor(t, waitFor, func() error { // Redis may still be coming back
			var err error
			pos, err = h.Socket().Publish(ctx, "stream:r", "new_msg", map[string]int{"n": 1})
			return err
		})
		return pos
	}
	c := h.Connect(nil)
	c.MustJoin("stream:r", nil)
	var old stream.Position
	for range 3 {
		old = publish()
	}
	testutil.CheckFor(t, waitFor, func() error {
		if n := len(c.Received()); n < 4 { // the reply and three messages
			return errors.New("the live client has not got the three messages")
		}
		return nil
	})

	srv.stop()
	srv.start()
	waitConnected(t, b)
	testutil.CheckFor(t, waitFor, func() error {
		if b.Stats().Connects < 2 {
			return errors.New("not reconnected")
		}
		return nil
	})
	cur := publish()
	if cur.Epoch == old.Epoch || cur.Offset != 1 {
		t.Fatalf("first publish after the restart = %+v, want offset 1 in a new epoch (old %+v)", cur, old)
	}
	c.AssertPush("stream:r", "phx_error", nil)

	rejoin := h.Connect(nil)
	var got struct {
		Epoch     string
		Offset    uint64
		Recovered bool
	}
	testutil.Success(t, rejoin.MustJoin("stream:r", map[string]any{"epoch": old.Epoch, "offset": old.Offset}).Decode(&got))
	if got.Recovered || got.Epoch != cur.Epoch || got.Offset != 1 {
		t.Fatalf("rejoin at %+v after the restart = %+v, want recovered false at %+v", old, got, cur)
	}
}
