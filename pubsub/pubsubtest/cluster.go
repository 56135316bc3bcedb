package pubsubtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/suzaku-go/suzaku/pubsub"
)

// RunCluster runs the multi-node suite every broker adapter must pass:
// broadcasts reach every node exactly once, broadcast_from skips only the
// sender (From never crosses nodes), DirectBroadcast reaches one node,
// LocalBroadcast stays local, payloads and per-publisher order survive.
// newCluster returns n brokers with distinct node names, connected to one
// another, ready to use; each test uses topics of its own.
func RunCluster(t *testing.T, newCluster func(t *testing.T, n int) []pubsub.Broker) {
	tests := []struct {
		name string
		run  func(t *testing.T, nodes []pubsub.Broker)
	}{
		{"Broadcast", testClusterBroadcast},
		{"BroadcastFromEveryNode", testClusterEveryNode},
		{"BroadcastFrom", testClusterBroadcastFrom},
		{"FromIsLocal", testClusterFromIsLocal},
		{"DirectBroadcast", testClusterDirect},
		{"DirectBroadcastSelf", testClusterDirectSelf},
		{"DirectBroadcastUnknownNode", testClusterDirectUnknown},
		{"LocalBroadcast", testClusterLocal},
		{"Payload", testClusterPayload},
		{"Ordering", testClusterOrdering},
		{"Concurrent", testClusterConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newCluster(t, 3))
		})
	}
}

// subscribeAll subscribes one recorder per node to topic.
func subscribeAll(t *testing.T, nodes []pubsub.Broker, topic string, size int) []*Recorder {
	t.Helper()
	recs := make([]*Recorder, len(nodes))
	for i, n := range nodes {
		recs[i] = NewRecorder(n.Node(), size)
		if err := n.Subscribe(t.Context(), topic, recs[i]); err != nil {
			t.Fatalf("%s: Subscribe(%q) = %v", n.Node(), topic, err)
		}
	}
	return recs
}

func send(t *testing.T, f func(context.Context, *pubsub.Message) error, m *pubsub.Message) {
	t.Helper()
	if err := f(t.Context(), m); err != nil {
		t.Fatalf("broadcast %q %q = %v, want nil", m.Topic, m.Event, err)
	}
}

// A broadcast reaches the subscribers of every node once, the sender's
// included, as an equal message without From.
func testClusterBroadcast(t *testing.T, nodes []pubsub.Broker) {
	topic := NewTopic("bcast")
	recs := subscribeAll(t, nodes, topic, 8)
	sent := Msg(topic, "e1")
	send(t, nodes[0].Broadcast, sent)
	send(t, nodes[0].Broadcast, Msg(topic, "marker"))
	for _, r := range recs {
		got := r.Next(t)
		if got.Topic != topic || got.Event != "e1" || !bytes.Equal(got.Payload, sent.Payload) || got.Binary || got.From != nil {
			t.Fatalf("%s got {%q %q %q binary=%v from=%v}, want {%q e1 %q binary=false from=nil}",
				r.name, got.Topic, got.Event, got.Payload, got.Binary, got.From, topic, sent.Payload)
		}
		r.Expect(t, "marker") // a second e1 would have come first
		r.ExpectNone(t)
	}
}

// Every node broadcasts; every node gets each broadcast once.
func testClusterEveryNode(t *testing.T, nodes []pubsub.Broker) {
	topic := NewTopic("every")
	recs := subscribeAll(t, nodes, topic, 16)
	for _, n := range nodes {
		send(t, n.Broadcast, Msg(topic, "from-"+n.Node()))
	}
	for _, n := range nodes {
		send(t, n.Broadcast, Msg(topic, "marker"))
	}
	for _, r := range recs {
		got := map[string]int{}
		for markers := 0; markers < len(nodes); {
			m := r.Next(t)
			if m.Event == "marker" {
				markers++
				continue
			}
			got[m.Event]++
		}
		for _, n := range nodes {
			if c := got["from-"+n.Node()]; c != 1 {
				t.Errorf("%s got the broadcast of %s %d times, want 1", r.name, n.Node(), c)
			}
		}
		r.ExpectNone(t)
	}
}

