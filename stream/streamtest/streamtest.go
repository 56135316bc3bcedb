// Package streamtest is the conformance suite every [stream.Store] must
// pass, on one node and on a cluster: offsets contiguous per topic
// whoever publishes, delivery in offset order on every node, recovery on
// any node, bounds, epochs, and recovery through channels (a client that
// left one node recovers on another).
package streamtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/channel/channeltest"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/stream"
)

// Node is one node of a cluster under test: its broker and the store over
// it.
type Node struct {
	Broker pubsub.Broker
	Store  stream.Store
}

// Wait bounds every wait of the suite; it is reached only when a test
// fails.
const Wait = 10 * time.Second

var (
	runID = strconv.FormatUint(rand.Uint64(), 36)
	seq   atomic.Uint64
)

// NewTopic returns a topic no other test, of this process or another
// sharing the server, uses.
func NewTopic(name string) string {
	return "streamtest:" + runID + ":" + strconv.FormatUint(seq.Add(1), 10) + ":" + name
}

// Run runs the suite. newCluster returns n nodes of one cluster, ready to
// use (n is 1 for a one-node store such as stream.Memory, which then
// passes only the one-node tests: pass maxNodes 1).
func Run(t *testing.T, maxNodes int, newCluster func(t *testing.T, n int) []Node) {
	n := min(3, maxNodes)
	tests := []struct {
		name string
		run  func(t *testing.T, nodes []Node)
	}{
		{"OffsetsAndOrder", testOffsetsAndOrder},
		{"RecoverAnywhere", testRecoverAnywhere},
		{"EmptyTopicPosition", testEmptyPosition},
		{"Size", testSize},
		{"Epoch", testEpoch},
		{"TTL", testTTL},
		{"ChannelRecovery", testChannelRecovery},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newCluster(t, n))
		})
	}
}

type recorder struct {
	mu   sync.Mutex
	msgs []*pubsub.Message
}

func (r *recorder) Deliver(m *pubsub.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
}

func (r *recorder) offsets() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]uint64, len(r.msgs))
	for i, m := range r.msgs {
		out[i] = m.Offset
	}
	return out
}

