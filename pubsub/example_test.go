package pubsub_test

import (
	"context"
	"fmt"

	"github.com/suzaku-go/suzaku/pubsub"
)

// printer is a Subscriber that prints what it gets. A real one queues the
// message for its connection and returns.
type printer struct{ name string }

func (p *printer) Deliver(m *pubsub.Message) {
	fmt.Printf("%s got %s %s %s\n", p.name, m.Topic, m.Event, m.Payload)
}

func Example() {
	ctx := context.Background()
	b := pubsub.NewMemory(pubsub.MemoryConfig{})
	alice, bob := &printer{"alice"}, &printer{"bob"}
	_ = b.Subscribe(ctx, "room:lobby", alice)
	_ = b.Subscribe(ctx, "room:lobby", bob)

	// broadcast: every subscriber, the sender included.
	_ = b.Broadcast(ctx, &pubsub.Message{Topic: "room:lobby", Event: "new_msg", Payload: []byte(`{"body":"hi"}`)})

	// broadcast_from: everyone but alice, who sent it.
	_ = b.Broadcast(ctx, &pubsub.Message{Topic: "room:lobby", Event: "typing", Payload: []byte(`{}`), From: alice})

	// Output:
	// alice got room:lobby new_msg {"body":"hi"}
	// bob got room:lobby new_msg {"body":"hi"}
	// bob got room:lobby typing {}
}

// A connection subscriber encodes a broadcast through Memo, so that however
// many connections share the message, it is encoded once per serializer.
func ExampleMessage_Memo() {
	const slotV2 = 0 // one slot per serializer, chosen by the application
	encodes := 0
	encodeV2 := func(m *pubsub.Message) any {
		encodes++
		return fmt.Sprintf(`[null,null,%q,%q,%s]`, m.Topic, m.Event, m.Payload)
	}
	m := &pubsub.Message{Topic: "room:lobby", Event: "new_msg", Payload: []byte(`{"body":"hi"}`)}
	for range 3 { // three connections
		fmt.Println(m.Memo(slotV2, encodeV2))
	}
	fmt.Println("encodes:", encodes)
	// Output:
	// [null,null,"room:lobby","new_msg",{"body":"hi"}]
	// [null,null,"room:lobby","new_msg",{"body":"hi"}]
	// [null,null,"room:lobby","new_msg",{"body":"hi"}]
	// encodes: 1
}

// A network adapter keeps its local subscribers in a Registry. The counts
// that Subscribe and Unsubscribe return tell it when to subscribe upstream
// and when to stop.
func ExampleRegistry() {
	var r pubsub.Registry // the zero value is ready to use
	a, b := &printer{"a"}, &printer{"b"}

	n, added := r.Subscribe("room:1", a)
	fmt.Println(n, added, "(first subscriber: subscribe upstream)")
	n, added = r.Subscribe("room:1", b)
	fmt.Println(n, added)
	n, added = r.Subscribe("room:1", b)
	fmt.Println(n, added, "(already subscribed)")

	delivered := r.Dispatch(&pubsub.Message{Topic: "room:1", Event: "ping", Payload: []byte(`{}`), From: b})
	fmt.Println("delivered:", delivered)

	n, removed := r.Unsubscribe("room:1", a)
	fmt.Println(n, removed)
	n, removed = r.Unsubscribe("room:1", b)
	fmt.Println(n, removed, "(last subscriber: unsubscribe upstream)")
	// Output:
	// 1 true (first subscriber: subscribe upstream)
	// 2 true
	// 2 false (already subscribed)
	// a got room:1 ping {}
	// delivered: 1
	// 1 true
	// 0 true (last subscriber: unsubscribe upstream)
}
