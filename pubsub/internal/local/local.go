// Package local is what every broker adapter does on its own node:
// subscriptions in a pubsub.Registry, local dispatch, and the argument
// checks that turn the Registry's panics into errors.
package local

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/suzaku-go/suzaku/pubsub"
)

// Node is one node's subscriptions. Prefix starts its errors
// ("pubsub/redis").
type Node struct {
	Prefix string
	Reg    *pubsub.Registry
}

// Subscribe adds s to topic, or says why it cannot: ctx is done, or s is
// nil or not comparable.
func (n *Node) Subscribe(ctx context.Context, topic string, s pubsub.Subscriber) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: subscribe %q: %w", n.Prefix, topic, err)
	}
	if err := checkSubscriber(s); err != nil {
		return fmt.Errorf("%s: subscribe %q: %w", n.Prefix, topic, err)
	}
	n.Reg.Subscribe(topic, s)
	return nil
}

// Unsubscribe removes s from topic; it never fails.
func (n *Node) Unsubscribe(topic string, s pubsub.Subscriber) { n.Reg.Unsubscribe(topic, s) }

// LocalBroadcast delivers m to this node's subscribers of m.Topic but
// m.From, on the calling goroutine.
func (n *Node) LocalBroadcast(ctx context.Context, m *pubsub.Message) error {
	if err := n.Check(ctx, "local broadcast", m); err != nil {
		return err
	}
	n.Reg.Dispatch(m)
	return nil
}

// ErrNilMessage is wrapped by the error for a nil message.
var ErrNilMessage = errors.New("nil message")

// Check says why op cannot send m: m is nil or ctx is done.
func (n *Node) Check(ctx context.Context, op string, m *pubsub.Message) error {
	if m == nil {
		return fmt.Errorf("%s: %s: %w", n.Prefix, op, ErrNilMessage)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %s %q: %w", n.Prefix, op, m.Topic, err)
	}
	return nil
}

// checkSubscriber reports why s cannot be subscribed: pubsub.Registry
// panics on these, as programming errors; a Broker returns an error.
func checkSubscriber(s pubsub.Subscriber) error {
	if s == nil {
		return errors.New("nil subscriber")
	}
	if t := reflect.TypeOf(s); !t.Comparable() {
		return fmt.Errorf("subscriber type %v is not comparable; use a pointer", t)
	}
	return nil
}
