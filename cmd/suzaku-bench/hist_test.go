package main

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

func TestHistBucketsCoverValues(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		v := int64(r.Uint64N(1 << 40))
		if r.IntN(2) == 0 {
			v = int64(r.Uint64N(5000))
		}
		lo, hi := bucketRange(bucketOf(v))
		if v < lo || v >= hi {
			t.Fatalf("bucketRange(bucketOf(%d)) = [%d, %d), want it to hold %d", v, lo, hi, v)
		}
		if hi-lo > max(1, v/32) {
			t.Fatalf("bucket of %d is %d wide, want ≤ %d", v, hi-lo, max(1, v/32))
		}
	}
	testutil.Equal(t, "bucketOf(-5)", bucketOf(-5), 0)
	testutil.Equal(t, "bucketOf(huge)", bucketOf(1<<62), histBuckets-1)
}

func TestHistQuantile(t *testing.T) {
	t.Parallel()
	var h Hist
	for i := 1; i <= 1000; i++ { // 1..1000 µs: exact buckets
		h.Record(time.Duration(i) * time.Microsecond)
	}
	tests := []struct {
		name string
		q    float64
		want time.Duration
	}{
		{name: "p0 is the minimum", q: 0, want: 1 * time.Microsecond},
		{name: "p50", q: 0.50, want: 500 * time.Microsecond},
		{name: "p90", q: 0.90, want: 900 * time.Microsecond},
		{name: "p99", q: 0.99, want: 990 * time.Microsecond},
		{name: "p100 is the maximum", q: 1, want: 1000 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testutil.Equal(t, "Quantile", h.Quantile(tt.q), tt.want)
		})
	}
	testutil.Equal(t, "Count", h.Count, int64(1000))
	testutil.Equal(t, "Mean", h.Mean(), 500*time.Microsecond) // 500.5 truncated
	var empty Hist
	testutil.Equal(t, "empty Quantile", empty.Quantile(0.5), time.Duration(0))
}

func TestHistQuantileLargeValuesWithinBucketPrecision(t *testing.T) {
	t.Parallel()
	var h Hist
	for i := 1; i <= 100; i++ {
		h.Record(time.Duration(i) * 10 * time.Millisecond)
	}
	got := h.Quantile(0.5)
	want := 500 * time.Millisecond
	if d := got - want; d < -want/64 || d > want/64 {
		t.Fatalf("Quantile(0.5) = %v, want %v ± 1/64", got, want)
	}
	testutil.Equal(t, "Dist().Max", h.Dist().Max, 1000.0)
}

func TestHistMergeEqualsRecordingAll(t *testing.T) {
	t.Parallel()
	var a, b, all Hist
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 5000 {
		d := time.Duration(r.Int64N(int64(2 * time.Second)))
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var m Hist
	m.Merge(a)
	m.Merge(Hist{}) // an empty histogram changes nothing
	m.Merge(b)
	testutil.Equal(t, "merged", m, all)
}

func TestAtomicHistSnapshot(t *testing.T) {
	t.Parallel()
	var a atomicHist
	testutil.Equal(t, "empty snapshot", a.snapshot(), Hist{})
	for _, us := range []int64{7, 3, 3000, 0} {
		a.record(time.Duration(us) * time.Microsecond)
	}
	h := a.snapshot()
	testutil.Equal(t, "Count", h.Count, int64(4))
	testutil.Equal(t, "MinUS", h.MinUS, int64(0))
	testutil.Equal(t, "MaxUS", h.MaxUS, int64(3000))
	testutil.Equal(t, "SumUS", h.SumUS, int64(3010))
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		xs   []float64
		p    float64
		want float64
	}{
		{name: "none", xs: nil, p: 50, want: 0},
		{name: "one", xs: []float64{4}, p: 90, want: 4},
		{name: "median of odd count", xs: []float64{3, 1, 2}, p: 50, want: 2},
		{name: "median of even count is the lower middle", xs: []float64{4, 1, 3, 2}, p: 50, want: 2},
		{name: "p90 of 20 is the 18th", xs: seq(20), p: 90, want: 18},
		{name: "p90 of 10 is the 9th", xs: seq(10), p: 90, want: 9},
		{name: "p100 is the max", xs: seq(7), p: 100, want: 7},
		{name: "p0 is the min", xs: seq(7), p: 0, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "percentile", percentile(tt.xs, tt.p), tt.want)
		})
	}
}

// seq returns n, n-1, …, 1 (unsorted on purpose).
func seq(n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(n - i)
	}
	return xs
}
