// Package pubsubtest is the conformance suite for [pubsub.Broker]
// implementations. Every adapter runs it from its tests:
//
//	func TestBroker(t *testing.T) {
//		pubsubtest.Run(t, func(t *testing.T) pubsub.Broker {
//			b := newBroker(t) // register cleanup with t.Cleanup
//			return b
//		})
//	}
//
// Each test uses its own topics, with a prefix unique to the process and the
// test, so the suite can run in parallel against a shared server (Redis,
// NATS). Deliveries may be asynchronous: the suite waits for them with a
// timeout and never sleeps.
//
// To check that something was not delivered without waiting, the suite
// sends a marker message afterwards, from the same goroutine and on the same
// topic, and relies on two properties every adapter must have:
//   - messages from one publisher to one topic reach each subscriber in the
//     order they were sent (per-publisher ordering, PROTOCOL.md §8);
//   - a node dispatches one message to all its local subscribers before it
//     dispatches the next one of that topic, as [pubsub.Registry.Dispatch]
//     does.
//
// Beyond the [pubsub.Broker] documentation, the suite requires that:
//   - when Subscribe returns nil, broadcasts sent afterwards reach the
//     subscriber (an adapter waits for the upstream subscription);
//   - one message is delivered to all local subscribers as the same
//     *[pubsub.Message], so that [pubsub.Message.Memo] encodes it once per
//     node;
//   - Subscribe and the broadcast methods fail, with an error wrapping the
//     context's error, when ctx is already done, and change nothing;
//   - Unsubscribe with a cancelled ctx still removes the subscriber locally
//     (it may return an error), so that cleanup never leaks a subscription;
//   - DirectBroadcast to a node that does not exist returns nil or an error
//     wrapping [pubsub.ErrUnknownNode], and delivers nothing here.
package pubsubtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/suzaku-go/suzaku/pubsub"
)

// timeout bounds each wait for a delivery. It is only reached when a test
// fails.
const timeout = 10 * time.Second

// Run runs the conformance suite. newBroker is called once per subtest, with
// the subtest's t, and returns a broker ready to use; it should register its
// cleanup with t.Cleanup. Subtests run in parallel.
func Run(t *testing.T, newBroker func(t *testing.T) pubsub.Broker) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, b pubsub.Broker)
	}{
		{"Node", testNode},
		{"SubscribeBroadcast", testSubscribeBroadcast},
		{"SharedMessage", testSharedMessage},
		{"Unsubscribe", testUnsubscribe},
		{"BroadcastFrom", testBroadcastFrom},
		{"DuplicateSubscribe", testDuplicateSubscribe},
		{"TopicIsolation", testTopicIsolation},
		{"Payload", testPayload},
		{"LocalBroadcast", testLocalBroadcast},
		{"DirectBroadcast", testDirectBroadcast},
		{"Ordering", testOrdering},
		{"Concurrent", testConcurrent},
		{"CancelledContext", testCancelledContext},
		{"UnsubscribeCancelledContext", testUnsubscribeCancelledContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newBroker(t))
		})
	}
}

var (
	runID    = strconv.FormatUint(rand.Uint64(), 36)
	topicSeq atomic.Uint64
)

// newTopic returns a topic no other test of this process, or of another
// process sharing the server, uses. It holds only [a-z0-9:], which every
// adapter can carry.
func newTopic(name string) string {
	return "pubsubtest:" + runID + ":" + strconv.FormatUint(topicSeq.Add(1), 10) + ":" + name
}

// recorder is a Subscriber that queues deliveries on a buffered channel. It
// never blocks: a delivery to a full buffer is counted, and fails the test at
// the next check.
type recorder struct {
	name    string
	ch      chan *pubsub.Message
	dropped atomic.Int64
}

func newRecorder(name string, size int) *recorder {
	return &recorder{name: name, ch: make(chan *pubsub.Message, size)}
}

func (r *recorder) Deliver(m *pubsub.Message) {
	select {
	case r.ch <- m:
	default:
		r.dropped.Add(1)
	}
}

// next waits for the next delivery.
func (r *recorder) next(t *testing.T) *pubsub.Message {
	t.Helper()
	r.checkDropped(t)
	select {
	case m := <-r.ch:
		return m
	case <-time.After(timeout):
		t.Fatalf("%s: no delivery after %v", r.name, timeout)
		return nil
	}
}

