package nats_test

import (
	"context"
	"log"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	suzakunats "github.com/suzaku-go/suzaku/pubsub/nats"
	"github.com/suzaku-go/suzaku/stream"
)

type room struct{}

func (room) Join(context.Context, *channel.Channel, channel.Payload) (any, error) { return nil, nil }

// Stream topics on a NATS cluster, with history in JetStream. The store is
// a service too: its Serve creates the JetStream stream and runs this
// node's ordered consumer. (package cluster does this from a broker URL.)
func ExampleNewStreams() {
	broker, err := suzakunats.New(suzakunats.Config{Node: "web-1", URL: "nats://127.0.0.1:4222"})
	if err != nil {
		log.Fatal(err)
	}
	streams, err := suzakunats.NewStreams(broker, suzakunats.StreamConfig{})
	if err != nil {
		log.Fatal(err)
	}
	router := &channel.Router{}
	_ = router.HandleStream("room:*", func() channel.Handler { return room{} }, stream.Limits{Size: 200, TTL: 10 * time.Minute})
	_, _ = channel.NewSocket(channel.Config{Router: router, Broker: broker, Streams: streams})
	// Run broker.Serve and streams.Serve as services (suzaku.Config.Services).
}
