package stream

import (
	"context"
	"errors"
	"time"

	"github.com/suzaku-go/suzaku/pubsub"
)

// Defaults of [Limits].
const (
	DefaultSize = 100
	DefaultTTL  = 5 * time.Minute
)

// Limits bound the history of one stream topic.
type Limits struct {
	// Size is the number of recent messages kept per topic. Zero means
	// DefaultSize (100).
	Size int
	// TTL is how long a message is kept. Zero means DefaultTTL (5 min).
	TTL time.Duration
}

// WithDefaults returns l with its zero fields set to the defaults.
func (l Limits) WithDefaults() Limits {
	if l.Size <= 0 {
		l.Size = DefaultSize
	}
	if l.TTL <= 0 {
		l.TTL = DefaultTTL
	}
	return l
}

// Position is a place in a topic's history: the offset of a message (or 0,
// before the first) within an epoch.
type Position struct {
	Epoch  string
	Offset uint64
}

// Recovery is the answer of [Store.Recover].
type Recovery struct {
	// Position is the topic's latest position when the history was read.
	Position Position
	// Recovered is true when Messages hold every message after the
	// position asked for, up to Position.Offset, in offset order.
	Recovered bool
	// Messages are the messages after the position asked for, each with
	// its Offset set; nil unless Recovered. They must be treated as
	// read-only: a store may share them between callers.
	Messages []*pubsub.Message
}

// Store keeps the history of stream topics. Its methods are safe for
// concurrent use.
type Store interface {
	// Publish assigns m the next offset of m.Topic (setting m.Offset and
	// m.Epoch),
	// stores it within lim and delivers it to the subscribers of m.Topic on
	// every node the store serves, in offset order: a subscriber receives
	// the messages of a topic in the order of their offsets. m.From is
	// ignored: a stream message reaches every subscriber, so that each
	// one's history has no holes. It returns the message's position.
	Publish(ctx context.Context, m *pubsub.Message, lim Limits) (Position, error)
	// Position returns the topic's latest position: its epoch and the
	// offset of its latest message (0 when none).
	Position(ctx context.Context, topic string) (Position, error)
	// Recover returns the messages of topic after since, when the history
	// still holds every one of them in since's epoch, within lim.TTL;
	// otherwise Recovered is false and Position is where to start afresh.
	Recover(ctx context.Context, topic string, since Position, lim Limits) (Recovery, error)
}

// ErrNotStream is returned for a stream operation on a topic that is not a
// stream.
var ErrNotStream = errors.New("stream: not a stream topic")
