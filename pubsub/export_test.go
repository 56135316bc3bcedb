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
