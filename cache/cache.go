package cache

import (
	"context"
	"errors"
	"time"
)

// Cache is a server-side key-value cache with per-entry TTLs and tags.
// [Memory] is the in-process implementation; an adapter (cache/redis)
// implements the same interface, asserts it with
//
//	var _ cache.Cache = (*Cache)(nil)
//
// and runs the conformance suite, cachetest.Run. Every method is safe for
// concurrent use.
//
// A cache may drop any entry at any time (size bound, TTL, an invalidation
// from another node), so a miss is always a correct answer. Values are
// shared, not copied: callers must not modify a value after storing it or
// after getting it. An implementation that stores values outside the
// process accepts only the values it can serialize; []byte is accepted by
// every implementation.
type Cache interface {
	// Get returns the value stored under key and true, or nil and false on a
	// miss. An expired or invalidated entry is a miss.
	Get(ctx context.Context, key string) (value any, ok bool, err error)
	// Set stores value under key on this node, replacing any value, with the
	// TTL and tags of opts. It does not reach other nodes: when the data
	// behind a key changes, call Delete or InvalidateTags instead.
	Set(ctx context.Context, key string, value any, opts ...Option) error
	// GetOrLoad returns the value stored under key or, on a miss, calls
	// load, stores its result with opts and returns it. Concurrent calls for
	// one key share one call of load (single flight); all of them get its
	// result or its error. Errors are not cached.
	GetOrLoad(ctx context.Context, key string, load func(ctx context.Context) (any, error), opts ...Option) (any, error)
	// Delete removes the entries of keys, on every node.
	Delete(ctx context.Context, keys ...string) error
	// InvalidateTags removes the entries stored with any of tags, on every
	// node.
	InvalidateTags(ctx context.Context, tags ...string) error
}

// Sizer is implemented by values that know their size in bytes, for a
// cache's byte bound. A []byte or string is weighed by its length; implement
// Sizer for other values, or each weighs only the fixed per-entry overhead.
type Sizer interface {
	// Size returns the approximate number of bytes the value holds.
	Size() int
}

// Option sets a per-entry setting of [Cache.Set] and [Cache.GetOrLoad].
type Option func(*options)

type options struct {
	ttl  time.Duration // 0: the cache's default
	tags []string
}

// WithTTL sets how long the entry lives after it is stored, overriding the
// cache's default TTL. A negative d means the entry does not expire; zero
// keeps the default.
func WithTTL(d time.Duration) Option {
	return func(o *options) { o.ttl = d }
}

// WithTags attaches tags to the entry: [Cache.InvalidateTags] with any of
// them removes it. Tags are names the application chooses, such as "rooms"
// for every list of rooms and "room:1" for everything that shows room 1.
// WithTags may be given several times; the tags add up.
func WithTags(tags ...string) Option {
	return func(o *options) { o.tags = append(o.tags, tags...) }
}

func collect(opts []Option) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// Invalidation lists what an invalidation removed: the keys of
// [Cache.Delete], the tags of [Cache.InvalidateTags]. It is the body of the
// invalidation messages between nodes and of the event [Notifier] pushes to
// clients, where it encodes as {"keys":[…],"tags":[…]}, both always arrays.
type Invalidation struct {
	Keys []string `json:"keys"`
	Tags []string `json:"tags"`
}

// ErrNilLoader is returned by GetOrLoad when load is nil.
var ErrNilLoader = errors.New("cache: nil loader")
