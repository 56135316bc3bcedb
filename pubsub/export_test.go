package pubsub

// ShardCount returns the number of shards of r's table.
func (r *Registry) ShardCount() int { return len(r.tab().shards) }

const (
	MaxShards      = maxShards
	IndexThreshold = indexThreshold
)

// InlineHeld reports whether topic's inline array holds a subscriber.
func (r *Registry) InlineHeld(topic string) bool {
	sh := r.tab().shard(topic)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	ts := sh.topics[topic]
	return ts != nil && ts.inline[0] != nil
}

// Serving reports whether r's fan-out workers are running.
func (r *Registry) Serving() bool { return r.pool.Load() != nil }

// Serving reports whether b's fan-out workers are running.
func (b *Memory) Serving() bool { return b.reg.Serving() }
