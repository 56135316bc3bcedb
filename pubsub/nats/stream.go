package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/pubsub/internal/envelope"
	"github.com/suzaku-go/suzaku/stream"
)

// Defaults of [StreamConfig].
const (
	DefaultMaxPerTopic  = 100
	DefaultStreamMaxAge = 24 * time.Hour
	DefaultStreamBytes  = 256 << 20
)

// streamNode names the sender of a stream message's envelope: no node has
// this name (the envelope is only the stored form here).
const streamNode = "\x00stream"

// hdrRun carries the run of a topic's messages: the JetStream sequence of
// the message that started it (see [Streams]).
const hdrRun = "Suzaku-Run"

// StreamConfig configures [Streams]. Every node of a cluster must use the
// same one.
type StreamConfig struct {
	// Name is the JetStream stream holding the histories. Zero means
	// "SUZAKU_STREAMS_" + the broker's subject prefix with every byte but
	// [A-Za-z0-9_-] as "_" ("SUZAKU_STREAMS_suzaku" by default).
	Name string
	// Subject prefixes the stream's subjects: a topic's messages go to
	// Subject + "." + the topic as one token. Zero means the broker's
	// prefix + ".stream" ("suzaku.stream" by default), so that clusters
	// on one server keep apart.
	Subject string
	// MaxPerTopic is the most messages the stream keeps per topic; it
	// must be at least the largest Limits.Size of your stream routes, and
	// a recovery reads up to this many messages. Zero means
	// DefaultMaxPerTopic (100).
	MaxPerTopic int
	// MaxAge is how long the stream keeps a message (Limits.TTL, shorter,
	// is checked on recovery). A topic whose messages all expired starts a
	// new run, in a new epoch. Zero means DefaultStreamMaxAge (24 h).
	MaxAge time.Duration
	// MaxBytes caps the stream; the oldest messages go first. Zero means
	// DefaultStreamBytes (256 MiB).
	MaxBytes int64
	// Storage is jetstream.FileStorage (the zero value) or MemoryStorage.
	Storage jetstream.StorageType
}

// Streams is a [stream.Store] in NATS JetStream, for every node of a
// cluster whose [Broker]s share the NATS server. It is a service:
// [Streams.Serve] creates (or updates) the JetStream stream and runs this
// node's ordered consumer, which delivers every stream message to local
// subscribers in the stream's order.
//
// # Offsets and order
//
// JetStream numbers messages per stream, not per topic, so the offset is
// the store's: Publish reads the topic's last message (a direct get), and
// publishes offset+1 with Nats-Expected-Last-Subject-Sequence set to that
// message's sequence; when another publisher got there first, JetStream
// refuses it and Publish reads and tries again. Offsets are therefore
// contiguous per topic, the stream's order is offset order, and every
// node's ordered consumer delivers in that order. A publish costs two
// round trips, more under contention on one topic (publishers on one node
// take turns per topic).
//
// # Epochs
//
// An epoch names the stream (its creation time: a recreated stream is a
// new epoch) and the topic's run: the JetStream sequence of the message
// that started it (the first message, or a marker at offset 0 that
// Position and Recover publish on a topic with no message, so that a
// client joining an empty topic gets an epoch that stays), which later
// messages carry in a header. A topic whose every message is gone (MaxAge,
// MaxBytes, a purge) starts a new run: a new epoch, so old positions get
// recovered false.
//
// # Delivery
//
// Live delivery goes through the ordered consumer, which resumes where it
// stopped across reconnects; stream channels treat any hole (for example
// messages published while Serve was restarting) by making the client
// rejoin and recover. Messages published before this node's consumer
// started reach its subscribers only through recovery.
type Streams struct {
	b        *Broker
	name     string
	subject  string
	perTopic int
	maxAge   time.Duration
	maxBytes int64
	storage  jetstream.StorageType
	seed     maphash.Seed
	stripes  [64]sync.Mutex // publishers of one node take turns per topic

	state   atomic.Pointer[jsState]
	serving atomic.Bool
	retries atomic.Uint64
}

type jsState struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	base   string // the stream's part of epochs
}

var _ stream.Store = (*Streams)(nil)

// ErrStreamNotReady is returned while [Streams.Serve] has not set up the
// JetStream stream.
var ErrStreamNotReady = errors.New("jetstream stream not ready")

