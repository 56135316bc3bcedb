// Package redis is the Redis adapter of pubsub: a [Broker] that carries
// broadcasts between the nodes of a cluster over one Redis pub/sub channel,
// as Phoenix.PubSub's Redis adapter (phoenix_pubsub_redis) does, and
// dispatches them to each node's local subscribers with a pubsub.Registry.
// It is the only package of the module that imports the Redis client
// (github.com/redis/rueidis), so an application that does not import it
// links no Redis code.
//
// # Lifecycle
//
// [New] validates a [Config] and starts nothing. [Broker.Serve] runs the
// connection: it connects, subscribes to the cluster channel and keeps the
// subscription until its context is done, reconnecting with a jittered
// exponential backoff (100 ms doubling up to Config.ReconnectWait, 5 s by
// default, Phoenix's fixed reconnect interval) whenever the connection is
// lost or cannot be made. Run it as a suzaku.Service:
//
//	broker, err := redis.New(redis.Config{Node: "web-1", Addr: "10.0.0.5:6379"})
//	srv, err := suzaku.New(suzaku.Config{Services: []suzaku.Service{broker, tracker}, …})
//
// Subscribe, Unsubscribe and LocalBroadcast are local, and work before
// Serve has connected. Broadcast and DirectBroadcast to another node need
// the connection: while Serve is not subscribed, Broadcast delivers to
// this node's subscribers only (local delivery never stops) and the other
// nodes miss the message, and DirectBroadcast to another node fails at
// once with an error wrapping [ErrNotConnected], as Phoenix drops
// messages while its Redis connection is down. [Broker.Stats]
// tells whether the broker is connected.
//
// # Delivery
//
// Each node holds one Redis subscription, to the channel Config.Channel
// ("suzaku" by default), whatever its local topics, as Phoenix does: every
// node receives every cluster message and dispatches the ones it has
// subscribers for. Per-topic Redis subscriptions would save bandwidth for
// topics a node does not hold, at the cost of a round trip to Redis in
// Subscribe and of Redis state per topic; Phoenix's experience is that one
// channel serves well, so this adapter keeps it.
//
//   - Broadcast publishes the message with mode "except" and this node's
//     name, then dispatches it locally, where [pubsub.Message.From] is
//     honoured (From never leaves the process). Nodes drop "except"
//     messages with their own name, so the sender's subscribers get it
//     once, from the local dispatch.
//   - LocalBroadcast dispatches locally only; nothing is published.
//   - DirectBroadcast to this node dispatches locally. To another node, it
//     publishes with mode "only" and the target's name, and every other
//     node drops the message. A name no node has reaches no one, and
//     DirectBroadcast returns nil, since the broker cannot know which
//     nodes exist.
//
// Delivery is at most once, with no persistence: a node that is not
// subscribed when a message is published never gets it, and a publish
// that fails is not retried. Messages from one publisher (a goroutine, each
// broadcast returning before the next) reach each node in the order they
// were published, since they travel on one channel; a
// node dispatches what it receives on the Redis client's read goroutine,
// one message at a time, so subscribers see them in that order too.
// Messages from different nodes are not ordered with each other.
//
// # Wire format
//
// Each Redis message is one binary envelope, version 1:
//
//	offset  size     field
//	0       1        version: 1
//	1       1        flags: bit 0 = mode "only" (node is the target; clear: "except", node is the sender);
//	                        bit 1 = Binary payload; bits 2-7 are zero
//	2       uvarint  length of node, then node
//	…       uvarint  length of topic, then topic
//	…       uvarint  length of event, then event
//	…       rest     payload, as is (JSON text, or bytes when Binary)
//
// Lengths are unsigned LEB128 varints (encoding/binary's Uvarint); node is
// never empty. A message that does not decode (another version, a foreign
// publisher on the channel) is dropped and counted in [Stats].Invalid, so
// every node of a cluster must speak the same version. The NATS adapter,
// pubsub/nats, uses the same envelope.
//
// # Tests
//
// The tests run pubsubtest.Run and the multi-node tests against the Redis
// server at REDIS_ADDR (default 127.0.0.1:6379), each on a channel of its
// own; they skip when no server answers, unless CI is set.
package redis
