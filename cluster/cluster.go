package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/suzaku-go/suzaku/cache"
	"github.com/suzaku-go/suzaku/presence"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/stream"
	"github.com/suzaku-go/suzaku/telemetry"
)

// DefaultDownPeriod is the presence DownPeriod a [Cluster] gives its
// tracker unless Config.Presence sets one: a node silent this long (killed,
// or cut off from the broker) has its users leave the other nodes' lists.
// Phoenix's 30 s is too slow for a user-facing list; 10 s is well within
// 15 s with the default 1.5 s heartbeat, and still survives a few lost
// heartbeats.
const DefaultDownPeriod = 10 * time.Second

// Restart waits of the parts a Cluster runs: a part that fails is run
// again after firstRestart, doubling up to maxRestart.
const (
	firstRestart = 100 * time.Millisecond
	maxRestart   = 5 * time.Second
)

// Config configures [New]. The zero value is a one-node cluster on an
// in-memory broker.
type Config struct {
	// Broker is the URL of the broker (see [OpenBroker]): "memory" or ""
	// for one node, "redis://HOST:PORT[/DB]" or "nats://HOST:PORT" for
	// several. Every node of a cluster names the same broker. Default
	// "memory".
	Broker string
	// Node names this node, unique among the cluster's live nodes. Default
	// DefaultNode(Addr).
	Node string
	// Addr is the address the server listens on, used only to make the
	// default Node name. Default "" (a name with the process id).
	Addr string
	// Presence configures the cluster's presence tracker; New sets its
	// Broker and Logger. Zero DownPeriod means [DefaultDownPeriod] (10 s).
	// PermdownOnShutdown is forced on unless KeepPresenceOnShutdown is
	// set.
	Presence presence.Config
	// KeepPresenceOnShutdown keeps this node's users in the other nodes'
	// lists for Presence.DownPeriod after a clean shutdown (as if it had
	// crashed), instead of removing them at once. Default false: they
	// leave at once.
	KeepPresenceOnShutdown bool
	// Hook receives the telemetry events of the broker (the fan-out and
	// time of each local delivery; Redis and NATS also their publishes,
	// receives and reconnects) and of presence
	// (its diffs), unless Presence.Hook is set. Nil costs nothing.
	Hook telemetry.Hook
	// Logger receives the broker's connection events and the parts'
	// failures. Nil discards. It must not name the node already: the
	// parts add "node" to their lines, and [Cluster.Logger] gives the app
	// a logger that names it once.
	Logger *slog.Logger
}

// Cluster is what several nodes of one application share: a broker opened
// from a URL, a presence tracker replicated over it, and caches whose
// invalidations travel over it. It is one suzaku.Service: [Cluster.Serve]
// runs the broker's connection, then presence and the caches, and stops
// them in the reverse order, so that the last presence message leaves
// while the broker is still connected. [Cluster.Healthy] is its readiness.
type Cluster struct {
	broker   pubsub.Broker
	kind     string
	node     string
	presence *presence.Tracker
	streams  stream.Store
	serveStr func(context.Context) error // the stream store's service, or nil
	log      *slog.Logger

	mu      sync.Mutex
	caches  []*cache.Memory
	serving bool
	closed  bool
}

// New opens cfg.Broker (without connecting: see [Cluster.Serve]) and
// builds the presence tracker over it.
func New(cfg Config) (*Cluster, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	node := cfg.Node
	if node == "" {
		node = DefaultNode(cfg.Addr)
	}
	broker, kind, err := openBroker(cfg.Broker, node, log, cfg.Hook)
	if err != nil {
		return nil, err
	}
	pcfg := cfg.Presence
	pcfg.Broker = broker
	if pcfg.Logger == nil {
		pcfg.Logger = log
	}
	if pcfg.Hook == nil {
		pcfg.Hook = cfg.Hook
	}
	if pcfg.DownPeriod == 0 {
		pcfg.DownPeriod = DefaultDownPeriod
	}
	pcfg.PermdownOnShutdown = !cfg.KeepPresenceOnShutdown
	tracker, err := presence.New(pcfg)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	streams, serveStr, err := newStreams(broker)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return &Cluster{broker: broker, kind: kind, node: node, presence: tracker, streams: streams, serveStr: serveStr,
		log: log.With(logNode, node)}, nil
}

