package pubsub_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
)

// serve runs r's fan-out workers until the test ends, returning once
// they serve.
func serve(t *testing.T, r interface {
	Serve(context.Context) error
	Serving() bool
}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		testutil.Success(t, <-done)
	})
	testutil.CheckFor(t, 5*time.Second, func() error {
		if !r.Serving() {
			return fmt.Errorf("not serving yet")
		}
		return nil
	})
}

// seqSub records, per broadcaster (the message's Event), the sequence
// numbers (its Payload) it was delivered, and fails on any out of order.
type seqSub struct {
	mu   sync.Mutex
	last map[string]int
	got  int
	bad  string
}

func (s *seqSub) Deliver(m *pubsub.Message) {
	n, _ := strconv.Atoi(string(m.Payload))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last = make(map[string]int)
	}
	if prev, ok := s.last[m.Event]; ok && n != prev+1 && s.bad == "" {
		s.bad = fmt.Sprintf("from %s: %d after %d", m.Event, n, prev)
	}
	s.last[m.Event] = n
	s.got++
}

// TestRegistryParallelKeepsOrder: three broadcasters each send numbered
// messages to a topic large enough to be split across the workers, while
// other subscribers come and go (so swap-removes move the permanent ones
// between chunks). Every permanent subscriber must get every message of
// each broadcaster once, in the order it was sent.
func TestRegistryParallelKeepsOrder(t *testing.T) {
	t.Parallel()
	r := pubsub.NewRegistry(0)
	serve(t, r)
	subs := make([]*seqSub, 3000)
	for i := range subs {
		subs[i] = &seqSub{}
		r.Subscribe("room", subs[i])
	}
	const perBroadcaster = 150
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() { // churn
		extra := make([]*seqSub, 500)
		for i := range extra {
			extra[i] = &seqSub{}
		}
		for i := 0; ; i++ {
			select {
			case <-stop:
				for _, s := range extra {
					r.Unsubscribe("room", s)
				}
				return
			default:
			}
			s := extra[i%len(extra)]
			if i/len(extra)%2 == 0 {
				r.Subscribe("room", s)
			} else {
				r.Unsubscribe("room", s)
			}
		}
	})
	var senders sync.WaitGroup
	for b := range 3 {
		senders.Go(func() {
			ev := "b" + strconv.Itoa(b)
			for n := range perBroadcaster {
				r.Dispatch(&pubsub.Message{Topic: "room", Event: ev, Payload: []byte(strconv.Itoa(n))})
			}
		})
	}
	senders.Wait()
	close(stop)
	wg.Wait()
	for i, s := range subs {
		s.mu.Lock()
		if s.bad != "" || s.got != 3*perBroadcaster {
			t.Fatalf("subscriber %d: got %d messages, want %d; order: %q", i, s.got, 3*perBroadcaster, s.bad)
		}
		s.mu.Unlock()
	}
}

// gate blocks its first delivery until open is closed.
type gate struct {
	open chan struct{}
	once sync.Once
}

func (g *gate) Deliver(*pubsub.Message) {
	g.once.Do(func() {
		select {
		case <-g.open:
		case <-time.After(10 * time.Second):
		}
	})
}

// opener closes a gate's channel when delivered to.
type opener struct{ open chan struct{} }

func (o *opener) Deliver(*pubsub.Message) { close(o.open) }

// TestRegistryParallelUsesWorkers: the first subscriber blocks until the
// last one is delivered to. Delivered serially that takes the gate's 10 s
// timeout; split across workers, the last chunk runs meanwhile.
func TestRegistryParallelUsesWorkers(t *testing.T) {
	t.Parallel()
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one P: the registry delivers serially")
	}
	r := pubsub.NewRegistry(0)
	serve(t, r)
	open := make(chan struct{})
	r.Subscribe("big", &gate{open: open})
	for i := range 2000 {
		r.Subscribe("big", &counter{id: i})
	}
	r.Subscribe("big", &opener{open: open})
	start := time.Now()
	testutil.Equal(t, "Dispatch", r.Dispatch(&pubsub.Message{Topic: "big"}), 2002)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Dispatch took %v: the chunks ran one after the other", d)
	}
}

