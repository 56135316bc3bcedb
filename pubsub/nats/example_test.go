package nats_test

import (
	"context"
	"fmt"
	"log"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/suzaku-go/suzaku/pubsub"
	suzakunats "github.com/suzaku-go/suzaku/pubsub/nats"
)

type printer struct{ node string }

func (p *printer) Deliver(m *pubsub.Message) {
	fmt.Printf("%s got %s %s %s\n", p.node, m.Topic, m.Event, m.Payload)
}

// A node of a cluster: each node runs the same code with its own Node
// name. In an application, the broker is one of suzaku.Config.Services,
// and the presence.Tracker and cache.Memory built on it are others.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	broker, err := suzakunats.New(suzakunats.Config{Node: "web-1", URL: "nats://127.0.0.1:4222"})
	if err != nil {
		log.Fatal(err)
	}
	// Subscriptions are local and work before Serve connects.
	_ = broker.Subscribe(ctx, "room:lobby", &printer{node: "web-1"})
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

// collector is a Subscriber that sends what it gets as a line of text.
type collector struct {
	node  string
	lines chan<- string
}

func (c *collector) Deliver(m *pubsub.Message) {
	c.lines <- fmt.Sprintf("%s got %s %s %s", c.node, m.Topic, m.Event, m.Payload)
}

// Two nodes on an in-process NATS server, as in tests: a broadcast from
// one reaches the subscribers of both, a direct broadcast one node only.
func Example_twoNodes() {
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		log.Fatal(err)
	}
	srv.Start()
	defer srv.WaitForShutdown()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(10 * time.Second) {
		log.Fatal("NATS server not ready")
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	lines := make(chan string, 8)
	var nodes []*suzakunats.Broker
	for _, name := range []string{"web-1", "web-2"} {
		b, err := suzakunats.New(suzakunats.Config{Node: name, URL: srv.ClientURL()})
		if err != nil {
			log.Fatal(err)
		}
		_ = b.Subscribe(ctx, "room:lobby", &collector{node: name, lines: lines})
		wg.Go(func() { _ = b.Serve(ctx) })
		nodes = append(nodes, b)
	}
	for _, b := range nodes {
		for !b.Stats().Connected {
			time.Sleep(time.Millisecond)
		}
	}

	web1 := nodes[0]
	_ = web1.Broadcast(ctx, &pubsub.Message{Topic: "room:lobby", Event: "new_msg", Payload: []byte(`{"body":"hi"}`)})
	_ = web1.DirectBroadcast(ctx, "web-2", &pubsub.Message{Topic: "room:lobby", Event: "direct", Payload: []byte(`{}`)})
	got := make([]string, 3)
	for i := range got {
		got[i] = <-lines
	}
	slices.Sort(got)
	for _, line := range got {
		fmt.Println(line)
	}
	// Output:
	// web-1 got room:lobby new_msg {"body":"hi"}
	// web-2 got room:lobby direct {}
	// web-2 got room:lobby new_msg {"body":"hi"}
}
