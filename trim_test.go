package suzaku

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

var sink [][]byte

// TestServerMemoryTrimReadsHeap: the runtime's figures trimMemory reads
// are there and move: a 64 MiB live burst shows in allocs and the live
// heap, and once dropped and collected it leaves the live heap.
func TestServerMemoryTrimReadsHeap(t *testing.T) {
	read := readHeapStats()
	before := read()
	for range 64 << 10 { // 64 MiB in 1 KiB pieces, kept live
		sink = append(sink, make([]byte, 1024))
	}
	runtime.GC()
	held := read()
	if got := held.allocs - before.allocs; got < 64<<20 {
		t.Errorf("allocs grew by %d bytes over a 64 MiB burst", got)
	}
	if held.live < 64<<20 || held.objects < 60<<20 {
		t.Errorf("holding 64 MiB: live %d, objects %d", held.live, held.objects)
	}
	sink = nil
	runtime.GC()
	if after := read(); after.live > held.live-48<<20 {
		t.Errorf("after dropping 64 MiB: live %d, was %d", after.live, held.live)
	}
}

// TestServerMemoryTrimLoop drives trimMemory with scripted figures: no
// trim while the process allocates, one as soon as it is idle with
// garbage, and no second one within trimEvery however long it stays so.
func TestServerMemoryTrimLoop(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	var reads, releases atomic.Int64
	read := func() heapStats {
		n := reads.Add(1)
		h := heapStats{live: 10 * mib, objects: 60 * mib}
		if n <= 20 { // busy: 8 MiB allocated per interval
			h.allocs = uint64(n) * 8 * mib
		} else { // idle from then on
			h.allocs = 20 * 8 * mib
		}
		return h
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		trimMemory(ctx, time.Millisecond, read, func() {
			if reads.Load() <= 20 {
				t.Errorf("released at read %d, while busy", reads.Load())
			}
			releases.Add(1)
		})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for reads.Load() < 200 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if n := reads.Load(); n < 200 {
		t.Fatalf("trimMemory read the heap %d times in 30 s, want 200", n)
	}
	if n := releases.Load(); n != 1 {
		t.Errorf("released %d times, want once (idle after read 20, then within trimEvery)", n)
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