// expect waits for deliveries with the given events, in order.
func (r *recorder) expect(t *testing.T, events ...string) {
	t.Helper()
	for i, want := range events {
		m := r.next(t)
		if m.Event != want {
			t.Fatalf("%s: delivery %d: event = %q, want %q (expected %q)", r.name, i, m.Event, want, events)
		}
	}
}

// expectNone checks that nothing is queued. Call it after a marker message
// sent later than the one that must not arrive has been received by some
// subscriber of the same topic.
func (r *recorder) expectNone(t *testing.T) {
	t.Helper()
	r.checkDropped(t)
	select {
	case m := <-r.ch:
		t.Fatalf("%s: unexpected delivery: topic %q, event %q, payload %q", r.name, m.Topic, m.Event, m.Payload)
	default:
	}
}

func (r *recorder) checkDropped(t *testing.T) {
	t.Helper()
	if n := r.dropped.Load(); n > 0 {
		t.Fatalf("%s: %d deliveries overflowed the test buffer of %d", r.name, n, cap(r.ch))
	}
}

func msg(topic, event string) *pubsub.Message {
	return &pubsub.Message{Topic: topic, Event: event, Payload: []byte(`{"event":"` + event + `"}`)}
}

func subscribe(t *testing.T, b pubsub.Broker, topic string, s pubsub.Subscriber) {
	t.Helper()
	if err := b.Subscribe(t.Context(), topic, s); err != nil {
		t.Fatalf("Subscribe(%q) = %v, want nil", topic, err)
	}
}

func unsubscribe(t *testing.T, b pubsub.Broker, topic string, s pubsub.Subscriber) {
	t.Helper()
	if err := b.Unsubscribe(t.Context(), topic, s); err != nil {
		t.Fatalf("Unsubscribe(%q) = %v, want nil", topic, err)
	}
}

func broadcast(t *testing.T, b pubsub.Broker, m *pubsub.Message) {
	t.Helper()
	if err := b.Broadcast(t.Context(), m); err != nil {
		t.Fatalf("Broadcast(%q, %q) = %v, want nil", m.Topic, m.Event, err)
	}
}

func testNode(t *testing.T, b pubsub.Broker) {
	if b.Node() == "" {
		t.Fatal(`Node() = "", want a name`)
	}
	if b.Node() != b.Node() {
		t.Fatal("Node() changed between calls")
	}
}

func testSubscribeBroadcast(t *testing.T, b pubsub.Broker) {
	topic := newTopic("basic")
	subs := []*recorder{newRecorder("a", 8), newRecorder("b", 8), newRecorder("c", 8)}
	for _, s := range subs {
		subscribe(t, b, topic, s)
	}
	sent := msg(topic, "hello")
	broadcast(t, b, sent)
	for _, s := range subs {
		got := s.next(t)
		if got.Topic != topic || got.Event != "hello" || !bytes.Equal(got.Payload, sent.Payload) || got.Binary {
			t.Fatalf("%s got {%q %q %q binary=%v}, want {%q %q %q binary=false}",
				s.name, got.Topic, got.Event, got.Payload, got.Binary, topic, "hello", sent.Payload)
		}
		if got.From != nil {
			t.Fatalf("%s got From = %v, want nil", s.name, got.From)
		}
	}
}

func testSharedMessage(t *testing.T, b pubsub.Broker) {
	topic := newTopic("shared")
	x, y := newRecorder("x", 4), newRecorder("y", 4)
	subscribe(t, b, topic, x)
	subscribe(t, b, topic, y)
	broadcast(t, b, msg(topic, "e"))
	mx, my := x.next(t), y.next(t)
	if mx != my {
		t.Fatal("two local subscribers got different *Message values for one broadcast; " +
			"dispatch one Message to all local subscribers so that Memo encodes it once per node")
	}
}

func testUnsubscribe(t *testing.T, b pubsub.Broker) {
	topic := newTopic("unsub")
	a, w := newRecorder("a", 8), newRecorder("witness", 8)
	subscribe(t, b, topic, a)
	subscribe(t, b, topic, w)
	broadcast(t, b, msg(topic, "e1"))
	a.expect(t, "e1")
	w.expect(t, "e1")

	unsubscribe(t, b, topic, a)
	unsubscribe(t, b, topic, a)                   // absent: not an error
	unsubscribe(t, b, newTopic("never"), a)       // unknown topic: not an error
	unsubscribe(t, b, topic, newRecorder("x", 1)) // never subscribed
	broadcast(t, b, msg(topic, "e2"))
	broadcast(t, b, msg(topic, "marker"))
	w.expect(t, "e2", "marker")
	a.expectNone(t)

	subscribe(t, b, topic, a) // subscribing again works
	broadcast(t, b, msg(topic, "e3"))
	a.expect(t, "e3")
	w.expect(t, "e3")
}

