// Package cache is suzaku's server-side cache: a small [Cache] interface
// (Get, Set, GetOrLoad, Delete, InvalidateTags) and [Memory], its
// in-process implementation on otter v2, with a byte bound, per-entry TTLs,
// tags, single-flight loads and invalidation across nodes over a
// pubsub.Broker. HTTP caching (ETags, 304s, Cache-Control) is in
// sub-package httpcache; the conformance suite of implementations is
// cachetest.
//
// # Entries
//
// [Memory.Set] stores a value with options: [WithTTL] overrides
// [Config].TTL, and [WithTags] attaches tags that [Memory.InvalidateTags]
// removes together ("rooms" for every list of rooms, "room:1" for whatever
// shows room 1). [Memory.GetOrLoad] is the usual way to fill the cache: on a
// miss it calls the loader once for all concurrent callers of a key:
//
//	rooms, err := c.GetOrLoad(ctx, "rooms:page:1", func(ctx context.Context) (any, error) {
//		return db.ListRooms(ctx, 1)
//	}, cache.WithTags("rooms"), cache.WithTTL(time.Minute))
//
// Entries weigh their key and value in bytes ([Sizer] for values that are
// neither []byte nor string) plus [EntryOverhead], and [Config].MaxBytes
// bounds the total. Values are stored as they are, not copied: treat them
// as read-only.
//
// A load is not served after an invalidation that happened while it ran:
// tags are stamped before the loader is called, and a Delete of the key
// during the load discards the result. The callers waiting for that load
// still get it.
//
// # Invalidation across nodes
//
// Each node fills its own cache; a Set stays local. When data changes,
// [Memory.Delete] or [Memory.InvalidateTags] removes the entries here and
// publishes what it removed on the broker topic "suzaku:cache:<name>"
// ([Memory.Topic]); [Memory.Serve], run as a service on every node,
// subscribes to it and removes the same entries there. A node skips its
// own messages, and applying a message twice is harmless. Pub/sub delivers
// at most once, so a node can miss an invalidation (while its Serve is
// restarting, or on a broker fault): the TTL bounds how long it then serves
// the old value. For this reason Serve clears the cache each time it
// subscribes. Serve starts no goroutine: invalidations are applied on the
// broker's delivery goroutine, which is in-memory work only.
//
// # Telling clients
//
// A single-page app holds its own copies of the data. [Notifier] turns each
// invalidation made on this node into a channel broadcast, event
// "invalidate" with payload {"keys":[…],"tags":[…]}, so the app knows what
// to refetch; set [Config].Notify to its Notify method.
//
// # Implementations
//
// A [Cache] implementation asserts it at compile time, as [Memory] does:
//
//	var _ cache.Cache = (*Memory)(nil)
//
// and its tests run cachetest.Run. An implementation that stores values out
// of process (Redis) accepts []byte values, which is what portable code
// should store.
package cache
