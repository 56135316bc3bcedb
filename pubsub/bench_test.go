package pubsub_test

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/suzaku-go/suzaku/pubsub"
)

// noop is a Subscriber that does nothing. It has a field so that distinct
// pointers to it are distinct subscribers (pointers to zero-size values may
// compare equal).
type noop struct{ _ byte }

func (*noop) Deliver(*pubsub.Message) {}

// memoSub encodes like a fastlane connection: through the message's memo.
type memoSub struct{ n atomic.Int64 }

func (s *memoSub) Deliver(m *pubsub.Message) {
	frame := m.Memo(0, func(m *pubsub.Message) any {
		return []byte(`[null,null,"` + m.Topic + `","` + m.Event + `",` + string(m.Payload) + `]`)
	}).([]byte)
	s.n.Add(int64(len(frame)))
}

func BenchmarkDispatch10k(b *testing.B) {
	ctx := context.Background()
	br := pubsub.NewMemory(pubsub.MemoryConfig{})
	for range 10_000 {
		if err := br.Subscribe(ctx, "room:lobby", &noop{}); err != nil {
			b.Fatal(err)
		}
	}
	m := &pubsub.Message{Topic: "room:lobby", Event: "new_msg", Payload: []byte(`{"body":"hi"}`)}
	b.ReportAllocs()
	for b.Loop() {
		if err := br.Broadcast(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/delivery")
}

// BenchmarkDispatch10kMemo is BenchmarkDispatch10k with a new message per
// broadcast and subscribers that share its encoding through Memo, as
// connections do.
func BenchmarkDispatch10kMemo(b *testing.B) {
	ctx := context.Background()
	br := pubsub.NewMemory(pubsub.MemoryConfig{})
	for range 10_000 {
		if err := br.Subscribe(ctx, "room:lobby", &memoSub{}); err != nil {
			b.Fatal(err)
		}
	}
	payload := []byte(`{"body":"hi"}`)
	b.ReportAllocs()
	for b.Loop() {
		m := &pubsub.Message{Topic: "room:lobby", Event: "new_msg", Payload: payload}
		if err := br.Broadcast(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/delivery")
}

func BenchmarkSubscribeUnsubscribe(b *testing.B) {
	tests := []struct {
		name   string
		others int // subscribers already on the topic
	}{
		{name: "new topic", others: 0},
		{name: "small topic", others: 4},
		{name: "10k topic", others: 10_000},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			var r pubsub.Registry
			for range tt.others {
				r.Subscribe("room:lobby", &noop{})
			}
			s := &noop{}
			b.ReportAllocs()
			for b.Loop() {
				r.Subscribe("room:lobby", s)
				r.Unsubscribe("room:lobby", s)
			}
		})
	}
}

// BenchmarkParallelDispatch broadcasts from every P to 64 topics of 100
// subscribers each, the case where sharding and read locks matter. It uses
// RunParallel's pb.Next, since b.Loop does not apply to parallel loops.
func BenchmarkParallelDispatch(b *testing.B) {
	const (
		topics = 64
		subs   = 100
	)
	ctx := context.Background()
	br := pubsub.NewMemory(pubsub.MemoryConfig{})
	msgs := make([]*pubsub.Message, topics)
	for i := range msgs {
		topic := "room:" + strconv.Itoa(i)
		msgs[i] = &pubsub.Message{Topic: topic, Event: "e", Payload: []byte(`{}`)}
		for range subs {
			if err := br.Subscribe(ctx, topic, &noop{}); err != nil {
				b.Fatal(err)
			}
		}
	}
	var next atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7))
		for pb.Next() {
			i++
			if err := br.Broadcast(ctx, msgs[i%topics]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkParallelDispatchOneTopic is BenchmarkParallelDispatch with all
// broadcasts on one topic: every P takes the same read lock.
func BenchmarkParallelDispatchOneTopic(b *testing.B) {
	ctx := context.Background()
	br := pubsub.NewMemory(pubsub.MemoryConfig{})
	for range 100 {
		if err := br.Subscribe(ctx, "room:lobby", &noop{}); err != nil {
			b.Fatal(err)
		}
	}
	m := &pubsub.Message{Topic: "room:lobby", Event: "e", Payload: []byte(`{}`)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := br.Broadcast(ctx, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkMemo(b *testing.B) {
	m := &pubsub.Message{Topic: "t"}
	f := func(*pubsub.Message) any { return 1 }
	m.Memo(0, f)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Memo(0, f)
	}
}

// writeSub writes the shared frame to /dev/null with one write(2), about
// what a fastlane delivery to a socket costs.
type writeSub struct{ fd int }

func (s *writeSub) Deliver(m *pubsub.Message) {
	frame := m.Memo(0, func(m *pubsub.Message) any {
		return []byte(`[null,null,"` + m.Topic + `","` + m.Event + `",` + string(m.Payload) + `]`)
	}).([]byte)
	_, _ = syscall.Write(s.fd, frame)
}

// BenchmarkDispatch10kWrite compares a broadcast to 10,000 subscribers that
// each make a write(2), delivered serially and with the fan-out workers
// running (Serve): the second should approach 1/GOMAXPROCS of the first.
func BenchmarkDispatch10kWrite(b *testing.B) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	for _, serving := range []bool{false, true} {
		b.Run(map[bool]string{false: "serial", true: "parallel"}[serving], func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			br := pubsub.NewMemory(pubsub.MemoryConfig{})
			done := make(chan error, 1)
			if serving {
				go func() { done <- br.Serve(ctx) }()
				defer func() { cancel(); <-done }()
			}
			for range 10_000 {
				if err := br.Subscribe(ctx, "room:lobby", &writeSub{fd: int(null.Fd())}); err != nil {
					b.Fatal(err)
				}
			}
			payload := []byte(`{"body":"hi"}`)
			b.ReportAllocs()
			for b.Loop() {
				m := &pubsub.Message{Topic: "room:lobby", Event: "new_msg", Payload: payload}
				if err := br.Broadcast(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10_000, "ns/delivery")
		})
	}
}