func testBroadcastFrom(t *testing.T, b pubsub.Broker) {
	tests := []struct {
		name string
		send func(ctx context.Context, m *pubsub.Message) error
	}{
		{"Broadcast", b.Broadcast},
		{"LocalBroadcast", b.LocalBroadcast},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			topic := newTopic("from")
			self, other := newRecorder("from", 8), newRecorder("other", 8)
			subscribe(t, b, topic, self)
			subscribe(t, b, topic, other)
			m := msg(topic, "e1")
			m.From = self
			if err := tt.send(t.Context(), m); err != nil {
				t.Fatalf("%s(From: self) = %v, want nil", tt.name, err)
			}
			if err := tt.send(t.Context(), msg(topic, "marker")); err != nil {
				t.Fatalf("%s(marker) = %v, want nil", tt.name, err)
			}
			other.expect(t, "e1", "marker")
			self.expect(t, "marker") // e1 would have come first
			self.expectNone(t)
		})
	}
}

func testDuplicateSubscribe(t *testing.T, b pubsub.Broker) {
	topic := newTopic("dup")
	a, w := newRecorder("a", 8), newRecorder("witness", 8)
	subscribe(t, b, topic, a)
	subscribe(t, b, topic, a)
	subscribe(t, b, topic, w)
	broadcast(t, b, msg(topic, "e1"))
	broadcast(t, b, msg(topic, "e2"))
	a.expect(t, "e1", "e2") // a second e1 would have come before e2
	w.expect(t, "e1", "e2")
	a.expectNone(t)

	// One Unsubscribe undoes any number of Subscribes.
	unsubscribe(t, b, topic, a)
	broadcast(t, b, msg(topic, "e3"))
	broadcast(t, b, msg(topic, "marker"))
	w.expect(t, "e3", "marker")
	a.expectNone(t)
}

func testTopicIsolation(t *testing.T, b pubsub.Broker) {
	base := newTopic("room")
	// Topics match exactly: neither prefixes nor extensions of a topic
	// receive its messages.
	topics := []string{base, base + "1", base + ":1", base[:len(base)-1]}
	subs := make([]*recorder, len(topics))
	for i, topic := range topics {
		subs[i] = newRecorder(topic, 8)
		subscribe(t, b, topic, subs[i])
	}
	for i, topic := range topics {
		broadcast(t, b, msg(topic, "e"+strconv.Itoa(i)))
	}
	for _, topic := range topics {
		broadcast(t, b, msg(topic, "marker"))
	}
	for i, s := range subs {
		if m := s.next(t); m.Topic != topics[i] || m.Event != "e"+strconv.Itoa(i) {
			t.Fatalf("%s got {%q %q}, want {%q %q}", s.name, m.Topic, m.Event, topics[i], "e"+strconv.Itoa(i))
		}
		s.expect(t, "marker")
		s.expectNone(t)
	}
}

func testPayload(t *testing.T, b pubsub.Broker) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	large := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	tests := []struct {
		name    string
		event   string
		payload []byte
		binary  bool
	}{
		{name: "JSON", event: "new_msg", payload: []byte(`{"body":"hi","n":[1,2.5,null,true]}`)},
		{name: "UnicodeJSON", event: "événement", payload: []byte(`{"body":"日本語 ✓ \u0000"}`)},
		{name: "EmptyJSONObject", event: "e", payload: []byte(`{}`)},
		{name: "Binary", event: "bin", payload: all, binary: true},
		{name: "InvalidUTF8", event: "bin", payload: []byte{0xff, 0xfe, 0x00, 0xc3, 0x28}, binary: true},
		{name: "EmptyBinary", event: "bin", payload: nil, binary: true},
		{name: "Large", event: "big", payload: large, binary: true},
	}
	if utf8.Valid(tests[4].payload) {
		t.Fatal("InvalidUTF8 payload is valid UTF-8")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			topic := newTopic("payload")
			r := newRecorder("r", 4)
			subscribe(t, b, topic, r)
			broadcast(t, b, &pubsub.Message{Topic: topic, Event: tt.event, Payload: tt.payload, Binary: tt.binary})
			got := r.next(t)
			if got.Topic != topic {
				t.Errorf("Topic = %q, want %q", got.Topic, topic)
			}
			if got.Event != tt.event {
				t.Errorf("Event = %q, want %q", got.Event, tt.event)
			}
			if got.Binary != tt.binary {
				t.Errorf("Binary = %v, want %v", got.Binary, tt.binary)
			}
			if !bytes.Equal(got.Payload, tt.payload) {
				t.Errorf("Payload = %s, want %s", abbrev(got.Payload), abbrev(tt.payload))
			}
		})
	}
}