// Broadcast with From skips From on the sender's node only.
func testClusterBroadcastFrom(t *testing.T, nodes []pubsub.Broker) {
	topic := NewTopic("from")
	recs := subscribeAll(t, nodes, topic, 8)
	self := NewRecorder("self", 8)
	if err := nodes[0].Subscribe(t.Context(), topic, self); err != nil {
		t.Fatal(err)
	}
	m := Msg(topic, "e1")
	m.From = self
	send(t, nodes[0].Broadcast, m)
	send(t, nodes[0].Broadcast, Msg(topic, "marker"))
	for _, r := range recs {
		r.Expect(t, "e1", "marker")
		r.ExpectNone(t)
	}
	self.Expect(t, "marker")
	self.ExpectNone(t)
}

// From never crosses nodes: a subscriber of two nodes, From on one, gets
// the broadcast from the other.
func testClusterFromIsLocal(t *testing.T, nodes []pubsub.Broker) {
	topic := NewTopic("fromlocal")
	shared := NewRecorder("shared", 8)
	for _, n := range nodes[:2] {
		if err := n.Subscribe(t.Context(), topic, shared); err != nil {
			t.Fatal(err)
		}
	}
	m := Msg(topic, "e1")
	m.From = shared
	send(t, nodes[0].Broadcast, m)
	// The marker reaches shared at once on node 0, and after e1 on node 1.
	send(t, nodes[0].Broadcast, Msg(topic, "marker"))
	got := map[string]int{}
	for got["marker"] < 2 {
		got[shared.Next(t).Event]++
	}
	if got["e1"] != 1 {
		t.Fatalf("shared got e1 %d times, want 1 (from node 1 only)", got["e1"])
	}
	shared.ExpectNone(t)
}

// DirectBroadcast to another node reaches that node only.
func testClusterDirect(t *testing.T, nodes []pubsub.Broker) {
	topic := NewTopic("direct")
	recs := subscribeAll(t, nodes, topic, 8)
	if err := nodes[0].DirectBroadcast(t.Context(), nodes[1].Node(), Msg(topic, "e1")); err != nil {
		t.Fatalf("DirectBroadcast(%q) = %v, want nil", nodes[1].Node(), err)
	}
	send(t, nodes[0].Broadcast, Msg(topic, "marker"))
	for i, r := range recs {
		if i == 1 {
			r.Expect(t, "e1")
		}
		r.Expect(t, "marker")
		r.ExpectNone(t)
	}
}

// DirectBroadcast to the sender's own node stays there.
func testClusterDirectSelf(t *testing.T, nodes []pubsub.Broker) {
	topic := NewTopic("directself")
	recs := subscribeAll(t, nodes, topic, 8)
	if err := nodes[0].DirectBroadcast(t.Context(), nodes[0].Node(), Msg(topic, "e1")); err != nil {
		t.Fatalf("DirectBroadcast(self) = %v, want nil", err)
	}
	send(t, nodes[0].Broadcast, Msg(topic, "marker"))
	for i, r := range recs {
		if i == 0 {
			r.Expect(t, "e1")
		}
		r.Expect(t, "marker")
		r.ExpectNone(t)
	}
}

// DirectBroadcast to a node no one is reaches no one.
func testClusterDirectUnknown(t *testing.T, nodes []pubsub.Broker) {
	topic := NewTopic("directunknown")
	recs := subscribeAll(t, nodes, topic, 8)
	err := nodes[0].DirectBroadcast(t.Context(), "no-such-node", Msg(topic, "e1"))
	if err != nil && !errors.Is(err, pubsub.ErrUnknownNode) {
		t.Fatalf("DirectBroadcast(unknown) = %v, want nil or ErrUnknownNode", err)
	}
	send(t, nodes[0].Broadcast, Msg(topic, "marker"))
	for _, r := range recs {
		r.Expect(t, "marker")
		r.ExpectNone(t)
	}
}

// LocalBroadcast stays on its node.
func testClusterLocal(t *testing.T, nodes []pubsub.Broker) {
	topic := NewTopic("local")
	recs := subscribeAll(t, nodes, topic, 8)
	send(t, nodes[0].LocalBroadcast, Msg(topic, "e1"))
	send(t, nodes[0].Broadcast, Msg(topic, "marker"))
	for i, r := range recs {
		if i == 0 {
			r.Expect(t, "e1")
		}
		r.Expect(t, "marker")
		r.ExpectNone(t)
	}
}

