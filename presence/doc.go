// Package presence tracks who is on which topic, across nodes, as
// Phoenix.Presence does: a [Tracker] holds the presences, broadcasts a
// presence_diff to a topic's subscribers after every change, and
// replicates with the Trackers of the other nodes over a pubsub.Broker
// with Phoenix.Tracker's delta-state CRDT. The payloads are Phoenix's, so
// the phoenix npm client's Presence class syncs from them unmodified. The
// package imports only the standard library and pubsub.
//
// # Tracking
//
// A presence is an (owner, topic, key) with a meta. [Tracker.Track] tracks
// one on the owner's own topic and [Tracker.TrackTopic] on any topic; the
// same key may be tracked by several owners (tabs, devices), which gives
// the key several metas. Every meta carries a "phx_ref", a 16-character
// id; [Tracker.Update] replaces a meta with one that has a new phx_ref and
// "phx_ref_prev", the old one. An [Owner] is typically a *channel.Channel:
// when it exits, however it ends, all its presences leave, on every topic,
// in one diff per topic.
//
// [Tracker.List] returns a topic's presences as a map of key to
// [Presence], which encodes as Phoenix's {"metas":[...]}: push it as
// presence_state after every join, or the client buffers diffs forever:
//
//	ref, err := tracker.Track(ctx, ch, userID, map[string]any{"online_at": now})
//	err = ch.Push(presence.EventState, tracker.List(ch.Topic()))
//
// # Diffs
//
// After every change, local or merged from another node, the Tracker
// broadcasts on the topic, with Broker.LocalBroadcast, an [EventDiff]
// message whose payload is
//
//	{"joins":{"<key>":{"metas":[...]}},"leaves":{"<key>":{"metas":[...]}}}
//
// Channels receive it as any broadcast, on the fastlane. An update is the
// new meta joining and the old one leaving in one diff. A topic's diffs are
// broadcast in the order of its changes: changes queue their diffs under
// the Tracker's lock, and one goroutine at a time broadcasts the queue,
// without the lock, so that a subscriber may call List. Each node
// broadcasts the diffs of its own merges to its own subscribers; diffs
// never cross nodes.
//
// # Replication
//
// [Tracker.Serve] runs the replication, Phoenix.Tracker's: each Tracker is
// a replica, named by its node and a version drawn by [New], so that a
// restarted node is a new replica. Every presence is a value tagged with a
// dot (replica, clock); each replica's context is a vector clock plus
// clouds of dots seen out of order. A removal is a dot seen without its
// value, so no tombstones are kept. Local changes accumulate in a delta;
// every BroadcastPeriod, a heartbeat carries it, and the replica's clock,
// to every node. Merging a delta or a state yields the joins (values of
// known replicas not yet seen) and the leaves (values the other side has
// seen but no longer holds), which become diffs.
//
// Every other tick, a replica compares the clocks it heard with its own,
// and sends a transfer_req to each replica that has something it lacks.
// The answer, transfer_ack, is the smallest recent delta generation that
// covers the gap, or else the whole state. Lost and reordered messages are
// thus repaired.
//
// A node silent for DownPeriod is down: its presences leave (they are
// kept, hidden). If it comes back, they join again. A node silent for
// PermdownPeriod is permanently down: its presences are deleted. A
// heartbeat with a new version of a known node means it restarted: the old
// replica is permanently down at once. See [Config].
//
// Without Serve, a Tracker serves one node: changes reach local
// subscribers at once, and nothing is replicated or recorded for it.
//
// # Replication messages
//
// Messages between Trackers are pubsub messages on the topic
// "phx_presence:<Name>_shard0": heartbeat and graceful_permdown are
// broadcast, transfer_req and transfer_ack sent to one node with
// DirectBroadcast. Their payload is a JSON object:
//
//	{
//	  "v": 1,                                  // format version
//	  "replicas": [{"node":"a","vsn":8139},   // [0] is the sender; "r" fields index this list
//	               {"node":"b","vsn":4471}],
//	  "clock": [{"r":0,"c":12},{"r":1,"c":4}], // the sender's vector clock (heartbeat, transfer_req)
//	  "state": {                               // the delta (heartbeat) or the delta or state (transfer_ack)
//	    "full": false,                         // true: a whole state, with "context"
//	    "context": [{"r":0,"c":12}],           // full only: the context
//	    "start": [{"r":0,"c":10}],             // delta only: it covers every event in (start, end]
//	    "end": [{"r":0,"c":12}],
//	    "clouds": [{"r":0,"c":[11,12]}],       // dots: of the values added, and of those removed
//	    "values": [{"r":0,"c":11,"t":"room:1","k":"alice","m":{"phx_ref":"...","status":"away"}}]
//	  }
//	}
//
// A heartbeat without changes has no "state"; a graceful_permdown has only
// "v" and "replicas". Dots and clocks are integers; "vsn" is a signed 64-bit
// integer, exact in JSON as Go encodes it. A message that does not decode
// or does not hold together is dropped and counted in [Stats].
//
// # Locks
//
// A Tracker has two mutexes, taken in this order: the state lock, then the
// diff queue's. Neither is held while broadcasting or calling an Owner.
package presence
