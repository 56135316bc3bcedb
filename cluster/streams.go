package cluster

import (
	"context"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/pubsub/nats"
	"github.com/suzaku-go/suzaku/pubsub/redis"
	"github.com/suzaku-go/suzaku/stream"
)

// newStreams returns the stream store that goes with broker: history in
// this process for a memory broker, in Redis for Redis, in JetStream for
// NATS (the stream SUZAKU_STREAMS_<cluster>, file storage). serve is the store's
// service, or nil when it has none.
func newStreams(broker pubsub.Broker) (s stream.Store, serve func(context.Context) error, err error) {
	switch b := broker.(type) {
	case *redis.Broker:
		s, err = redis.NewStreams(b, redis.StreamConfig{})
		return s, nil, err
	case *nats.Broker:
		js, err := nats.NewStreams(b, nats.StreamConfig{})
		if err != nil {
			return nil, nil, err
		}
		return js, js.Serve, nil
	}
	s, err = stream.NewMemory(stream.MemoryConfig{Broker: broker})
	return s, nil, err
}

// Streams returns the cluster's store of stream histories, for
// channel.Config.Streams: offsets and history are the cluster's, so that a
// client recovers on any node. Serve runs it (JetStream's consumer).
func (c *Cluster) Streams() stream.Store { return c.streams }