// TestRegistryParallelExactlyOnce checks counts, the From exclusion and
// the single encoding of the memo across workers, serving and not.
func TestRegistryParallelExactlyOnce(t *testing.T) {
	t.Parallel()
	for _, serving := range []bool{false, true} {
		t.Run(fmt.Sprint("serving=", serving), func(t *testing.T) {
			t.Parallel()
			r := pubsub.NewRegistry(0)
			if serving {
				serve(t, r)
			}
			subs := make([]*counter, 5000)
			for i := range subs {
				subs[i] = &counter{id: i}
				r.Subscribe("t", subs[i])
			}
			var encodes atomic.Int32
			memo := &memoCounter{encodes: &encodes}
			r.Subscribe("t", memo)
			for range 20 {
				m := &pubsub.Message{Topic: "t", From: subs[1234]}
				testutil.Equal(t, "Dispatch", r.Dispatch(m), 5000)
			}
			for i, s := range subs {
				want := int64(20)
				if i == 1234 {
					want = 0
				}
				if s.n.Load() != want {
					t.Fatalf("subscriber %d got %d messages, want %d", i, s.n.Load(), want)
				}
			}
			testutil.Equal(t, "encodes", encodes.Load(), int32(20))
		})
	}
}

// memoCounter encodes through the memo, counting the encodings; with many
// memoCounters on a topic, each message must be encoded once.
type memoCounter struct{ encodes *atomic.Int32 }

func (s *memoCounter) Deliver(m *pubsub.Message) {
	m.Memo(0, func(*pubsub.Message) any {
		s.encodes.Add(1)
		return []byte("frame")
	})
}

// TestRegistryParallelMemoOnceAcrossWorkers: every subscriber of a split
// broadcast encodes through one memo slot; the first encoders of the
// chunks race, and exactly one may compute.
func TestRegistryParallelMemoOnceAcrossWorkers(t *testing.T) {
	t.Parallel()
	r := pubsub.NewRegistry(0)
	serve(t, r)
	var encodes atomic.Int32
	for range 4000 {
		r.Subscribe("t", &memoCounter{encodes: &encodes})
	}
	for range 50 {
		r.Dispatch(&pubsub.Message{Topic: "t"})
	}
	testutil.Equal(t, "encodes", encodes.Load(), int32(50))
}

// TestRegistryServeStops: a second Serve fails; once Serve returns,
// Dispatch still delivers (serially), including while it stops.
func TestRegistryServeStops(t *testing.T) {
	t.Parallel()
	r := pubsub.NewRegistry(0)
	subs := make([]*counter, 2000)
	for i := range subs {
		subs[i] = &counter{id: i}
		r.Subscribe("t", subs[i])
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	testutil.CheckFor(t, 5*time.Second, func() error {
		if !r.Serving() {
			return fmt.Errorf("not serving yet")
		}
		return nil
	})
	testutil.Error(t, r.Serve(ctx)) // a second Serve
	testutil.Equal(t, "Dispatch while serving", r.Dispatch(&pubsub.Message{Topic: "t"}), 2000)
	var wg sync.WaitGroup
	const rounds = 200
	wg.Go(func() {
		for range rounds {
			r.Dispatch(&pubsub.Message{Topic: "t"})
		}
	})
	time.Sleep(time.Millisecond) // let some dispatches meet the stop
	cancel()
	testutil.Success(t, <-done)
	wg.Wait()
	testutil.Equal(t, "Dispatch after Serve", r.Dispatch(&pubsub.Message{Topic: "t"}), 2000)
	for i, s := range subs {
		if s.n.Load() != rounds+2 {
			t.Fatalf("subscriber %d got %d messages, want %d", i, s.n.Load(), rounds+2)
		}
	}
}

// TestRegistryParallelDispatchAllocs: a split broadcast allocates one
// small job, whatever the number of subscribers.
func TestRegistryParallelDispatchAllocs(t *testing.T) {
	// Not parallel: AllocsPerRun counts the whole process's allocations.
	r := pubsub.NewRegistry(0)
	serve(t, r)
	for i := range 10_000 {
		r.Subscribe("t", &counter{id: i})
	}
	m := &pubsub.Message{Topic: "t"}
	allocs := testing.AllocsPerRun(100, func() { r.Dispatch(m) })
	if allocs > 1 {
		t.Fatalf("Dispatch to 10,000 allocs = %v, want ≤ 1", allocs)
	}
}

// TestMemoryServe: the Memory broker's Serve runs its registry's workers.
func TestMemoryServe(t *testing.T) {
	t.Parallel()
	b := pubsub.NewMemory(pubsub.MemoryConfig{})
	serve(t, b)
	ctx := context.Background()
	subs := make([]*seqSub, 1500)
	for i := range subs {
		subs[i] = &seqSub{}
		testutil.Success(t, b.Subscribe(ctx, "t", subs[i]))
	}
	for n := range 30 {
		testutil.Success(t, b.Broadcast(ctx, &pubsub.Message{Topic: "t", Event: "e", Payload: []byte(strconv.Itoa(n))}))
	}
	for i, s := range subs {
		if s.bad != "" || s.got != 30 {
			t.Fatalf("subscriber %d: got %d, %q", i, s.got, s.bad)
		}
	}
}
