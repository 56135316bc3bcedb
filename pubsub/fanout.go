package pubsub

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
)

// Parallel fan-out. A broadcast to a topic with many local subscribers is
// split into chunks of consecutive subscribers, and the chunks are run by
// the dispatching goroutine and by up to GOMAXPROCS-1 workers of the
// Registry's pool at once, so that a 10,000-subscriber broadcast uses
// every core instead of one.
//
// Ordering: Dispatch returns only once every chunk has been delivered, and
// it holds the shard's read lock meanwhile, exactly as the serial loop
// does. So two broadcasts made one after the other (by one goroutine, or
// ordered by any happens-before edge) reach each subscriber in that order,
// whichever workers deliver them; and Unsubscribe still means "no more
// deliveries once it returns". Broadcasts that race each other were never
// ordered. Within a chunk, subscribers are delivered to in slice order.
//
// Progress: a dispatcher never waits for a chunk nobody has started. It
// offers its job to idle workers without blocking, then claims chunks
// itself until none is left, and only then waits, for chunks a worker has
// already claimed and is running. A busy, stopping or stopped pool
// therefore slows a broadcast down to the serial loop, never more.

const (
	// parallelThreshold is the number of subscribers above which a
	// broadcast is split. Waking a worker costs a few microseconds, about
	// one delivery to a socket; below a few hundred subscribers the
	// serial loop is as fast and wakes nobody.
	parallelThreshold = 512
	// chunkSize is the number of consecutive subscribers one claim
	// delivers to: small enough that the runners finish together when one
	// of them is descheduled, large enough that claiming costs nothing.
	chunkSize = 128
)

// fanPool is the workers of a serving Registry.
type fanPool struct {
	jobs    chan *fanJob
	helpers int // workers one broadcast may enlist
}

// fanJob is one split broadcast. Workers that receive it after every chunk
// was claimed find nothing to do and drop it.
type fanJob struct {
	m      *Message
	subs   []Subscriber // the topic's, read under the dispatcher's read lock
	chunks int32
	next   atomic.Int32
	n      atomic.Int64 // deliveries made
	wg     sync.WaitGroup
}

// work delivers claimed chunks until none is left.
func (j *fanJob) work() {
	for {
		i := int(j.next.Add(1)) - 1
		if i >= int(j.chunks) {
			return
		}
		lo := i * chunkSize
		hi := min(lo+chunkSize, len(j.subs))
		from, m, n := j.m.From, j.m, 0
		for _, s := range j.subs[lo:hi] {
			if s == from {
				continue
			}
			s.Deliver(m)
			n++
		}
		j.n.Add(int64(n))
		j.wg.Done()
	}
}

// dispatch delivers m to subs in parallel and returns how many it
// delivered to. The caller holds the shard's read lock.
func (p *fanPool) dispatch(m *Message, subs []Subscriber) int {
	j := &fanJob{m: m, subs: subs, chunks: int32((len(subs) + chunkSize - 1) / chunkSize)}
	j.wg.Add(int(j.chunks))
	for range min(p.helpers, int(j.chunks)-1) {
		select {
		case p.jobs <- j:
		default: // every worker busy: the ones we have will do
		}
	}
	j.work()
	j.wg.Wait()
	return int(j.n.Load())
}

// Serve runs the Registry's fan-out workers, GOMAXPROCS goroutines, until
// ctx is done; then it stops them and returns nil. While it runs,
// [Registry.Dispatch] splits a broadcast to more than a few hundred local
// subscribers across the workers and its own goroutine; otherwise, and
// for smaller topics, Dispatch delivers on the calling goroutine alone.
// Either way Dispatch returns once every subscriber has been delivered to,
// and per-subscriber order is kept (see Dispatch).
//
// Run it as a long-lived service (suzaku.Config.Services runs it under the
// server's supervisor). Only one Serve may run at a time per Registry; a
// second one returns an error at once.
func (r *Registry) Serve(ctx context.Context) error {
	w := runtime.GOMAXPROCS(0)
	p := &fanPool{jobs: make(chan *fanJob, 4*w), helpers: w - 1}
	if !r.pool.CompareAndSwap(nil, p) {
		return errAlreadyServing
	}
	var wg sync.WaitGroup
	for range w {
		wg.Go(func() {
			for {
				select {
				case j := <-p.jobs:
					j.work()
				case <-ctx.Done():
					return
				}
			}
		})
	}
	<-ctx.Done()
	r.pool.CompareAndSwap(p, nil)
	wg.Wait()
	return nil
}

var errAlreadyServing = errors.New("pubsub: registry: serve: already serving")
