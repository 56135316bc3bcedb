package nats

import (
	"github.com/suzaku-go/suzaku/pubsub/internal/local"

	"github.com/suzaku-go/suzaku/pubsub/internal/envelope"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/telemetry"
)

// Defaults of [Config].
const (
	DefaultURL           = nats.DefaultURL // nats://127.0.0.1:4222
	DefaultPrefix        = "suzaku"
	DefaultReconnectWait = 5 * time.Second
	DefaultReceiveBuffer = 16384
)

const (
	// firstReconnectWait is the first wait after a connection is lost or
	// fails; waits double from there up to Config.ReconnectWait.
	firstReconnectWait = 100 * time.Millisecond
	// flushTimeout bounds the round trip that confirms the subscriptions
	// after a (re)connection; on timeout it is tried again.
	flushTimeout = 5 * time.Second
)

// Log attribute keys.
const (
	logNode   = "node"
	logPrefix = "prefix"
	logErr    = "err"
)

// ErrNotConnected is returned, wrapped, by Broadcast and DirectBroadcast
// to another node while [Broker.Serve] is not connected and subscribed.
// The message is dropped (at most once, as Phoenix).
var ErrNotConnected = errors.New("pubsub/nats: not connected")

// Config configures [New]. Node is required; every other field has a
// default.
type Config struct {
	// Node is this node's name, unique in the cluster: other nodes send
	// it messages with DirectBroadcast(Node), on a subject of its own.
	// Any string will do; it is escaped into one subject token (see the
	// package doc). Required.
	Node string
	// URL is the NATS server, or a comma-separated list of servers, that
	// Serve connects to when Conn is nil. Default DefaultURL
	// (nats://127.0.0.1:4222), or Options.Url/Servers when set.
	URL string
	// Options configures the connection Serve opens when Conn is nil
	// (credentials, TLS, ping interval); it is copied by New. Nil means
	// nats.GetDefaultOptions(). Serve overrides the fields its semantics
	// need: AllowReconnect, MaxReconnect (-1: forever), RetryOnFailedConnect,
	// CustomReconnectDelayCB (Config.ReconnectWait), ReconnectBufSize (-1:
	// publishing while disconnected fails instead of buffering) and NoEcho.
	// Name defaults to "suzaku <Node>", and AsyncErrorCB (slow consumers)
	// to a warning on Logger.
	Options *nats.Options
	// Conn is an existing connection to use instead of opening one. Serve
	// subscribes on it and unsubscribes when it returns, but neither opens
	// nor closes it, and its owner's reconnect settings apply: with a
	// ReconnectBufSize other than -1, a broadcast sent in the instant
	// before the broker notices a disconnection is buffered and sent
	// after the reconnection rather than failing. URL and Options must
	// be unset. Default nil.
	Conn *nats.Conn
	// Prefix starts every subject of the cluster (see the package doc);
	// nodes with different prefixes do not hear each other. It is one or
	// more dot-separated tokens without wildcards. Default DefaultPrefix
	// ("suzaku").
	Prefix string
	// ReconnectWait is the longest wait between two connection attempts
	// when Serve owns the connection. Waits start at 100 ms (or
	// ReconnectWait if smaller), double after each round of failures and
	// vary by ±20 %. Zero means DefaultReconnectWait (5 s); negative is an
	// error.
	ReconnectWait time.Duration
	// ReceiveBuffer is how many received messages may wait for dispatch.
	// When it is full, nats.go drops further messages (a slow consumer,
	// counted in [Stats].Dropped). Zero means DefaultReceiveBuffer
	// (16384); negative is an error.
	ReceiveBuffer int
	// Logger receives connection events: connected at Info, lost at Warn,
	// malformed messages at Debug. Nil discards.
	Logger *slog.Logger
	// Hook receives the broker's telemetry events (package telemetry):
	// each publish, each message received from the other nodes, each local
	// broadcast with its fan-out, the connection lost and back. Nil costs
	// nothing.
	Hook telemetry.Hook
}

