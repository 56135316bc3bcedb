package nats_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
	suzakunats "github.com/suzaku-go/suzaku/pubsub/nats"
	"github.com/suzaku-go/suzaku/pubsub/pubsubtest"
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

// TestNATSTelemetry: a broadcast is a publish and a local fan-out on its
// node, a receive and a local fan-out (to its subscriber) on the other.
func TestNATSTelemetry(t *testing.T) {
	t.Parallel()
	srv := startServer(t, -1)
	prefix := newPrefix()
	ha, hb := &kinds{}, &kinds{}
	a := newBroker(t, suzakunats.Config{Node: "a", URL: srv.ClientURL(), Prefix: prefix, Hook: ha})
	b := newBroker(t, suzakunats.Config{Node: "b", URL: srv.ClientURL(), Prefix: prefix, Hook: hb})
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

// TestNATSPing: Ping times a real round trip to the NATS server once
// connected, says why not before, and fails once the server is gone.
func TestNATSPing(t *testing.T) {
	t.Parallel()
	srv := startServer(t, -1)
	b := newBroker(t, suzakunats.Config{Node: "a", URL: srv.ClientURL(), Prefix: newPrefix()})
	if _, err := b.Ping(t.Context()); !errors.Is(err, suzakunats.ErrNotConnected) {
		t.Fatalf("Ping before Serve = %v, want ErrNotConnected", err)
	}
	serve(t, b, true)
	took, err := b.Ping(t.Context())
	testutil.Success(t, err)
	if took <= 0 || took > 5*time.Second {
		t.Errorf("Ping took %v", took)
	}
	srv.Shutdown()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if _, err := b.Ping(ctx); err == nil {
		t.Error("Ping succeeded with the server shut down")
	}
}
