package redis

import (
	"github.com/suzaku-go/suzaku/pubsub/internal/local"

	"github.com/suzaku-go/suzaku/pubsub/internal/envelope"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/telemetry"
)

// Defaults of [Config].
const (
	DefaultAddr          = "127.0.0.1:6379"
	DefaultChannel       = "suzaku"
	DefaultReconnectWait = 5 * time.Second
)

// firstReconnectWait is the first wait after a connection is lost or fails;
// waits double from there up to Config.ReconnectWait.
const firstReconnectWait = 100 * time.Millisecond

// Log attribute keys.
const (
	logNode    = "node"
	logChannel = "channel"
	logWait    = "retry_in"
	logErr     = "err"
)

// ErrNotConnected is returned, wrapped, by Broadcast and DirectBroadcast
// to another node while [Broker.Serve] is not subscribed to the cluster
// channel. The message is dropped (at most once, as Phoenix).
var ErrNotConnected = errors.New("pubsub/redis: not connected")

// Config configures [New]. Node is required; every other field has a
// default.
type Config struct {
	// Node is this node's name, unique in the cluster: other nodes send
	// it messages with DirectBroadcast(Node), and it drops its own
	// broadcasts when Redis echoes them. Two live nodes with one name
	// lose each other's broadcasts. Required.
	Node string
	// Addr is the Redis server, host:port, used when ClientOption is nil
	// or has no InitAddress. Default DefaultAddr (127.0.0.1:6379).
	Addr string
	// ClientOption configures the Redis client (TLS, AUTH, Sentinel,
	// timeouts); it is copied by New. Nil means
	// rueidis.ClientOption{InitAddress: []string{Addr}, DisableCache: true}.
	// An empty InitAddress is set to Addr. The broker needs no client-side
	// caching: set DisableCache unless the server supports RESP3 tracking.
	// Sentinel and Cluster deployments work as rueidis supports them
	// (Redis Cluster propagates PUBLISH to every node); the tests cover a
	// standalone server only.
	ClientOption *rueidis.ClientOption
	// Channel is the Redis pub/sub channel of the cluster; nodes on
	// different channels do not hear each other, so one Redis server can
	// serve several clusters (or tests). Default DefaultChannel ("suzaku").
	Channel string
	// ReconnectWait is the longest wait between two connection attempts.
	// Waits start at 100 ms (or ReconnectWait if smaller), double after
	// each failure and vary by ±20 %; they start over once a subscription
	// succeeds. Zero means DefaultReconnectWait (5 s); negative is an error.
	ReconnectWait time.Duration
	// Logger receives connection events: connected at Info, lost or failed
	// at Warn, malformed messages at Debug. Nil discards.
	Logger *slog.Logger
	// Hook receives the broker's telemetry events (package telemetry):
	// each publish with its round trip, each message received from the
	// other nodes, each local broadcast with its fan-out, the connection
	// lost and back. Nil costs nothing.
	Hook telemetry.Hook
}

// Broker is a [pubsub.Broker] over Redis pub/sub. Its methods are safe for
// concurrent use; [Broker.Serve] runs its connection.
type Broker struct {
	node     string
	channel  string
	opt      rueidis.ClientOption
	maxWait  time.Duration
	log      *slog.Logger
	hook     telemetry.Hook
	reg      *pubsub.Registry
	local    local.Node
	conn     atomic.Pointer[client] // set while subscribed
	serving  atomic.Bool
	received atomic.Uint64
	invalid  atomic.Uint64
	sent     atomic.Uint64
	connects atomic.Uint64
	failures atomic.Uint64
	unsent   atomic.Uint64
}

// client boxes the interface for atomic.Pointer.
type client struct{ rueidis.Client }

var (
	_ pubsub.Broker  = (*Broker)(nil)
	_ pubsub.Checker = (*Broker)(nil)
)

