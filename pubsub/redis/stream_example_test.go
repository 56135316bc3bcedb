package redis_test

import (
	"log"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/pubsub/redis"
	"github.com/suzaku-go/suzaku/stream"
)

// Stream topics on a Redis cluster: the store goes with the broker, so
// that offsets and history are the cluster's and a client recovers on any
// node. (package cluster does this from a broker URL.)
func ExampleNewStreams() {
	broker, err := redis.New(redis.Config{Node: "web-1", Addr: "127.0.0.1:6379"})
	if err != nil {
		log.Fatal(err)
	}
	streams, err := redis.NewStreams(broker, redis.StreamConfig{})
	if err != nil {
		log.Fatal(err)
	}
	router := &channel.Router{}
	_ = router.HandleStream("room:*", newRoom, stream.Limits{Size: 200, TTL: 10 * time.Minute})
	_, _ = channel.NewSocket(channel.Config{Router: router, Broker: broker, Streams: streams})
	// Run broker.Serve as a service (suzaku.Config.Services).
}

func newRoom() channel.Handler { return streamJoiner{} }
