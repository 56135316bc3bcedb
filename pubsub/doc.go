// Package pubsub is suzaku's publish/subscribe bus, with the semantics of
// Phoenix.PubSub: a [Broker] delivers each [Message] on a topic to that
// topic's subscribers, on this node or on every node, at most once and in
// each publisher's order, with no persistence. [Memory] is the in-process
// broker; adapters in sub-packages (pubsub/redis, pubsub/nats) carry
// messages between nodes and dispatch them locally with a [Registry]. The
// package imports only the standard library and starts no goroutines.
//
// # Broadcasts
//
// [Broker.Broadcast] reaches every node, [Broker.LocalBroadcast] this node
// only, and [Broker.DirectBroadcast] one named node. Setting [Message.From]
// skips one local subscriber, which is Phoenix's broadcast_from: a channel
// broadcasting to its own topic sets From to itself. A [Subscriber] gets the
// message through [Subscriber.Deliver], on the broadcaster's goroutine for
// [Memory], so Deliver must queue and return.
//
// # Encoding once
//
// One *Message is shared by all the local subscribers of a broadcast, which
// must not modify it. [Message.Memo] caches a value derived from it, such
// as the encoded frame, in one of [MemoSlots] slots, so that a broadcast to
// ten thousand connections is encoded once per serializer, as Phoenix's
// fastlane does.
//
// # Subscription table
//
// [Registry] maps topics to subscribers in shards, each behind a read/write
// lock: [Registry.Dispatch] takes only a read lock and allocates nothing,
// so broadcasts to one topic or many run in parallel. Subscribing the same
// subscriber twice to a topic delivers once (unlike Phoenix, where it
// delivers twice). [Registry.Stats] and [Memory.Stats] report its counters
// as a [Stats].
//
// # Adapters
//
// An adapter implements [Broker] and asserts it at compile time:
//
//	var _ pubsub.Broker = (*Broker)(nil)
//
// Like Phoenix's, its Broadcast sends the message to the other nodes and
// dispatches it locally itself, which is where [Message.From] is honoured,
// since From never leaves the process. It keeps its local subscribers in a
// [Registry] and dispatches what it receives with [Registry.Dispatch]. Its
// tests run the conformance suite, pubsubtest.Run, which spells out the
// remaining requirements.
package pubsub
