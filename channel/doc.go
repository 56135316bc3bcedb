// Package channel runs Phoenix Channels: topics that clients join, push
// to, get replies from and receive broadcasts on.
//
// A [Socket] authenticates connections ([Config].Connect), names them
// ([Config].ID) and routes each topic to a [Handler] through a [Router].
// Transports (see package transport) turn each connection into a
// [Session] and feed it frames.
//
// # Channels are processes
//
// Every join is a [Channel]: a small, isolated, disposable process with its
// own state (the Handler value, made fresh for each join) and its own
// mailbox. Client events, intercepted broadcasts, timer ticks and
// [Channel.Send] messages are handled one at a time, in order. An idle
// channel holds no goroutine. A panic in a handler ends that channel only:
// the client gets phx_error and rejoins; the connection, its other channels
// and the server go on.
//
// # Handlers
//
// A Handler implements Join, and optionally [InHandler] (client events),
// [InfoHandler] (messages and timers), [Interceptor] with [OutHandler]
// (rewriting broadcasts per subscriber) and [Terminator]. Replies are
// return values ([OK], [Error], or the zero [Reply] for none);
// [Channel.ReplyRef] and [Channel.ReplyTo] answer later, from any
// goroutine.
//
// # Typed events and assigns
//
// [Events] and [On] do for channel events what api.Handle does for HTTP:
// the payload is decoded into a struct, validated ([Validator]), handed to
// a method that returns a typed reply or an error ([Fail] for the client,
// anything else logged and answered "internal error"), and an event with
// no entry gets {"reason":"unknown event"}. [AssignsAs] reads the
// connection's assigns as a type without the panic of a type assertion.
//
// # Broadcasts
//
// [Channel.Broadcast], [Channel.BroadcastFrom] and [Socket.Broadcast] go
// through a pubsub.Broker. A broadcast is encoded once per serializer and
// the same bytes are queued on every subscriber's connection, without a
// trip through the channels' mailboxes unless the event is intercepted.
//
// # Streams
//
// A route made with [Router.HandleStream] makes its topics streams: every
// message broadcast on one ([Channel.Broadcast], [Channel.Publish],
// [Socket.Broadcast], [Socket.Publish]) gets the topic's next offset in
// Config.Streams (a [stream.Store]) and reaches subscribers with the offset,
// as a decimal string, in the frame's ref slot; phoenix.js hands it to
// channel.on callbacks as their second argument. The join reply carries
// the topic's "epoch" and "offset". A join whose params carry
// {"epoch", "offset"} (phoenix.js sends them on every rejoin when the
// params are a function) subscribes first, buffering live messages, reads
// the history after that offset, replies {"recovered": true} and sends the
// missed messages, then the buffered ones it has not sent: each message
// once, in offset order. When the history no longer holds them, the reply
// says "recovered": false with the current position and nothing is
// replayed. A live message that skips an offset ends the channel with
// phx_error, so that the client rejoins and recovers the hole.
// [Channel.BroadcastFrom] on a stream topic is a plain broadcast (no
// offset, no history: an ephemeral event such as "typing"), and so are
// broadcasts made on the broker directly (presence diffs).
//
// # Wire behaviour
//
// Replies, pushes, phx_close and phx_error carry the join_ref they belong
// to; frames with a stale join_ref are dropped; an unmatched topic, a
// duplicate join and the per-connection channel limit are answered as
// Phoenix 1.8 does (see docs/protocol.md §3).
package channel
