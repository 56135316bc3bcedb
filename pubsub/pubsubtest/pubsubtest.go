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
//     order they were sent (per-publisher ordering, docs/protocol.md §8);
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

// NewTopic returns a topic no other test of this process, or of another
// process sharing the server, uses. It holds only [a-z0-9:], which every
// adapter can carry.
func NewTopic(name string) string {
	return "pubsubtest:" + runID + ":" + strconv.FormatUint(topicSeq.Add(1), 10) + ":" + name
}

// Recorder is a Subscriber that queues deliveries on a buffered channel. It
// never blocks: a delivery to a full buffer is counted, and fails the test at
// the next check.
type Recorder struct {
	name    string
	ch      chan *pubsub.Message
	dropped atomic.Int64
}

// NewRecorder returns a Recorder that buffers size deliveries; name
// appears in its failures.
func NewRecorder(name string, size int) *Recorder {
	return &Recorder{name: name, ch: make(chan *pubsub.Message, size)}
}

// Deliver implements pubsub.Subscriber; it never blocks.
func (r *Recorder) Deliver(m *pubsub.Message) {
	select {
	case r.ch <- m:
	default:
		r.dropped.Add(1)
	}
}

// Next waits for the next delivery.
func (r *Recorder) Next(t testing.TB) *pubsub.Message {
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

// TryNext returns the next delivery if one is queued, without waiting.
func (r *Recorder) TryNext() (*pubsub.Message, bool) {
	select {
	case m := <-r.ch:
		return m, true
	default:
		return nil, false
	}
}

// Expect waits for deliveries with the given events, in order.
func (r *Recorder) Expect(t testing.TB, events ...string) {
	t.Helper()
	for i, want := range events {
		m := r.Next(t)
		if m.Event != want {
			t.Fatalf("%s: delivery %d: event = %q, want %q (expected %q)", r.name, i, m.Event, want, events)
		}
	}
}

// ExpectNone checks that nothing is queued. Call it after a marker message
// sent later than the one that must not arrive has been received by some
// subscriber of the same topic.
func (r *Recorder) ExpectNone(t testing.TB) {
	t.Helper()
	r.checkDropped(t)
	select {
	case m := <-r.ch:
		t.Fatalf("%s: unexpected delivery: topic %q, event %q, payload %q", r.name, m.Topic, m.Event, m.Payload)
	default:
	}
}

func (r *Recorder) checkDropped(t testing.TB) {
	t.Helper()
	if n := r.dropped.Load(); n > 0 {
		t.Fatalf("%s: %d deliveries overflowed the test buffer of %d", r.name, n, cap(r.ch))
	}
}

// Msg returns a message of event on topic with a small JSON payload.
func Msg(topic, event string) *pubsub.Message {
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
	topic := NewTopic("basic")
	subs := []*Recorder{NewRecorder("a", 8), NewRecorder("b", 8), NewRecorder("c", 8)}
	for _, s := range subs {
		subscribe(t, b, topic, s)
	}
	sent := Msg(topic, "hello")
	broadcast(t, b, sent)
	for _, s := range subs {
		got := s.Next(t)
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
	topic := NewTopic("shared")
	x, y := NewRecorder("x", 4), NewRecorder("y", 4)
	subscribe(t, b, topic, x)
	subscribe(t, b, topic, y)
	broadcast(t, b, Msg(topic, "e"))
	mx, my := x.Next(t), y.Next(t)
	if mx != my {
		t.Fatal("two local subscribers got different *Message values for one broadcast; " +
			"dispatch one Message to all local subscribers so that Memo encodes it once per node")
	}
}

func testUnsubscribe(t *testing.T, b pubsub.Broker) {
	topic := NewTopic("unsub")
	a, w := NewRecorder("a", 8), NewRecorder("witness", 8)
	subscribe(t, b, topic, a)
	subscribe(t, b, topic, w)
	broadcast(t, b, Msg(topic, "e1"))
	a.Expect(t, "e1")
	w.Expect(t, "e1")

	unsubscribe(t, b, topic, a)
	unsubscribe(t, b, topic, a)                   // absent: not an error
	unsubscribe(t, b, NewTopic("never"), a)       // unknown topic: not an error
	unsubscribe(t, b, topic, NewRecorder("x", 1)) // never subscribed
	broadcast(t, b, Msg(topic, "e2"))
	broadcast(t, b, Msg(topic, "marker"))
	w.Expect(t, "e2", "marker")
	a.ExpectNone(t)

	subscribe(t, b, topic, a) // subscribing again works
	broadcast(t, b, Msg(topic, "e3"))
	a.Expect(t, "e3")
	w.Expect(t, "e3")
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
			topic := NewTopic("from")
			self, other := NewRecorder("from", 8), NewRecorder("other", 8)
			subscribe(t, b, topic, self)
			subscribe(t, b, topic, other)
			m := Msg(topic, "e1")
			m.From = self
			if err := tt.send(t.Context(), m); err != nil {
				t.Fatalf("%s(From: self) = %v, want nil", tt.name, err)
			}
			if err := tt.send(t.Context(), Msg(topic, "marker")); err != nil {
				t.Fatalf("%s(marker) = %v, want nil", tt.name, err)
			}
			other.Expect(t, "e1", "marker")
			self.Expect(t, "marker") // e1 would have come first
			self.ExpectNone(t)
		})
	}
}

