package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/telemetry"
)

// Defaults of [Config].
const (
	// DefaultMaxBytes is the byte bound of a cache whose Config.MaxBytes is
	// zero: 64 MiB.
	DefaultMaxBytes = 64 << 20
	// DefaultTTL is the lifetime of entries when Config.TTL is zero.
	DefaultTTL = 5 * time.Minute
	// DefaultResyncPeriod is Config.ResyncPeriod's default.
	DefaultResyncPeriod = time.Second
	// DefaultName is the name of a cache whose Config.Name is empty.
	DefaultName = "default"
	// TopicPrefix begins the broker topic of a cache's invalidations,
	// followed by Config.Name.
	TopicPrefix = "suzaku:cache:"
)

// EntryOverhead is the weight, in bytes, that every entry adds to its key
// and value for the byte bound: the cache's own bookkeeping, roughly.
const EntryOverhead = 64

// tagStripes is the number of tag generation counters. Tags hash onto
// them; two tags sharing a stripe invalidate each other's entries, which
// costs a miss and never serves stale data.
const tagStripes = 4096

// forever is the TTL of entries that do not expire.
const forever = time.Duration(math.MaxInt64)

// Config configures a [Memory] cache. The zero value is valid: a local
// cache of DefaultMaxBytes whose entries live DefaultTTL.
type Config struct {
	// Name names the cache among the caches sharing a broker: its
	// invalidations travel on the topic TopicPrefix+Name
	// ("suzaku:cache:default"). Default DefaultName.
	Name string
	// MaxBytes bounds the total weight of the entries, in bytes: an entry
	// weighs EntryOverhead, plus the length of its key, plus the size of its
	// value (len of a []byte or string, Size of a [Sizer], 0 otherwise).
	// Past the bound, the least useful entries are evicted (W-TinyLFU).
	// Zero means DefaultMaxBytes; negative is an error.
	MaxBytes int64
	// TTL is how long an entry lives after it is stored, unless [WithTTL]
	// says otherwise. Zero means DefaultTTL; negative means entries do not
	// expire. With a Broker, the TTL also bounds how long a node can serve
	// an entry whose invalidation it missed (pub/sub delivers at most
	// once).
	TTL time.Duration
	// Broker carries invalidations between the nodes of a cluster: Delete
	// and InvalidateTags publish what they removed, and [Memory.Serve]
	// applies what other nodes publish. Nil keeps the cache local.
	Broker pubsub.Broker
	// ResyncPeriod is how often [Memory.Serve] checks whether the broker
	// has reconnected (and so may have lost invalidations), to clear the
	// cache if it has. Zero means DefaultResyncPeriod (1 s).
	ResyncPeriod time.Duration
	// Notify, if set, is called after Delete and InvalidateTags have
	// removed entries on this node (not for invalidations received from
	// other nodes), for instance to tell clients what to refetch with a
	// [Notifier]. Its error is returned by Delete or InvalidateTags.
	Notify func(ctx context.Context, inv Invalidation) error
	// Logger receives malformed invalidation messages and the warnings of
	// the underlying cache library. Nil discards.
	Logger *slog.Logger
	// Hook receives hits, misses and invalidations (package telemetry),
	// labelled with Name. Nil costs nothing.
	Hook telemetry.Hook
	// Now is the clock of the TTLs. Nil means time.Now. With a clock set,
	// there is no clean-up goroutine ticking every second: expired entries
	// are removed during later reads and writes (tests, mostly).
	Now func() time.Time
}

