package channel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/stream"
)

// errStreamBroken ends a stream channel whose live messages skipped or
// repeated an offset (a message lost between nodes, or an epoch that
// changed under it). The client gets phx_error and rejoins from the last
// offset it saw, which recovers the hole or says it cannot.
var errStreamBroken = errors.New("channel: stream offsets out of order")

// maxStreamBuffer bounds the live messages a joining stream channel holds
// while it reads the history. Beyond it the channel gives up and the
// client rejoins, recovering from the history instead.
const maxStreamBuffer = 4096

// streamState is what a channel on a stream topic keeps to hand its client
// every message exactly once, in offset order. mu is taken by Deliver
// (under the broker's shard read lock) and held while the frame is queued
// on the connection; see docs/invariants.md.
type streamState struct {
	lim stream.Limits

	mu       sync.Mutex
	live     bool              // the replay is done: send as they come
	epoch    string            // of the client's position
	last     uint64            // offset of the last message sent
	buf      []*pubsub.Message // live messages that came during the join
	overflow bool              // buf hit maxStreamBuffer
	broken   bool              // out of order: the channel is ending
}

// streamJoin reads the topic's position, or the messages after since, and
// returns the join's response with the stream's fields added. The channel
// is subscribed already: what is broadcast from now on is buffered by
// deliverStream until streamReplay.
func (c *Channel) streamJoin(resp any, since *stream.Position) (any, []*pubsub.Message, error) {
	ctx := lifetime{c}
	store := c.sess.sock.streams
	var rec stream.Recovery
	if since == nil {
		pos, err := store.Position(ctx, c.topic)
		if err != nil {
			return nil, nil, err
		}
		rec.Position = pos
	} else {
		var err error
		if rec, err = store.Recover(ctx, c.topic, *since, c.strm.lim); err != nil {
			return nil, nil, err
		}
	}
	c.strm.mu.Lock()
	c.strm.epoch = rec.Position.Epoch
	c.strm.last = rec.Position.Offset
	if rec.Recovered {
		c.strm.last = since.Offset
	}
	c.strm.mu.Unlock()
	out, err := streamResponse(resp, rec, since != nil)
	return out, rec.Messages, err
}

// streamResponse adds epoch, offset and, for a recovering join, recovered
// to the handler's response, which must be nil or a JSON object.
func streamResponse(resp any, rec stream.Recovery, recovering bool) (json.RawMessage, error) {
	data, bin, err := encodeValue(resp)
	if err != nil {
		return nil, err
	}
	data = bytes.TrimSpace(data)
	if bin || len(data) < 2 || data[0] != '{' {
		return nil, errors.New("channel: the join response of a stream topic must be a JSON object")
	}
	epoch, _ := json.Marshal(rec.Position.Epoch)
	b := make([]byte, 0, len(data)+len(epoch)+64)
	b = append(b, `{"epoch":`...)
	b = append(b, epoch...)
	b = append(b, `,"offset":`...)
	b = strconv.AppendUint(b, rec.Position.Offset, 10)
	if recovering {
		b = append(b, `,"recovered":`...)
		b = strconv.AppendBool(b, rec.Recovered)
	}
	if rest := bytes.TrimSpace(data[1:]); len(rest) > 1 { // not "}"
		b = append(b, ',')
		b = append(b, rest...)
	} else {
		b = append(b, '}')
	}
	return b, nil
}

// streamReplay sends the recovered messages after the join reply, then the
// live ones buffered meanwhile, skipping the offsets already sent, and
// switches the channel to live delivery.
func (c *Channel) streamReplay(replay []*pubsub.Message) {
	st := c.strm
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, m := range replay {
		c.sendStream(m)
	}
	buf := st.buf
	st.buf = nil
	st.live = true
	if st.overflow {
		c.breakStream()
		return
	}
	for _, m := range buf {
		c.deliverLive(m)
	}
}

// deliverStream is Deliver on a stream topic: buffer until the replay is
// done, then send in offset order.
func (c *Channel) deliverStream(m *pubsub.Message) {
	st := c.strm
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.live {
		if c.joined.Load() {
			c.deliverLive(m)
		}
		return
	}
	if len(st.buf) >= maxStreamBuffer {
		st.overflow = true
		return
	}
	st.buf = append(st.buf, m)
}

// deliverLive sends m unless the client has it; a skipped offset or
// another epoch breaks the stream. Call with st.mu held.
func (c *Channel) deliverLive(m *pubsub.Message) {
	st := c.strm
	switch {
	case st.broken:
	case m.Offset == 0: // a plain broadcast on a stream topic: no place in the history
		c.sendStream(m)
	case m.Epoch != st.epoch: // the store lost the history: the client must start afresh
		c.breakStream()
	case m.Offset <= st.last:
		// Sent already: replayed from the history, and delivered too (it
		// was buffered, or still on its way from the broker).
	case m.Offset == st.last+1:
		c.sendStream(m)
	default: // a hole: a message lost on its way
		c.breakStream()
	}
}

// breakStream ends the channel abnormally, so that the client rejoins from
// its last offset. Call with st.mu held.
func (c *Channel) breakStream() {
	c.strm.broken = true
	c.sess.sock.log.Warn("stream out of order; the client will rejoin", "topic", c.topic)
	c.enqueue(mail{kind: mailStop, reason: errStreamBroken})
}

// sendStream writes m to the client with its offset as ref. Call with
// st.mu held.
func (c *Channel) sendStream(m *pubsub.Message) {
	if m.Offset != 0 {
		c.strm.last = m.Offset
	}
	f, err := c.sess.encodeBroadcast(m)
	if err != nil {
		c.sess.sock.log.Debug("encode broadcast", "topic", m.Topic, "err", err)
		return
	}
	_ = c.sess.conn.Send(f)
}

// Publish broadcasts event with payload on the channel's stream topic, to
// every subscriber on every node, this channel included, and returns the
// message's position (its offset, for a reply such as {"offset": N}). On a
// topic that is not a stream it returns an error wrapping
// [stream.ErrNotStream]; [Channel.Broadcast] works on both.
func (c *Channel) Publish(ctx context.Context, event string, payload any) (stream.Position, error) {
	if c.strm == nil {
		return stream.Position{}, fmt.Errorf("channel: publish on %q: %w", c.topic, stream.ErrNotStream)
	}
	return c.sess.sock.publish(ctx, c.topic, c.strm.lim, event, payload)
}

// Publish is [Channel.Publish] from outside any channel, on a topic routed
// with [Router.HandleStream]. [Socket.Broadcast] on such a topic publishes
// too.
func (s *Socket) Publish(ctx context.Context, topic, event string, payload any) (stream.Position, error) {
	lim, ok := s.router.Stream(topic)
	if !ok {
		return stream.Position{}, fmt.Errorf("channel: publish on %q: %w", topic, stream.ErrNotStream)
	}
	return s.publish(ctx, topic, lim, event, payload)
}

func (s *Socket) publish(ctx context.Context, topic string, lim stream.Limits, event string, payload any) (stream.Position, error) {
	data, bin, err := encodeValue(payload)
	if err != nil {
		return stream.Position{}, err
	}
	pos, err := s.streams.Publish(ctx, &pubsub.Message{Topic: topic, Event: event, Payload: data, Binary: bin}, lim)
	if err != nil {
		return stream.Position{}, fmt.Errorf("channel: publish %q on %q: %w", event, topic, err)
	}
	return pos, nil
}

// Streams returns the store of the socket's stream topics.
func (s *Socket) Streams() stream.Store { return s.streams }
