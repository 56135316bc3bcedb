// Package local is what every broker adapter does on its own node:
// subscriptions in a pubsub.Registry, local dispatch, and the argument
// checks that turn the Registry's panics into errors.
package local

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/pubsub/internal/envelope"
	"github.com/suzaku-go/suzaku/telemetry"
)

// Node is one node's subscriptions. Prefix starts its errors
// ("pubsub/redis").
type Node struct {
	Prefix string
	Name   string // this node's name
	Reg    *pubsub.Registry
	Hello  Hello          // duplicate-name detection
	Hook   telemetry.Hook // a KindBroadcast per received broadcast dispatched here; nil costs nothing
}

// Receive decodes an envelope from another node and dispatches its
// message here, unless it is this node's own broadcast or a direct message
// for another node. It reports whether it dispatched, or why data is not
// an envelope. It keeps data.
func (n *Node) Receive(data []byte) (bool, error) {
	env, err := envelope.Decode(data)
	if err != nil {
		return false, err
	}
	mine := string(env.Node) == n.Name
	if env.Only != mine {
		return false, nil // our own broadcast, or for another node only
	}
	if env.Msg.Topic == HelloTopic {
		n.Hello.receive(env.Msg)
		return false, nil
	}
	if n.Hook == nil {
		n.Reg.Dispatch(env.Msg)
		return true, nil
	}
	start := time.Now()
	d := n.Reg.Dispatch(env.Msg)
	n.Hook.Event(telemetry.Event{Kind: telemetry.KindBroadcast, N: d, Duration: time.Since(start)})
	return true, nil
}

// FanOut runs the Registry's fan-out workers ([pubsub.Registry.Serve])
// until ctx is done or stop is called; stop returns once they have ended.
// An adapter's Serve calls it first, so that its local deliveries use
// every core while it runs.
func (n *Node) FanOut(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = n.Reg.Serve(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// Jitter returns d ± 20 %, to spread the reconnects of a cluster.
func Jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
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
