package stream_test

import (
	"testing"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/stream"
	"github.com/suzaku-go/suzaku/stream/streamtest"
)

func TestStreamMemorySuite(t *testing.T) {
	t.Parallel()
	streamtest.Run(t, 1, func(t *testing.T, n int) []streamtest.Node {
		b := pubsub.NewMemory(pubsub.MemoryConfig{})
		return []streamtest.Node{{Broker: b, Store: newMemory(t, stream.MemoryConfig{Broker: b})}}
	})
}
