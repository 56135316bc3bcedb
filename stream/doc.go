// Package stream keeps the recent history of stream topics, so that a
// client that reconnects gets every message it missed.
//
// A stream topic numbers its messages: every broadcast gets the topic's
// next offset (1, 2, 3, …) within the topic's epoch, a string that changes
// whenever the store loses the topic's history or its counter (a memory
// store restarts, Redis loses the keys, a JetStream stream is recreated).
// A client remembers the last (epoch, offset) it saw; on rejoin,
// [Store.Recover] returns what came after it, or says it cannot.
//
// # Stores
//
// A [Store] assigns offsets, keeps history and delivers stream messages to
// the subscribers of every node, in offset order. [Memory] serves one node;
// the Redis and NATS broker adapters provide stores for a cluster (history
// in Redis or in JetStream), so that a client may recover on another node
// than the one it left.
//
// # Channels
//
// Package channel declares stream topics on its Router and does the
// subscribe, buffer, replay and deduplicate dance of a recovering join;
// this package only stores. [ParseJoin] reads a join's recovery params.
package stream
