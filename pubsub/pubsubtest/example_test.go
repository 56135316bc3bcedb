package pubsubtest_test

import (
	"testing"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/pubsub/pubsubtest"
)

// An adapter proves itself by passing the suite, one fresh broker per
// subtest. This is the Memory broker's own conformance test.
func ExampleRun() {
	conformance := func(t *testing.T) {
		pubsubtest.Run(t, func(t *testing.T) pubsub.Broker {
			return pubsub.NewMemory(pubsub.MemoryConfig{})
		})
	}
	_ = conformance // in an adapter's _test.go: func TestConformance(t *testing.T) { … }
}
