package metrics_test

import (
	"math"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/metrics"
	"github.com/suzaku-go/suzaku/telemetry"
)

func TestMetricsSnapshot(t *testing.T) {
	t.Parallel()
	m, err := metrics.New(metrics.Config{NoRuntime: true})
	testutil.Success(t, err)
	m.Event(telemetry.Event{Kind: telemetry.KindConnect, Transport: "websocket"})
	m.Event(telemetry.Event{Kind: telemetry.KindConnect, Transport: "longpoll"})
	m.Event(telemetry.Event{Kind: telemetry.KindConnect, Transport: "longpoll"})
	for _, p := range []string{"room:*", "room:*", "lobby"} {
		m.Event(telemetry.Event{Kind: telemetry.KindJoin, Pattern: p, Duration: time.Millisecond})
	}
	for i := range 100 {
		d := 200 * time.Microsecond // 0.00025 bucket
		if i >= 90 {
			d = 40 * time.Millisecond // 0.05 bucket
		}
		m.Event(telemetry.Event{Kind: telemetry.KindHandle, Pattern: "room:*", Duration: d})
	}
	m.Event(telemetry.Event{Kind: telemetry.KindBroadcast, N: 7, Duration: time.Millisecond})
	m.Event(telemetry.Event{Kind: telemetry.KindBroadcast, N: 3, Duration: time.Millisecond})
	s := m.Snapshot()
	testutil.Equal(t, "connections", s.Connections, map[string]float64{"websocket": 1, "longpoll": 2})
	testutil.Equal(t, "channels", s.Channels, 3.0)
	testutil.Equal(t, "joins", s.Joins, 3.0)
	testutil.Equal(t, "patterns", s.Patterns, []metrics.PatternCount{{Pattern: "room:*", Channels: 2}, {Pattern: "lobby", Channels: 1}})
	testutil.Equal(t, "broadcasts", s.Broadcasts, 2.0)
	testutil.Equal(t, "fan-out", s.FanOut, 10.0)
	testutil.Equal(t, "handle count", s.Handle.Count, uint64(100))
	p50 := s.Handle.Quantile(0.5, metrics.Histogram{})
	if p50 <= 0.0001 || p50 > 0.00025 {
		t.Errorf("p50 = %v, want within the (0.0001, 0.00025] bucket", p50)
	}
	p99 := s.Handle.Quantile(0.99, metrics.Histogram{})
	if p99 <= 0.025 || p99 > 0.05 {
		t.Errorf("p99 = %v, want within the (0.025, 0.05] bucket", p99)
	}
	// Against a later snapshot, only the new observations count.
	for range 10 {
		m.Event(telemetry.Event{Kind: telemetry.KindHandle, Pattern: "lobby", Duration: 2 * time.Second})
	}
	later := m.Snapshot()
	if q := later.Handle.Quantile(0.5, s.Handle); math.Abs(q-2.5) > 1.5 {
		t.Errorf("p50 of the last 10 = %v, want within the 2.5 s bucket", q)
	}
	testutil.Equal(t, "quantile without observations", later.Handle.Quantile(0.5, later.Handle), 0.0)
}
