package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"runtime/metrics"
	"time"

	sm "github.com/suzaku-go/suzaku/metrics"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/telemetry"
)

// Sample is what a node publishes every interval. Counters are totals
// since the node started; the page computes rates from two samples.
// Latencies are in seconds, over the last interval.
type Sample struct {
	Node        string             `json:"node"`
	Time        int64              `json:"t"` // unix milliseconds
	Connections map[string]float64 `json:"conns"`
	Channels    float64            `json:"channels"`
	Joins       float64            `json:"joins"`
	JoinErrors  float64            `json:"join_errors"`
	FramesIn    float64            `json:"in"`
	FramesOut   float64            `json:"out"`
	Broadcasts  float64            `json:"broadcasts"`
	FanOut      float64            `json:"fanout"`
	HandleP50   float64            `json:"handle_p50"`
	HandleP99   float64            `json:"handle_p99"`
	BcastP50    float64            `json:"bcast_p50"`
	BcastP99    float64            `json:"bcast_p99"`
	SlowClients float64            `json:"slow"`
	Crashes     float64            `json:"crashes"`
	LimitHits   float64            `json:"limits"`
	Patterns    []sm.PatternCount  `json:"patterns"`
	Presence    *PresenceSizes     `json:"presence,omitempty"`
	HeapBytes   uint64             `json:"heap"`
	TotalBytes  uint64             `json:"mem"`
	Goroutines  uint64             `json:"goroutines"`
	GCCycles    uint64             `json:"gc"`
	GCPauseP99  float64            `json:"gc_pause_p99"` // seconds, since start
	Broker      BrokerStatus       `json:"broker"`
}

// PresenceSizes are the presence tracker's sizes.
type PresenceSizes struct {
	Presences int `json:"presences"`
	Topics    int `json:"topics"`
	Peers     int `json:"peers"`
	PeersDown int `json:"peers_down"`
}

// BrokerStatus is the broker's health: "up", "down" or "local" (an
// in-memory broker), and RoundTripMS, the time of one request to the
// broker's server and its answer (Redis PING, a NATS flush: see
// [pubsub.Pinger]), measured at each sample; 0 when the broker is local
// or down.
type BrokerStatus struct {
	Status      string  `json:"status"`
	RoundTripMS float64 `json:"round_trip_ms"`
}

const maxPatterns = 10

var runtimeNames = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/total:bytes",
	"/sched/goroutines:goroutines",
	"/gc/cycles/total:gc-cycles",
	"/sched/pauses/total/gc:seconds",
}

type sampler struct {
	d     *Dashboard
	prev  sm.Snapshot
	rt    []metrics.Sample
	first bool
}

func newSampler(d *Dashboard) *sampler {
	s := &sampler{d: d, first: true, rt: make([]metrics.Sample, len(runtimeNames))}
	for i, n := range runtimeNames {
		s.rt[i].Name = n
	}
	return s
}

func (s *sampler) sample(ctx context.Context) Sample {
	snap := s.d.cfg.Metrics.Snapshot()
	out := Sample{
		Node: s.d.cfg.Node, Time: time.Now().UnixMilli(),
		Connections: snap.Connections, Channels: snap.Channels, Joins: snap.Joins, JoinErrors: snap.JoinErrors,
		FramesIn: snap.FramesIn, FramesOut: snap.FramesOut, Broadcasts: snap.Broadcasts, FanOut: snap.FanOut,
		SlowClients: snap.SlowClients, Crashes: snap.Crashes, LimitHits: snap.LimitHits,
		Patterns: snap.Patterns,
	}
	if len(out.Patterns) > maxPatterns {
		out.Patterns = out.Patterns[:maxPatterns]
	}
	if !s.first {
		out.HandleP50 = snap.Handle.Quantile(0.5, s.prev.Handle)
		out.HandleP99 = snap.Handle.Quantile(0.99, s.prev.Handle)
		out.BcastP50 = snap.Broadcast.Quantile(0.5, s.prev.Broadcast)
		out.BcastP99 = snap.Broadcast.Quantile(0.99, s.prev.Broadcast)
	}
	s.prev, s.first = snap, false
	if p := s.d.cfg.Presence; p != nil {
		st := p.Stats()
		out.Presence = &PresenceSizes{Presences: st.Presences, Topics: st.Topics, Peers: st.Peers, PeersDown: st.PeersDown}
	}
	metrics.Read(s.rt)
	out.HeapBytes = s.rt[0].Value.Uint64()
	out.TotalBytes = s.rt[1].Value.Uint64()
	out.Goroutines = s.rt[2].Value.Uint64()
	out.GCCycles = s.rt[3].Value.Uint64()
	out.GCPauseP99 = quantile(s.rt[4].Value.Float64Histogram(), 0.99)
	out.Broker = s.broker(ctx)
	return out
}

// broker checks the broker's health and, if it can, times a round trip to
// its server, reporting that to the metrics too.
func (s *sampler) broker(ctx context.Context) BrokerStatus {
	if _, ok := s.d.broker.(pubsub.Checker); !ok {
		return BrokerStatus{Status: "local"}
	}
	cctx, cancel := context.WithTimeout(ctx, s.d.cfg.Interval)
	defer cancel()
	if err := pubsub.Healthy(cctx, s.d.broker); err != nil {
		return BrokerStatus{Status: "down"}
	}
	st := BrokerStatus{Status: "up"}
	if p, ok := s.d.broker.(pubsub.Pinger); ok {
		took, err := p.Ping(cctx)
		s.d.cfg.Metrics.Event(telemetry.Event{Kind: telemetry.KindBrokerRoundTrip, Duration: took, Err: err})
		if err != nil {
			return BrokerStatus{Status: "down"}
		}
		st.RoundTripMS = float64(took.Microseconds()) / 1000
	}
	return st
}

func quantile(h *metrics.Float64Histogram, q float64) float64 {
	if h == nil {
		return 0
	}
	var total uint64
	for _, c := range h.Counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(q * float64(total))
	var n uint64
	for i, c := range h.Counts {
		n += c
		if n > rank {
			return finite(h.Buckets[i+1], h.Buckets[i])
		}
	}
	return 0
}

// finite returns the upper bound of a bucket, or its lower bound when the
// upper one is +Inf (JSON has no infinity).
func finite(upper, lower float64) float64 {
	if math.IsInf(upper, 0) {
		if math.IsInf(lower, 0) {
			return 0
		}
		return lower
	}
	return upper
}

// serveRuntime writes every runtime/metrics sample as JSON.
func serveRuntime(w http.ResponseWriter, r *http.Request) {
	descs := metrics.All()
	samples := make([]metrics.Sample, len(descs))
	for i, d := range descs {
		samples[i].Name = d.Name
	}
	metrics.Read(samples)
	out := make(map[string]any, len(samples))
	for _, s := range samples {
		switch s.Value.Kind() {
		case metrics.KindUint64:
			out[s.Name] = s.Value.Uint64()
		case metrics.KindFloat64:
			out[s.Name] = s.Value.Float64()
		case metrics.KindFloat64Histogram:
			h := s.Value.Float64Histogram()
			out[s.Name] = map[string]any{"p50": quantile(h, 0.5), "p99": quantile(h, 0.99)}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil && !errors.Is(err, http.ErrHandlerTimeout) {
		return
	}
}
