package pubsub

import (
	"context"
	"errors"
	"time"
)

// ErrDuplicateNode is returned, wrapped, by a network broker's Healthy
// method while another live node of the cluster has this node's name:
// the two lose each other's broadcasts and direct messages. Rename one.
var ErrDuplicateNode = errors.New("pubsub: another node has this node's name")

// Checker is implemented by brokers that can tell whether they work
// across nodes (the Redis and NATS adapters).
type Checker interface {
	// Healthy returns nil while the broker reaches the other nodes, or
	// an error saying why not (not connected, duplicate node name). It
	// makes no network call and returns at once; ctx is for brokers that
	// must ask.
	Healthy(ctx context.Context) error
}

// Pinger is implemented by brokers that can measure a round trip to their
// server (the Redis and NATS adapters): live views show it, while
// [Checker.Healthy] stays free of network calls.
type Pinger interface {
	// Ping sends one request to the broker's server and waits for its
	// answer, within ctx. It returns the time that took, or why it
	// failed (not connected, ctx done, the server's error).
	Ping(ctx context.Context) (time.Duration, error)
}

// Healthy returns b's health if b is a [Checker], else nil: a broker that
// serves one process ([Memory]) is always healthy.
func Healthy(ctx context.Context, b Broker) error {
	if c, ok := b.(Checker); ok {
		return c.Healthy(ctx)
	}
	return nil
}

// Reconnecter is implemented by brokers that can lose the other nodes'
// messages while they are disconnected (the Redis and NATS adapters), so
// that what keeps state in step through broadcasts (cache invalidations)
// knows when to start over.
type Reconnecter interface {
	// Connects counts the times the broker has connected (and
	// subscribed) to the other nodes since it was made. When it changes,
	// messages sent in between may have been missed.
	Connects() uint64
}
