package suzaku

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

var sink [][]byte

// runTrim runs trimMemory with a release that counts its calls, until the
// returned stop is called.
func runTrim(t *testing.T) (calls *atomic.Int64, stop func()) {
	t.Helper()
	calls = new(atomic.Int64)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		trimMemory(ctx, 20*time.Millisecond, func() { calls.Add(1) })
	}()
	return calls, func() { cancel(); <-done }
}

// TestServerMemoryTrimAfterBurst: after a burst of garbage and then quiet,
// the trim gives the heap back. Not parallel: other tests' allocations
// would keep the process from looking idle.
func TestServerMemoryTrimAfterBurst(t *testing.T) {
	for range 64 << 10 { // 64 MiB in 1 KiB pieces, all garbage at once
		sink = append(sink, make([]byte, 1024))
	}
	sink = nil
	calls, stop := runTrim(t)
	defer stop()
	deadline := time.Now().Add(10 * time.Second)
	for calls.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("trimMemory released nothing within 10 s of a 64 MiB burst of garbage")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServerMemoryTrimPolicy: trim only an idle process with enough to
// give back, and not too often: a busy server pays nothing.
func TestServerMemoryTrimPolicy(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	tests := []struct {
		name                           string
		allocated, live, objects, free uint64
		sinceLast                      time.Duration
		want                           bool
	}{
		{"idle with garbage", 0, 10 * mib, 60 * mib, 0, time.Hour, true},
		{"idle with free spans", 100 << 10, 10 * mib, 10 * mib, 20 * mib, time.Hour, true},
		{"busy", 64 * mib, 10 * mib, 60 * mib, 0, time.Hour, false},
		{"just under the idle rate", trimIdleRate - 1, 10 * mib, 60 * mib, 0, time.Hour, true},
		{"at the idle rate", trimIdleRate, 10 * mib, 60 * mib, 0, time.Hour, false},
		{"too little to give back", 0, 10 * mib, 10 * mib, 3 * mib, time.Hour, false},
		{"less than a quarter of a big heap", 0, 400 * mib, 400 * mib, 90 * mib, time.Hour, false},
		{"trimmed recently", 0, 10 * mib, 60 * mib, 0, trimEvery - time.Millisecond, false},
		{"live above objects (no underflow)", 0, 20 * mib, 10 * mib, 1 * mib, time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := shouldTrim(tt.allocated, tt.live, tt.objects, tt.free, tt.sinceLast); got != tt.want {
				t.Errorf("shouldTrim(%d, %d, %d, %d, %v) = %v, want %v",
					tt.allocated, tt.live, tt.objects, tt.free, tt.sinceLast, got, tt.want)
			}
		})
	}
}
