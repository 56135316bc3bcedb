package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/pubsub/internal/envelope"
	"github.com/suzaku-go/suzaku/stream"
)

// DefaultMetaTTL is the default of StreamConfig.MetaTTL.
const DefaultMetaTTL = 24 * time.Hour

// streamNode is the sender named in the envelope of a stream message: no
// node has this name, so every node, the publisher's included, delivers
// it when it comes back from Redis. That is what keeps delivery in offset
// order: a node never delivers its own stream messages ahead of others'.
const streamNode = "\x00stream"

// StreamConfig configures [Streams].
type StreamConfig struct {
	// Prefix starts the two keys of each topic: PREFIX{TOPIC}:m, a hash
	// with the epoch and the last offset, and PREFIX{TOPIC}:h, a Redis
	// stream with the history (one slot per topic on Redis Cluster). Zero
	// means the broker's channel + ":stream:" ("suzaku:stream:" by
	// default), so that clusters on one Redis keep apart.
	Prefix string
	// MetaTTL is how long a topic's epoch and counter outlive its last
	// publish or join. After that, the topic starts again at offset 1 in a
	// new epoch (clients get recovered false). Zero means DefaultMetaTTL
	// (24 h).
	MetaTTL time.Duration
}

// Streams is a [stream.Store] in Redis, for every node of a cluster on the
// same Redis and cluster channel as its [Broker]. One Lua script per
// publish increments the topic's offset, appends the message to the
// history (XADD, trimmed to Limits.Size, the key expiring Limits.TTL after
// the last publish) and PUBLISHes it on the cluster channel, atomically:
// every node receives the stream messages of a topic in offset order, on
// the one subscription its Broker already has.
//
// The epoch is a random string stored with the counter and created with
// it: when Redis loses the keys (a restart without persistence, a flush,
// eviction, MetaTTL), the next publish or join creates a new epoch, and
// clients of the old one get recovered false.
//
// Live delivery is as reliable as the Broker's: a node whose subscription
// is lost for a moment misses messages, which its stream channels notice
// as a hole in the offsets; they end with phx_error, and phoenix.js
// rejoins and recovers them from the history.
type Streams struct {
	b       *Broker
	prefix  string
	metaTTL time.Duration
}

var _ stream.Store = (*Streams)(nil)

// NewStreams returns the stream store of b's cluster. It starts nothing;
// it works while b's Serve is connected.
func NewStreams(b *Broker, cfg StreamConfig) (*Streams, error) {
	if b == nil {
		return nil, errors.New("pubsub/redis: new streams: nil Broker")
	}
	if cfg.MetaTTL < 0 {
		return nil, fmt.Errorf("pubsub/redis: new streams: negative MetaTTL %v", cfg.MetaTTL)
	}
	s := &Streams{b: b, prefix: cfg.Prefix, metaTTL: cfg.MetaTTL}
	if s.prefix == "" {
		s.prefix = b.channel + ":stream:"
	}
	if s.metaTTL == 0 {
		s.metaTTL = DefaultMetaTTL
	}
	return s, nil
}

func (s *Streams) keys(topic string) []string {
	k := s.prefix + "{" + topic + "}"
	return []string{k + ":m", k + ":h"}
}

func newEpoch() string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return hex.EncodeToString(r[:])
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// The epoch is created with the counter (HSETNX); a new one empties the
// history, whose ids are the offsets.
const luaNewEpoch = `
local function ensure(meta, hist, epoch, ttl)
  if redis.call('HSETNX', meta, 'epoch', epoch) == 1 then
    redis.call('HSET', meta, 'offset', 0)
    redis.call('DEL', hist)
  end
  redis.call('PEXPIRE', meta, ttl)
end
`

// KEYS: meta, hist. ARGV: channel, envelope head, envelope tail, size,
// history ttl ms, meta ttl ms, new epoch.
var publishScript = rueidis.NewLuaScript(luaNewEpoch + `
ensure(KEYS[1], KEYS[2], ARGV[7], ARGV[6])
local off = redis.call('HINCRBY', KEYS[1], 'offset', 1)
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local s = string.format('%d', off)
local env = ARGV[2] .. string.char(#s) .. s .. string.char(#epoch) .. epoch .. ARGV[3]
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[4], s .. '-0', 't', string.format('%d', now), 'm', env)
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PUBLISH', ARGV[1], env)
return {epoch, off}
`)

// KEYS: meta, hist. ARGV: new epoch, meta ttl ms, epoch asked for (or
// ""), first offset wanted, max count.
var recoverScript = rueidis.NewLuaScript(luaNewEpoch + `
ensure(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
local m = redis.call('HMGET', KEYS[1], 'epoch', 'offset')
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local entries = {}
if ARGV[3] ~= '' and ARGV[3] == m[1] and tonumber(ARGV[4]) <= tonumber(m[2]) then
  entries = redis.call('XRANGE', KEYS[2], ARGV[4] .. '-0', '+', 'COUNT', ARGV[5])
end
return {m[1], tonumber(m[2]), now, entries}
`)

