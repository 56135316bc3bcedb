package channel_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/wire"
)

// nopConn takes frames and drops them, so that a benchmark measures the
// channel layer alone.
type nopConn struct{}

func (nopConn) Send(wire.Frame) error { return nil }
func (nopConn) Close(int, string)     {}

type benchRoom struct{}

func (benchRoom) Join(context.Context, *channel.Channel, channel.Payload) (any, error) {
	return nil, nil
}

// BenchmarkChannelBroadcast measures one broadcast to N joined channels,
// each on its own connection: the encoding is shared, so the cost per
// subscriber is the dispatch and the queueing only.
func BenchmarkChannelBroadcast(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			broker := pubsub.NewMemory(pubsub.MemoryConfig{})
			r := &channel.Router{}
			_ = r.Handle("bench:*", func() channel.Handler { return benchRoom{} })
			s, _ := channel.NewSocket(channel.Config{Router: r, Broker: broker})
			for range n {
				sess, _ := s.Connect(context.Background(), &channel.ConnectInfo{}, wire.V2{})
				_ = sess.Serve(context.Background(), nopConn{})
				_ = sess.Receive(wire.Frame{Opcode: wire.OpText, Data: []byte(`["1","1","bench:x","phx_join",{}]`)})
				b.Cleanup(sess.Close)
			}
			for broker.Stats().Subscriptions < n {
				runtime.Gosched() // the joins run in their sessions' queues
			}
			payload := map[string]string{"body": "a hundred bytes or so of chat message, as in the load tests of docs/benchmarks.md"}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_ = s.Broadcast(ctx, "bench:x", "new_msg", payload)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
		})
	}
}