func abbrev(p []byte) string {
	if len(p) > 64 {
		return fmt.Sprintf("%q… (%d bytes)", p[:64], len(p))
	}
	return fmt.Sprintf("%q", p)
}

func testLocalBroadcast(t *testing.T, b pubsub.Broker) {
	topic := newTopic("local")
	r := newRecorder("r", 4)
	subscribe(t, b, topic, r)
	if err := b.LocalBroadcast(t.Context(), msg(topic, "e1")); err != nil {
		t.Fatalf("LocalBroadcast = %v, want nil", err)
	}
	r.expect(t, "e1")
}

func testDirectBroadcast(t *testing.T, b pubsub.Broker) {
	topic := newTopic("direct")
	r := newRecorder("r", 4)
	subscribe(t, b, topic, r)
	if err := b.DirectBroadcast(t.Context(), b.Node(), msg(topic, "e1")); err != nil {
		t.Fatalf("DirectBroadcast(Node()) = %v, want nil", err)
	}
	r.expect(t, "e1")

	other := "pubsubtest-no-such-node-" + runID
	err := b.DirectBroadcast(t.Context(), other, msg(topic, "elsewhere"))
	if err != nil && !errors.Is(err, pubsub.ErrUnknownNode) {
		t.Fatalf("DirectBroadcast(%q) = %v, want nil or ErrUnknownNode", other, err)
	}
	if err := b.DirectBroadcast(t.Context(), b.Node(), msg(topic, "marker")); err != nil {
		t.Fatalf("DirectBroadcast(Node()) = %v, want nil", err)
	}
	r.expect(t, "marker")
	r.expectNone(t)
}

func testOrdering(t *testing.T, b pubsub.Broker) {
	const n = 1000
	topic := newTopic("order")
	r := newRecorder("r", n)
	subscribe(t, b, topic, r)
	for i := range n {
		broadcast(t, b, msg(topic, strconv.Itoa(i)))
	}
	for i := range n {
		if m := r.next(t); m.Event != strconv.Itoa(i) {
			t.Fatalf("delivery %d: event = %q, want %q", i, m.Event, strconv.Itoa(i))
		}
	}
	r.expectNone(t)
}