func testDuplicateSubscribe(t *testing.T, b pubsub.Broker) {
	topic := NewTopic("dup")
	a, w := NewRecorder("a", 8), NewRecorder("witness", 8)
	subscribe(t, b, topic, a)
	subscribe(t, b, topic, a)
	subscribe(t, b, topic, w)
	broadcast(t, b, Msg(topic, "e1"))
	broadcast(t, b, Msg(topic, "e2"))
	a.Expect(t, "e1", "e2") // a second e1 would have come before e2
	w.Expect(t, "e1", "e2")
	a.ExpectNone(t)

	// One Unsubscribe undoes any number of Subscribes.
	unsubscribe(t, b, topic, a)
	broadcast(t, b, Msg(topic, "e3"))
	broadcast(t, b, Msg(topic, "marker"))
	w.Expect(t, "e3", "marker")
	a.ExpectNone(t)
}

func testTopicIsolation(t *testing.T, b pubsub.Broker) {
	base := NewTopic("room")
	// Topics match exactly: neither prefixes nor extensions of a topic
	// receive its messages.
	topics := []string{base, base + "1", base + ":1", base[:len(base)-1]}
	subs := make([]*Recorder, len(topics))
	for i, topic := range topics {
		subs[i] = NewRecorder(topic, 8)
		subscribe(t, b, topic, subs[i])
	}
	for i, topic := range topics {
		broadcast(t, b, Msg(topic, "e"+strconv.Itoa(i)))
	}
	for _, topic := range topics {
		broadcast(t, b, Msg(topic, "marker"))
	}
	for i, s := range subs {
		if m := s.Next(t); m.Topic != topics[i] || m.Event != "e"+strconv.Itoa(i) {
			t.Fatalf("%s got {%q %q}, want {%q %q}", s.name, m.Topic, m.Event, topics[i], "e"+strconv.Itoa(i))
		}
		s.Expect(t, "marker")
		s.ExpectNone(t)
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
			topic := NewTopic("payload")
			r := NewRecorder("r", 4)
			subscribe(t, b, topic, r)
			broadcast(t, b, &pubsub.Message{Topic: topic, Event: tt.event, Payload: tt.payload, Binary: tt.binary})
			got := r.Next(t)
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
	topic := NewTopic("local")
	r := NewRecorder("r", 4)
	subscribe(t, b, topic, r)
	if err := b.LocalBroadcast(t.Context(), Msg(topic, "e1")); err != nil {
		t.Fatalf("LocalBroadcast = %v, want nil", err)
	}
	r.Expect(t, "e1")
}

func testDirectBroadcast(t *testing.T, b pubsub.Broker) {
	topic := NewTopic("direct")
	r := NewRecorder("r", 4)
	subscribe(t, b, topic, r)
	if err := b.DirectBroadcast(t.Context(), b.Node(), Msg(topic, "e1")); err != nil {
		t.Fatalf("DirectBroadcast(Node()) = %v, want nil", err)
	}
	r.Expect(t, "e1")

	other := "pubsubtest-no-such-node-" + runID
	err := b.DirectBroadcast(t.Context(), other, Msg(topic, "elsewhere"))
	if err != nil && !errors.Is(err, pubsub.ErrUnknownNode) {
		t.Fatalf("DirectBroadcast(%q) = %v, want nil or ErrUnknownNode", other, err)
	}
	if err := b.DirectBroadcast(t.Context(), b.Node(), Msg(topic, "marker")); err != nil {
		t.Fatalf("DirectBroadcast(Node()) = %v, want nil", err)
	}
	r.Expect(t, "marker")
	r.ExpectNone(t)
}

func testOrdering(t *testing.T, b pubsub.Broker) {
	const n = 1000
	topic := NewTopic("order")
	r := NewRecorder("r", n)
	subscribe(t, b, topic, r)
	for i := range n {
		broadcast(t, b, Msg(topic, strconv.Itoa(i)))
	}
	for i := range n {
		if m := r.Next(t); m.Event != strconv.Itoa(i) {
			t.Fatalf("delivery %d: event = %q, want %q", i, m.Event, strconv.Itoa(i))
		}
	}
	r.ExpectNone(t)
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
		topics[i] = NewTopic("conc" + strconv.Itoa(i))
	}
	steady := make([]*Recorder, subscribers)
	for i := range steady {
		steady[i] = NewRecorder("steady"+strconv.Itoa(i), size)
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
	churnRecs := make([]*Recorder, churners)
	for c := range churnRecs {
		r := NewRecorder("churn"+strconv.Itoa(c), size)
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
		broadcast(t, b, Msg(topic, "marker"))
	}

	for _, r := range steady {
		next := make([]int, publishers) // next expected seq per publisher
		received, markers := 0, 0
		for received < publishers*perPub || markers < topicCount {
			m := r.Next(t)
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
		r.ExpectNone(t)
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

func parseConcurrent(t *testing.T, r *Recorder, m *pubsub.Message, publishers int) (publisher, seq int) {
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
		call func(topic string, r *Recorder) error
	}{
		{"Subscribe", func(topic string, r *Recorder) error { return b.Subscribe(cancelled, topic, r) }},
		{"Broadcast", func(topic string, _ *Recorder) error { return b.Broadcast(cancelled, Msg(topic, "e1")) }},
		{"LocalBroadcast", func(topic string, _ *Recorder) error { return b.LocalBroadcast(cancelled, Msg(topic, "e1")) }},
		{"DirectBroadcast", func(topic string, _ *Recorder) error {
			return b.DirectBroadcast(cancelled, b.Node(), Msg(topic, "e1"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			topic := NewTopic("cancel")
			r, w := NewRecorder("r", 8), NewRecorder("witness", 8)
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
			broadcast(t, b, Msg(topic, "marker"))
			w.Expect(t, "marker")
			if tt.name != "Subscribe" {
				r.Expect(t, "marker")
			}
			r.ExpectNone(t)
		})
	}
}

func testUnsubscribeCancelledContext(t *testing.T, b pubsub.Broker) {
	topic := NewTopic("unsubcancel")
	r, w := NewRecorder("r", 8), NewRecorder("witness", 8)
	subscribe(t, b, topic, r)
	subscribe(t, b, topic, w)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// The error, if any, is the adapter's choice; the local removal is not.
	_ = b.Unsubscribe(ctx, topic, r)
	broadcast(t, b, Msg(topic, "e1"))
	broadcast(t, b, Msg(topic, "marker"))
	w.Expect(t, "e1", "marker")
	r.ExpectNone(t)
}
