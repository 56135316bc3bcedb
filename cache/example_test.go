package cache_test

import (
	"context"
	"fmt"
	"runtime"

	"github.com/suzaku-go/suzaku/cache"
	"github.com/suzaku-go/suzaku/pubsub"
)

func Example() {
	ctx := context.Background()
	c, err := cache.New(cache.Config{MaxBytes: 32 << 20})
	if err != nil {
		panic(err)
	}
	defer c.Close()

	load := func(ctx context.Context) (any, error) {
		fmt.Println("loading rooms")
		return []byte(`[{"id":1,"name":"lobby"}]`), nil
	}
	for range 2 {
		rooms, err := c.GetOrLoad(ctx, "rooms", load, cache.WithTags("rooms"))
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s\n", rooms)
	}

	// A room changed: drop everything tagged "rooms".
	if err := c.InvalidateTags(ctx, "rooms"); err != nil {
		panic(err)
	}
	_, ok, _ := c.Get(ctx, "rooms")
	fmt.Println("cached after invalidation:", ok)
	// Output:
	// loading rooms
	// [{"id":1,"name":"lobby"}]
	// [{"id":1,"name":"lobby"}]
	// cached after invalidation: false
}

// Two nodes share a broker (in production, a Redis or NATS adapter): what
// one invalidates, the other drops.
func Example_cluster() {
	broker := pubsub.NewMemory(pubsub.MemoryConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	var nodes []*cache.Memory
	done := make(chan error, 2)
	for range 2 {
		c, err := cache.New(cache.Config{Broker: broker})
		if err != nil {
			panic(err)
		}
		defer c.Close()
		go func() { done <- c.Serve(ctx) }() // a suzaku.Service in a real server
		for !c.Stats().Subscribed {
			runtime.Gosched()
		}
		nodes = append(nodes, c)
	}
	a, b := nodes[0], nodes[1]
	_ = a.Set(ctx, "user:1", []byte("ada"))
	_ = b.Set(ctx, "user:1", []byte("ada"))

	if err := a.Delete(ctx, "user:1"); err != nil {
		panic(err)
	}
	_, ok, _ := b.Get(ctx, "user:1")
	fmt.Println("node b still has user:1:", ok)

	cancel()
	<-done
	<-done
	// Output: node b still has user:1: false
}

// Notifier pushes each invalidation to the clients on a channel topic; its
// Broadcast is channel.Socket.Broadcast in an application.
func ExampleNotifier() {
	broadcast := func(_ context.Context, topic, event string, payload any) error {
		fmt.Printf("%s %s %+v\n", topic, event, payload)
		return nil
	}
	c, err := cache.New(cache.Config{
		Notify: cache.Notifier{Broadcast: broadcast, Topic: "cache"}.Notify,
	})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	_ = c.InvalidateTags(context.Background(), "room:1")
	// Output: cache invalidate {Keys:[] Tags:[room:1]}
}
