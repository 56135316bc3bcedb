package channel

import (
	"sync/atomic"
	"time"

	"github.com/suzaku-go/suzaku/telemetry"
	"github.com/suzaku-go/suzaku/wire"
)

// Defaults of [Limits]. They are sized for a browser app: a person types,
// joins a few topics, and sends messages of a few KiB. Raise them for
// machine clients (the conformance app does).
const (
	DefaultMessageRate     = 50        // messages per second per connection
	DefaultMessageBurst    = 100       // messages
	DefaultJoinRate        = 10        // joins per second per connection
	DefaultJoinBurst       = 100       // joins: a reconnect rejoins every channel (DefaultMaxChannels)
	DefaultMaxTopicLength  = 255       // bytes
	DefaultMaxPayload      = 64 << 10  // bytes: 64 KiB
	DefaultMaxQueuedBytes  = 1 << 20   // bytes per connection: 1 MiB
	DefaultMaxChannelQueue = 256 << 10 // bytes per channel mailbox: 256 KiB
)

// Reasons of the error replies a limit answers with.
const (
	ReasonRateLimited     = "rate limited"
	ReasonTopicTooLong    = "topic too long"
	ReasonPayloadTooLarge = "payload too large"
)

// ClosePolicyViolation is the close code of a connection that kept sending
// over its rate limit (WebSocket 1008).
const ClosePolicyViolation = 1008

// Limits bound what one connection may make the server do and hold. The
// zero value of each field picks its default; a negative value turns that
// limit off. Every limit hit is counted ([Socket.LimitHits]) and logged at
// Warn level at most once per limit every 10 s.
type Limits struct {
	// MessageRate is how many messages per second a connection may send,
	// heartbeats and joins included, as a token bucket of MessageBurst
	// tokens. A message over it gets the error reply
	// {"reason":"rate limited"} and is dropped; a connection that keeps
	// sending at well over the rate (about MessageBurst refusals in a
	// row, forgiven at MessageRate/4 per second) is closed with 1008.
	// Zero means DefaultMessageRate (50/s).
	MessageRate float64
	// MessageBurst is the bucket size of MessageRate. Zero means
	// DefaultMessageBurst (100).
	MessageBurst int
	// JoinRate is how many joins per second a connection may send, as a
	// token bucket of JoinBurst tokens; a join over it gets
	// {"reason":"rate limited"} (phoenix.js retries it with backoff).
	// Zero means DefaultJoinRate (10/s).
	JoinRate float64
	// JoinBurst is the bucket size of JoinRate. Zero means
	// DefaultJoinBurst (100).
	JoinBurst int
	// MaxTopicLength is the longest topic, in bytes; a message for a
	// longer one gets {"reason":"topic too long"}. Zero means
	// DefaultMaxTopicLength (255).
	MaxTopicLength int
	// MaxPayload is the largest payload of one message, in bytes; a
	// larger one gets {"reason":"payload too large"}. The transport's
	// message size limit (1 MiB by default) applies first. Zero means
	// DefaultMaxPayload (64 KiB).
	MaxPayload int
	// MaxQueuedBytes bounds the bytes of client messages a connection has
	// waiting in its channels' mailboxes and its join queue. Over it, the
	// transport stops reading the connection until the channels have
	// worked through half of it, so that TCP pushes back on the client
	// (LongPoll holds the POST, then answers 408). Zero means
	// DefaultMaxQueuedBytes (1 MiB).
	MaxQueuedBytes int
	// MaxChannelQueue bounds the bytes of client messages waiting in one
	// channel's mailbox, with the same effect as MaxQueuedBytes. Zero
	// means DefaultMaxChannelQueue (256 KiB).
	MaxChannelQueue int
}

