package channel

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/telemetry"
	"github.com/suzaku-go/suzaku/wire"
)

// Session is one client connection: its assigns, its id and the channels it
// joined. A transport feeds it frames with [Session.Receive] from a single
// goroutine, and ends it with [Session.Close].
//
// Messages for one topic are handled in the order they arrive, by that
// topic's channel process. Unlike Phoenix, a slow join blocks only its own
// topic, not the whole connection.
type Session struct {
	sock    *Socket
	ser     wire.Serializer
	slot    int // memo slot of ser, for encoded broadcasts
	assigns any
	id      string
	seq     uint64 // the counter of SocketID

	nextSameID *Session // the next session with the same id (idIndex)

	// ctx is the context given to Serve: its values reach every channel's
	// context.
	ctx context.Context

	conn Conn // set by Serve, then read-only

	mu     sync.Mutex
	topics topicSet
	closed bool

	// The join queue: joins, and the replies that answer joins at once,
	// are handled one at a time in arrival order, as Phoenix's synchronous
	// joins are, by a goroutine that exists only while the queue is
	// non-empty. Only joins wait for joins: events for joined topics go
	// straight to their channels.
	jmu    sync.Mutex
	jqueue *[]joinItem // nil while no join is pending

	flow flow    // inbound backpressure
	lim  limiter // rate limits; only the reader touches it
}

// joinItem is a join to run, or (c nil) a join reply to send in order.
type joinItem struct {
	c *Channel
	m wire.Message
	// for replies
	status   string
	response any
}

func newSession(s *Socket, ser wire.Serializer, assigns any, id string) *Session {
	return &Session{sock: s, ser: ser, slot: memoSlot(ser), assigns: assigns, id: id}
}

// ID is the connection id given by Config.ID, or "".
func (s *Session) ID() string { return s.id }

// Assigns are the values Config.Connect returned.
func (s *Session) Assigns() any { return s.assigns }

// Serializer is the serializer the client negotiated.
func (s *Session) Serializer() wire.Serializer { return s.ser }

// Serve starts the session on conn. ctx's values reach every channel's
// context; cancelling it does not close the session (the transport calls
// Close).
func (s *Session) Serve(ctx context.Context, conn Conn) error {
	s.conn = conn
	s.ctx = ctx
	if s.id != "" {
		return s.sock.ids.add(ctx, s.sock, s)
	}
	return nil
}

// Receive handles one frame from the client. It returns an error, wrapping
// wire.ErrMalformed, for a frame that does not decode: the transport
// should close the connection.
func (s *Session) Receive(f wire.Frame) error {
	s.sock.frameIn(len(f.Data))
	m, err := s.ser.Decode(f)
	if err != nil {
		return err
	}
	if s.admit(&m) {
		s.dispatch(m)
	}
	s.maybePause()
	return nil
}

func (s *Session) dispatch(m wire.Message) {
	switch {
	case m.Topic == wire.TopicPhoenix && m.Event == wire.EventHeartbeat:
		s.reply("", m.Ref, m.Topic, wire.StatusOK, nil)
	case m.Event == wire.EventJoin:
		s.join(m)
	default:
		s.mu.Lock()
		c := s.topics.get(m.Topic)
		s.mu.Unlock()
		if c != nil && m.JoinRef != "" && m.JoinRef != c.joinRef {
			return // stale: a frame for an earlier join of this topic
		}
		if c != nil && c.enqueue(mail{kind: mailIn, msg: m, cost: msgCost(&m)}) {
			return
		}
		s.notJoined(m)
	}
}

// notJoined answers a message for a topic that has no channel.
func (s *Session) notJoined(m wire.Message) {
	if m.Event == wire.EventLeave {
		s.reply(m.JoinRef, m.Ref, m.Topic, wire.StatusOK, nil)
		return
	}
	s.reply("", m.Ref, m.Topic, wire.StatusError, Reason("unmatched topic"))
}

func (s *Session) join(m wire.Message) {
	rt := s.sock.router.match(m.Topic)
	if rt.make == nil {
		m.JoinRef = "" // Phoenix answers an unmatched topic with a null join_ref
		s.sock.emitTopic(telemetry.KindJoinError, m.Topic, "unmatched", time.Time{})
		s.enqueueJoin(joinItem{m: m, status: wire.StatusError, response: Reason("unmatched topic")})
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	old := s.topics.get(m.Topic)
	if old == nil && s.sock.maxChannels > 0 && s.topics.len() >= s.sock.maxChannels {
		s.mu.Unlock()
		s.sock.emitTopic(telemetry.KindJoinError, m.Topic, "too_many", time.Time{})
		s.enqueueJoin(joinItem{m: m, status: wire.StatusError, response: Reason("too many channels joined")})
		return
	}
	c := newChannel(s, m.Topic, m.JoinRef, rt.make(), rt.stream)
	s.topics.put(c)
	s.mu.Unlock()
	if old != nil {
		old.enqueue(mail{kind: mailStop, reason: ErrDuplicateJoin})
	}
	s.enqueueJoin(joinItem{c: c, m: m})
}

func (s *Session) enqueueJoin(it joinItem) {
	s.queuedIn(msgCost(&it.m))
	s.jmu.Lock()
	if s.jqueue != nil { // runJoins is running
		*s.jqueue = append(*s.jqueue, it)
		s.jmu.Unlock()
		return
	}
	s.jqueue = &[]joinItem{it}
	s.jmu.Unlock()
	go s.runJoins()
}

// runJoins drains the join queue.
func (s *Session) runJoins() {
	for {
		s.jmu.Lock()
		q := *s.jqueue
		if len(q) == 0 {
			s.jqueue = nil
			s.jmu.Unlock()
			return
		}
		it := q[0]
		q[0] = joinItem{}
		*s.jqueue = q[1:]
		s.jmu.Unlock()
		if it.c == nil {
			s.reply(it.m.JoinRef, it.m.Ref, it.m.Topic, it.status, it.response)
		} else {
			it.c.join(it.m)
		}
		s.queuedOut(msgCost(&it.m))
	}
}

// remove forgets c if it still holds its topic.
func (s *Session) remove(c *Channel) {
	s.mu.Lock()
	s.topics.del(c)
	s.mu.Unlock()
}

// Channels returns how many channels the session holds (joined or joining).
func (s *Session) Channels() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.topics.len()
}

