package redis_test

import (
	"context"
	"fmt"
	"log"
	"os/signal"
	"syscall"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/pubsub/redis"
)

type printer struct{}

func (printer) Deliver(m *pubsub.Message) { fmt.Printf("%s %s %s\n", m.Topic, m.Event, m.Payload) }

// A node of a cluster: each node runs the same code with its own Node
// name. In an application, the broker is one of suzaku.Config.Services,
// and the presence.Tracker and cache.Memory built on it are others.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	broker, err := redis.New(redis.Config{Node: "web-1", Addr: "127.0.0.1:6379"})
	if err != nil {
		log.Fatal(err)
	}
	// Subscriptions are local and work before Serve connects.
	_ = broker.Subscribe(ctx, "room:lobby", printer{})
	go func() {
		// Serve reconnects by itself; it returns when ctx ends.
		if err := broker.Serve(ctx); err != nil {
			log.Print(err)
		}
	}()

	// Every node's subscribers of room:lobby get it, this one's at once.
	// While Serve is not connected, it reaches this node's subscribers only.
	err = broker.Broadcast(ctx, &pubsub.Message{Topic: "room:lobby", Event: "new_msg", Payload: []byte(`{"body":"hi"}`)})
	if err != nil {
		log.Print(err)
	}
	<-ctx.Done()
}