// testConcurrent runs publishers, subscribers and subscription churn at
// once. Each steady subscriber must get every message exactly once, in each
// publisher's order; churning subscribers get some of them, still in order
// and without duplicates.
func testConcurrent(t *testing.T, b pubsub.Broker) {
	const (
		publishers  = 8
		perPub      = 200
		topicCount  = 4
		subscribers = 6
		churners    = 4
		size        = publishers*perPub + topicCount + 64
	)
	topics := make([]string, topicCount)
	for i := range topics {
		topics[i] = newTopic("conc" + strconv.Itoa(i))
	}
	steady := make([]*recorder, subscribers)
	for i := range steady {
		steady[i] = newRecorder("steady"+strconv.Itoa(i), size)
		for _, topic := range topics {
			subscribe(t, b, topic, steady[i])
		}
	}

	ctx := t.Context()
	var (
		pubs  sync.WaitGroup
		churn sync.WaitGroup
		done  = make(chan struct{})
		errs  = make(chan error, publishers+churners)
	)
	churnRecs := make([]*recorder, churners)
	for c := range churnRecs {
		r := newRecorder("churn"+strconv.Itoa(c), size)
		churnRecs[c] = r
		churn.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				topic := topics[(c+i)%topicCount]
				if err := b.Subscribe(ctx, topic, r); err != nil {
					errs <- fmt.Errorf("churn Subscribe(%q): %w", topic, err)
					return
				}
				if err := b.Unsubscribe(ctx, topic, r); err != nil {
					errs <- fmt.Errorf("churn Unsubscribe(%q): %w", topic, err)
					return
				}
			}
		})
	}
	for p := range publishers {
		pubs.Go(func() {
			topic := topics[p%topicCount]
			event := strconv.Itoa(p)
			for seq := range perPub {
				m := &pubsub.Message{Topic: topic, Event: event, Payload: strconv.AppendInt(nil, int64(seq), 10)}
				if err := b.Broadcast(ctx, m); err != nil {
					errs <- fmt.Errorf("publisher %d: Broadcast: %w", p, err)
					return
				}
			}
		})
	}
	pubs.Wait()
	close(done)
	churn.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, topic := range topics {
		broadcast(t, b, msg(topic, "marker"))
	}

	for _, r := range steady {
		next := make([]int, publishers) // next expected seq per publisher
		received, markers := 0, 0
		for received < publishers*perPub || markers < topicCount {
			m := r.next(t)
			if m.Event == "marker" {
				markers++
				continue
			}
			p, seq := parseConcurrent(t, r, m, publishers)
			if seq != next[p] {
				t.Fatalf("%s: publisher %d: got seq %d, want %d (lost, duplicated or reordered)", r.name, p, seq, next[p])
			}
			next[p]++
			received++
		}
		if received != publishers*perPub {
			t.Fatalf("%s: received %d messages, want %d", r.name, received, publishers*perPub)
		}
		r.expectNone(t)
	}
	for _, r := range churnRecs {
		last := make([]int, publishers)
		for i := range last {
			last[i] = -1
		}
	drain:
		for {
			select {
			case m := <-r.ch:
				if m.Event == "marker" {
					continue
				}
				p, seq := parseConcurrent(t, r, m, publishers)
				if seq <= last[p] {
					t.Fatalf("%s: publisher %d: got seq %d after %d (duplicated or reordered)", r.name, p, seq, last[p])
				}
				last[p] = seq
			default:
				break drain
			}
		}
		r.checkDropped(t)
	}
}

func parseConcurrent(t *testing.T, r *recorder, m *pubsub.Message, publishers int) (publisher, seq int) {
	t.Helper()
	p, err1 := strconv.Atoi(m.Event)
	s, err2 := strconv.Atoi(string(m.Payload))
	if err := errors.Join(err1, err2); err != nil || p < 0 || p >= publishers {
		t.Fatalf("%s: unexpected message {%q %q %q}: %v", r.name, m.Topic, m.Event, m.Payload, err)
	}
	return p, s
}

func testCancelledContext(t *testing.T, b pubsub.Broker) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		call func(topic string, r *recorder) error
	}{
		{"Subscribe", func(topic string, r *recorder) error { return b.Subscribe(cancelled, topic, r) }},
		{"Broadcast", func(topic string, _ *recorder) error { return b.Broadcast(cancelled, msg(topic, "e1")) }},
		{"LocalBroadcast", func(topic string, _ *recorder) error { return b.LocalBroadcast(cancelled, msg(topic, "e1")) }},
		{"DirectBroadcast", func(topic string, _ *recorder) error {
			return b.DirectBroadcast(cancelled, b.Node(), msg(topic, "e1"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			topic := newTopic("cancel")
			r, w := newRecorder("r", 8), newRecorder("witness", 8)
			subscribe(t, b, topic, w)
			if tt.name != "Subscribe" {
				subscribe(t, b, topic, r)
			}
			err := tt.call(topic, r)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s(cancelled ctx) = %v, want an error wrapping context.Canceled", tt.name, err)
			}
			// Nothing happened: the Subscribe did not subscribe, the
			// broadcast did not deliver.
			broadcast(t, b, msg(topic, "marker"))
			w.expect(t, "marker")
			if tt.name != "Subscribe" {
				r.expect(t, "marker")
			}
			r.expectNone(t)
		})
	}
}

func testUnsubscribeCancelledContext(t *testing.T, b pubsub.Broker) {
	topic := newTopic("unsubcancel")
	r, w := newRecorder("r", 8), newRecorder("witness", 8)
	subscribe(t, b, topic, r)
	subscribe(t, b, topic, w)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The error, if any, is the adapter's choice; the local removal is not.
	_ = b.Unsubscribe(ctx, topic, r)
	broadcast(t, b, msg(topic, "e1"))
	broadcast(t, b, msg(topic, "marker"))
	w.expect(t, "e1", "marker")
	r.expectNone(t)
}
