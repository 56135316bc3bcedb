package pubsub

import (
	"errors"
	"fmt"
	"hash/maphash"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Registry is the local subscription table: for each topic, the subscribers
// of this process. [Memory] is a Registry plus a node name; network adapters
// use one for the local half of a broadcast, calling [Registry.Dispatch] for
// each message they receive.
//
// Topics are spread over shards by hash, each behind its own RWMutex, so that
// broadcasts only take read locks and subscriptions to different topics rarely
// meet on a lock. Dispatch holds its shard's read lock while it calls
// [Subscriber.Deliver], which is why Deliver must not block and must not call
// back into the Registry (or a Broker built on it) on the same goroutine:
// Subscribe or Unsubscribe there would deadlock on the shard.
//
// The zero value is ready to use, with the default number of shards (see
// [NewRegistry]). A Registry must not be copied after first use. All methods
// are safe for concurrent use.
type Registry struct {
	table atomic.Pointer[registryTable]
	pool  atomic.Pointer[fanPool] // set while Serve runs
}

// NewRegistry returns a Registry with the given number of shards, rounded up
// to a power of two. shards ≤ 0 means the default: 32, or the next power of
// two at or above 4×GOMAXPROCS if that is larger. More shards cost about
// 128 bytes each and lower contention between subscriptions of different
// topics; they don't speed up broadcasts to one topic.
func NewRegistry(shards int) *Registry {
	r := new(Registry)
	r.table.Store(newRegistryTable(shards))
	return r
}

// maxShards bounds the shard count, so that a mistaken Config costs at most a
// few MiB.
const maxShards = 1 << 16

// indexThreshold is the number of subscribers of one topic above which it
// gets an index map. Most topics (one per user, per small room) have a few
// subscribers, where a linear scan is as fast as a map and costs no memory.
const indexThreshold = 16

type registryTable struct {
	seed   maphash.Seed
	mask   uint64
	shards []registryShard
}

func newRegistryTable(shards int) *registryTable {
	if shards <= 0 {
		shards = max(32, 4*runtime.GOMAXPROCS(0))
	}
	shards = min(shards, maxShards)
	n := 1
	for n < shards {
		n <<= 1
	}
	return &registryTable{
		seed:   maphash.MakeSeed(),
		mask:   uint64(n - 1),
		shards: make([]registryShard, n),
	}
}

func (t *registryTable) shard(topic string) *registryShard {
	return &t.shards[maphash.String(t.seed, topic)&t.mask]
}

// registryShardData is one shard. mu guards topics and subs; the counters
// are atomics written under the read lock, in the cache line that the lock
// already dirties.
type registryShardData struct {
	mu         sync.RWMutex
	topics     map[string]*topicSubs
	subs       int
	messages   atomic.Uint64
	deliveries atomic.Uint64
}

// registryShard pads a shard to a multiple of 128 bytes (two cache lines, for
// the adjacent-line prefetcher) so that neighbouring shards don't share one.
type registryShard struct {
	registryShardData
	_ [128 - unsafe.Sizeof(registryShardData{})%128]byte
}

// topicSubs holds one topic's subscribers. Dispatch ranges over subs; index,
// built once the topic has more than indexThreshold subscribers, maps each
// one to its position for O(1) swap-remove.
type topicSubs struct {
	subs  []Subscriber
	index map[Subscriber]int
	// inline backs subs while the topic has one subscriber, the common
	// case (a topic per user), saving an allocation per topic.
	inline [1]Subscriber
}

func (ts *topicSubs) find(s Subscriber) int {
	if ts.index != nil {
		if i, ok := ts.index[s]; ok {
			return i
		}
		return -1
	}
	for i, x := range ts.subs {
		if x == s {
			return i
		}
	}
	return -1
}

func (ts *topicSubs) add(s Subscriber) bool {
	if ts.find(s) >= 0 {
		return false
	}
	if cap(ts.subs) == 1 && len(ts.subs) == 1 {
		// Leave the inline array, clearing it so that it doesn't keep the
		// subscriber alive after it unsubscribes.
		grown := make([]Subscriber, 1, 4)
		grown[0] = ts.subs[0]
		ts.subs = grown
		ts.inline[0] = nil
	}
	ts.subs = append(ts.subs, s)
	switch {
	case ts.index != nil:
		ts.index[s] = len(ts.subs) - 1
	case len(ts.subs) > indexThreshold:
		ts.index = make(map[Subscriber]int, len(ts.subs))
		for i, x := range ts.subs {
			ts.index[x] = i
		}
	}
	return true
}

func (ts *topicSubs) remove(s Subscriber) bool {
	i := ts.find(s)
	if i < 0 {
		return false
	}
	last := len(ts.subs) - 1
	if i != last {
		moved := ts.subs[last]
		ts.subs[i] = moved
		if ts.index != nil {
			ts.index[moved] = i
		}
	}
	ts.subs[last] = nil // let the subscriber be collected
	ts.subs = ts.subs[:last]
	if ts.index != nil {
		delete(ts.index, s)
		if len(ts.subs) <= indexThreshold/2 {
			ts.index = nil // hysteresis: rebuilt only above indexThreshold
		}
	}
	// Give memory back after a big room empties out.
	if c := cap(ts.subs); c > 64 && len(ts.subs) < c/4 {
		ts.subs = append([]Subscriber(nil), ts.subs...)
	}
	return true
}

func (r *Registry) tab() *registryTable {
	if t := r.table.Load(); t != nil {
		return t
	}
	r.table.CompareAndSwap(nil, newRegistryTable(0))
	return r.table.Load()
}

// Subscribe adds s to topic's subscribers. Subscribing s again to the same
// topic changes nothing: s still gets each message once. It returns the
// topic's number of subscribers after the call, and whether s was added;
// n == 1 && added means the topic just got its first subscriber, which is
// when a network adapter subscribes to it upstream.
//
// s is used as a map key and compared with ==, so its dynamic type must be
// comparable; use a pointer. Subscribe panics if s is nil or not comparable,
// both programming errors.
func (r *Registry) Subscribe(topic string, s Subscriber) (n int, added bool) {
	if err := checkSubscriber(s); err != nil {
		panic("pubsub: Registry.Subscribe: " + err.Error())
	}
	sh := r.tab().shard(topic)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ts := sh.topics[topic]
	if ts == nil {
		if sh.topics == nil {
			sh.topics = make(map[string]*topicSubs)
		}
		ts = new(topicSubs)
		ts.subs = ts.inline[:0]
		sh.topics[topic] = ts
	}
	added = ts.add(s)
	if added {
		sh.subs++
	}
	return len(ts.subs), added
}

// Unsubscribe removes s from topic's subscribers; a topic left with none is
// deleted. It returns the topic's number of subscribers after the call, and
// whether s was removed; n == 0 && removed means the topic just lost its last
// subscriber, which is when a network adapter unsubscribes upstream.
//
// Once Unsubscribe returns, s gets no more messages of topic: a Dispatch that
// was delivering to it has finished, because Unsubscribe waits for the
// shard's write lock.
func (r *Registry) Unsubscribe(topic string, s Subscriber) (n int, removed bool) {
	sh := r.tab().shard(topic)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ts := sh.topics[topic]
	if ts == nil {
		return 0, false
	}
	removed = ts.remove(s)
	if removed {
		sh.subs--
	}
	if len(ts.subs) == 0 {
		delete(sh.topics, topic)
	}
	return len(ts.subs), removed
}

// Dispatch delivers m to each subscriber of m.Topic except m.From, and
// returns how many it delivered to once all are done. It delivers on the
// calling goroutine, or, for a topic with more than a few hundred
// subscribers while [Registry.Serve] runs, on it and the Registry's
// workers at once. It holds the shard's read lock throughout, so
// concurrent dispatches, to one topic or many, proceed in parallel.
//
// Each subscriber gets m once. Since Dispatch returns only after every
// delivery, messages dispatched one after the other reach each subscriber
// in that order. It allocates nothing, except one small job per split
// broadcast.
func (r *Registry) Dispatch(m *Message) int {
	sh := r.tab().shard(m.Topic)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	n := 0
	if ts := sh.topics[m.Topic]; ts != nil {
		if p := r.pool.Load(); p != nil && p.helpers > 0 && len(ts.subs) > parallelThreshold {
			n = p.dispatch(m, ts.subs)
		} else {
			from := m.From
			for _, s := range ts.subs {
				if s == from {
					continue
				}
				s.Deliver(m)
				n++
			}
		}
	}
	sh.messages.Add(1)
	sh.deliveries.Add(uint64(n))
	return n
}

// Count returns the number of subscribers of topic.
func (r *Registry) Count(topic string) int {
	sh := r.tab().shard(topic)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if ts := sh.topics[topic]; ts != nil {
		return len(ts.subs)
	}
	return 0
}

// Topics returns the number of topics with at least one subscriber. It visits
// every shard, so it is meant for metrics, not for hot paths.
func (r *Registry) Topics() int {
	t := r.tab()
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.RLock()
		n += len(sh.topics)
		sh.mu.RUnlock()
	}
	return n
}

