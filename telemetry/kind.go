package telemetry

// Kind says what an [Event] reports.
type Kind uint8

// Event kinds. The comment on each lists the fields it sets.
const (
	_ Kind = iota

	// KindConnect: a client connected (Transport, Serializer; Duration is
	// the time the Connect callback took).
	KindConnect
	// KindConnectRefused: a connection was refused (Transport, Reason:
	// "origin", "version", "refused", "limit"; Code is the HTTP status).
	KindConnectRefused
	// KindDisconnect: a connection ended (Transport; Code is the close
	// code, 0 when the peer vanished; Duration is its lifetime).
	KindDisconnect
	// KindJoin: a join succeeded (Pattern, Duration of the Join callback).
	KindJoin
	// KindJoinError: a join failed (Pattern, empty when unmatched; Reason:
	// "refused", "crashed", "unmatched", "too_many", "subscribe";
	// Duration).
	KindJoinError
	// KindChannelClose: a joined channel ended (Pattern; Reason: "left",
	// "closed", "crashed", "stopped"). Every KindJoin is followed by
	// exactly one KindChannelClose.
	KindChannelClose
	// KindFrameIn: a frame arrived from a client (N bytes).
	KindFrameIn
	// KindFrameOut: a frame was queued for a client (N bytes): replies,
	// pushes and broadcast deliveries alike.
	KindFrameOut
	// KindHandle: a channel handled a client event (Pattern, Duration of
	// HandleIn).
	KindHandle
	// KindReply: a channel replied to a client event (Pattern, Reason "ok"
	// or "error").
	KindReply
	// KindCrash: a channel handler panicked (Pattern).
	KindCrash
	// KindBroadcast: a broker delivered a broadcast to this node's
	// subscribers (N is the fan-out, Duration the delivery), whether it
	// was sent on this node or, over a cluster broker, on another: each
	// node reports its own fan-out.
	KindBroadcast
	// KindSlowClient: a client was disconnected because its write queue
	// was over its limit (Transport, N bytes dropped).
	KindSlowClient
	// KindDrop: frames for a client were dropped without closing it
	// (Transport, N frames, Reason).
	KindDrop
	// KindLimit: a limit refused something (Pattern is the limit's name,
	// Transport when it applies).
	KindLimit
	// KindPresenceDiff: a presence diff was applied (N entries, joins plus
	// leaves).
	KindPresenceDiff
	// KindBrokerPublish: this node published to the broker (Duration; Err
	// on failure).
	KindBrokerPublish
	// KindBrokerReceive: this node received a message from the broker.
	KindBrokerReceive
	// KindBrokerReconnect: the broker connection came back (Duration is
	// the outage, when known).
	KindBrokerReconnect
	// KindBrokerDown: the broker connection was lost (Err).
	KindBrokerDown
	// KindBrokerRoundTrip: one request to the broker's server and its
	// answer, such as Redis PING (Duration; Err on failure).
	KindBrokerRoundTrip
	// KindCacheHit, KindCacheMiss, KindCacheInvalidate: cache lookups and
	// invalidations (Pattern is the cache's name, N the entries
	// invalidated).
	KindCacheHit
	KindCacheMiss
	KindCacheInvalidate
	// KindAPIRequest: an API request ended (Pattern is the route pattern,
	// Code the status, Duration).
	KindAPIRequest

	kindCount // keep last
)

var kindNames = [...]string{
	KindConnect:         "connect",
	KindConnectRefused:  "connect_refused",
	KindDisconnect:      "disconnect",
	KindJoin:            "join",
	KindJoinError:       "join_error",
	KindChannelClose:    "channel_close",
	KindFrameIn:         "frame_in",
	KindFrameOut:        "frame_out",
	KindHandle:          "handle",
	KindReply:           "reply",
	KindCrash:           "crash",
	KindBroadcast:       "broadcast",
	KindSlowClient:      "slow_client",
	KindDrop:            "drop",
	KindLimit:           "limit",
	KindPresenceDiff:    "presence_diff",
	KindBrokerPublish:   "broker_publish",
	KindBrokerReceive:   "broker_receive",
	KindBrokerReconnect: "broker_reconnect",
	KindBrokerDown:      "broker_down",
	KindBrokerRoundTrip: "broker_round_trip",
	KindCacheHit:        "cache_hit",
	KindCacheMiss:       "cache_miss",
	KindCacheInvalidate: "cache_invalidate",
	KindAPIRequest:      "api_request",
}

// String returns the kind's snake_case name ("join_error"), or "unknown".
func (k Kind) String() string {
	if k > 0 && k < kindCount {
		return kindNames[k]
	}
	return "unknown"
}

// Kinds returns every kind, in order.
func Kinds() []Kind {
	ks := make([]Kind, 0, kindCount-1)
	for k := Kind(1); k < kindCount; k++ {
		ks = append(ks, k)
	}
	return ks
}