// logNode is the attribute that names the node in log lines.
const logNode = "node"

// Logger returns Config.Logger with this node's name added once, as
// "node": the logger for the app's own lines (server, sockets, API), so
// that every line a node writes names it exactly once. The broker and the
// presence tracker add the same attribute to theirs, which is why
// Config.Logger must not carry it already.
func (c *Cluster) Logger() *slog.Logger { return c.log }

// Broker returns the broker, for channel.Config.Broker and the like.
func (c *Cluster) Broker() pubsub.Broker { return c.broker }

// Kind returns the kind of broker: [KindMemory], [KindRedis] or [KindNATS].
func (c *Cluster) Kind() string { return c.kind }

// Node returns this node's name.
func (c *Cluster) Node() string { return c.node }

// Presence returns the presence tracker, replicated while Serve runs.
func (c *Cluster) Presence() *presence.Tracker { return c.presence }

// NewCache returns a cache on the cluster's broker (cfg.Broker is set):
// Serve applies the other nodes' invalidations to it, and stops its
// background work when it returns. Add caches before Serve runs.
func (c *Cluster) NewCache(cfg cache.Config) (*cache.Memory, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.serving || c.closed {
		return nil, errors.New("cluster: new cache: Serve has started")
	}
	cfg.Broker = c.broker
	if cfg.Logger == nil {
		cfg.Logger = c.log
	}
	m, err := cache.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	c.caches = append(c.caches, m)
	return m, nil
}

// Healthy reports whether this node works as part of the cluster: nil for
// a memory broker, else the broker's health ([pubsub.Healthy]): an error
// while it is not connected, or while another live node has this node's
// name ([pubsub.ErrDuplicateNode]). A readiness endpoint answers 503 on an
// error. It makes no network call.
func (c *Cluster) Healthy(ctx context.Context) error {
	return pubsub.Healthy(ctx, c.broker)
}

// Serve runs the cluster until ctx is done: the broker's connection (for
// a network broker), then presence replication and the caches'
// invalidations. A part that fails is run again with backoff, and logged
// once per failure streak. When ctx is done, Serve stops presence and the
// caches first (presence tells the other nodes that this node's users
// left, see Config.KeepPresenceOnShutdown), then the broker, then calls
// [Cluster.Close], and returns nil. It runs once: a
// Cluster's presence cannot serve twice.
func (c *Cluster) Serve(ctx context.Context) error {
	c.mu.Lock()
	if c.serving {
		c.mu.Unlock()
		return errors.New("cluster: serve: already serving")
	}
	c.serving = true
	caches := c.caches
	c.mu.Unlock()

	brokerCtx, stopBroker := context.WithCancel(context.WithoutCancel(ctx))
	var brokerDone sync.WaitGroup
	if svc, ok := c.broker.(interface{ Serve(context.Context) error }); ok {
		brokerDone.Go(func() { c.supervise(brokerCtx, "broker", svc.Serve) })
	}
	var parts sync.WaitGroup
	parts.Go(func() { c.supervise(ctx, "presence", c.presence.Serve) })
	if c.serveStr != nil {
		parts.Go(func() { c.supervise(ctx, "streams", c.serveStr) })
	}
	for _, m := range caches {
		parts.Go(func() { c.supervise(ctx, "cache "+m.Name(), m.Serve) })
	}
	<-ctx.Done()
	parts.Wait()
	stopBroker()
	brokerDone.Wait()
	return c.Close()
}

// Close stops the caches' background work (their expiry). Serve calls it
// when it returns; call it yourself if Serve never ran. It is idempotent.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var err error
	for _, m := range c.caches {
		err = errors.Join(err, m.Close())
	}
	return err
}

// supervise runs serve until ctx is done, again after each failure.
func (c *Cluster) supervise(ctx context.Context, name string, serve func(context.Context) error) {
	wait := firstRestart
	failing := false
	for {
		err := serve(ctx)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("returned early")
		}
		if !failing {
			c.log.Error("cluster: part failed; restarting with backoff", "part", name, "err", err)
			failing = true
		} else {
			c.log.Debug("cluster: part failed again", "part", name, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, maxRestart)
	}
}
