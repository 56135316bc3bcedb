package suzaku

import (
	"context"
	"runtime/metrics"
	"time"
)

// Memory trim. A burst of connections leaves garbage behind it (each
// handshake's request, headers and buffers, a few KiB), and the Go
// runtime keeps the heap it grew for them: the GC goal stays at twice the
// live heap of the burst, and freed pages go back to the system only as
// slowly as the background scavenger returns them. An idle server holding
// 15,000 connections thus stays ~50 % above what its connections need.
// trimMemory watches the heap once per interval; when the process has
// stopped allocating (less than trimIdleRate over a trimInterval) and more
// than trimMin and a quarter of the live heap could be given back, it
// returns it with debug.FreeOSMemory (a GC and a scavenge, a few ms for
// tens of MiB), at most once per trimEvery. A busy server never trims:
// allocation keeps it from being idle, so throughput pays nothing.

const (
	trimIdleRate = 256 << 10 // bytes allocated per interval below which the process is idle
	trimMin      = 4 << 20   // bytes reclaimable worth a trim
	trimEvery    = 10 * time.Second
	trimInterval = 250 * time.Millisecond
)

var trimSamples = []string{
	"/gc/heap/allocs:bytes",
	"/gc/heap/live:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/free:bytes",
}

// heapStats is what trimMemory reads of the runtime each interval.
type heapStats struct {
	allocs  uint64 // bytes allocated since the process started
	live    uint64 // live heap as of the last GC
	objects uint64 // heap bytes in objects, live or not yet swept
	free    uint64 // free heap not yet returned to the system
}

// readHeapStats returns a reader of the runtime's heap figures, reusing
// its samples between calls.
func readHeapStats() func() heapStats {
	s := make([]metrics.Sample, len(trimSamples))
	for i, name := range trimSamples {
		s[i].Name = name
	}
	return func() heapStats {
		metrics.Read(s)
		v := func(i int) uint64 {
			if s[i].Value.Kind() == metrics.KindUint64 {
				return s[i].Value.Uint64()
			}
			return 0
		}
		return heapStats{v(0), v(1), v(2), v(3)}
	}
}

// trimMemory runs until ctx is done; see the comment above. read gives
// the heap's figures (readHeapStats; tests script them) and release gives
// the heap back (debug.FreeOSMemory; tests count the calls instead).
func trimMemory(ctx context.Context, interval time.Duration, read func() heapStats, release func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	prev := read().allocs
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h := read()
		allocated := h.allocs - prev
		prev = h.allocs
		if shouldTrim(allocated, h.live, h.objects, h.free, time.Since(last)) {
			release()
			last = time.Now()
			prev = read().allocs
		}
	}
}

// shouldTrim is trimMemory's policy: the process allocated less than
// trimIdleRate during the last interval, more than trimMin and a quarter
// of the live heap could be given back, and the last trim is at least
// trimEvery old.
func shouldTrim(allocated, live, objects, free uint64, sinceLast time.Duration) bool {
	reclaimable := free
	if objects > live {
		reclaimable += objects - live
	}
	return allocated < trimIdleRate && reclaimable > max(trimMin, live/4) && sinceLast >= trimEvery
}