// Memory is the in-process [Cache], built on otter (W-TinyLFU eviction,
// per-entry expiration, single-flight loads). New entries are visible to
// this node only; invalidations reach every node through Config.Broker
// while [Memory.Serve] runs.
//
// Tags are checked when entries are read: InvalidateTags bumps a
// generation counter per tag, and an entry stored under an older generation
// is a miss from then on and is removed when next read. Until then, or
// until it expires or is evicted, it still counts against MaxBytes. Tags
// hash onto 4096 counters, so the tag index takes fixed memory however many
// tags there are; two tags that share a counter cost each other's entries a
// miss when one is invalidated, never a stale hit.
type Memory struct {
	store  *otter.Cache[string, *entry]
	ttl    time.Duration
	seed   maphash.Seed
	gens   []atomic.Uint64 // tag generations, tagStripes of them
	name   string
	topic  string
	node   string // this instance, in invalidation messages
	broker pubsub.Broker
	recv   *receiver
	notify func(ctx context.Context, inv Invalidation) error
	log    *slog.Logger
	hook   telemetry.Hook
	resync time.Duration

	running, subscribed                       atomic.Bool
	hits, misses, evictions, expirations, rcv atomic.Uint64
	resyncs                                   atomic.Uint64
}

var _ Cache = (*Memory)(nil)

// entry is what the store holds for a key. It is immutable once stored.
type entry struct {
	value  any
	ttl    time.Duration
	weight uint32
	stamps []stamp // the generations of its tags when it was stored
}

// stamp is the generation of one tag stripe.
type stamp struct {
	stripe uint32
	gen    uint64
}

// New returns a cache for cfg. Unless Config.Now is set, it starts the
// otter goroutine that removes expired entries every second, which
// [Memory.Close] stops; otter also runs its maintenance after writes on
// short-lived goroutines. Invalidations from other nodes are applied while
// [Memory.Serve] runs.
func New(cfg Config) (*Memory, error) {
	if cfg.MaxBytes < 0 {
		return nil, fmt.Errorf("cache: max bytes %d is negative", cfg.MaxBytes)
	}
	if cfg.ResyncPeriod < 0 {
		return nil, fmt.Errorf("cache: resync period %v is negative", cfg.ResyncPeriod)
	}
	if cfg.ResyncPeriod == 0 {
		cfg.ResyncPeriod = DefaultResyncPeriod
	}
	maxBytes := cfg.MaxBytes
	if maxBytes == 0 {
		maxBytes = DefaultMaxBytes
	}
	ttl := cfg.TTL
	switch {
	case ttl == 0:
		ttl = DefaultTTL
	case ttl < 0:
		ttl = forever
	}
	name := cfg.Name
	if name == "" {
		name = DefaultName
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var id [8]byte
	_, _ = rand.Read(id[:]) // never fails
	m := &Memory{
		ttl:    ttl,
		seed:   maphash.MakeSeed(),
		gens:   make([]atomic.Uint64, tagStripes),
		name:   name,
		topic:  TopicPrefix + name,
		node:   hex.EncodeToString(id[:]),
		broker: cfg.Broker,
		notify: cfg.Notify,
		log:    log,
		hook:   cfg.Hook,
		resync: cfg.ResyncPeriod,
	}
	m.recv = &receiver{m: m}
	opts := &otter.Options[string, *entry]{
		MaximumWeight: uint64(maxBytes),
		Weigher:       func(_ string, e *entry) uint32 { return e.weight },
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, *entry]) time.Duration {
			return e.Value.ttl
		}),
		OnAtomicDeletion: func(e otter.DeletionEvent[string, *entry]) {
			switch e.Cause {
			case otter.CauseOverflow:
				m.evictions.Add(1)
			case otter.CauseExpiration:
				m.expirations.Add(1)
			}
		},
		Logger: otterLogger{log},
	}
	if cfg.Now != nil {
		opts.Clock = clock{cfg.Now}
	}
	store, err := otter.New(opts)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	m.store = store
	return m, nil
}

// Name returns the cache's name, Config.Name or DefaultName.
func (m *Memory) Name() string { return m.name }

// Topic returns the broker topic of the cache's invalidations.
func (m *Memory) Topic() string { return m.topic }

// Get returns the value stored under key. It never blocks and ignores ctx.
func (m *Memory) Get(_ context.Context, key string) (any, bool, error) {
	e, ok := m.lookup(key)
	if !ok {
		m.misses.Add(1)
		m.emit(telemetry.KindCacheMiss, 0)
		return nil, false, nil
	}
	m.hits.Add(1)
	m.emit(telemetry.KindCacheHit, 0)
	return e.value, true, nil
}