func checkFor(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func seqTo(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func publish(t *testing.T, n Node, topic string, lim stream.Limits, body int) stream.Position {
	t.Helper()
	pos, err := n.Store.Publish(context.Background(), &pubsub.Message{Topic: topic, Event: "e", Payload: fmt.Appendf(nil, `{"n":%d}`, body)}, lim)
	if err != nil {
		t.Fatalf("Publish(%s) = %v", topic, err)
	}
	return pos
}

// testOffsetsAndOrder: every node publishes at once; offsets are 1…N with
// no gap or repeat, and every node's subscriber gets all of them in
// offset order.
func testOffsetsAndOrder(t *testing.T, nodes []Node) {
	topic := NewTopic("order")
	recs := make([]*recorder, len(nodes))
	for i, n := range nodes {
		recs[i] = &recorder{}
		if err := n.Broker.Subscribe(context.Background(), topic, recs[i]); err != nil {
			t.Fatal(err)
		}
		defer n.Broker.Unsubscribe(context.Background(), topic, recs[i])
	}
	const per = 40
	var mu sync.Mutex
	var got []uint64
	var wg sync.WaitGroup
	for _, n := range nodes {
		for range 2 {
			wg.Go(func() {
				for i := range per {
					pos := publish(t, n, topic, stream.Limits{Size: 1000}, i)
					mu.Lock()
					got = append(got, pos.Offset)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	total := uint64(2 * per * len(nodes))
	slices.Sort(got)
	if !slices.Equal(got, seqTo(1, total)) {
		t.Fatalf("offsets returned by Publish = %v, want 1…%d once each", got, total)
	}
	for i, r := range recs {
		checkFor(t, func() error {
			if o := r.offsets(); !slices.Equal(o, seqTo(1, total)) {
				return fmt.Errorf("node %d delivered offsets %v, want 1…%d in order", i, o, total)
			}
			return nil
		})
	}
}

func testRecoverAnywhere(t *testing.T, nodes []Node) {
	topic := NewTopic("anywhere")
	lim := stream.Limits{Size: 100}
	var last stream.Position
	for i := 1; i <= 20; i++ {
		last = publish(t, nodes[0], topic, lim, i)
	}
	for i, n := range nodes {
		pos, err := n.Store.Position(context.Background(), topic)
		if err != nil || pos != last {
			t.Fatalf("node %d: Position = %+v, %v; want %+v", i, pos, err, last)
		}
		rec, err := n.Store.Recover(context.Background(), topic, stream.Position{Epoch: last.Epoch, Offset: 5}, lim)
		if err != nil || !rec.Recovered || rec.Position != last || len(rec.Messages) != 15 {
			t.Fatalf("node %d: Recover(5) = %+v, %v; want 6…20", i, rec, err)
		}
		for j, m := range rec.Messages {
			if m.Offset != uint64(6+j) || m.Topic != topic || m.Event != "e" || string(m.Payload) != fmt.Sprintf(`{"n":%d}`, 6+j) {
				t.Fatalf("node %d: message %d = %+v %s", i, j, m, m.Payload)
			}
		}
		rec, err = n.Store.Recover(context.Background(), topic, last, lim)
		if err != nil || !rec.Recovered || len(rec.Messages) != 0 {
			t.Fatalf("node %d: Recover(latest) = %+v, %v; want recovered, nothing to replay", i, rec, err)
		}
	}
}

// testEmptyPosition: a client that joined before the first message keeps
// its position once messages come, on any node.
func testEmptyPosition(t *testing.T, nodes []Node) {
	topic := NewTopic("empty")
	pos, err := nodes[0].Store.Position(context.Background(), topic)
	if err != nil || pos.Offset != 0 || pos.Epoch == "" {
		t.Fatalf("Position(new topic) = %+v, %v; want an epoch at 0", pos, err)
	}
	publish(t, nodes[len(nodes)-1], topic, stream.Limits{}, 1)
	rec, err := nodes[len(nodes)/2].Store.Recover(context.Background(), topic, pos, stream.Limits{})
	if err != nil || !rec.Recovered || len(rec.Messages) != 1 || rec.Position.Offset != 1 {
		t.Fatalf("Recover(%+v) = %+v, %v; want the first message", pos, rec, err)
	}
}

func testSize(t *testing.T, nodes []Node) {
	topic := NewTopic("size")
	lim := stream.Limits{Size: 10}
	var last stream.Position
	for i := 1; i <= 25; i++ {
		last = publish(t, nodes[i%len(nodes)], topic, lim, i)
	}
	for since, want := range map[uint64]bool{0: false, 14: false, 15: true, 24: true, 25: true, 26: false} {
		rec, err := nodes[0].Store.Recover(context.Background(), topic, stream.Position{Epoch: last.Epoch, Offset: since}, lim)
		if err != nil || rec.Recovered != want || rec.Position != last || want && len(rec.Messages) != int(25-since) {
			t.Errorf("Recover(%d) = %v with %d messages at %+v, %v; want recovered %v at %+v", since, rec.Recovered, len(rec.Messages), rec.Position, err, want, last)
		}
	}
}

func testEpoch(t *testing.T, nodes []Node) {
	topic := NewTopic("epoch")
	last := publish(t, nodes[0], topic, stream.Limits{}, 1)
	rec, err := nodes[len(nodes)-1].Store.Recover(context.Background(), topic, stream.Position{Epoch: "x" + last.Epoch, Offset: 0}, stream.Limits{})
	if err != nil || rec.Recovered || rec.Position != last || rec.Messages != nil {
		t.Fatalf("Recover(other epoch) = %+v, %v; want not recovered at %+v", rec, err, last)
	}
}

func testTTL(t *testing.T, nodes []Node) {
	topic := NewTopic("ttl")
	lim := stream.Limits{TTL: 300 * time.Millisecond}
	first := publish(t, nodes[0], topic, lim, 1)
	checkFor(t, func() error {
		rec, err := nodes[len(nodes)-1].Store.Recover(context.Background(), topic, stream.Position{Epoch: first.Epoch, Offset: 0}, lim)
		if err != nil {
			return err
		}
		if rec.Recovered {
			return fmt.Errorf("Recover after the TTL = %+v, want not recovered", rec)
		}
		return nil
	})
}

// testChannelRecovery: a client on the first node leaves, messages are
// published on the second while more race the rejoin, and the client
// recovers on the last node: every message once, in order.
func testChannelRecovery(t *testing.T, nodes []Node) {
	topic := "stream:" + NewTopic("chan")
	lim := stream.Limits{Size: 1000}
	hs := make([]*channeltest.Harness, len(nodes))
	for i, n := range nodes {
		r := &channel.Router{}
		if err := r.HandleStream("stream:*", func() channel.Handler { return joiner{} }, lim); err != nil {
			t.Fatal(err)
		}
		hs[i] = channeltest.New(t, channel.Config{Router: r, Broker: n.Broker, Streams: n.Store})
	}
	first, last := hs[0], hs[len(hs)-1]
	mid := hs[len(hs)/2]
	send := func(h *channeltest.Harness, n int) {
		if err := h.Socket().Broadcast(context.Background(), topic, "new_msg", map[string]int{"n": n}); err != nil {
			t.Fatal(err)
		}
	}
	c := first.Connect(nil)
	var joined struct {
		Epoch  string `json:"epoch"`
		Offset uint64 `json:"offset"`
	}
	if err := c.MustJoin(topic, nil).Decode(&joined); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		send(mid, i)
	}
	checkFor(t, func() error {
		if n := len(offsets(c, topic)); n != 10 {
			return fmt.Errorf("first client got %d messages, want 10", n)
		}
		return nil
	})
	c.Close()
	for i := 11; i <= 30; i++ {
		send(mid, i)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 31; i <= 80; i++ {
			send(hs[i%len(hs)], i)
		}
	})
	c2 := last.Connect(nil)
	var r struct {
		Recovered bool `json:"recovered"`
	}
	err := c2.MustJoin(topic, map[string]any{"epoch": joined.Epoch, "offset": 10}).Decode(&r)
	wg.Wait()
	if err != nil || !r.Recovered {
		t.Fatalf("rejoin on another node = %+v, %v; want recovered", r, err)
	}
	checkFor(t, func() error {
		if got := offsets(c2, topic); !slices.Equal(got, seqTo(11, 80)) {
			var other []string
			for _, m := range c2.Received() {
				if m.Event != "new_msg" {
					other = append(other, m.Event+" "+string(m.Payload))
				}
			}
			return fmt.Errorf("recovered client got %v, want 11…80 once each in order (and %q)", got, other)
		}
		return nil
	})
}

type joiner struct{}

func (joiner) Join(context.Context, *channel.Channel, channel.Payload) (any, error) { return nil, nil }

// offsets returns the offsets of the new_msg pushes c got on topic, with
// each payload checked against its offset.
func offsets(c *channeltest.Client, topic string) []uint64 {
	var out []uint64
	for _, m := range c.Received() {
		if m.Topic != topic || m.Event != "new_msg" {
			continue
		}
		off, _ := strconv.ParseUint(m.Ref, 10, 64)
		var p struct{ N uint64 }
		if json.Unmarshal(m.Payload, &p) != nil || p.N != off {
			off = 0 // shows as a wrong offset
		}
		out = append(out, off)
	}
	return out
}
