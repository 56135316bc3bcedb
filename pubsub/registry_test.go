package pubsub_test

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
)

// counter is a Subscriber that counts its deliveries.
type counter struct {
	id int
	n  atomic.Int64
}

func (c *counter) Deliver(*pubsub.Message) { c.n.Add(1) }

func TestRegistryZeroValue(t *testing.T) {
	t.Parallel()
	var r pubsub.Registry
	testutil.Equal(t, "Count on empty", r.Count("t"), 0)
	testutil.Equal(t, "Topics on empty", r.Topics(), 0)
	testutil.Equal(t, "Dispatch on empty", r.Dispatch(&pubsub.Message{Topic: "t"}), 0)
	c := &counter{}
	r.Subscribe("t", c)
	testutil.Equal(t, "Dispatch", r.Dispatch(&pubsub.Message{Topic: "t"}), 1)
	testutil.Equal(t, "deliveries", c.n.Load(), int64(1))
	testutil.Equal(t, "shards", r.ShardCount() >= 32, true)
}

func TestRegistryShards(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		shards int
		want   int
	}{
		{name: "one", shards: 1, want: 1},
		{name: "power of two", shards: 64, want: 64},
		{name: "rounded up", shards: 5, want: 8},
		{name: "capped", shards: 1 << 30, want: pubsub.MaxShards},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "ShardCount()", pubsub.NewRegistry(tt.shards).ShardCount(), tt.want)
		})
	}
	def := pubsub.NewRegistry(0).ShardCount()
	if def < 32 || def&(def-1) != 0 {
		t.Fatalf("NewRegistry(0).ShardCount() = %d, want a power of two ≥ 32", def)
	}
}

func TestRegistrySubscribeUnsubscribe(t *testing.T) {
	t.Parallel()
	r := pubsub.NewRegistry(4)
	a, b := &counter{id: 1}, &counter{id: 2}
	type result struct {
		N  int
		OK bool
	}
	sub := func(topic string, s pubsub.Subscriber) result {
		n, ok := r.Subscribe(topic, s)
		return result{n, ok}
	}
	unsub := func(topic string, s pubsub.Subscriber) result {
		n, ok := r.Unsubscribe(topic, s)
		return result{n, ok}
	}
	tests := []struct {
		name   string
		op     func() result
		want   result
		count  int // Count("t") after
		topics int // Topics() after
	}{
		{name: "first subscriber", op: func() result { return sub("t", a) }, want: result{1, true}, count: 1, topics: 1},
		{name: "duplicate", op: func() result { return sub("t", a) }, want: result{1, false}, count: 1, topics: 1},
		{name: "second subscriber", op: func() result { return sub("t", b) }, want: result{2, true}, count: 2, topics: 1},
		{name: "other topic", op: func() result { return sub("u", a) }, want: result{1, true}, count: 2, topics: 2},
		{name: "remove", op: func() result { return unsub("t", a) }, want: result{1, true}, count: 1, topics: 2},
		{name: "remove absent", op: func() result { return unsub("t", a) }, want: result{1, false}, count: 1, topics: 2},
		{name: "remove unknown topic", op: func() result { return unsub("v", a) }, want: result{0, false}, count: 1, topics: 2},
		{name: "remove last", op: func() result { return unsub("t", b) }, want: result{0, true}, count: 0, topics: 1},
	}
	for _, tt := range tests { // in order: each step builds on the last
		testutil.Equal(t, tt.name, tt.op(), tt.want)
		testutil.Equal(t, tt.name+": Count", r.Count("t"), tt.count)
		testutil.Equal(t, tt.name+": Topics", r.Topics(), tt.topics)
	}
}

func TestRegistryDispatch(t *testing.T) {
	t.Parallel()
	var r pubsub.Registry
	subs := []*counter{{id: 1}, {id: 2}, {id: 3}}
	for _, s := range subs {
		r.Subscribe("room", s)
	}
	other := &counter{id: 4}
	r.Subscribe("room:2", other)

	testutil.Equal(t, "Dispatch", r.Dispatch(&pubsub.Message{Topic: "room"}), 3)
	testutil.Equal(t, "Dispatch from", r.Dispatch(&pubsub.Message{Topic: "room", From: subs[1]}), 2)
	testutil.Equal(t, "Dispatch from stranger", r.Dispatch(&pubsub.Message{Topic: "room", From: other}), 3)
	for i, want := range []int64{3, 2, 3} {
		testutil.Equal(t, "deliveries to sub "+strconv.Itoa(i), subs[i].n.Load(), want)
	}
	testutil.Equal(t, "deliveries to other topic", other.n.Load(), int64(0))
	testutil.Equal(t, "Stats()", r.Stats(), pubsub.Stats{Topics: 2, Subscriptions: 4, Messages: 3, Deliveries: 8})
}

// recordingSub appends the messages it gets, for tests that check which
// subscribers got what.
type recordingSub struct {
	id  int
	mu  sync.Mutex
	got int
}

func (s *recordingSub) Deliver(*pubsub.Message) { s.mu.Lock(); s.got++; s.mu.Unlock() }

