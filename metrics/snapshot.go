package metrics

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Snapshot is the current value of the figures a live view shows: counters
// as totals since start (a reader computes rates from two snapshots),
// gauges as they are, latency histograms as cumulative bucket counts.
type Snapshot struct {
	Connections map[string]float64 `json:"connections"` // open, by transport
	Channels    float64            `json:"channels"`
	Joins       float64            `json:"joins"`       // total
	JoinErrors  float64            `json:"join_errors"` // total
	FramesIn    float64            `json:"frames_in"`   // total
	FramesOut   float64            `json:"frames_out"`  // total
	Broadcasts  float64            `json:"broadcasts"`  // total
	FanOut      float64            `json:"fanout"`      // total deliveries of broadcasts (sum of fan-outs)
	SlowClients float64            `json:"slow_clients"`
	Crashes     float64            `json:"crashes"`
	LimitHits   float64            `json:"limit_hits"`
	BrokerUp    bool               `json:"broker_up"`
	// Patterns are the router patterns with joined channels, most first.
	Patterns []PatternCount `json:"patterns"`
	// Handle and Broadcast are the cumulative latency histograms of
	// HandleIn (all patterns) and of broadcast delivery.
	Handle    Histogram `json:"handle"`
	Broadcast Histogram `json:"broadcast"`
}

// PatternCount is a router pattern and its joined channels.
type PatternCount struct {
	Pattern  string  `json:"pattern"`
	Channels float64 `json:"channels"`
}

// Histogram is a cumulative histogram: Counts[i] observations were at most
// Bounds[i] seconds; Count is every observation.
type Histogram struct {
	Bounds []float64 `json:"bounds"`
	Counts []uint64  `json:"counts"`
	Count  uint64    `json:"count"`
	Sum    float64   `json:"sum"`
}

// Quantile estimates the q-quantile (0 < q ≤ 1) of the observations in h
// minus those in prev (a former snapshot, or the zero Histogram), by linear
// interpolation within the bucket, as Prometheus's histogram_quantile does.
// It returns 0 without observations.
func (h Histogram) Quantile(q float64, prev Histogram) float64 {
	n := h.Count - prev.Count
	if n == 0 || len(h.Bounds) == 0 {
		return 0
	}
	rank := q * float64(n)
	lower, below := 0.0, uint64(0)
	for i, b := range h.Bounds {
		c := h.Counts[i]
		if i < len(prev.Counts) {
			c -= prev.Counts[i]
		}
		if float64(c) >= rank {
			in := c - below
			if in == 0 {
				return b
			}
			return lower + (b-lower)*(rank-float64(below))/float64(in)
		}
		lower, below = b, c
	}
	return h.Bounds[len(h.Bounds)-1] // above the last bucket
}

// Snapshot reads the figures. It costs a few microseconds per pattern:
// call it once a second, not per event.
func (m *Metrics) Snapshot() Snapshot {
	s := Snapshot{Connections: map[string]float64{}}
	for i, t := range []string{"websocket", "longpoll"} {
		s.Connections[t] = value(m.transports[i].conns)
	}
	s.Channels = value(m.channels)
	s.JoinErrors = sumVec(m.joinErrors)
	s.FramesIn = float64(m.framesIn.Load())
	s.FramesOut = float64(m.framesOut.Load())
	s.Broadcasts = value(m.broadcasts)
	s.FanOut = histogram(m.fanout).Sum
	s.SlowClients = sumVec(m.slow)
	s.Crashes = sumVec(m.crashes)
	s.LimitHits = sumVec(m.limits)
	s.BrokerUp = value(m.brokerUp) > 0
	s.Broadcast = histogram(m.broadcastDur)
	s.Handle = Histogram{Bounds: m.lat, Counts: make([]uint64, len(m.lat))}
	m.patterns.Range(func(k, v any) bool {
		ps := v.(*patternSet)
		s.Joins += value(ps.joins)
		if n := value(ps.channels); n > 0 {
			s.Patterns = append(s.Patterns, PatternCount{Pattern: k.(string), Channels: n})
		}
		h := histogram(ps.handleDur.(prometheus.Metric))
		for i := range h.Counts {
			s.Handle.Counts[i] += h.Counts[i]
		}
		s.Handle.Count += h.Count
		s.Handle.Sum += h.Sum
		return true
	})
	sort.Slice(s.Patterns, func(i, j int) bool {
		if s.Patterns[i].Channels != s.Patterns[j].Channels {
			return s.Patterns[i].Channels > s.Patterns[j].Channels
		}
		return s.Patterns[i].Pattern < s.Patterns[j].Pattern
	})
	return s
}

func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if m.Write(&d) != nil {
		return 0
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	return 0
}

func sumVec(c prometheus.Collector) float64 {
	ch := make(chan prometheus.Metric, 64)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	var sum float64
	for m := range ch {
		sum += value(m)
	}
	return sum
}

func histogram(m prometheus.Metric) Histogram {
	var d dto.Metric
	if m.Write(&d) != nil || d.Histogram == nil {
		return Histogram{}
	}
	h := Histogram{Count: d.Histogram.GetSampleCount(), Sum: d.Histogram.GetSampleSum()}
	for _, b := range d.Histogram.Bucket {
		h.Bounds = append(h.Bounds, b.GetUpperBound())
		h.Counts = append(h.Counts, b.GetCumulativeCount())
	}
	return h
}
