package suzaku

import (
	"context"
	"runtime/metrics"
	"testing"
	"time"
)

var sink [][]byte

// TestServerMemoryTrimReturnsBurstGarbage: after a burst of garbage and
// then quiet, the trim gives the heap back to the system. Not parallel:
// other tests' allocations would keep the process from looking idle.
func TestServerMemoryTrimReturnsBurstGarbage(t *testing.T) {
	released := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	for range 64 << 10 { // 64 MiB in 1 KiB pieces, all garbage at once
		sink = append(sink, make([]byte, 1024))
	}
	sink = nil
	before := released()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); trimMemory(ctx, 20*time.Millisecond) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for released() < before+32<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("released %d MiB in 5 s, want ≥ 32 MiB", (released()-before)>>20)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
