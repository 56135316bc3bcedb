package redis_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub/pubsubtest"
	"github.com/suzaku-go/suzaku/pubsub/redis"
	"github.com/suzaku-go/suzaku/telemetry"
)

type kinds struct {
	mu  sync.Mutex
	n   map[telemetry.Kind]int
	fan int // the sum of KindBroadcast's N
}

func (k *kinds) Event(e telemetry.Event) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.n == nil {
		k.n = map[telemetry.Kind]int{}
	}
	k.n[e.Kind]++
	if e.Kind == telemetry.KindBroadcast {
		k.fan += e.N
	}
}

func (k *kinds) fanout() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fan
}

func (k *kinds) get(kind telemetry.Kind) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.n[kind]
}

// TestRedisTelemetry: a broadcast is a publish and a local fan-out on its
// node, a receive and a local fan-out (to its subscriber) on the other.
func TestRedisTelemetry(t *testing.T) {
	t.Parallel()
	channel := newChannel()
	ha, hb := &kinds{}, &kinds{}
	a := newBroker(t, redis.Config{Node: "a", Channel: channel, Hook: ha})
	b := newBroker(t, redis.Config{Node: "b", Channel: channel, Hook: hb})
	serve(t, a, true)
	serve(t, b, true)
	topic := pubsubtest.NewTopic("telemetry")
	r := pubsubtest.NewRecorder("r", 8)
	testutil.Success(t, b.Subscribe(t.Context(), topic, r))
	testutil.Success(t, a.Broadcast(t.Context(), pubsubtest.Msg(topic, "e1")))
	r.Expect(t, "e1")
	testutil.CheckFor(t, 5*time.Second, func() error {
		if ha.get(telemetry.KindBrokerPublish) != 1 || ha.get(telemetry.KindBroadcast) != 1 || hb.get(telemetry.KindBrokerReceive) != 1 {
			return fmt.Errorf("publish %d, broadcast %d, receive %d", ha.get(telemetry.KindBrokerPublish), ha.get(telemetry.KindBroadcast), hb.get(telemetry.KindBrokerReceive))
		}
		if n, fan := hb.get(telemetry.KindBroadcast), hb.fanout(); n != 1 || fan != 1 {
			return fmt.Errorf("the receiving node reported %d broadcasts with a fan-out of %d, want 1 and 1", n, fan)
		}
		return nil
	})
}

// TestRedisPing: Ping times a real round trip to Redis once connected, and
// says why not before.
func TestRedisPing(t *testing.T) {
	t.Parallel()
	b := newBroker(t, redis.Config{Node: "a", Channel: newChannel()})
	if _, err := b.Ping(t.Context()); !errors.Is(err, redis.ErrNotConnected) {
		t.Fatalf("Ping before Serve = %v, want ErrNotConnected", err)
	}
	serve(t, b, true)
	took, err := b.Ping(t.Context())
	testutil.Success(t, err)
	if took <= 0 || took > 5*time.Second {
		t.Errorf("Ping took %v", took)
	}
}