// NewStreams returns the stream store of b's cluster. It checks cfg and
// starts nothing: run [Streams.Serve] (after, or with, b's).
func NewStreams(b *Broker, cfg StreamConfig) (*Streams, error) {
	if b == nil {
		return nil, errors.New("pubsub/nats: new streams: nil Broker")
	}
	if cfg.MaxPerTopic < 0 || cfg.MaxAge < 0 || cfg.MaxBytes < 0 {
		return nil, errors.New("pubsub/nats: new streams: negative MaxPerTopic, MaxAge or MaxBytes")
	}
	s := &Streams{b: b, name: cfg.Name, subject: cfg.Subject, perTopic: cfg.MaxPerTopic,
		maxAge: cfg.MaxAge, maxBytes: cfg.MaxBytes, storage: cfg.Storage, seed: maphash.MakeSeed()}
	prefix := strings.TrimSuffix(b.allSubject, allToken)
	if s.name == "" {
		s.name = "SUZAKU_STREAMS_" + strings.Map(func(r rune) rune {
			if r < 128 && (tokenSafe(byte(r)) && r != '@' && r != ':' && r != '+' && r != '=' && r != '~') {
				return r
			}
			return '_'
		}, prefix)
	}
	if s.subject == "" {
		s.subject = prefix + ".stream"
	}
	if err := checkPrefix(s.subject); err != nil {
		return nil, fmt.Errorf("pubsub/nats: new streams: %w", err)
	}
	if s.perTopic == 0 {
		s.perTopic = DefaultMaxPerTopic
	}
	if s.maxAge == 0 {
		s.maxAge = DefaultStreamMaxAge
	}
	if s.maxBytes == 0 {
		s.maxBytes = DefaultStreamBytes
	}
	return s, nil
}

func (s *Streams) topicSubject(topic string) string { return s.subject + "." + subjectToken(topic) }

// Serve waits for the broker's connection, creates or updates the
// JetStream stream, and delivers stream messages to this node's
// subscribers until ctx is done. A lost connection is waited out; Serve
// returns an error only when it is already running.
func (s *Streams) Serve(ctx context.Context) error {
	if !s.serving.CompareAndSwap(false, true) {
		return errors.New("pubsub/nats: streams: already serving")
	}
	defer s.serving.Store(false)
	for ctx.Err() == nil {
		nc := s.b.ready.Load()
		if nc == nil {
			if !sleep(ctx, 50*time.Millisecond) {
				break
			}
			continue
		}
		if err := s.session(ctx, nc); err != nil && ctx.Err() == nil {
			s.b.log.Warn("nats streams: retrying", logErr, err)
			if !sleep(ctx, time.Second) {
				break
			}
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// session sets up the stream and the consumer on nc and runs until ctx is
// done or the broker's connection changes.
func (s *Streams) session(ctx context.Context, nc *nats.Conn) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              s.name,
		Subjects:          []string{s.subject + ".>"},
		MaxMsgsPerSubject: int64(s.perTopic),
		MaxAge:            s.maxAge,
		MaxBytes:          s.maxBytes,
		Discard:           jetstream.DiscardOld,
		Storage:           s.storage,
		AllowDirect:       true,
	})
	if err != nil {
		return fmt.Errorf("create stream %q: %w", s.name, err)
	}
	cons, err := js.OrderedConsumer(ctx, s.name, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{s.subject + ".>"},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return fmt.Errorf("ordered consumer on %q: %w", s.name, err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		env, err := envelope.Decode(msg.Data())
		if err != nil {
			s.b.invalid.Add(1)
			return
		}
		if env.Msg.Offset == 0 {
			return // the marker that starts a run
		}
		s.b.reg.Dispatch(env.Msg)
		s.b.received.Add(1)
	})
	if err != nil {
		return fmt.Errorf("consume %q: %w", s.name, err)
	}
	defer cc.Stop()
	s.state.Store(&jsState{nc: nc, js: js, stream: st,
		base: strconv.FormatInt(st.CachedInfo().Created.UnixNano(), 36)})
	defer s.state.Store(nil)
	s.b.log.Info("nats streams: ready", "stream", s.name)
	for s.b.ready.Load() == nc {
		if !sleep(ctx, 100*time.Millisecond) {
			return nil
		}
	}
	return errors.New("connection changed")
}