// New returns a broker for cfg. It checks cfg and starts nothing: no
// connection is made until [Broker.Serve] runs.
func New(cfg Config) (*Broker, error) {
	if cfg.Node == "" {
		return nil, errors.New("pubsub/redis: new: Config.Node is empty")
	}
	if cfg.ReconnectWait < 0 {
		return nil, fmt.Errorf("pubsub/redis: new: negative ReconnectWait %v", cfg.ReconnectWait)
	}
	addr := cfg.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	opt := rueidis.ClientOption{DisableCache: true}
	if cfg.ClientOption != nil {
		opt = *cfg.ClientOption
	}
	if len(opt.InitAddress) == 0 {
		opt.InitAddress = []string{addr}
	}
	channel := cfg.Channel
	if channel == "" {
		channel = DefaultChannel
	}
	maxWait := cfg.ReconnectWait
	if maxWait == 0 {
		maxWait = DefaultReconnectWait
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Broker{
		node:    cfg.Node,
		channel: channel,
		opt:     opt,
		maxWait: maxWait,
		log:     log.With(logNode, cfg.Node, logChannel, channel),
		hook:    cfg.Hook,
		reg:     pubsub.NewRegistry(0),
	}
	b.local = local.Node{Prefix: "pubsub/redis", Name: cfg.Node, Reg: b.reg, Hook: cfg.Hook}
	b.local.Hello.Log = b.log
	return b, nil
}

// Node returns Config.Node.
func (b *Broker) Node() string { return b.node }

// Channel returns the Redis channel of the cluster, Config.Channel or
// DefaultChannel.
func (b *Broker) Channel() string { return b.channel }

// Subscribe adds s to topic's local subscribers. It makes no network call:
// the node's one subscription to the cluster channel brings every topic,
// so s gets the broadcasts sent after Subscribe returns, from any node,
// while Serve is connected, and local broadcasts at once. It fails if ctx
// is already done, or if s is nil or of a type that is not comparable.
func (b *Broker) Subscribe(ctx context.Context, topic string, s pubsub.Subscriber) error {
	return b.local.Subscribe(ctx, topic, s)
}

// Unsubscribe removes s from topic's local subscribers. It ignores ctx and
// never fails; when it returns, s gets no more messages of topic.
func (b *Broker) Unsubscribe(_ context.Context, topic string, s pubsub.Subscriber) error {
	b.local.Unsubscribe(topic, s)
	return nil
}

// Broadcast publishes m to the other nodes, then delivers it to this
// node's subscribers of m.Topic except m.From. It waits for Redis to
// accept the message (one round trip; concurrent broadcasts share it,
// pipelined); ctx bounds the wait.
//
// While Serve is not connected, local delivery goes on: m is delivered
// here, the other nodes miss it (at most once, as Phoenix: there is no
// retry), [Stats].Unsent counts it, and Broadcast returns nil; the outage
// shows in [Broker.Healthy] and in one log line per outage, not one per
// message. If the publish itself fails, nothing is delivered, here or
// elsewhere, and the error says why.
func (b *Broker) Broadcast(ctx context.Context, m *pubsub.Message) error {
	if err := b.publish(ctx, "broadcast", false, b.node, m); err != nil {
		if !errors.Is(err, ErrNotConnected) {
			return err
		}
		b.unsent.Add(1)
	}
	if b.hook == nil {
		b.reg.Dispatch(m)
		return nil
	}
	start := time.Now()
	n := b.reg.Dispatch(m)
	b.hook.Event(telemetry.Event{Kind: telemetry.KindBroadcast, N: n, Duration: time.Since(start)})
	return nil
}

// LocalBroadcast delivers m to this node's subscribers of m.Topic except
// m.From, on the calling goroutine. It needs no connection and fails only
// if ctx is already done or m is nil.
func (b *Broker) LocalBroadcast(ctx context.Context, m *pubsub.Message) error {
	return b.local.LocalBroadcast(ctx, m)
}

// DirectBroadcast delivers m to the subscribers of m.Topic on node. To
// this node it is LocalBroadcast; to another it publishes m for that node
// only, as Broadcast does. A node that does not exist gets nothing, and
// the call returns nil: the broker does not track membership.
func (b *Broker) DirectBroadcast(ctx context.Context, node string, m *pubsub.Message) error {
	if node == b.node {
		return b.LocalBroadcast(ctx, m)
	}
	return b.publish(ctx, fmt.Sprintf("direct broadcast to %q", node), true, node, m)
}

// publish sends m's envelope on the cluster channel.
func (b *Broker) publish(ctx context.Context, op string, only bool, node string, m *pubsub.Message) error {
	if err := b.local.Check(ctx, op, m); err != nil {
		return err
	}
	c := b.conn.Load()
	if c == nil {
		return fmt.Errorf("pubsub/redis: %s %q: %w", op, m.Topic, ErrNotConnected)
	}
	data := envelope.Encode(only, node, m)
	cmd := c.B().Publish().Channel(b.channel).Message(rueidis.BinaryString(data)).Build()
	var start time.Time
	if b.hook != nil {
		start = time.Now()
	}
	err := c.Do(ctx, cmd).Error()
	if b.hook != nil && m.Topic != local.HelloTopic {
		b.hook.Event(telemetry.Event{Kind: telemetry.KindBrokerPublish, Duration: time.Since(start), Err: err})
	}
	if err != nil {
		return fmt.Errorf("pubsub/redis: %s %q: %w", op, m.Topic, err)
	}
	if m.Topic != local.HelloTopic {
		b.sent.Add(1)
	}
	return nil
}

// Serve connects to Redis, subscribes to the cluster channel and
// dispatches the other nodes' messages to local subscribers until ctx is
// done; then it closes the connection and returns nil. A lost or failed
// connection is retried with backoff (see Config.ReconnectWait), so Serve
// returns an error only when it is already running. A connection attempt
// in progress when ctx ends runs to its end (the dial timeout of
// Config.ClientOption, 5 s by default) before Serve returns. It is a
// suzaku.Service; Broadcast and DirectBroadcast to other nodes work while
// it is subscribed ([Stats].Connected).
//
// Messages are dispatched on the Redis client's read goroutine, one at a
// time: a slow Subscriber.Deliver delays every topic of the node.
func (b *Broker) Serve(ctx context.Context) error {
	if ctx.Err() != nil {
		return nil
	}
	if !b.serving.CompareAndSwap(false, true) {
		return errors.New("pubsub/redis: serve: already serving")
	}
	defer b.serving.Store(false)
	defer b.local.FanOut(ctx)() // large local broadcasts on every core
	first := min(firstReconnectWait, b.maxWait)
	wait := first
	logged := false // this outage's warning
	for {
		subscribed, err := b.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if subscribed {
			wait = first
			logged = false
			if b.hook != nil {
				b.hook.Event(telemetry.Event{Kind: telemetry.KindBrokerDown, Err: err})
			}
		}
		b.failures.Add(1)
		d := local.Jitter(wait)
		if !logged {
			b.log.Warn("redis pubsub: connection lost or failed; reconnecting with backoff (logged once per outage)", logErr, err, logWait, d)
			logged = true
		} else {
			b.log.Debug("redis pubsub: reconnect failed", logErr, err, logWait, d)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		wait = min(2*wait, b.maxWait)
	}
}

// session runs one connection: it connects, subscribes, publishes the
// client for broadcasts while subscribed, and returns when the connection
// is lost (with the error) or ctx is done (nil). subscribed reports
// whether it got as far as subscribing.
func (b *Broker) session(ctx context.Context) (subscribed bool, err error) {
	c, err := rueidis.NewClient(b.opt)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	dc, _ := c.Dedicate()
	defer dc.Close() // closes the pub/sub connection, then releases it

	confirmed := make(chan struct{})
	var once sync.Once
	lost := dc.SetPubSubHooks(rueidis.PubSubHooks{
		OnMessage: b.receive,
		OnSubscription: func(s rueidis.PubSubSubscription) {
			if s.Kind == "subscribe" && s.Channel == b.channel {
				once.Do(func() { close(confirmed) })
			}
		},
	})
	if err := dc.Do(ctx, dc.B().Subscribe().Channel(b.channel).Build()).Error(); err != nil {
		return false, fmt.Errorf("subscribe: %w", err)
	}
	select {
	case <-confirmed:
	case err := <-lost:
		return false, fmt.Errorf("subscribe: %w", connErr(err))
	case <-ctx.Done():
		return false, nil
	}

	b.conn.Store(&client{c})
	defer b.conn.Store(nil)
	if b.connects.Add(1) > 1 && b.hook != nil {
		b.hook.Event(telemetry.Event{Kind: telemetry.KindBrokerReconnect})
	}
	b.log.Info("redis pubsub: subscribed")
	hello := time.NewTicker(local.HelloPeriod)
	defer hello.Stop()
	for {
		b.hello(ctx)
		select {
		case err := <-lost:
			return true, connErr(err)
		case <-ctx.Done():
			return true, nil
		case <-hello.C:
		}
	}
}

// hello says hello to this node's name, for duplicate detection.
func (b *Broker) hello(ctx context.Context) {
	hctx, cancel := context.WithTimeout(ctx, local.HelloPeriod)
	defer cancel()
	if err := b.publish(hctx, "hello", true, b.node, b.local.Hello.Message()); err != nil && ctx.Err() == nil {
		b.log.Debug("redis pubsub: hello", logErr, err)
	}
}

// connErr is the error of a lost pub/sub connection, which rueidis may
// report by closing the channel without one.
func connErr(err error) error {
	if err == nil {
		return errors.New("connection closed")
	}
	return err
}

// receive dispatches a message from the cluster channel, unless it is this
// node's own broadcast or a direct message to another node.
func (b *Broker) receive(rm rueidis.PubSubMessage) {
	ok, err := b.local.Receive([]byte(rm.Message))
	if err != nil {
		b.invalid.Add(1)
		b.log.Debug("redis pubsub: dropped a message", logErr, err)
		return
	}
	if ok {
		b.received.Add(1)
		if b.hook != nil {
			b.hook.Event(telemetry.Event{Kind: telemetry.KindBrokerReceive})
		}
	}
}

// Stats is a snapshot of a [Broker]'s state and counters.
type Stats struct {
	// Stats counts the local subscription table and local dispatches.
	pubsub.Stats
	// Connected is true while Serve is subscribed to the cluster channel,
	// when broadcasts to other nodes can be sent and received.
	Connected bool
	// Connects counts the subscriptions Serve has made since New: more
	// than one means it reconnected.
	Connects uint64
	// Sent counts the messages published to other nodes (Broadcast,
	// DirectBroadcast to another node).
	Sent uint64
	// Received counts the messages from other nodes dispatched here.
	Received uint64
	// Invalid counts the messages on the channel that did not decode, and
	// were dropped.
	Invalid uint64
	// Failures counts the connections that failed or were lost.
	Failures uint64
	// Unsent counts the broadcasts delivered on this node only, because
	// Serve was not connected.
	Unsent uint64
}

// Stats returns the broker's state and counters.
// LocalSubscribers returns the number of topic's subscribers on this
// node (see [pubsub.LocalCounter]).
func (b *Broker) LocalSubscribers(topic string) int { return b.reg.Count(topic) }

func (b *Broker) Stats() Stats {
	return Stats{
		Stats:     b.reg.Stats(),
		Connected: b.conn.Load() != nil,
		Connects:  b.connects.Load(),
		Sent:      b.sent.Load(),
		Received:  b.received.Load(),
		Invalid:   b.invalid.Load(),
		Failures:  b.failures.Load(),
		Unsent:    b.unsent.Load(),
	}
}

// Connects implements [pubsub.Reconnecter]: it counts the subscriptions
// Serve has made since New ([Stats].Connects).
func (b *Broker) Connects() uint64 { return b.connects.Load() }

var _ pubsub.Reconnecter = (*Broker)(nil)
var _ pubsub.Pinger = (*Broker)(nil)

// Ping sends PING to Redis and returns how long the answer took: the
// round trip to the broker ([pubsub.Pinger]).
func (b *Broker) Ping(ctx context.Context) (time.Duration, error) {
	c := b.conn.Load()
	if c == nil {
		return 0, fmt.Errorf("pubsub/redis: ping: node %q: %w", b.node, ErrNotConnected)
	}
	start := time.Now()
	if err := c.Do(ctx, c.B().Ping().Build()).Error(); err != nil {
		return 0, fmt.Errorf("pubsub/redis: ping: %w", err)
	}
	return time.Since(start), nil
}

// Healthy returns nil while Serve is subscribed to the cluster channel
// and no other node has this node's name; else an error wrapping
// [ErrNotConnected] or [pubsub.ErrDuplicateNode]. A duplicate is detected
// within about 5 s (each connected node says hello to its own name every
// 5 s) and reported for 15 s after its last hello. It makes no network
// call.
func (b *Broker) Healthy(context.Context) error {
	if b.conn.Load() == nil {
		return fmt.Errorf("node %q: %w", b.node, ErrNotConnected)
	}
	if b.local.Hello.Duplicate() {
		return fmt.Errorf("pubsub/redis: node %q: %w", b.node, pubsub.ErrDuplicateNode)
	}
	return nil
}