// lookup returns key's entry if it is present and none of its tags was
// invalidated since it was stored; it removes an invalidated one.
func (m *Memory) lookup(key string) (*entry, bool) {
	e, ok := m.store.GetIfPresent(key)
	if !ok {
		return nil, false
	}
	if !m.fresh(e) {
		m.drop(key, e)
		return nil, false
	}
	return e, true
}

// Set stores value under key on this node. It never blocks and ignores
// ctx. Entries weigh as Config.MaxBytes describes.
func (m *Memory) Set(_ context.Context, key string, value any, opts ...Option) error {
	o := collect(opts)
	m.store.Set(key, m.newEntry(key, value, o, m.stamp(o.tags)))
	return nil
}

// GetOrLoad returns the value stored under key or loads it with load, once
// for all the concurrent callers of one key. ctx bounds the wait, and is
// the context load gets when this call is the one that loads.
//
// Tags are stamped before load is called, so an InvalidateTags that runs
// while load runs makes the loaded entry a miss for later reads: a load
// that may have read the old data is never served after its invalidation.
// Likewise a Delete of key during the load discards the loaded value. The
// callers waiting for that load still get its result.
func (m *Memory) GetOrLoad(ctx context.Context, key string, load func(ctx context.Context) (any, error), opts ...Option) (any, error) {
	if load == nil {
		return nil, ErrNilLoader
	}
	if e, ok := m.lookup(key); ok {
		m.hits.Add(1)
		m.emit(telemetry.KindCacheHit, 0)
		return e.value, nil
	}
	m.misses.Add(1)
	m.emit(telemetry.KindCacheMiss, 0)
	o := collect(opts)
	e, err := m.store.Get(ctx, key, otter.LoaderFunc[string, *entry](func(ctx context.Context, key string) (*entry, error) {
		stamps := m.stamp(o.tags)
		v, err := load(ctx)
		if err != nil {
			return nil, err
		}
		return m.newEntry(key, v, o, stamps), nil
	}))
	if err != nil {
		return nil, fmt.Errorf("cache: load %q: %w", key, err)
	}
	return e.value, nil
}

// Delete removes keys here and, through the broker, on the other nodes,
// then calls Config.Notify. The local removal always happens; the error
// reports a failed publish or notification.
func (m *Memory) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	inv := Invalidation{Keys: keys}
	m.apply(inv)
	return m.announce(ctx, "delete", inv)
}

// InvalidateTags removes the entries stored with any of tags, here and,
// through the broker, on the other nodes, then calls Config.Notify. The
// local invalidation always happens; the error reports a failed publish or
// notification.
func (m *Memory) InvalidateTags(ctx context.Context, tags ...string) error {
	if len(tags) == 0 {
		return nil
	}
	inv := Invalidation{Tags: tags}
	m.apply(inv)
	return m.announce(ctx, "invalidate tags", inv)
}

// apply removes what inv names on this node.
func (m *Memory) apply(inv Invalidation) {
	m.emit(telemetry.KindCacheInvalidate, len(inv.Tags)+len(inv.Keys))
	for _, tag := range inv.Tags {
		m.gens[m.stripe(tag)].Add(1)
	}
	for _, key := range inv.Keys {
		m.store.Invalidate(key)
	}
}