func (s *Streams) ready(op, topic string) (*jsState, error) {
	st := s.state.Load()
	if st == nil {
		return nil, fmt.Errorf("pubsub/nats: %s %q: %w", op, topic, ErrStreamNotReady)
	}
	return st, nil
}

// lastMsg is what Publish and Recover need of a topic's latest message.
type lastMsg struct {
	seq, offset, run uint64 // run: sequence of the run's offset 1
}

func (st *jsState) last(ctx context.Context, subject string) (lastMsg, bool, error) {
	raw, err := st.stream.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return lastMsg{}, false, nil
	}
	if err != nil {
		return lastMsg{}, false, err
	}
	l, err := parseStored(raw.Sequence, raw.Header, raw.Data)
	return l, err == nil, err
}

func parseStored(seq uint64, h nats.Header, data []byte) (lastMsg, error) {
	env, err := envelope.Decode(data)
	if err != nil {
		return lastMsg{}, fmt.Errorf("stored message %d: not a stream message", seq)
	}
	l := lastMsg{seq: seq, offset: env.Msg.Offset, run: seq}
	if v := h.Get(hdrRun); v != "" {
		run, ok := envelope.ParseOffset([]byte(v))
		if !ok {
			return lastMsg{}, fmt.Errorf("stored message %d: no run", seq)
		}
		l.run = run
	}
	return l, nil
}

// Publish implements [stream.Store].
func (s *Streams) Publish(ctx context.Context, m *pubsub.Message, lim stream.Limits) (stream.Position, error) {
	if m == nil {
		return stream.Position{}, errors.New("pubsub/nats: stream publish: nil message")
	}
	st, err := s.ready("stream publish", m.Topic)
	if err != nil {
		return stream.Position{}, err
	}
	m.From = nil
	subject := s.topicSubject(m.Topic)
	mu := &s.stripes[maphash.String(s.seed, m.Topic)%uint64(len(s.stripes))]
	mu.Lock()
	defer mu.Unlock()
	for {
		last, ok, err := st.last(ctx, subject)
		if err == nil && !ok {
			last, err = s.startRun(ctx, st, m.Topic, subject)
		}
		if err != nil {
			return stream.Position{}, fmt.Errorf("pubsub/nats: stream publish %q: %w", m.Topic, err)
		}
		m.Offset, m.Epoch = last.offset+1, st.base+"-"+strconv.FormatUint(last.run, 10)
		msg := &nats.Msg{Subject: subject, Data: envelope.Encode(false, streamNode, m), Header: nats.Header{}}
		msg.Header.Set(hdrRun, strconv.FormatUint(last.run, 10))
		_, err = st.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(last.seq))
		if wrongLast(err) && ctx.Err() == nil {
			s.retries.Add(1)
			continue // another node published first: read again
		}
		if err != nil {
			m.Offset, m.Epoch = 0, ""
			return stream.Position{}, fmt.Errorf("pubsub/nats: stream publish %q: %w", m.Topic, err)
		}
		s.b.sent.Add(1)
		return stream.Position{Epoch: m.Epoch, Offset: m.Offset}, nil
	}
}

// Position implements [stream.Store]. On a topic with no message, it
// starts the topic's run (see [Streams]).
func (s *Streams) Position(ctx context.Context, topic string) (stream.Position, error) {
	rec, err := s.read(ctx, "stream position", topic, nil, stream.Limits{}.WithDefaults())
	return rec.Position, err
}

// Recover implements [stream.Store]. It reads the topic's messages with
// one batched direct get of up to MaxPerTopic messages.
func (s *Streams) Recover(ctx context.Context, topic string, since stream.Position, lim stream.Limits) (stream.Recovery, error) {
	return s.read(ctx, "stream recover", topic, &since, lim.WithDefaults())
}

// startRun publishes the marker that starts a topic's run (offset 0, never
// delivered), unless another publisher started one first, and returns the
// topic's latest message.
func (s *Streams) startRun(ctx context.Context, st *jsState, topic, subject string) (lastMsg, error) {
	for {
		marker := &pubsub.Message{Topic: topic}
		ack, err := st.js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: envelope.Encode(false, streamNode, marker)},
			jetstream.WithExpectLastSequencePerSubject(0))
		if err == nil {
			return lastMsg{seq: ack.Sequence, run: ack.Sequence}, nil
		}
		if !wrongLast(err) || ctx.Err() != nil {
			return lastMsg{}, err
		}
		last, ok, err := st.last(ctx, subject)
		if err != nil || ok {
			return last, err
		}
	}
}

