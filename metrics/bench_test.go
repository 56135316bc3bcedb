package metrics_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/metrics"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/telemetry"
	"github.com/suzaku-go/suzaku/wire"
)

type nopConn struct{}

func (nopConn) Send(wire.Frame) error { return nil }
func (nopConn) Close(int, string)     {}

// BenchmarkMetricsBroadcast is the hot path with and without the
// Prometheus sink: one broadcast to 1,000 joined channels (a KindBroadcast
// event and 1,000 KindFrameOut events with the sink).
func BenchmarkMetricsBroadcast(b *testing.B) {
	for _, sink := range []string{"none", "prometheus"} {
		b.Run(sink, func(b *testing.B) {
			var hook telemetry.Hook
			if sink == "prometheus" {
				m, err := metrics.New(metrics.Config{})
				if err != nil {
					b.Fatal(err)
				}
				hook = m
			}
			const n = 1000
			broker := pubsub.NewMemory(pubsub.MemoryConfig{Hook: hook})
			r := &channel.Router{}
			_ = r.Handle("bench:*", func() channel.Handler { return echo{} })
			s, _ := channel.NewSocket(channel.Config{Router: r, Broker: broker, Hook: hook})
			for range n {
				sess, _ := s.Connect(context.Background(), &channel.ConnectInfo{}, wire.V2{})
				_ = sess.Serve(context.Background(), nopConn{})
				_ = sess.Receive(wire.Frame{Opcode: wire.OpText, Data: []byte(`["1","1","bench:x","phx_join",{}]`)})
				b.Cleanup(sess.Close)
			}
			for broker.Stats().Subscriptions < n {
				runtime.Gosched()
			}
			payload := map[string]string{"body": "a hundred bytes or so of chat message, as in the load tests of docs/benchmarks.md"}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_ = s.Broadcast(ctx, "bench:x", "new_msg", payload)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/delivery")
		})
	}
}

// BenchmarkMetricsPush is a client event handled and replied to: frame in,
// handle (pattern lookup, histogram), reply, frame out.
func BenchmarkMetricsPush(b *testing.B) {
	for _, sink := range []string{"none", "prometheus"} {
		b.Run(sink, func(b *testing.B) {
			var hook telemetry.Hook
			if sink == "prometheus" {
				m, _ := metrics.New(metrics.Config{})
				hook = m
			}
			r := &channel.Router{}
			_ = r.Handle("bench:*", func() channel.Handler { return echo{} })
			s, _ := channel.NewSocket(channel.Config{Router: r, Hook: hook})
			conn := &countConn{sent: make(chan struct{}, 1)}
			sess, _ := s.Connect(context.Background(), &channel.ConnectInfo{}, wire.V2{})
			_ = sess.Serve(context.Background(), conn)
			defer sess.Close()
			_ = sess.Receive(wire.Frame{Opcode: wire.OpText, Data: []byte(`["1","1","bench:x","phx_join",{}]`)})
			<-conn.sent
			push := wire.Frame{Opcode: wire.OpText, Data: []byte(`["1","2","bench:x","ping",{"a":1}]`)}
			b.ReportAllocs()
			for b.Loop() {
				_ = sess.Receive(push)
				select {
				case <-conn.sent:
				case <-time.After(5 * time.Second):
					b.Fatal("no reply")
				}
			}
		})
	}
}

// BenchmarkMetricsEvent is the sink alone, per event kind on the hot path.
func BenchmarkMetricsEvent(b *testing.B) {
	m, _ := metrics.New(metrics.Config{})
	for _, e := range []telemetry.Event{
		{Kind: telemetry.KindFrameOut, N: 120},
		{Kind: telemetry.KindHandle, Pattern: "room:*", Duration: 3 * time.Microsecond},
		{Kind: telemetry.KindBroadcast, N: 1000, Duration: 40 * time.Microsecond},
	} {
		b.Run(e.Kind.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Event(e)
			}
		})
	}
}

type countConn struct{ sent chan struct{} }

func (c *countConn) Send(wire.Frame) error {
	select {
	case c.sent <- struct{}{}:
	default:
	}
	return nil
}
func (*countConn) Close(int, string) {}