func (s *Streams) client(op, topic string) (rueidis.Client, error) {
	c := s.b.conn.Load()
	if c == nil {
		return nil, fmt.Errorf("pubsub/redis: %s %q: %w", op, topic, ErrNotConnected)
	}
	return c.Client, nil
}

// Publish implements [stream.Store]: one round trip, the Lua script.
func (s *Streams) Publish(ctx context.Context, m *pubsub.Message, lim stream.Limits) (stream.Position, error) {
	if m == nil {
		return stream.Position{}, errors.New("pubsub/redis: stream publish: nil message")
	}
	c, err := s.client("stream publish", m.Topic)
	if err != nil {
		return stream.Position{}, err
	}
	lim = lim.WithDefaults()
	m.From = nil
	head, tail := envelope.Split(streamNode, m)
	res, err := publishScript.Exec(ctx, c, s.keys(m.Topic), []string{
		s.b.channel, string(head), string(tail), strconv.Itoa(lim.Size), ms(lim.TTL), ms(s.metaTTL), newEpoch(),
	}).ToArray()
	if err != nil || len(res) != 2 {
		return stream.Position{}, fmt.Errorf("pubsub/redis: stream publish %q: %w", m.Topic, errOr(err, "bad reply"))
	}
	epoch, err1 := res[0].ToString()
	off, err2 := res[1].AsInt64()
	if err := errors.Join(err1, err2); err != nil || off <= 0 {
		return stream.Position{}, fmt.Errorf("pubsub/redis: stream publish %q: %w", m.Topic, errOr(err, "bad offset"))
	}
	m.Offset, m.Epoch = uint64(off), epoch
	s.b.sent.Add(1)
	return stream.Position{Epoch: epoch, Offset: uint64(off)}, nil
}

// Position implements [stream.Store]. It creates the topic's epoch if
// there is none yet, so that a client that joins before the first message
// keeps its position.
func (s *Streams) Position(ctx context.Context, topic string) (stream.Position, error) {
	rec, err := s.read(ctx, "stream position", topic, stream.Position{}, false, stream.Limits{}.WithDefaults())
	return rec.Position, err
}

// Recover implements [stream.Store]: one round trip, a Lua script that
// reads the counter and the history after since.
func (s *Streams) Recover(ctx context.Context, topic string, since stream.Position, lim stream.Limits) (stream.Recovery, error) {
	return s.read(ctx, "stream recover", topic, since, true, lim.WithDefaults())
}

func (s *Streams) read(ctx context.Context, op, topic string, since stream.Position, recovering bool, lim stream.Limits) (stream.Recovery, error) {
	c, err := s.client(op, topic)
	if err != nil {
		return stream.Recovery{}, err
	}
	epoch := ""
	if recovering {
		epoch = since.Epoch
	}
	res, err := recoverScript.Exec(ctx, c, s.keys(topic), []string{
		newEpoch(), ms(s.metaTTL), epoch, strconv.FormatUint(since.Offset+1, 10), strconv.Itoa(lim.Size),
	}).ToArray()
	if err != nil || len(res) != 4 {
		return stream.Recovery{}, fmt.Errorf("pubsub/redis: %s %q: %w", op, topic, errOr(err, "bad reply"))
	}
	var rec stream.Recovery
	cur, err1 := res[0].ToString()
	last, err2 := res[1].AsInt64()
	now, err3 := res[2].AsInt64()
	entries, err4 := res[3].AsXRange()
	if err := errors.Join(err1, err2, err3, err4); err != nil || last < 0 {
		return stream.Recovery{}, fmt.Errorf("pubsub/redis: %s %q: %w", op, topic, errOr(err, "bad offset"))
	}
	rec.Position = stream.Position{Epoch: cur, Offset: uint64(last)}
	if !recovering || since.Epoch != cur || since.Offset > rec.Position.Offset {
		return rec, nil
	}
	want := rec.Position.Offset - since.Offset
	if uint64(len(entries)) != want {
		return rec, nil // trimmed, or expired with its key
	}
	msgs := make([]*pubsub.Message, 0, len(entries))
	oldest := now - lim.TTL.Milliseconds()
	for i, e := range entries {
		t, err := strconv.ParseInt(e.FieldValues["t"], 10, 64)
		if err != nil || t <= oldest {
			return rec, nil // older than the TTL
		}
		env, err := envelope.Decode([]byte(e.FieldValues["m"]))
		if err != nil || env.Msg.Offset != since.Offset+1+uint64(i) || env.Msg.Topic != topic {
			return stream.Recovery{}, fmt.Errorf("pubsub/redis: %s %q: history entry %s: malformed", op, topic, e.ID)
		}
		msgs = append(msgs, env.Msg)
	}
	rec.Recovered, rec.Messages = true, msgs
	return rec, nil
}

func errOr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}
