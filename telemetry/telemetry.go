package telemetry

import "time"

// Hook receives events. Implementations must be safe for concurrent use,
// fast and non-blocking: Event runs on the goroutine that caused the
// event, which is often a hot path.
type Hook interface {
	Event(e Event)
}

// HookFunc adapts a function to [Hook].
type HookFunc func(e Event)

// Event calls f(e).
func (f HookFunc) Event(e Event) { f(e) }

// Multi returns a Hook that passes every event to each non-nil hook in
// order. It returns nil when no hook is left, so that the caller keeps
// the zero cost of an absent hook, and the hook itself when there is one.
func Multi(hooks ...Hook) Hook {
	var hs multi
	for _, h := range hooks {
		if h != nil {
			hs = append(hs, h)
		}
	}
	switch len(hs) {
	case 0:
		return nil
	case 1:
		return hs[0]
	}
	return hs
}

type multi []Hook

func (m multi) Event(e Event) {
	for _, h := range m {
		h.Event(e)
	}
}

// Event is one thing that happened. Which fields are set depends on Kind
// (see each Kind's comment); the others are zero. Every string field is a
// bounded label value: never a topic, a path, a user id or an error text.
type Event struct {
	// Kind says what happened.
	Kind Kind
	// Transport is "websocket" or "longpoll", on connection events.
	Transport string
	// Pattern is the router pattern of the topic ("room:*", "lobby") on
	// channel events, the route pattern on API requests, the cache or
	// limit name elsewhere.
	Pattern string
	// Reason is a short, bounded cause: why a connection was refused or a
	// join failed ("refused", "crashed", "unmatched", "too_many"), the
	// status of a reply ("ok", "error"), the name of a limit.
	Reason string
	// Serializer is the negotiated protocol version ("1.0.0", "2.0.0") on
	// KindConnect.
	Serializer string
	// Code is a WebSocket close code on KindDisconnect, an HTTP status on
	// KindConnectRefused and KindAPIRequest.
	Code int
	// N is a count or a size: the fan-out of a broadcast, the bytes of a
	// frame, the entries of a presence diff.
	N int
	// Duration is how long the operation took (a join, a handler, a
	// delivery, a connection's life, a broker round trip).
	Duration time.Duration
	// Err is the error behind a failure, when there is one. It is for
	// logs; never use its text as a label.
	Err error
}