func wrongLast(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

func (s *Streams) read(ctx context.Context, op, topic string, since *stream.Position, lim stream.Limits) (stream.Recovery, error) {
	st, err := s.ready(op, topic)
	if err != nil {
		return stream.Recovery{}, err
	}
	fail := func(err error) (stream.Recovery, error) {
		return stream.Recovery{}, fmt.Errorf("pubsub/nats: %s %q: %w", op, topic, err)
	}
	subject := s.topicSubject(topic)
	last, ok, err := st.last(ctx, subject)
	if err == nil && !ok {
		last, err = s.startRun(ctx, st, topic, subject)
	}
	if err != nil {
		return fail(err)
	}
	var rec stream.Recovery
	rec.Position = stream.Position{Epoch: st.base + "-" + strconv.FormatUint(last.run, 10), Offset: last.offset}
	if since == nil || since.Epoch != rec.Position.Epoch || since.Offset > last.offset {
		return rec, nil
	}
	from := since.Offset + 1
	if from > last.offset {
		rec.Recovered = true
		return rec, nil
	}
	if last.offset-from+1 > uint64(lim.Size) {
		return rec, nil
	}
	msgs, err := st.batch(ctx, s.name, subject, last.run, s.perTopic+1, from, last.offset, time.Now().Add(-lim.TTL))
	if err != nil {
		return fail(err)
	}
	if msgs != nil {
		rec.Recovered, rec.Messages = true, msgs
	}
	return rec, nil
}

// batch reads the messages of subject from sequence start with one
// batched direct get (NATS 2.11 and later; older servers answer one
// message, and batch goes on one direct get at a time) and returns those
// with offsets from…to, or nil when one of them is missing or older than
// oldest.
func (st *jsState) batch(ctx context.Context, stream, subject string, start uint64, max int, from, to uint64, oldest time.Time) ([]*pubsub.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	api := "$JS.API.DIRECT.GET." + stream
	req, _ := json.Marshal(map[string]any{"seq": start, "next_by_subj": subject, "batch": max})
	inbox := st.nc.NewRespInbox()
	sub, err := st.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := st.nc.PublishRequest(api, inbox, req); err != nil {
		return nil, err
	}
	msgs := make([]*pubsub.Message, 0, to-from+1)
	batched := true
	for {
		var nm *nats.Msg
		if batched {
			nm, err = sub.NextMsgWithContext(ctx)
		} else {
			req, _ := json.Marshal(map[string]any{"seq": start, "next_by_subj": subject})
			nm, err = st.nc.RequestWithContext(ctx, api, req)
		}
		if err != nil {
			return nil, fmt.Errorf("direct get: %w", err)
		}
		switch status := nm.Header.Get("Status"); status {
		case "":
		case "204", "404": // end of batch, or nothing (more)
			if uint64(len(msgs)) != to-from+1 {
				return nil, nil
			}
			return msgs, nil
		default:
			return nil, fmt.Errorf("direct get: status %s %s", status, nm.Header.Get("Description"))
		}
		seq, err := strconv.ParseUint(nm.Header.Get("Nats-Sequence"), 10, 64)
		env, err2 := envelope.Decode(nm.Data)
		if err != nil || err2 != nil {
			return nil, fmt.Errorf("direct get: a message of %s is not a stream message", subject)
		}
		if batched && nm.Header.Get("Nats-Num-Pending") == "" {
			batched = false // a server without batches: one at a time
		}
		start = seq + 1
		m := env.Msg
		if m.Offset >= from && m.Offset <= to {
			if m.Offset != from+uint64(len(msgs)) {
				return nil, nil // a hole
			}
			ts, err := time.Parse(time.RFC3339Nano, nm.Header.Get("Nats-Time-Stamp"))
			if err != nil || ts.Before(oldest) {
				return nil, nil // older than the TTL
			}
			msgs = append(msgs, m)
		}
		if !batched && m.Offset >= to {
			if uint64(len(msgs)) != to-from+1 {
				return nil, nil
			}
			return msgs, nil
		}
	}
}

// Retries counts the publishes that had to read the topic again because
// another publisher got there first.
func (s *Streams) Retries() uint64 { return s.retries.Load() }
