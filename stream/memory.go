package stream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/suzaku-go/suzaku/pubsub"
)

// Defaults of [MemoryConfig].
const (
	DefaultMaxBytes  = 64 << 20
	DefaultMaxTopics = 100_000
)

// MessageOverhead is what [Memory] counts for one message held, on top of
// its topic, event and payload twice (the message, and the one encoded
// frame it caches for delivery): the Message struct with its memo, the
// ring slot and the frame's framing, in bytes. BenchmarkStreamMemory
// measures the real figure.
const MessageOverhead = 352

// MemoryConfig configures a [Memory] store.
type MemoryConfig struct {
	// Broker delivers the messages to this node's subscribers
	// (LocalBroadcast). Required.
	Broker pubsub.Broker
	// MaxBytes caps the memory held by all histories, counted as in
	// [MessageOverhead]. When a publish takes the total over it, the
	// topics published to least recently lose their whole history (and
	// get a new epoch) until it fits. Zero means DefaultMaxBytes (64 MiB).
	MaxBytes int64
	// MaxTopics caps the topics held, counters included, with the same
	// policy. Zero means DefaultMaxTopics (100,000).
	MaxTopics int
}

// Memory is a [Store] for one node: histories in this process, delivered
// with the broker's LocalBroadcast. It is the default of package channel.
// Its epochs start with a random string made by [NewMemory], so that a
// restarted process never takes a client's old position for its own.
//
// # Bounds
//
// Each topic keeps at most [Limits].Size messages, and none older than
// [Limits].TTL (expired messages are dropped on the topic's next publish or
// read; until then they count against MaxBytes). MaxBytes and MaxTopics
// bound the whole store: when either is exceeded, the least recently
// published topic is dropped whole, history and counter, and the store's
// epoch generation moves on, so that a client of a dropped topic gets
// recovered false rather than a reused offset.
type Memory struct {
	broker    pubsub.Broker
	base      string
	maxBytes  int64
	maxTopics int

	bytes atomic.Int64

	mu     sync.Mutex
	topics map[string]*memTopic
	lru    memTopic // sentinel: lru.next is the most recently published
	gen    uint64   // topics evicted so far; part of new topics' epochs
}

type memTopic struct {
	name       string
	prev, next *memTopic // LRU list, under Memory.mu

	mu      sync.Mutex
	epoch   string
	last    uint64
	ring    ring
	bytes   int64
	evicted bool
}

type entry struct {
	at  time.Time
	msg *pubsub.Message
}

var _ Store = (*Memory)(nil)

// NewMemory returns a memory store for cfg. It starts nothing.
func NewMemory(cfg MemoryConfig) (*Memory, error) {
	if cfg.Broker == nil {
		return nil, errors.New("stream: new memory store: nil Broker")
	}
	if cfg.MaxBytes < 0 || cfg.MaxTopics < 0 {
		return nil, errors.New("stream: new memory store: negative MaxBytes or MaxTopics")
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	s := &Memory{
		broker:    cfg.Broker,
		base:      hex.EncodeToString(r[:]),
		maxBytes:  cfg.MaxBytes,
		maxTopics: cfg.MaxTopics,
		topics:    make(map[string]*memTopic),
	}
	if s.maxBytes == 0 {
		s.maxBytes = DefaultMaxBytes
	}
	if s.maxTopics == 0 {
		s.maxTopics = DefaultMaxTopics
	}
	s.lru.next, s.lru.prev = &s.lru, &s.lru
	return s, nil
}

// epochLocked is the epoch of a topic created now. Call with s.mu held.
func (s *Memory) epochLocked() string {
	return s.base + "-" + strconv.FormatUint(s.gen, 10)
}

// Publish implements [Store]. It delivers on the calling goroutine while
// holding the topic's lock, so that deliveries follow offsets.
func (s *Memory) Publish(ctx context.Context, m *pubsub.Message, lim Limits) (Position, error) {
	if m == nil {
		return Position{}, errors.New("stream: publish: nil message")
	}
	if err := ctx.Err(); err != nil {
		return Position{}, err
	}
	lim = lim.WithDefaults()
	m.From = nil
	cost := msgCost(m)
	for {
		t := s.touch(m.Topic)
		t.mu.Lock()
		if t.evicted { // dropped between touch and lock: take the new one
			t.mu.Unlock()
			continue
		}
		now := time.Now()
		freed := t.expire(now, lim.TTL)
		t.last++
		m.Offset, m.Epoch = t.last, t.epoch
		for t.ring.n >= lim.Size {
			freed += msgCost(t.ring.pop().msg)
		}
		t.ring.push(entry{at: now, msg: m}, lim.Size)
		t.bytes += cost - freed
		pos := Position{Epoch: t.epoch, Offset: t.last}
		err := s.broker.LocalBroadcast(context.WithoutCancel(ctx), m)
		t.mu.Unlock()
		if s.bytes.Add(cost-freed) > s.maxBytes {
			s.shrink()
		}
		return pos, err
	}
}

// touch returns topic's state, created if need be, as the most recently
// published.
func (s *Memory) touch(topic string) *memTopic {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.topics[topic]
	if t == nil {
		for len(s.topics) >= s.maxTopics && s.lru.prev != &s.lru {
			s.evictLocked(s.lru.prev)
		}
		t = &memTopic{name: topic, epoch: s.epochLocked()}
		s.topics[topic] = t
	} else {
		t.prev.next, t.next.prev = t.next, t.prev
	}
	t.next, t.prev = s.lru.next, &s.lru
	s.lru.next.prev = t
	s.lru.next = t
	return t
}

// shrink drops the least recently published topics until the store fits
// in MaxBytes.
func (s *Memory) shrink() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.bytes.Load() > s.maxBytes && s.lru.prev != &s.lru {
		s.evictLocked(s.lru.prev)
	}
}