// Stats is a snapshot of a Registry's or a Broker's counters. Each field is
// read separately, so under load they may not match each other exactly.
type Stats struct {
	Topics        int    // topics with at least one local subscriber
	Subscriptions int    // (topic, subscriber) pairs
	Messages      uint64 // messages dispatched locally, since creation
	Deliveries    uint64 // Deliver calls, since creation
}

// Stats returns the registry's counters. Like [Registry.Topics], it visits
// every shard.
func (r *Registry) Stats() Stats {
	t := r.tab()
	var st Stats
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.RLock()
		st.Topics += len(sh.topics)
		st.Subscriptions += sh.subs
		sh.mu.RUnlock()
		st.Messages += sh.messages.Load()
		st.Deliveries += sh.deliveries.Load()
	}
	return st
}

// checkSubscriber reports why s cannot be subscribed: it is nil, or its
// dynamic type is not comparable (a func, map or slice type), which would
// make the map insert or == panic at a distance.
func checkSubscriber(s Subscriber) error {
	if s == nil {
		return errNilSubscriber
	}
	if t := reflect.TypeOf(s); !t.Comparable() {
		return fmt.Errorf("subscriber type %v is not comparable; use a pointer", t)
	}
	return nil
}

var errNilSubscriber = errors.New("nil subscriber")
