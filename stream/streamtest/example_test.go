package streamtest_test

import (
	"fmt"
	"testing"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/stream"
	"github.com/suzaku-go/suzaku/stream/streamtest"
)

// A stream store proves itself by passing the suite. A one-node store
// (stream.Memory) passes maxNodes 1; a store shared by a cluster (Redis,
// JetStream) passes 3 and returns three nodes over one server.
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
	_ = conformance // in a store's _test.go: func TestStreamSuite(t *testing.T) { … }
	fmt.Println(len(streamtest.NewTopic("orders")) > len("streamtest:"))
	// Output: true
}