// TestRegistryModel runs random operations on a few topics, crossing the
// index threshold both ways, and checks the Registry against a map model.
func TestRegistryModel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		shards int
		seed   uint64
	}{
		{name: "one shard", shards: 1, seed: 1},
		{name: "default shards", shards: 0, seed: 2},
		{name: "other seed", shards: 8, seed: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(tt.seed, tt.seed))
			r := pubsub.NewRegistry(tt.shards)
			topics := []string{"a", "b", "c"}
			pool := make([]*recordingSub, 3*pubsub.IndexThreshold)
			for i := range pool {
				pool[i] = &recordingSub{id: i}
			}
			model := map[string]map[*recordingSub]bool{}
			for step := range 20000 {
				topic := topics[rng.IntN(len(topics))]
				s := pool[rng.IntN(len(pool))]
				set := model[topic]
				// Bias towards growing early and shrinking late, so that
				// topics pass the index threshold in both directions.
				grow := rng.IntN(100) < 70
				if step%5000 >= 2500 {
					grow = !grow
				}
				if grow {
					n, added := r.Subscribe(topic, s)
					if set == nil {
						set = map[*recordingSub]bool{}
						model[topic] = set
					}
					testutil.Equal(t, "Subscribe added", added, !set[s])
					set[s] = true
					testutil.Equal(t, "Subscribe n", n, len(set))
				} else {
					n, removed := r.Unsubscribe(topic, s)
					testutil.Equal(t, "Unsubscribe removed", removed, set[s])
					delete(set, s)
					if len(set) == 0 {
						delete(model, topic)
					}
					testutil.Equal(t, "Unsubscribe n", n, len(set))
				}
				if step%97 != 0 {
					continue
				}
				// Every subscriber in the model gets exactly one delivery.
				for _, s := range pool {
					s.got = 0
				}
				for _, topic := range topics {
					var from pubsub.Subscriber
					if rng.IntN(2) == 0 {
						from = pool[rng.IntN(len(pool))]
					}
					r.Dispatch(&pubsub.Message{Topic: topic, From: from})
					for _, s := range pool {
						want := 0
						if model[topic][s] && s != from {
							want = 1
						}
						if s.got != want {
							t.Fatalf("step %d: topic %q: sub %d got %d deliveries, want %d", step, topic, s.id, s.got, want)
						}
						s.got = 0
					}
					testutil.Equal(t, "Count("+topic+")", r.Count(topic), len(model[topic]))
				}
				testutil.Equal(t, "Topics()", r.Topics(), len(model))
			}
		})
	}
}

type funcSub func(*pubsub.Message)

func (f funcSub) Deliver(m *pubsub.Message) { f(m) }

func TestRegistrySubscribePanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		sub  pubsub.Subscriber
		want string
	}{
		{name: "nil", sub: nil, want: "nil subscriber"},
		{name: "not comparable", sub: funcSub(func(*pubsub.Message) {}), want: "not comparable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r pubsub.Registry
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, tt.want) {
					t.Fatalf("Subscribe panic = %q, want it to contain %q", msg, tt.want)
				}
				testutil.Equal(t, "Topics()", r.Topics(), 0)
			}()
			r.Subscribe("t", tt.sub)
		})
	}
}

func TestRegistryConcurrent(t *testing.T) {
	t.Parallel()
	r := pubsub.NewRegistry(2)
	topics := []string{"a", "b", "c", "d"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			subs := make([]*counter, 40)
			for i := range subs {
				subs[i] = &counter{id: g*100 + i}
			}
			for i := range 2000 {
				topic := topics[i%len(topics)]
				s := subs[(i*7)%len(subs)]
				switch i % 3 {
				case 0:
					r.Subscribe(topic, s)
				case 1:
					r.Dispatch(&pubsub.Message{Topic: topic, From: s})
				case 2:
					r.Unsubscribe(topic, s)
				}
				_ = r.Count(topic)
			}
			for _, s := range subs {
				for _, topic := range topics {
					r.Unsubscribe(topic, s)
				}
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			_ = r.Stats()
		}
	})
	wg.Wait()
	testutil.Equal(t, "Stats().Topics", r.Stats().Topics, 0)
	testutil.Equal(t, "Stats().Subscriptions", r.Stats().Subscriptions, 0)
}

func TestRegistryDispatchAllocs(t *testing.T) {
	// Not parallel: AllocsPerRun counts the whole process's allocations.
	var r pubsub.Registry
	for i := range 3 * pubsub.IndexThreshold {
		r.Subscribe("t", &counter{id: i})
	}
	m := &pubsub.Message{Topic: "t"}
	allocs := testing.AllocsPerRun(100, func() { r.Dispatch(m) })
	testutil.Equal(t, "Dispatch allocs", allocs, 0.0)
}

func TestRegistrySwapRemove(t *testing.T) {
	t.Parallel()
	// Removal order must not matter for what is left.
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 0, 2}} {
		var r pubsub.Registry
		subs := []*counter{{id: 0}, {id: 1}, {id: 2}, {id: 3}}
		for _, s := range subs {
			r.Subscribe("t", s)
		}
		for _, i := range order {
			r.Unsubscribe("t", subs[i])
		}
		r.Dispatch(&pubsub.Message{Topic: "t"})
		got := []int64{subs[0].n.Load(), subs[1].n.Load(), subs[2].n.Load(), subs[3].n.Load()}
		if !slices.Equal(got, []int64{0, 0, 0, 1}) {
			t.Fatalf("order %v: deliveries = %v, want [0 0 0 1]", order, got)
		}
	}
}

func TestRegistryReleasesSubscribers(t *testing.T) {
	t.Parallel()
	var r pubsub.Registry
	a, b := &counter{id: 1}, &counter{id: 2}
	r.Subscribe("t", a)
	testutil.Equal(t, "inline after one", r.InlineHeld("t"), true)
	r.Subscribe("t", b)
	r.Unsubscribe("t", a)
	// a is gone from the topic, and nothing in it keeps a alive.
	testutil.Equal(t, "inline after growing", r.InlineHeld("t"), false)
	testutil.Equal(t, "Dispatch", r.Dispatch(&pubsub.Message{Topic: "t"}), 1)
	testutil.Equal(t, "deliveries to a", a.n.Load(), int64(0))
}