// Every field survives the trip between nodes.
func testClusterPayload(t *testing.T, nodes []pubsub.Broker) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	tests := []struct {
		name    string
		topic   string
		event   string
		payload []byte
		binary  bool
	}{
		{name: "JSON", event: "new_msg", payload: []byte(`{"body":"hi","n":[1,2.5,null,true]}`)},
		{name: "Unicode", topic: "salle:café ☕", event: "événement", payload: []byte(`{"body":"日本語 ✓ \u0000"}`)},
		{name: "EmptyEvent", event: "", payload: []byte(`{}`)},
		{name: "Binary", event: "bin", payload: all, binary: true},
		{name: "InvalidUTF8", event: "bin", payload: []byte{0xff, 0xfe, 0x00, 0xc3, 0x28}, binary: true},
		{name: "EmptyBinary", event: "bin", payload: nil, binary: true},
		{name: "Large", event: "big", payload: bytes.Repeat([]byte("0123456789abcdef"), 4096), binary: true},
		{name: "LongTopic", topic: string(bytes.Repeat([]byte("x"), 300)), event: "e", payload: []byte(`1`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			topic := NewTopic("payload") + tt.topic
			r := NewRecorder("r", 4)
			if err := nodes[1].Subscribe(t.Context(), topic, r); err != nil {
				t.Fatal(err)
			}
			send(t, nodes[0].Broadcast, &pubsub.Message{Topic: topic, Event: tt.event, Payload: tt.payload, Binary: tt.binary})
			got := r.Next(t)
			if got.Topic != topic || got.Event != tt.event || got.Binary != tt.binary || !bytes.Equal(got.Payload, tt.payload) {
				t.Fatalf("got {%q %q binary=%v %d bytes}, want {%q %q binary=%v %d bytes}",
					got.Topic, got.Event, got.Binary, len(got.Payload), topic, tt.event, tt.binary, len(tt.payload))
			}
		})
	}
}

// One publisher's messages arrive in order on another node.
func testClusterOrdering(t *testing.T, nodes []pubsub.Broker) {
	const n = 1000
	topic := NewTopic("order")
	r := NewRecorder("r", n)
	if err := nodes[1].Subscribe(t.Context(), topic, r); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		send(t, nodes[0].Broadcast, Msg(topic, strconv.Itoa(i)))
	}
	for i := range n {
		if m := r.Next(t); m.Event != strconv.Itoa(i) {
			t.Fatalf("delivery %d: event = %q, want %q", i, m.Event, strconv.Itoa(i))
		}
	}
}

// Publishers on every node at once: each node's subscriber gets every
// message once, in each publisher's order.
func testClusterConcurrent(t *testing.T, nodes []pubsub.Broker) {
	const (
		perNode = 4
		perPub  = 100
	)
	topic := NewTopic("conc")
	total := len(nodes) * perNode * perPub
	recs := subscribeAll(t, nodes, topic, total+len(nodes))
	var wg sync.WaitGroup
	errs := make(chan error, len(nodes)*perNode)
	for _, n := range nodes {
		for p := range perNode {
			wg.Go(func() {
				pub := n.Node() + "/" + strconv.Itoa(p)
				for i := range perPub {
					m := &pubsub.Message{Topic: topic, Event: pub, Payload: strconv.AppendInt(nil, int64(i), 10)}
					if err := n.Broadcast(t.Context(), m); err != nil {
						errs <- fmt.Errorf("%s: Broadcast: %w", pub, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, n := range nodes {
		send(t, n.Broadcast, Msg(topic, "marker"))
	}
	for _, r := range recs {
		next := map[string]int{}
		got := 0
		for markers := 0; markers < len(nodes); {
			m := r.Next(t)
			if m.Event == "marker" {
				markers++
				continue
			}
			seq, err := strconv.Atoi(string(m.Payload))
			if err != nil || seq != next[m.Event] {
				t.Fatalf("%s: publisher %s: got %q, want %d (lost, duplicated or reordered)", r.name, m.Event, m.Payload, next[m.Event])
			}
			next[m.Event]++
			got++
		}
		if got != total {
			t.Fatalf("%s: got %d messages, want %d", r.name, got, total)
		}
		r.ExpectNone(t)
	}
}
