package channel_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/stream"
	"github.com/suzaku-go/suzaku/wire"
)

// BenchmarkStreamBroadcast compares one broadcast on a stream topic (an
// offset assigned, the message kept in the memory history, delivered
// through each channel's stream state) with the same broadcast on a plain
// topic, to N joined channels. docs/benchmarks.md quotes the ratio.
func BenchmarkStreamBroadcast(b *testing.B) {
	for _, kind := range []string{"plain", "stream"} {
		for _, n := range []int{1, 1_000} {
			b.Run(fmt.Sprintf("%s/%d", kind, n), func(b *testing.B) {
				broker := pubsub.NewMemory(pubsub.MemoryConfig{})
				r := &channel.Router{}
				_ = r.Handle("plain:*", func() channel.Handler { return benchRoom{} })
				_ = r.HandleStream("stream:*", func() channel.Handler { return benchRoom{} }, stream.Limits{Size: 100})
				s, _ := channel.NewSocket(channel.Config{Router: r, Broker: broker})
				topic := kind + ":x"
				join := fmt.Appendf(nil, `["1","1",%q,"phx_join",{}]`, topic)
				for range n {
					sess, _ := s.Connect(context.Background(), &channel.ConnectInfo{}, wire.V2{})
					_ = sess.Serve(context.Background(), nopConn{})
					_ = sess.Receive(wire.Frame{Opcode: wire.OpText, Data: join})
					b.Cleanup(sess.Close)
				}
				for broker.Stats().Subscriptions < n {
					runtime.Gosched()
				}
				payload := map[string]string{"body": "a hundred bytes or so of chat message, as in the load tests of docs/benchmarks.md"}
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					_ = s.Broadcast(ctx, topic, "new_msg", payload)
				}
			})
		}
	}
}

// BenchmarkStreamMemory measures the memory one message held in a memory
// stream store costs (history full: each publish drops the oldest), with
// the frame it caches once delivered, against MessageOverhead's estimate.
func BenchmarkStreamMemory(b *testing.B) {
	const topics, size = 100, 100
	broker := pubsub.NewMemory(pubsub.MemoryConfig{})
	r := &channel.Router{}
	_ = r.HandleStream("stream:*", func() channel.Handler { return benchRoom{} }, stream.Limits{Size: size})
	s, _ := channel.NewSocket(channel.Config{Router: r, Broker: broker})
	// One subscriber per topic, so that each message caches its V2 frame.
	for i := range topics {
		sess, _ := s.Connect(context.Background(), &channel.ConnectInfo{}, wire.V2{})
		_ = sess.Serve(context.Background(), nopConn{})
		_ = sess.Receive(wire.Frame{Opcode: wire.OpText, Data: fmt.Appendf(nil, `["1","1","stream:%d","phx_join",{}]`, i)})
		b.Cleanup(sess.Close)
	}
	for broker.Stats().Subscriptions < topics {
		runtime.Gosched()
	}
	payload := map[string]string{"body": "a hundred bytes or so of chat message, as in the load tests of docs/benchmarks.md"}
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range topics * size {
			_ = s.Broadcast(context.Background(), fmt.Sprintf("stream:%d", i%topics), "new_msg", payload)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
	}
	held := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	// The first loop fills the histories; later loops replace messages
	// one for one, so measure the first fill only when b.N is 1.
	if b.N == 1 {
		b.ReportMetric(held/float64(topics*size), "B/message")
	}
	st := s.Streams().(*stream.Memory).Stats()
	b.ReportMetric(float64(st.Bytes)/float64(topics*size), "counted-B/message")
}
