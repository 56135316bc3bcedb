package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/pubsub/redis"
	"github.com/suzaku-go/suzaku/stream"
	"github.com/suzaku-go/suzaku/stream/streamtest"
)

// TestRedisStreams runs the stream store suite on three nodes over the
// test Redis: offsets and history are the cluster's, and a client
// recovers on another node than the one it left.
func TestRedisStreams(t *testing.T) {
	t.Parallel()
	streamtest.Run(t, 3, func(t *testing.T, n int) []streamtest.Node {
		nodes := make([]streamtest.Node, n)
		for i, b := range cluster(t, n) {
			s, err := redis.NewStreams(b, redis.StreamConfig{Prefix: "suzaku-test:stream:", MetaTTL: time.Minute})
			testutil.Success(t, err)
			nodes[i] = streamtest.Node{Broker: b, Store: s}
		}
		return nodes
	})
}

// TestRedisStreamsEpochOnDataLoss: when Redis loses a topic's keys (a
// restart without persistence, a flush, eviction), the next position is in
// a new epoch and the old one is not recovered, even at an offset the new
// epoch reaches.
func TestRedisStreamsEpochOnDataLoss(t *testing.T) {
	t.Parallel()
	b := cluster(t, 1)[0]
	prefix := "suzaku-test:stream:" + newChannel() + ":"
	s, err := redis.NewStreams(b, redis.StreamConfig{Prefix: prefix, MetaTTL: time.Minute})
	testutil.Success(t, err)
	ctx := context.Background()
	topic := "stream:loss"
	var old stream.Position
	for range 5 {
		old, err = s.Publish(ctx, &pubsub.Message{Topic: topic, Event: "e", Payload: []byte(`{}`)}, stream.Limits{})
		testutil.Success(t, err)
	}
	admin := newAdmin(t, redisAddr(t))
	k := prefix + "{" + topic + "}"
	testutil.Success(t, admin.Do(ctx, admin.B().Del().Key(k+":m", k+":h").Build()).Error())
	for range 7 {
		_, err = s.Publish(ctx, &pubsub.Message{Topic: topic, Event: "e", Payload: []byte(`{}`)}, stream.Limits{})
		testutil.Success(t, err)
	}
	rec, err := s.Recover(ctx, topic, old, stream.Limits{})
	testutil.Success(t, err)
	if rec.Recovered || rec.Position.Epoch == old.Epoch || rec.Position.Offset != 7 {
		t.Fatalf("Recover(%+v) after the keys were lost = %+v, want a new epoch at 7, not recovered", old, rec)
	}
}