// evictLocked drops t whole. Call with s.mu held (lock order: s.mu, then a
// topic's mu).
func (s *Memory) evictLocked(t *memTopic) {
	t.mu.Lock()
	t.evicted = true
	s.bytes.Add(-t.bytes)
	t.bytes = 0
	t.ring = ring{}
	t.mu.Unlock()
	t.prev.next, t.next.prev = t.next, t.prev
	t.prev, t.next = nil, nil
	delete(s.topics, t.name)
	s.gen++
}

// Position implements [Store].
func (s *Memory) Position(ctx context.Context, topic string) (Position, error) {
	if err := ctx.Err(); err != nil {
		return Position{}, err
	}
	s.mu.Lock()
	t := s.topics[topic]
	if t == nil {
		pos := Position{Epoch: s.epochLocked()}
		s.mu.Unlock()
		return pos, nil
	}
	t.mu.Lock()
	s.mu.Unlock()
	defer t.mu.Unlock()
	return Position{Epoch: t.epoch, Offset: t.last}, nil
}

// Recover implements [Store]. The messages it returns are the ones that
// were delivered, shared with every other recovering client: their cached
// frames are reused, so a reconnect storm encodes each message once.
func (s *Memory) Recover(ctx context.Context, topic string, since Position, lim Limits) (Recovery, error) {
	if err := ctx.Err(); err != nil {
		return Recovery{}, err
	}
	lim = lim.WithDefaults()
	s.mu.Lock()
	t := s.topics[topic]
	if t == nil {
		pos := Position{Epoch: s.epochLocked()}
		s.mu.Unlock()
		return Recovery{Position: pos, Recovered: since == pos}, nil
	}
	t.mu.Lock()
	s.mu.Unlock()
	freed := t.expire(time.Now(), lim.TTL)
	t.bytes -= freed
	s.bytes.Add(-freed)
	r := Recovery{Position: Position{Epoch: t.epoch, Offset: t.last}}
	first := t.last - uint64(t.ring.n) + 1 // offset of the oldest held
	if since.Epoch == t.epoch && since.Offset <= t.last && since.Offset+1 >= first {
		r.Recovered = true
		if k := int(t.last - since.Offset); k > 0 {
			r.Messages = make([]*pubsub.Message, 0, k)
			for i := t.ring.n - k; i < t.ring.n; i++ {
				r.Messages = append(r.Messages, t.ring.at(i).msg)
			}
		}
	}
	t.mu.Unlock()
	return r, nil
}

// expire drops the messages older than ttl and returns their cost. Call
// with t.mu held.
func (t *memTopic) expire(now time.Time, ttl time.Duration) int64 {
	var freed int64
	for t.ring.n > 0 && now.Sub(t.ring.at(0).at) >= ttl {
		freed += msgCost(t.ring.pop().msg)
	}
	return freed
}

// msgCost is what a message held counts against MaxBytes.
func msgCost(m *pubsub.Message) int64 {
	return int64(2*(len(m.Topic)+len(m.Event)+len(m.Payload)) + MessageOverhead)
}

// Stats is a snapshot of a [Memory] store.
type Stats struct {
	Topics  int   // topics held
	Bytes   int64 // memory held, as counted against MaxBytes
	Evicted uint64
}

// Stats returns the store's counters.
func (s *Memory) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Topics: len(s.topics), Bytes: s.bytes.Load(), Evicted: s.gen}
}

// ring is a FIFO of entries that grows up to the size it is pushed with.
type ring struct {
	buf     []entry
	head, n int
}

func (r *ring) at(i int) *entry { return &r.buf[(r.head+i)%len(r.buf)] }

// push appends e, growing the buffer up to size entries (the caller pops
// first to stay within size).
func (r *ring) push(e entry, size int) {
	if r.n == len(r.buf) {
		buf := make([]entry, max(min(2*len(r.buf), size), 4, r.n+1))
		for i := range r.n {
			buf[i] = *r.at(i)
		}
		r.buf, r.head = buf, 0
	}
	*r.at(r.n) = e
	r.n++
}

func (r *ring) pop() entry {
	e := *r.at(0)
	*r.at(0) = entry{}
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	return e
}