// announce publishes inv to the other nodes and notifies.
func (m *Memory) announce(ctx context.Context, op string, inv Invalidation) error {
	var errs []error
	if m.broker != nil {
		if err := m.publish(ctx, inv); err != nil {
			errs = append(errs, err)
		}
	}
	if m.notify != nil {
		if err := m.notify(ctx, inv); err != nil {
			errs = append(errs, fmt.Errorf("notify: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cache %q: %s: %w", m.name, op, err)
	}
	return nil
}

// Stats are a cache's counters. Counts are since [New].
type Stats struct {
	Entries     int    // entries held, invalidated ones not yet removed included (approximate)
	Bytes       uint64 // their total weight, as Config.MaxBytes counts it
	Hits        uint64 // Get and GetOrLoad calls that found a value
	Misses      uint64 // Get and GetOrLoad calls that did not
	Evictions   uint64 // entries removed by the byte bound
	Expirations uint64 // entries removed by their TTL
	Received    uint64 // invalidations applied from other nodes
	Subscribed  bool   // whether Serve has subscribed to the broker and cleared the cache
	Resyncs     uint64 // times Serve cleared the cache because the broker reconnected
}

// Stats returns the cache's counters.
func (m *Memory) Stats() Stats {
	return Stats{
		Entries:     m.store.EstimatedSize(),
		Bytes:       m.store.WeightedSize(),
		Hits:        m.hits.Load(),
		Misses:      m.misses.Load(),
		Evictions:   m.evictions.Load(),
		Expirations: m.expirations.Load(),
		Received:    m.rcv.Load(),
		Subscribed:  m.subscribed.Load(),
		Resyncs:     m.resyncs.Load(),
	}
}

// Close stops the goroutine that removes expired entries in the
// background. The cache stays usable; expired entries are then removed
// during reads and writes. Close does not stop Serve: cancel its context.
func (m *Memory) Close() error {
	m.store.StopAllGoroutines()
	return nil
}

func (m *Memory) newEntry(key string, value any, o options, stamps []stamp) *entry {
	ttl := m.ttl
	switch {
	case o.ttl > 0:
		ttl = o.ttl
	case o.ttl < 0:
		ttl = forever
	}
	w := uint64(EntryOverhead) + uint64(len(key)) + uint64(sizeOf(value)) + uint64(len(stamps))*16
	return &entry{value: value, ttl: ttl, weight: uint32(min(w, math.MaxUint32)), stamps: stamps}
}

func sizeOf(v any) int {
	switch v := v.(type) {
	case Sizer:
		return max(v.Size(), 0)
	case []byte:
		return len(v)
	case string:
		return len(v)
	}
	return 0
}

func (m *Memory) stripe(tag string) uint32 {
	return uint32(maphash.String(m.seed, tag) % tagStripes)
}

// stamp reads the current generations of tags.
func (m *Memory) stamp(tags []string) []stamp {
	if len(tags) == 0 {
		return nil
	}
	s := make([]stamp, len(tags))
	for i, tag := range tags {
		st := m.stripe(tag)
		s[i] = stamp{stripe: st, gen: m.gens[st].Load()}
	}
	return s
}

// fresh reports whether none of e's tags was invalidated since e was
// stamped.
func (m *Memory) fresh(e *entry) bool {
	for _, s := range e.stamps {
		if m.gens[s.stripe].Load() != s.gen {
			return false
		}
	}
	return true
}

// drop removes e from key, unless key now holds another entry.
func (m *Memory) drop(key string, e *entry) {
	m.store.ComputeIfPresent(key, func(old *entry) (*entry, otter.ComputeOp) {
		if old == e {
			return nil, otter.InvalidateOp
		}
		return old, otter.CancelOp
	})
}

// clock adapts Config.Now to otter. It never ticks, so otter runs no
// periodic clean-up goroutine.
type clock struct{ now func() time.Time }

func (c clock) NowNano() int64                      { return c.now().UnixNano() }
func (c clock) Tick(time.Duration) <-chan time.Time { return nil }

// otterLogger routes otter's warnings to Config.Logger.
type otterLogger struct{ log *slog.Logger }

func (l otterLogger) Warn(ctx context.Context, msg string, err error) {
	l.log.WarnContext(ctx, "cache: "+msg, "error", err)
}

func (l otterLogger) Error(ctx context.Context, msg string, err error) {
	l.log.ErrorContext(ctx, "cache: "+msg, "error", err)
}

// emit reports a cache event; without a hook it costs a nil check.
func (m *Memory) emit(kind telemetry.Kind, n int) {
	if m.hook != nil {
		m.hook.Event(telemetry.Event{Kind: kind, Pattern: m.name, N: n})
	}
}