// withDefaults fills zero fields; negative ones mean "off" and stay.
func (l Limits) withDefaults() Limits {
	if l.MessageRate == 0 {
		l.MessageRate = DefaultMessageRate
	}
	if l.MessageBurst == 0 {
		l.MessageBurst = DefaultMessageBurst
	}
	if l.JoinRate == 0 {
		l.JoinRate = DefaultJoinRate
	}
	if l.JoinBurst == 0 {
		l.JoinBurst = DefaultJoinBurst
	}
	if l.MaxTopicLength == 0 {
		l.MaxTopicLength = DefaultMaxTopicLength
	}
	if l.MaxPayload == 0 {
		l.MaxPayload = DefaultMaxPayload
	}
	if l.MaxQueuedBytes == 0 {
		l.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	if l.MaxChannelQueue == 0 {
		l.MaxChannelQueue = DefaultMaxChannelQueue
	}
	return l
}

// GenerousLimits are limits for a trusted machine client or a test
// target: a thousand times the defaults' rates, and 16 MiB of queued
// messages per connection.
func GenerousLimits() Limits {
	return Limits{
		MessageRate:     1e6,
		MessageBurst:    1e6,
		JoinRate:        1e5,
		JoinBurst:       1e5,
		MaxTopicLength:  4096,
		MaxPayload:      16 << 20,
		MaxQueuedBytes:  16 << 20,
		MaxChannelQueue: 16 << 20,
	}
}

// bucket is a token bucket; touched only by the session's reader (one
// goroutine at a time, the transport's contract for Receive).
type bucket struct {
	tokens float64
	last   int64 // unix nanoseconds of the last refill
}

// take refills the bucket at rate per second up to burst, then takes a
// token if there is one. A negative rate means no limit.
func (b *bucket) take(now int64, rate float64, burst int) bool {
	if rate < 0 || burst < 0 {
		return true
	}
	if b.last == 0 {
		b.tokens, b.last = float64(burst), now
	}
	b.tokens += float64(now-b.last) / float64(time.Second) * rate
	b.last = now
	if b.tokens > float64(burst) {
		b.tokens = float64(burst)
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// limiter is a session's rate state.
type limiter struct {
	msgs, joins bucket
	// strikes counts refusals, forgiven at MessageRate/4 per second; at
	// MessageBurst the connection is closed.
	strikes bucket
}

// LimitHits counts the limit hits of a [Socket] by limit, for metrics.
type LimitHits struct {
	RateLimited  uint64 // messages refused by MessageRate
	RateClosed   uint64 // connections closed with 1008 for their rate
	JoinLimited  uint64 // joins refused by JoinRate
	TopicTooLong uint64 // messages refused by MaxTopicLength
	PayloadLarge uint64 // messages refused by MaxPayload
	Paused       uint64 // times a connection's reading was paused (MaxQueuedBytes, MaxChannelQueue)
}

// limitCounters are the Socket's counters, with the time each limit was
// last logged.
type limitCounters struct {
	rate, rateClosed, join, topic, payload, paused limitCounter
}

type limitCounter struct {
	n      atomic.Uint64
	logged atomic.Int64 // unix nanoseconds
}

const limitLogWindow = 10 * time.Second

// hit counts one hit of limit and logs it if it was not logged in the
// last limitLogWindow.
func (s *Socket) hit(c *limitCounter, limit string, sess *Session) {
	n := c.n.Add(1)
	if s.hook != nil {
		s.hook.Event(telemetry.Event{Kind: telemetry.KindLimit, Pattern: limit})
	}
	now := time.Now().UnixNano()
	last := c.logged.Load()
	if now-last < int64(limitLogWindow) || !c.logged.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn("limit hit", "limit", limit, "conn_id", sess.id, "total", n)
}

// LimitHits returns how many times each limit was hit since the socket
// was made.
func (s *Socket) LimitHits() LimitHits {
	c := &s.counters
	return LimitHits{
		RateLimited:  c.rate.n.Load(),
		RateClosed:   c.rateClosed.n.Load(),
		JoinLimited:  c.join.n.Load(),
		TopicTooLong: c.topic.n.Load(),
		PayloadLarge: c.payload.n.Load(),
		Paused:       c.paused.n.Load(),
	}
}

// admit applies the rate, topic and payload limits to a message from the
// client, answering the ones it refuses. It runs on the reader.
func (s *Session) admit(m *wire.Message) bool {
	sock := s.sock
	l := &sock.limits
	now := time.Now().UnixNano()
	if !s.lim.msgs.take(now, l.MessageRate, l.MessageBurst) {
		if !s.lim.strikes.take(now, l.MessageRate/4, l.MessageBurst) {
			sock.hit(&sock.counters.rateClosed, "message rate: closed", s)
			s.conn.Close(ClosePolicyViolation, ReasonRateLimited)
			return false
		}
		sock.hit(&sock.counters.rate, "message rate", s)
		s.refuse(m, ReasonRateLimited)
		return false
	}
	switch {
	case l.MaxTopicLength > 0 && len(m.Topic) > l.MaxTopicLength:
		sock.hit(&sock.counters.topic, "topic length", s)
		s.refuse(m, ReasonTopicTooLong)
		return false
	case l.MaxPayload > 0 && len(m.Payload) > l.MaxPayload:
		sock.hit(&sock.counters.payload, "payload size", s)
		s.refuse(m, ReasonPayloadTooLarge)
		return false
	case m.Event == wire.EventJoin && !s.lim.joins.take(now, l.JoinRate, l.JoinBurst):
		sock.hit(&sock.counters.join, "join rate", s)
		s.refuse(m, ReasonRateLimited)
		return false
	}
	return true
}

// refuse answers m with an error reply carrying reason. A join's answer
// waits its turn in the join queue, behind earlier joins' replies.
func (s *Session) refuse(m *wire.Message, reason string) {
	if m.Event == wire.EventJoin {
		s.enqueueJoin(joinItem{m: wire.Message{JoinRef: m.JoinRef, Ref: m.Ref, Topic: m.Topic}, status: wire.StatusError, response: Reason(reason)})
		return
	}
	s.reply(m.JoinRef, m.Ref, m.Topic, wire.StatusError, Reason(reason))
}
