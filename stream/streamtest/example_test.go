package streamtest_test

import (
	"testing"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/stream"
	"github.com/suzaku-go/suzaku/stream/streamtest"
)

// A store proves itself by passing the suite: n nodes of one cluster per
// subtest (a one-node store says so with maxNodes 1). This is the memory
// store's.
func ExampleRun() {
	conformance := func(t *testing.T) {
		streamtest.Run(t, 1, func(t *testing.T, n int) []streamtest.Node {
			b := pubsub.NewMemory(pubsub.MemoryConfig{})
			s, err := stream.NewMemory(stream.MemoryConfig{Broker: b})
			if err != nil {
				t.Fatal(err)
			}
			return []streamtest.Node{{Broker: b, Store: s}}
		})
	}
	_ = conformance // in a store's _test.go: func TestStreams(t *testing.T) { … }
}