// Broker is a [pubsub.Broker] over NATS core pub/sub. Its methods are safe
// for concurrent use; [Broker.Serve] runs its subscriptions.
type Broker struct {
	node       string
	allSubject string // Broadcast publishes here
	nodePrefix string // + subjectToken(node): DirectBroadcast to node
	ownSubject string // nodePrefix + subjectToken(b.node)
	conn       *nats.Conn
	opts       nats.Options
	bufSize    int
	log        *slog.Logger
	hook       telemetry.Hook
	reg        *pubsub.Registry
	local      local.Node

	ready    atomic.Pointer[nats.Conn] // set while connected and subscribed
	serving  atomic.Bool
	subs     atomic.Pointer[[2]*nats.Subscription]
	received atomic.Uint64
	invalid  atomic.Uint64
	sent     atomic.Uint64
	connects atomic.Uint64
	dropped  atomic.Uint64 // by the subscriptions of ended Serve runs
	unsent   atomic.Uint64
}

var (
	_ pubsub.Broker  = (*Broker)(nil)
	_ pubsub.Checker = (*Broker)(nil)
)

// New returns a broker for cfg. It checks cfg and starts nothing: no
// connection is made or used until [Broker.Serve] runs.
func New(cfg Config) (*Broker, error) {
	if cfg.Node == "" {
		return nil, errors.New("pubsub/nats: new: Config.Node is empty")
	}
	if cfg.ReconnectWait < 0 {
		return nil, fmt.Errorf("pubsub/nats: new: negative ReconnectWait %v", cfg.ReconnectWait)
	}
	if cfg.ReceiveBuffer < 0 {
		return nil, fmt.Errorf("pubsub/nats: new: negative ReceiveBuffer %d", cfg.ReceiveBuffer)
	}
	if cfg.Conn != nil && (cfg.URL != "" || cfg.Options != nil) {
		return nil, errors.New("pubsub/nats: new: Config.Conn is set with URL or Options")
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, fmt.Errorf("pubsub/nats: new: %w", err)
	}
	maxWait := cfg.ReconnectWait
	if maxWait == 0 {
		maxWait = DefaultReconnectWait
	}
	bufSize := cfg.ReceiveBuffer
	if bufSize == 0 {
		bufSize = DefaultReceiveBuffer
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Broker{
		node:       cfg.Node,
		allSubject: prefix + allToken,
		nodePrefix: prefix + nodeToken,
		ownSubject: prefix + nodeToken + subjectToken(cfg.Node),
		conn:       cfg.Conn,
		bufSize:    bufSize,
		log:        log.With(logNode, cfg.Node, logPrefix, prefix),
		hook:       cfg.Hook,
		reg:        pubsub.NewRegistry(0),
	}
	b.local = local.Node{Prefix: "pubsub/nats", Name: cfg.Node, Reg: b.reg, Hook: cfg.Hook}
	b.local.Hello.Log = b.log
	if cfg.Conn == nil {
		b.opts = nats.GetDefaultOptions()
		if cfg.Options != nil {
			b.opts = *cfg.Options
		}
		if cfg.URL != "" {
			b.opts.Url, b.opts.Servers = "", nil
			for u := range strings.SplitSeq(cfg.URL, ",") {
				if u = strings.TrimSpace(u); u != "" {
					b.opts.Servers = append(b.opts.Servers, u)
				}
			}
		}
		if b.opts.Url == "" && len(b.opts.Servers) == 0 {
			b.opts.Url = DefaultURL
		}
		if b.opts.Name == "" {
			b.opts.Name = "suzaku " + cfg.Node
		}
		if b.opts.AsyncErrorCB == nil { // nats.go's default prints to stderr
			b.opts.AsyncErrorCB = func(_ *nats.Conn, sub *nats.Subscription, err error) {
				subject := ""
				if sub != nil {
					subject = sub.Subject
				}
				b.log.Warn("nats pubsub: asynchronous error", "subject", subject, logErr, err)
			}
		}
		first := min(firstReconnectWait, maxWait)
		b.opts.AllowReconnect = true
		b.opts.MaxReconnect = -1
		b.opts.RetryOnFailedConnect = true
		b.opts.ReconnectBufSize = -1
		b.opts.NoEcho = true
		b.opts.CustomReconnectDelayCB = func(attempts int) time.Duration {
			d := first
			for i := 1; i < attempts && d < maxWait; i++ {
				d *= 2
			}
			return local.Jitter(min(d, maxWait))
		}
	}
	return b, nil
}

// Node returns Config.Node.
func (b *Broker) Node() string { return b.node }

// Subscribe adds s to topic's local subscribers. It makes no network call:
// the node's subscriptions bring every topic, so s gets the broadcasts
// sent after Subscribe returns, from any node, while Serve is connected,
// and local broadcasts at once. It fails if ctx is already done, or if s
// is nil or of a type that is not comparable.
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
// node's subscribers of m.Topic except m.From. Publishing queues m in the
// connection's write buffer, which nats.go flushes in the background; it
// does not wait for the server. ctx is only checked before publishing.
//
// While Serve is not connected, local delivery goes on: m is delivered
// here, the other nodes miss it (at most once, as Phoenix: there is no
// retry), [Stats].Unsent counts it, and Broadcast returns nil; the outage
// shows in [Broker.Healthy] and in one log line per outage. If publishing
// fails otherwise (nats.ErrMaxPayload, the server's limit, 1 MiB by
// default), nothing is delivered and the error says why.
func (b *Broker) Broadcast(ctx context.Context, m *pubsub.Message) error {
	if err := b.publish(ctx, "broadcast", b.allSubject, false, b.node, m); err != nil {
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
// this node it is LocalBroadcast; to another it publishes m on that node's
// subject, as Broadcast does. A node that does not exist gets nothing, and
// the call returns nil: the broker does not track membership.
func (b *Broker) DirectBroadcast(ctx context.Context, node string, m *pubsub.Message) error {
	if node == b.node {
		return b.LocalBroadcast(ctx, m)
	}
	op := fmt.Sprintf("direct broadcast to %q", node)
	return b.publish(ctx, op, b.nodePrefix+subjectToken(node), true, node, m)
}

// publish sends m's envelope on subject.
func (b *Broker) publish(ctx context.Context, op, subject string, only bool, node string, m *pubsub.Message) error {
	if err := b.local.Check(ctx, op, m); err != nil {
		return err
	}
	nc := b.ready.Load()
	if nc == nil {
		return fmt.Errorf("pubsub/nats: %s %q: %w", op, m.Topic, ErrNotConnected)
	}
	err := nc.Publish(subject, envelope.Encode(only, node, m))
	if b.hook != nil && m.Topic != local.HelloTopic {
		b.hook.Event(telemetry.Event{Kind: telemetry.KindBrokerPublish, Err: err})
	}
	if err != nil {
		if errors.Is(err, nats.ErrReconnectBufExceeded) {
			err = fmt.Errorf("%w (%w)", ErrNotConnected, err)
		}
		return fmt.Errorf("pubsub/nats: %s %q: %w", op, m.Topic, err)
	}
	if m.Topic != local.HelloTopic {
		b.sent.Add(1)
	}
	return nil
}

// Serve connects to NATS (or uses Config.Conn), subscribes to the
// cluster's subject and to this node's, and dispatches the other nodes'
// messages to local subscribers until ctx is done; then it unsubscribes,
// closes the connection it opened, and returns nil. It is a
// suzaku.Service; Broadcast and DirectBroadcast to other nodes work while
// it is connected ([Stats].Connected).
//
// A connection Serve opens reconnects by itself, with backoff (see
// Config.ReconnectWait), and resubscribes; after each (re)connection,
// Serve confirms the subscriptions with a round trip to the server before
// it counts as connected, so that a message published from then on, by
// any node, reaches this one. Serve returns an error if it is already
// running, if the connection cannot be set up, or if the connection is
// closed for good (by its owner, or by nats.go after repeated
// authorization failures): the supervisor then restarts it.
//
// Messages are dispatched on Serve's goroutine, one at a time, in the
// order the connection received them: a slow Subscriber.Deliver delays
// every topic of the node, and then nats.go drops messages beyond
// Config.ReceiveBuffer.
func (b *Broker) Serve(ctx context.Context) error {
	if ctx.Err() != nil {
		return nil
	}
	if !b.serving.CompareAndSwap(false, true) {
		return errors.New("pubsub/nats: serve: already serving")
	}
	defer b.serving.Store(false)
	defer b.local.FanOut(ctx)() // large local broadcasts on every core

	nc := b.conn
	if nc == nil {
		var err error
		if nc, err = b.opts.Connect(); err != nil {
			return fmt.Errorf("pubsub/nats: serve: connect: %w", err)
		}
		defer nc.Close()
	}
	status := nc.StatusChanged(nats.CONNECTED, nats.DISCONNECTED, nats.RECONNECTING, nats.CLOSED)
	defer nc.RemoveStatusListener(status)

	msgs := make(chan *nats.Msg, b.bufSize)
	all, err := nc.ChanSubscribe(b.allSubject, msgs)
	if err != nil {
		return fmt.Errorf("pubsub/nats: serve: subscribe %q: %w", b.allSubject, err)
	}
	own, err := nc.ChanSubscribe(b.ownSubject, msgs)
	if err != nil {
		_ = all.Unsubscribe()
		return fmt.Errorf("pubsub/nats: serve: subscribe %q: %w", b.ownSubject, err)
	}
	b.subs.Store(&[2]*nats.Subscription{all, own})
	defer func() {
		b.ready.Store(nil)
		b.dropped.Add(subsDropped(b.subs.Swap(nil)))
		_ = all.Unsubscribe()
		_ = own.Unsubscribe()
	}()

	// retry is set when a confirmation round trip failed on a live
	// connection, to try it again.
	var retry <-chan time.Time
	refresh := func() {
		retry = nil
		if !nc.IsConnected() {
			if b.ready.Swap(nil) != nil {
				b.log.Warn("nats pubsub: disconnected")
				b.emitDown()
			}
			return
		}
		if b.ready.Load() != nil {
			return
		}
		fctx, cancel := context.WithTimeout(ctx, flushTimeout)
		err := nc.FlushWithContext(fctx)
		cancel()
		switch {
		case err == nil:
			b.ready.Store(nc)
			if b.connects.Add(1) > 1 && b.hook != nil {
				b.hook.Event(telemetry.Event{Kind: telemetry.KindBrokerReconnect})
			}
			b.log.Info("nats pubsub: subscribed", "server", nc.ConnectedUrlRedacted())
			b.hello(ctx)
		case ctx.Err() == nil:
			b.log.Warn("nats pubsub: confirming subscriptions", logErr, err)
			retry = time.After(local.Jitter(firstReconnectWait))
		}
	}
	refresh()
	hello := time.NewTicker(local.HelloPeriod)
	defer hello.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hello.C:
			if b.ready.Load() != nil {
				b.hello(ctx)
			}
		case m := <-msgs:
			b.receive(m)
		case st := <-status:
			if nc.IsClosed() {
				return errors.New("pubsub/nats: serve: connection closed")
			}
			if st != nats.CONNECTED && b.ready.Swap(nil) != nil {
				// Even if it has reconnected since: confirm again.
				b.log.Warn("nats pubsub: disconnected")
				b.emitDown()
			}
			refresh()
		case <-retry:
			refresh()
		}
	}
}

// hello says hello to this node's name, for duplicate detection.
func (b *Broker) hello(ctx context.Context) {
	err := b.publish(ctx, "hello", b.ownSubject, true, b.node, b.local.Hello.Message())
	if err != nil && ctx.Err() == nil {
		b.log.Debug("nats pubsub: hello", logErr, err)
	}
}

// subsDropped returns the messages the subscriptions dropped.
func subsDropped(subs *[2]*nats.Subscription) uint64 {
	if subs == nil {
		return 0
	}
	var n uint64
	for _, s := range subs {
		if d, err := s.Dropped(); err == nil && d > 0 {
			n += uint64(d)
		}
	}
	return n
}

// receive dispatches a message from the cluster's or this node's subject,
// unless it is this node's own broadcast or a direct message to another
// node.
func (b *Broker) receive(nm *nats.Msg) {
	ok, err := b.local.Receive(nm.Data)
	if err != nil {
		b.invalid.Add(1)
		b.log.Debug("nats pubsub: dropped a message", "subject", nm.Subject, logErr, err)
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
	// Connected is true while Serve is connected and its subscriptions
	// are confirmed, when broadcasts to other nodes can be sent and
	// received.
	Connected bool
	// Connects counts the times Serve became connected since New: more
	// than one means it reconnected.
	Connects uint64
	// Sent counts the messages published to other nodes (Broadcast,
	// DirectBroadcast to another node).
	Sent uint64
	// Received counts the messages from other nodes dispatched here.
	Received uint64
	// Invalid counts the messages on the broker's subjects that did not
	// decode, and were dropped.
	Invalid uint64
	// Dropped counts the messages nats.go dropped because the receive
	// buffer was full (Config.ReceiveBuffer).
	Dropped uint64
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
		Connected: b.ready.Load() != nil,
		Connects:  b.connects.Load(),
		Sent:      b.sent.Load(),
		Received:  b.received.Load(),
		Invalid:   b.invalid.Load(),
		Dropped:   b.dropped.Load() + subsDropped(b.subs.Load()),
		Unsent:    b.unsent.Load(),
	}
}

// Connects implements [pubsub.Reconnecter]: it counts the subscriptions
// Serve has made since New ([Stats].Connects).
func (b *Broker) Connects() uint64 { return b.connects.Load() }

var _ pubsub.Reconnecter = (*Broker)(nil)
var _ pubsub.Pinger = (*Broker)(nil)

// Ping flushes the connection to the NATS server (a PING answered by a
// PONG) and returns how long that took: the round trip to the broker
// ([pubsub.Pinger]). Without a deadline in ctx it waits at most 5 s.
func (b *Broker) Ping(ctx context.Context) (time.Duration, error) {
	nc := b.ready.Load()
	if nc == nil {
		return 0, fmt.Errorf("pubsub/nats: ping: node %q: %w", b.node, ErrNotConnected)
	}
	if _, ok := ctx.Deadline(); !ok { // the client's flush needs one
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	start := time.Now()
	if err := nc.FlushWithContext(ctx); err != nil {
		return 0, fmt.Errorf("pubsub/nats: ping: %w", err)
	}
	return time.Since(start), nil
}

// Healthy returns nil while Serve is connected with its subscriptions
// confirmed and no other node has this node's name; else an error
// wrapping [ErrNotConnected] or [pubsub.ErrDuplicateNode]. A duplicate is
// detected within about 5 s (each connected node says hello to its own
// name every 5 s) and reported for 15 s after its last hello. It makes no
// network call.
func (b *Broker) Healthy(context.Context) error {
	if b.ready.Load() == nil {
		return fmt.Errorf("node %q: %w", b.node, ErrNotConnected)
	}
	if b.local.Hello.Duplicate() {
		return fmt.Errorf("pubsub/nats: node %q: %w", b.node, pubsub.ErrDuplicateNode)
	}
	return nil
}

func (b *Broker) emitDown() {
	if b.hook != nil {
		b.hook.Event(telemetry.Event{Kind: telemetry.KindBrokerDown})
	}
}
