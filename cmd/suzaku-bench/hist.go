package main

import (
	"math"
	"math/bits"
	"slices"
	"sync/atomic"
	"time"
)

// Histogram layout: values are microseconds; below histLinear each
// microsecond has its own bucket, above it every power of two is split
// into histSub buckets, so a bucket is at most 1/64 (1.6 %) of its value
// wide. Up to 2^41 µs (25 days) fit; larger values land in the last bucket.
const (
	histLinear  = 1024
	histSubBits = 6
	histSub     = 1 << histSubBits
	histMaxExp  = 41
	histBuckets = histLinear + (histMaxExp-10)*histSub
)

// bucketOf returns the bucket of v microseconds.
func bucketOf(v int64) int {
	if v < histLinear {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - 1 // ≥ 10
	shift := e - histSubBits
	sub := int(v>>shift) - histSub
	i := histLinear + (e-10)*histSub + sub
	return min(i, histBuckets-1)
}

// bucketRange returns the values [lo, hi) that bucket i holds.
func bucketRange(i int) (lo, hi int64) {
	if i < histLinear {
		return int64(i), int64(i) + 1
	}
	j := i - histLinear
	e := j/histSub + 10
	sub := j % histSub
	shift := e - histSubBits
	lo = int64(histSub+sub) << shift
	return lo, lo + 1<<shift
}

// Hist is a histogram of durations, mergeable across processes: what a
// client process reports and what the coordinator adds up. Its JSON form
// lists only the buckets that hold something.
type Hist struct {
	// Buckets holds [bucket index, count] pairs in increasing index order.
	Buckets [][2]int64 `json:"buckets,omitempty"`
	// Count is the number of values recorded.
	Count int64 `json:"count"`
	// SumUS is the sum of the values, in microseconds.
	SumUS int64 `json:"sum_us"`
	// MinUS and MaxUS are the exact extremes, in microseconds.
	MinUS int64 `json:"min_us"`
	MaxUS int64 `json:"max_us"`
}

// Record adds one duration to h. It is for tests and small, single
// goroutine uses; clients record into an atomicHist.
func (h *Hist) Record(d time.Duration) {
	var a atomicHist
	a.record(d)
	h.Merge(a.snapshot())
}

// Merge adds o's values to h.
func (h *Hist) Merge(o Hist) {
	if o.Count == 0 {
		return
	}
	if h.Count == 0 || o.MinUS < h.MinUS {
		h.MinUS = o.MinUS
	}
	h.MaxUS = max(h.MaxUS, o.MaxUS)
	h.Count += o.Count
	h.SumUS += o.SumUS
	merged := make([][2]int64, 0, len(h.Buckets)+len(o.Buckets))
	a, b := h.Buckets, o.Buckets
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || (len(a) > 0 && a[0][0] < b[0][0]):
			merged, a = append(merged, a[0]), a[1:]
		case len(a) == 0 || b[0][0] < a[0][0]:
			merged, b = append(merged, b[0]), b[1:]
		default:
			merged = append(merged, [2]int64{a[0][0], a[0][1] + b[0][1]})
			a, b = a[1:], b[1:]
		}
	}
	h.Buckets = merged
}

// Quantile returns the value below which a fraction q (0..1) of the values
// lie: the nearest rank ⌈q·n⌉, reported as the middle of its bucket and
// clamped to the exact minimum and maximum. It returns 0 for an empty
// histogram.
func (h *Hist) Quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.Count)))
	rank = min(max(rank, 1), h.Count)
	var seen int64
	for _, b := range h.Buckets {
		seen += b[1]
		if seen >= rank {
			lo, hi := bucketRange(int(b[0]))
			v := lo + (hi-lo-1)/2
			v = min(max(v, h.MinUS), h.MaxUS)
			return time.Duration(v) * time.Microsecond
		}
	}
	return time.Duration(h.MaxUS) * time.Microsecond
}

// Mean returns the average value, 0 for an empty histogram.
func (h *Hist) Mean() time.Duration {
	if h.Count == 0 {
		return 0
	}
	return time.Duration(h.SumUS/h.Count) * time.Microsecond
}

// Dist summarises a histogram in milliseconds, the unit of every latency
// in the results.
type Dist struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// Dist summarises h.
func (h *Hist) Dist() Dist {
	return Dist{
		Count: h.Count,
		Mean:  ms(h.Mean()),
		P50:   ms(h.Quantile(0.50)),
		P90:   ms(h.Quantile(0.90)),
		P99:   ms(h.Quantile(0.99)),
		Max:   ms(time.Duration(h.MaxUS) * time.Microsecond),
	}
}

// ms converts d to milliseconds, rounded to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// atomicHist is a histogram that many goroutines record into at once
// (every connection's reader); snapshot turns it into a Hist.
type atomicHist struct {
	counts [histBuckets]atomic.Int64
	count  atomic.Int64
	sum    atomic.Int64
	// invMin holds MaxInt64 - the minimum, so that the zero value means
	// "empty" and atomicMax keeps it.
	invMin atomic.Int64
	max    atomic.Int64
}

func (a *atomicHist) record(d time.Duration) {
	v := max(d.Microseconds(), 0)
	a.counts[bucketOf(v)].Add(1)
	a.sum.Add(v)
	a.count.Add(1)
	atomicMax(&a.invMin, math.MaxInt64-v)
	atomicMax(&a.max, v)
}

func (a *atomicHist) snapshot() Hist {
	var h Hist
	for i := range a.counts {
		if n := a.counts[i].Load(); n > 0 {
			h.Buckets = append(h.Buckets, [2]int64{int64(i), n})
			h.Count += n
		}
	}
	h.SumUS = a.sum.Load()
	if h.Count > 0 {
		h.MinUS, h.MaxUS = math.MaxInt64-a.invMin.Load(), a.max.Load()
	}
	return h
}

// atomicMin lowers *p to v if v is smaller.
func atomicMin(p *atomic.Int64, v int64) {
	for {
		cur := p.Load()
		if cur <= v || p.CompareAndSwap(cur, v) {
			return
		}
	}
}

// atomicMax raises *p to v if v is larger.
func atomicMax(p *atomic.Int64, v int64) {
	for {
		cur := p.Load()
		if cur >= v || p.CompareAndSwap(cur, v) {
			return
		}
	}
}

// percentile returns the nearest-rank percentile p (0..100) of xs: the
// smallest value with at least p % of the values at or below it. It is
// used over a few values (one per round), where a histogram would blur
// them. It returns 0 for no values.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}