// Close ends the session: every channel terminates with [ErrClosed] and
// sends nothing. What was queued for the session (messages in mailboxes,
// joins not yet run) is dropped, every channel's context is done at once,
// and each channel stops as soon as the callback it is running returns:
// only Terminate and the exit hooks still run. It is safe to call more
// than once.
func (s *Session) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	chans := s.topics.list
	s.topics = topicSet{}
	s.mu.Unlock()
	// Joins still waiting in the queue never run.
	s.jmu.Lock()
	var dropped []joinItem
	if s.jqueue != nil {
		dropped = *s.jqueue
		*s.jqueue = nil
	}
	s.jmu.Unlock()
	for _, c := range chans {
		c.close()
	}
	for _, it := range dropped {
		s.queuedOut(msgCost(&it.m))
		if it.c != nil {
			it.c.die(ErrClosed)
		}
	}
	if s.id != "" && s.ctx != nil {
		s.sock.ids.remove(s)
	}
}

// send encodes m and queues it on the connection.
func (s *Session) send(m *wire.Message) error {
	if s.conn == nil {
		return fmt.Errorf("channel: send on a session that is not serving")
	}
	f, err := s.ser.Encode(m)
	if err != nil {
		return err
	}
	if err := s.conn.Send(f); err != nil {
		return err
	}
	s.sock.frameOut(len(f.Data))
	return nil
}

// reply sends a phx_reply.
func (s *Session) reply(joinRef, ref, topic, status string, response any) {
	data, bin, err := encodeValue(response)
	if err != nil {
		s.sock.log.Error("encode reply", "topic", topic, "err", err)
		data, bin = []byte(`{"reason":"reply could not be encoded"}`), false
		status = wire.StatusError
	}
	m := wire.Message{Kind: wire.KindReply, JoinRef: joinRef, Ref: ref, Topic: topic,
		Event: wire.EventReply, Status: status, Payload: data, Binary: bin}
	if err := s.send(&m); err != nil {
		s.sock.log.Debug("send reply", "topic", topic, "err", err)
		if bin {
			// The transport cannot carry bytes (LongPoll): say so rather
			// than leave the client waiting for its timeout.
			s.reply(joinRef, ref, topic, wire.StatusError, Reason("binary replies are not supported on this transport"))
		}
	}
}

// memoSlot picks the pubsub.Message memo slot that caches a broadcast's
// encoding for ser, so that each broadcast is encoded once per serializer.
func memoSlot(ser wire.Serializer) int {
	switch ser.(type) {
	case wire.V1:
		return 0
	case wire.V2:
		return 1
	default:
		return -1 // unknown serializers encode per subscriber
	}
}

// encodeBroadcast returns m's frame for this session's serializer, encoded
// once per serializer and shared by every subscriber of the broadcast.
func (s *Session) encodeBroadcast(m *pubsub.Message) (wire.Frame, error) {
	if s.slot < 0 {
		return encodeBroadcast(s.ser, m)
	}
	r := m.Memo(s.slot, memoEncoder(s.slot)).(encoded)
	return r.f, r.err
}

// memoEncoder returns a func without captures, so that asking the memo
// costs no allocation per subscriber.
func memoEncoder(slot int) func(*pubsub.Message) any {
	if slot == 0 {
		return encodeV1Broadcast
	}
	return encodeV2Broadcast
}

func encodeV1Broadcast(m *pubsub.Message) any {
	f, err := encodeBroadcast(wire.V1{}, m)
	return encoded{f, err}
}

func encodeV2Broadcast(m *pubsub.Message) any {
	f, err := encodeBroadcast(wire.V2{}, m)
	return encoded{f, err}
}

type encoded struct {
	f   wire.Frame
	err error
}

func encodeBroadcast(ser wire.Serializer, m *pubsub.Message) (wire.Frame, error) {
	var ref string
	if m.Offset != 0 && !m.Binary { // a binary broadcast has no ref slot
		ref = strconv.FormatUint(m.Offset, 10)
	}
	return ser.Encode(&wire.Message{Kind: wire.KindBroadcast, Ref: ref, Topic: m.Topic, Event: m.Event, Payload: m.Payload, Binary: m.Binary})
}
