package pubsub

import (
	"context"
	"errors"
)

// Message is one broadcast on a topic.
//
// A Message is dispatched by pointer to every local subscriber of its topic,
// so subscribers must treat it as read-only. [Message.Memo] lets them share
// work derived from it, such as the encoded frame, so that a broadcast is
// encoded once per serializer, never once per subscriber.
type Message struct {
	Topic   string
	Event   string
	Payload []byte // JSON text, or raw bytes when Binary
	Binary  bool
	// From is the subscriber that must not receive this message
	// (broadcast_from), or nil. It is local to this process: adapters never
	// send it to other nodes.
	From Subscriber
	// Offset is the message's position in its topic's history when the
	// topic is a stream (1, 2, 3, … within the topic's epoch), or 0 for a
	// plain broadcast. Subscribers send it to clients in the frame's ref
	// slot. Adapters carry it to other nodes.
	Offset uint64
	// Epoch is the epoch of a stream message's offset ("" for a plain
	// broadcast), so that a subscriber can tell a new epoch's offsets from
	// repeats of the old one's.
	Epoch string

	memo [MemoSlots]memoSlot
}

// Subscriber receives the messages of the topics it subscribed to.
type Subscriber interface {
	// Deliver is called once per message, possibly from many goroutines at
	// once. It must not block: queue the message and return. Brokers call it
	// while holding a read lock on the topic (see [Registry.Dispatch]), so
	// it must not call Subscribe, Unsubscribe or a broadcast on the same
	// goroutine either: hand such work to another goroutine.
	Deliver(m *Message)
}

// LocalCounter is implemented by brokers that can tell how many
// subscribers a topic has on this node: [Memory] and the Redis and NATS
// adapters. Parts that pay per local subscriber (the presence tracker's
// diffs) use it to change strategy on large topics. The count is a
// snapshot, cheap enough to read once per event, not per delivery.
type LocalCounter interface {
	// LocalSubscribers returns the number of topic's subscribers on
	// this node.
	LocalSubscribers(topic string) int
}

// Broker is a publish/subscribe bus. The in-memory [Memory] broker serves one
// process; adapters (Redis, NATS) implement the same interface across nodes.
// Every method is safe for concurrent use.
type Broker interface {
	// Node is this node's name, unique in the cluster.
	Node() string
	// Subscribe adds s to topic's local subscribers. Subscribing the same
	// subscriber twice to a topic delivers once.
	Subscribe(ctx context.Context, topic string, s Subscriber) error
	// Unsubscribe removes s from topic. Removing an absent one is not an error.
	Unsubscribe(ctx context.Context, topic string, s Subscriber) error
	// Broadcast delivers m to the subscribers of m.Topic on every node,
	// except m.From.
	Broadcast(ctx context.Context, m *Message) error
	// LocalBroadcast delivers m to this node's subscribers only.
	LocalBroadcast(ctx context.Context, m *Message) error
	// DirectBroadcast delivers m to the subscribers on one node, which may
	// be this one.
	DirectBroadcast(ctx context.Context, node string, m *Message) error
}

// ErrUnknownNode is returned by DirectBroadcast for a node the broker does
// not know of.
var ErrUnknownNode = errors.New("pubsub: unknown node")
