package pubsub_test

import (
	"context"
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/telemetry"
)

type nopSub struct{ n int }

func (s *nopSub) Deliver(*pubsub.Message) { s.n++ }

func TestMemoryTelemetryFanOut(t *testing.T) {
	t.Parallel()
	var got []telemetry.Event
	b := pubsub.NewMemory(pubsub.MemoryConfig{Hook: telemetry.HookFunc(func(e telemetry.Event) { got = append(got, e) })})
	ctx := context.Background()
	subs := []*nopSub{{}, {}, {}}
	for _, s := range subs {
		testutil.Success(t, b.Subscribe(ctx, "t", s))
	}
	testutil.Success(t, b.Broadcast(ctx, &pubsub.Message{Topic: "t", Event: "e", From: subs[0]}))
	testutil.Success(t, b.Broadcast(ctx, &pubsub.Message{Topic: "nobody", Event: "e"}))
	testutil.Equal(t, "events", len(got), 2)
	testutil.Equal(t, "kind", got[0].Kind, telemetry.KindBroadcast)
	testutil.Equal(t, "fan-out (From excluded)", got[0].N, 2)
	testutil.Equal(t, "fan-out of a topic without subscribers", got[1].N, 0)
}
