package presence_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/suzaku-go/suzaku/presence"
	"github.com/suzaku-go/suzaku/pubsub"
)

// conn stands for a *channel.Channel: an Owner whose presences leave when
// it closes.
type conn struct {
	topic string
	exits []func(error)
}

func (c *conn) Topic() string        { return c.topic }
func (c *conn) OnExit(f func(error)) { c.exits = append(c.exits, f) }
func (c *conn) close() {
	for _, f := range c.exits {
		f(nil)
	}
}

// withoutRefs returns meta as JSON without its refs, which are unique and
// so differ from run to run.
func withoutRefs(meta map[string]any) string {
	m := maps.Clone(meta)
	delete(m, "phx_ref")
	delete(m, "phx_ref_prev")
	b, _ := json.Marshal(m)
	return string(b)
}

func printList(list map[string]presence.Presence) {
	for _, key := range slices.Sorted(maps.Keys(list)) {
		fmt.Print(key, ":")
		for _, meta := range list[key].Metas {
			fmt.Print(" ", withoutRefs(meta))
		}
		fmt.Println()
	}
}

// diffPrinter is a subscriber that prints presence_diff messages, as a
// client would receive them.
type diffPrinter struct{ _ byte }

func (*diffPrinter) Deliver(m *pubsub.Message) {
	var d struct{ Joins, Leaves map[string]presence.Presence }
	_ = json.Unmarshal(m.Payload, &d)
	for _, part := range []struct {
		name string
		ps   map[string]presence.Presence
	}{{"join", d.Joins}, {"leave", d.Leaves}} {
		for _, key := range slices.Sorted(maps.Keys(part.ps)) {
			for _, meta := range part.ps[key].Metas {
				fmt.Printf("  %s %s %s %s\n", m.Event, part.name, key, withoutRefs(meta))
			}
		}
	}
}

// A user with two devices in a room: two metas under one key. When one
// device's channel closes, its meta leaves.
func Example() {
	ctx := context.Background()
	broker := pubsub.NewMemory(pubsub.MemoryConfig{})
	tracker, err := presence.New(presence.Config{Broker: broker})
	if err != nil {
		panic(err)
	}
	_ = broker.Subscribe(ctx, "room:lobby", &diffPrinter{})

	laptop, phone, bob := &conn{topic: "room:lobby"}, &conn{topic: "room:lobby"}, &conn{topic: "room:lobby"}
	_, _ = tracker.Track(ctx, laptop, "alice", map[string]any{"device": "laptop"})
	_, _ = tracker.Track(ctx, phone, "alice", map[string]any{"device": "phone"})
	_, _ = tracker.Track(ctx, bob, "bob", map[string]any{"device": "desktop"})
	fmt.Println("list:")
	printList(tracker.List("room:lobby"))

	phone.close()
	fmt.Println("list:")
	printList(tracker.List("room:lobby"))
	// Output:
	//   presence_diff join alice {"device":"laptop"}
	//   presence_diff join alice {"device":"phone"}
	//   presence_diff join bob {"device":"desktop"}
	// list:
	// alice: {"device":"laptop"} {"device":"phone"}
	// bob: {"device":"desktop"}
	//   presence_diff leave alice {"device":"phone"}
	// list:
	// alice: {"device":"laptop"}
	// bob: {"device":"desktop"}
}

// An update is a join of the new meta and a leave of the old one, in one
// diff; the new meta's phx_ref_prev is the old phx_ref.
func ExampleTracker_Update() {
	ctx := context.Background()
	broker := pubsub.NewMemory(pubsub.MemoryConfig{})
	tracker, _ := presence.New(presence.Config{Broker: broker})
	_ = broker.Subscribe(ctx, "room:lobby", &diffPrinter{})
	alice := &conn{topic: "room:lobby"}

	old, _ := tracker.Track(ctx, alice, "alice", map[string]any{"status": "online"})
	ref, _ := tracker.Update(ctx, alice, "room:lobby", "alice", map[string]any{"status": "away"})
	p, _ := tracker.Get("room:lobby", "alice")
	fmt.Println("new ref:", p.Metas[0]["phx_ref"] == ref, "previous ref:", p.Metas[0]["phx_ref_prev"] == old)
	// Output:
	//   presence_diff join alice {"status":"online"}
	//   presence_diff join alice {"status":"away"}
	//   presence_diff leave alice {"status":"online"}
	// new ref: true previous ref: true
}
