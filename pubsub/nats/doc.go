// Package nats is the NATS adapter of pubsub: a [Broker] that carries
// broadcasts between the nodes of a cluster over NATS core pub/sub and
// dispatches them to each node's local subscribers with a
// pubsub.Registry. It follows Phoenix.PubSub's Redis adapter
// (phoenix_pubsub_redis), with one subject per node added for direct
// messages. It is the only package of the module that imports the NATS
// client (github.com/nats-io/nats.go), so an application that does not
// import it links no NATS code; the NATS server is imported by its tests
// only.
//
// # Lifecycle
//
// [New] validates a [Config] and starts nothing. [Broker.Serve] runs the
// connection: it connects (or uses Config.Conn), subscribes, and
// dispatches what arrives until its context is done. A connection it opens
// reconnects forever, with a jittered exponential backoff (100 ms doubling
// up to Config.ReconnectWait, 5 s by default, Phoenix's fixed reconnect
// interval), and nats.go restores the subscriptions. Run it as a
// suzaku.Service:
//
//	broker, err := nats.New(nats.Config{Node: "web-1", URL: "nats://10.0.0.5:4222"})
//	srv, err := suzaku.New(suzaku.Config{Services: []suzaku.Service{broker, tracker}, …})
//
// Subscribe, Unsubscribe and LocalBroadcast are local, and work before
// Serve has connected. Broadcast and DirectBroadcast to another node need
// the connection: while Serve is not connected, Broadcast delivers to this
// node's subscribers only (local delivery never stops) and the other
// nodes miss the message, and DirectBroadcast to another node fails at
// once with an error wrapping [ErrNotConnected], as Phoenix drops
// messages while its Redis connection is down; the connection
// Serve opens buffers nothing while reconnecting. [Broker.Stats] tells
// whether the broker is connected.
//
// # Subjects and delivery
//
// With Config.Prefix p ("suzaku" by default), each node subscribes to two
// subjects, whatever its local topics:
//
//	p.all           Broadcast: every node
//	p.node.<node>   DirectBroadcast to <node>
//
// where <node> is the node's name with every byte outside
// [A-Za-z0-9_\-@:+=~] escaped as %XX, so that a name such as
// "web-1@10.0.0.2" is one token ("web-1@10%2E0%2E0%2E2"). A direct message
// thus reaches its node only, rather than every node as with Redis, which
// matters for presence transfers, a whole state sent to one node.
// Per-topic subjects would also spare nodes the topics they do not hold,
// at the cost of a round trip in Subscribe and of an interest per topic in
// the server; like Phoenix, the broker keeps one subscription for all
// topics.
//
//   - Broadcast publishes the message on p.all with mode "except" and this
//     node's name, then dispatches it locally, where [pubsub.Message.From]
//     is honoured (From never leaves the process). A connection Serve
//     opens has NoEcho set, and nodes drop "except" messages with their
//     own name anyway, so the sender's subscribers get it once.
//   - LocalBroadcast dispatches locally only; nothing is published.
//   - DirectBroadcast to this node dispatches locally. To another, it
//     publishes on that node's subject with mode "only" and its name. A
//     name no node has reaches no one, and DirectBroadcast returns nil,
//     since the broker cannot know which nodes exist.
//
// Delivery is at most once, with no persistence (NATS core, not
// JetStream): a node that is not subscribed when a message is published
// never gets it, and a publish that fails is not retried. NATS keeps the
// order of one connection's messages to each subscriber, across subjects,
// and both subscriptions feed one queue that Serve dispatches in order; so
// one publisher's broadcasts and direct messages (a goroutine's, each
// returning before the next) reach each node, and its subscribers, in the
// order they were published. Messages from different
// nodes are not ordered with each other. A message is limited by the
// server's max_payload (1 MiB by default).
//
// # Wire format
//
// Each NATS message's data is one binary envelope, version 1, the same as
// the Redis adapter's (pubsub/redis):
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
// never empty, and is the name itself, not its subject token. No NATS
// headers are used. A message that does not decode is dropped and counted
// in [Stats].Invalid, so every node of a cluster must speak the same
// version.
//
// # Tests
//
// The tests run pubsubtest.Run, the multi-node tests and a server restart
// against an in-process nats-server (github.com/nats-io/nats-server/v2,
// imported by _test.go files only) on a random port: no server needs to be
// installed.
package nats
