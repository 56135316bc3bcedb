package presence_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/presence"
	"github.com/suzaku-go/suzaku/pubsub"
)

// testNet connects in-test brokers, one per node, the way a network
// adapter would, but hostile: every message between nodes is delivered
// asynchronously, by a goroutine of the receiving node; messages from
// different nodes are interleaved at random; with shuffle, so are the
// messages of one sender; with drop, some are lost; a cut node neither
// sends nor receives. Local dispatch (LocalBroadcast, and Broadcast's
// local part) is synchronous, as in pubsub.Memory.
type testNet struct {
	mu      sync.Mutex
	rng     *rand.Rand
	nodes   map[string]*netNode
	drop    float64
	shuffle bool
	cut     map[string]bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

type envelope struct {
	from string
	m    *pubsub.Message
}

// netNode is one node's broker.
type netNode struct {
	net   *testNet
	name  string
	reg   pubsub.Registry
	queue []envelope // guarded by net.mu
	ready chan struct{}
}

var _ pubsub.Broker = (*netNode)(nil)

func newTestNet(seed uint64, drop float64, shuffle bool) *testNet {
	return &testNet{
		rng:     rand.New(rand.NewPCG(seed, 99)),
		nodes:   map[string]*netNode{},
		drop:    drop,
		shuffle: shuffle,
		cut:     map[string]bool{},
		stop:    make(chan struct{}),
	}
}

// node returns the broker of node name, starting it if needed.
func (n *testNet) node(name string) *netNode {
	n.mu.Lock()
	defer n.mu.Unlock()
	if nn := n.nodes[name]; nn != nil {
		return nn
	}
	nn := &netNode{net: n, name: name, ready: make(chan struct{}, 1)}
	n.nodes[name] = nn
	n.wg.Go(nn.pump)
	return nn
}

func (n *testNet) close() {
	close(n.stop)
	n.wg.Wait()
}

// setCut cuts a node off the network, or heals it.
func (n *testNet) setCut(name string, cut bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut[name] = cut
}

func (n *testNet) send(from, to string, m *pubsub.Message) {
	cp := &pubsub.Message{Topic: m.Topic, Event: m.Event, Payload: bytes.Clone(m.Payload), Binary: m.Binary}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cut[from] || n.cut[to] || n.rng.Float64() < n.drop {
		return
	}
	dst := n.nodes[to]
	dst.queue = append(dst.queue, envelope{from, cp})
	select {
	case dst.ready <- struct{}{}:
	default:
	}
}

// next takes the next message for nn: the oldest of a random sender, or,
// with shuffle, any.
func (nn *netNode) next() (*pubsub.Message, bool) {
	n := nn.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(nn.queue) == 0 {
		return nil, false
	}
	i := 0
	if n.shuffle {
		i = n.rng.IntN(len(nn.queue))
	} else {
		var senders []string
		for _, e := range nn.queue {
			if !slices.Contains(senders, e.from) {
				senders = append(senders, e.from)
			}
		}
		from := senders[n.rng.IntN(len(senders))]
		i = slices.IndexFunc(nn.queue, func(e envelope) bool { return e.from == from })
	}
	m := nn.queue[i].m
	nn.queue = slices.Delete(nn.queue, i, i+1)
	return m, true
}

func (nn *netNode) pump() {
	for {
		select {
		case <-nn.net.stop:
			return
		case <-nn.ready:
		}
		for {
			m, ok := nn.next()
			if !ok {
				break
			}
			nn.reg.Dispatch(m)
		}
	}
}

func (nn *netNode) Node() string { return nn.name }

func (nn *netNode) Subscribe(_ context.Context, topic string, s pubsub.Subscriber) error {
	nn.reg.Subscribe(topic, s)
	return nil
}

func (nn *netNode) Unsubscribe(_ context.Context, topic string, s pubsub.Subscriber) error {
	nn.reg.Unsubscribe(topic, s)
	return nil
}

func (nn *netNode) Broadcast(_ context.Context, m *pubsub.Message) error {
	nn.net.mu.Lock()
	others := slices.Sorted(maps.Keys(nn.net.nodes))
	nn.net.mu.Unlock()
	for _, to := range others {
		if to != nn.name {
			nn.net.send(nn.name, to, m)
		}
	}
	nn.reg.Dispatch(m)
	return nil
}

func (nn *netNode) LocalBroadcast(_ context.Context, m *pubsub.Message) error {
	nn.reg.Dispatch(m)
	return nil
}

func (nn *netNode) DirectBroadcast(_ context.Context, node string, m *pubsub.Message) error {
	nn.net.mu.Lock()
	_, ok := nn.net.nodes[node]
	nn.net.mu.Unlock()
	if !ok {
		return pubsub.ErrUnknownNode
	}
	nn.net.send(nn.name, node, m)
	return nil
}

// cluster runs one Tracker per node on a testNet, each with a recorder
// playing a client subscribed to every topic, and keeps the model: what
// every node's presences are.
type cluster struct {
	t      *testing.T
	net    *testNet
	cfg    presence.Config
	topics []string
	nodes  map[string]*clusterNode
}

type clusterNode struct {
	tr     *presence.Tracker
	rec    *recorder
	cancel context.CancelFunc
	done   chan struct{}
	owners []*owner // live owners
	// tracked is what this node's tracker holds: topic → key → ref → meta.
	tracked map[string]view
	// byOwner maps each presence to its owner, to untrack it.
	byOwner map[string]*owner // ref → owner
	where   map[string][2]string
}

// newCluster must run in a synctest bubble: its goroutines and timers
// live there.
func newCluster(t *testing.T, net *testNet, cfg presence.Config, topics []string, names ...string) *cluster {
	c := &cluster{t: t, net: net, cfg: cfg, topics: topics, nodes: map[string]*clusterNode{}}
	t.Cleanup(func() {
		for _, name := range slices.Sorted(maps.Keys(c.nodes)) {
			c.stop(name)
		}
		net.close()
	})
	for _, name := range names {
		c.start(name)
	}
	return c
}

// start starts a new Tracker on node name, with a new client.
func (c *cluster) start(name string) {
	b := c.net.node(name)
	if old := c.nodes[name]; old != nil {
		for _, topic := range c.topics {
			_ = b.Unsubscribe(context.Background(), topic, old.rec)
		}
	}
	cfg := c.cfg
	cfg.Broker = b
	tr, err := presence.New(cfg)
	testutil.Success(c.t, err)
	n := &clusterNode{tr: tr, rec: newRecorder(), done: make(chan struct{}), tracked: map[string]view{},
		byOwner: map[string]*owner{}, where: map[string][2]string{}}
	for _, topic := range c.topics {
		testutil.Success(c.t, b.Subscribe(context.Background(), topic, n.rec))
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go func() {
		defer close(n.done)
		if err := tr.Serve(ctx); err != nil {
			c.t.Errorf("Serve on %s: %v", name, err)
		}
	}()
	c.nodes[name] = n
}

// stop stops node name's Serve; its presences stay in the model until
// the node is replaced.
func (c *cluster) stop(name string) {
	n := c.nodes[name]
	if n.cancel != nil {
		n.cancel()
		<-n.done
		n.cancel = nil
	}
}

// restart replaces node name's Tracker by a new one (a new replica of the
// same node), without its presences.
func (c *cluster) restart(name string) {
	c.stop(name)
	c.start(name)
}

// track tracks a presence on node name, by a new owner or a live one.
func (c *cluster) track(rng *rand.Rand, name string) {
	n := c.nodes[name]
	topic := c.topics[rng.IntN(len(c.topics))]
	key := fmt.Sprint("user", rng.IntN(5))
	var o *owner
	if len(n.owners) == 0 || rng.IntN(3) == 0 {
		o = newOwner(topic)
		n.owners = append(n.owners, o)
	} else {
		o = n.owners[rng.IntN(len(n.owners))]
	}
	ref, err := n.tr.TrackTopic(context.Background(), o, topic, key, map[string]any{"node": name, "n": rng.IntN(1000)})
	if errors.Is(err, presence.ErrAlreadyTracked) {
		return
	}
	testutil.Success(c.t, err)
	c.added(n, o, topic, key, ref)
}

func (c *cluster) added(n *clusterNode, o *owner, topic, key, ref string) {
	p, _ := n.tr.Get(topic, key)
	for _, meta := range p.Metas {
		if meta["phx_ref"] == ref {
			if n.tracked[topic] == nil {
				n.tracked[topic] = view{}
			}
			n.tracked[topic].add(key, meta)
		}
	}
	n.byOwner[ref] = o
	n.where[ref] = [2]string{topic, key}
}

func (c *cluster) removed(n *clusterNode, ref string) {
	w := n.where[ref]
	n.tracked[w[0]].remove(w[1], map[string]any{"phx_ref": ref})
	delete(n.byOwner, ref)
	delete(n.where, ref)
}

// someRef returns one of node name's refs, or "".
func (c *cluster) someRef(rng *rand.Rand, name string) string {
	refs := slices.Sorted(maps.Keys(c.nodes[name].byOwner))
	if len(refs) == 0 {
		return ""
	}
	return refs[rng.IntN(len(refs))]
}

func (c *cluster) untrack(rng *rand.Rand, name string) {
	n := c.nodes[name]
	ref := c.someRef(rng, name)
	if ref == "" {
		return
	}
	w := n.where[ref]
	testutil.Success(c.t, n.tr.Untrack(context.Background(), n.byOwner[ref], w[0], w[1]))
	c.removed(n, ref)
}

func (c *cluster) update(rng *rand.Rand, name string) {
	n := c.nodes[name]
	ref := c.someRef(rng, name)
	if ref == "" {
		return
	}
	w, o := n.where[ref], n.byOwner[ref]
	newRef, err := n.tr.Update(context.Background(), o, w[0], w[1], map[string]any{"node": name, "updated": rng.IntN(1000)})
	testutil.Success(c.t, err)
	c.removed(n, ref)
	c.added(n, o, w[0], w[1], newRef)
}

// exit ends one of node name's owners.
func (c *cluster) exit(rng *rand.Rand, name string) {
	n := c.nodes[name]
	if len(n.owners) == 0 {
		return
	}
	i := rng.IntN(len(n.owners))
	o := n.owners[i]
	n.owners = slices.Delete(n.owners, i, i+1)
	o.exit()
	for ref, ow := range n.byOwner {
		if ow == o {
			c.removed(n, ref)
		}
	}
}

// randomOp changes something on a random node.
func (c *cluster) randomOp(rng *rand.Rand, names []string) {
	name := names[rng.IntN(len(names))]
	switch op := rng.IntN(10); {
	case op < 4:
		c.track(rng, name)
	case op < 6:
		c.update(rng, name)
	case op < 8:
		c.untrack(rng, name)
	default:
		c.exit(rng, name)
	}
}

// want returns what a node that sees the nodes in from should list.
func (c *cluster) want(topic string, from ...string) view {
	v := view{}
	for _, name := range from {
		for key, metas := range c.nodes[name].tracked[topic] {
			if v[key] == nil {
				v[key] = map[string]string{}
			}
			maps.Copy(v[key], metas)
		}
	}
	for key := range v {
		if len(v[key]) == 0 {
			delete(v, key)
		}
	}
	return v
}

// check returns an error unless node name, and its client, see exactly the
// presences of the nodes in sees.
func (c *cluster) check(name string, sees ...string) error {
	n := c.nodes[name]
	for _, topic := range c.topics {
		want := c.want(topic, sees...)
		if got := viewOf(n.tr.List(topic)); got.String() != want.String() {
			return fmt.Errorf("%s List(%s):\n%s\nwant:\n%s", name, topic, got, want)
		}
		if err := n.rec.check(topic, want); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// converge lets fake time pass, a broadcast period at a time, until every
// node in names sees exactly the presences of the nodes in names, or
// rounds periods have passed.
func (c *cluster) converge(rounds int, names ...string) {
	c.t.Helper()
	var err error
	for range rounds {
		time.Sleep(cmp.Or(c.cfg.BroadcastPeriod, presence.DefaultBroadcastPeriod))
		synctest.Wait()
		err = nil
		for _, name := range names {
			if err = c.check(name, names...); err != nil {
				break
			}
		}
		if err == nil {
			return
		}
	}
	c.t.Fatalf("no convergence after %d periods: %v", rounds, err)
}

var clusterTopics = []string{"room:0", "room:1", "room:2"}

// TestPresenceClusterConvergence runs random changes on every node of a
// cluster whose network delays, interleaves, reorders and loses messages,
// then checks that every node lists the union of all nodes' presences, and
// that the diffs each node broadcast, applied strictly in order, give the
// same. A property test: fixed seeds, thousands of operations.
func TestPresenceClusterConvergence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		nodes   int
		ops     int
		drop    float64
		shuffle bool
		chaos   bool // cut and heal a node, restart nodes, pause for seconds
		seed    uint64
	}{
		{name: "two nodes", nodes: 2, ops: 300, seed: 1},
		{name: "three nodes", nodes: 3, ops: 600, seed: 2},
		{name: "three nodes reordered", nodes: 3, ops: 600, shuffle: true, seed: 3},
		{name: "three nodes lossy", nodes: 3, ops: 600, drop: 0.3, seed: 4},
		{name: "five nodes lossy reordered", nodes: 5, ops: 3000, drop: 0.2, shuffle: true, seed: 5},
		{name: "four nodes chaos", nodes: 4, ops: 3000, drop: 0.1, shuffle: true, chaos: true, seed: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(tt.seed, 1))
				var names []string
				for i := range tt.nodes {
					names = append(names, fmt.Sprint("node", i))
				}
				// A short DownPeriod makes idle nodes heartbeat every
				// second, and lost heartbeats sometimes mark a node
				// down, which must converge too.
				cfg := presence.Config{BroadcastPeriod: 100 * time.Millisecond, DownPeriod: 2 * time.Second, PermdownPeriod: 5 * time.Second}
				net := newTestNet(tt.seed, tt.drop, tt.shuffle)
				c := newCluster(t, net, cfg, clusterTopics, names...)
				for i := range tt.ops {
					c.randomOp(rng, names)
					if tt.chaos {
						switch rng.IntN(300) {
						case 0:
							net.setCut(names[0], true)
						case 1, 2, 3:
							net.setCut(names[0], false)
						case 4:
							c.restart(names[rng.IntN(len(names))])
						case 5: // long enough for downs and permdowns
							time.Sleep(time.Duration(rng.IntN(8000)) * time.Millisecond)
						}
					}
					if rng.IntN(4) == 0 { // let some ticks pass now and then
						time.Sleep(time.Duration(rng.IntN(150)) * time.Millisecond)
					}
					if i%500 == 499 { // converge midway too, not only at the end
						net.setCut(names[0], false)
						c.converge(200, names...)
					}
				}
				net.setCut(names[0], false)
				c.converge(200, names...)
				for _, name := range names {
					st := c.nodes[name].tr.Stats()
					testutil.Equal(t, name+" invalid messages", st.Invalid, uint64(0))
					testutil.Equal(t, name+" peers", st.Peers, tt.nodes-1)
				}
			})
		})
	}
}

// TestPresenceClusterDownUp cuts a node off: after DownPeriod, the others
// report its presences as leaves and it reports theirs; when it comes
// back, everyone's presences join again, including the changes made
// meanwhile; after PermdownPeriod, a node's presences are deleted.
func TestPresenceClusterDownUp(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 7))
		names := []string{"a", "b", "c"}
		cfg := presence.Config{} // Phoenix's periods: 1.5 s, 30 s, 20 min
		net := newTestNet(7, 0, false)
		c := newCluster(t, net, cfg, clusterTopics, names...)
		for range 40 {
			c.track(rng, names[rng.IntN(3)])
		}
		c.converge(20, names...)
		before := c.nodes["a"].tr.Stats().Presences

		net.setCut("c", true)
		time.Sleep(presence.DefaultDownPeriod - 2*presence.DefaultBroadcastPeriod)
		synctest.Wait()
		testutil.Success(t, c.check("a", names...)) // not yet down

		time.Sleep(3 * presence.DefaultBroadcastPeriod)
		synctest.Wait()
		testutil.Success(t, c.check("a", "a", "b"))
		testutil.Success(t, c.check("b", "a", "b"))
		testutil.Success(t, c.check("c", "c"))
		st := c.nodes["a"].tr.Stats()
		testutil.Equal(t, "a's peers down", st.PeersDown, 1)
		testutil.Equal(t, "a keeps c's presences", st.Presences, before)

		// Changes on both sides while cut.
		for range 10 {
			c.randomOp(rng, []string{"a", "c"})
		}
		net.setCut("c", false)
		c.converge(20, names...)
		testutil.Equal(t, "a's peers down after", c.nodes["a"].tr.Stats().PeersDown, 0)

		// Permanently down: a deletes c's presences.
		net.setCut("c", true)
		time.Sleep(presence.DefaultPermdownPeriod + 2*presence.DefaultBroadcastPeriod)
		synctest.Wait()
		st = c.nodes["a"].tr.Stats()
		testutil.Equal(t, "a's peers after permdown", st.Peers, 1)
		testutil.Success(t, c.check("a", "a", "b"))
		var onAB int
		for _, topic := range clusterTopics {
			for _, metas := range c.want(topic, "a", "b") {
				onAB += len(metas)
			}
		}
		testutil.Equal(t, "a's presences after permdown", st.Presences, onAB)

		// c comes back: a new peer to the others, and they to it.
		net.setCut("c", false)
		c.converge(20, names...)
	})
}

// TestPresenceClusterRestart replaces a node's Tracker: its new replica's
// first heartbeat makes the others drop the old one's presences at once,
// long before DownPeriod.
func TestPresenceClusterRestart(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(8, 8))
		names := []string{"a", "b", "c"}
		cfg := presence.Config{}
		c := newCluster(t, newTestNet(8, 0, true), cfg, clusterTopics, names...)
		for range 30 {
			c.track(rng, names[rng.IntN(3)])
		}
		c.converge(20, names...)

		c.restart("c")
		for range 5 {
			c.track(rng, "c")
		}
		c.converge(5, names...) // 7.5 s: well within DownPeriod
		testutil.Equal(t, "a's peers", c.nodes["a"].tr.Stats().Peers, 2)
	})
}

// TestPresenceClusterGracefulPermdown stops a node with
// PermdownOnShutdown: the others drop its presences at once.
func TestPresenceClusterGracefulPermdown(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 9))
		names := []string{"a", "b"}
		cfg := presence.Config{PermdownOnShutdown: true}
		c := newCluster(t, newTestNet(9, 0, false), cfg, clusterTopics, names...)
		for range 20 {
			c.track(rng, names[rng.IntN(2)])
		}
		c.converge(20, names...)
		c.stop("b")
		synctest.Wait()
		testutil.Success(t, c.check("a", "a"))
		testutil.Equal(t, "a's peers", c.nodes["a"].tr.Stats().Peers, 0)
		// The others ignore b's replica now: it may not serve again.
		testutil.Error(t, c.nodes["b"].tr.Serve(context.Background()))
	})
}

// TestPresenceClusterLateJoiner starts a node after the others have state:
// it gets the state by transfer, and reports it as joins.
func TestPresenceClusterLateJoiner(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(10, 10))
		cfg := presence.Config{BroadcastPeriod: 50 * time.Millisecond}
		c := newCluster(t, newTestNet(10, 0, false), cfg, clusterTopics, "a", "b")
		for range 200 {
			c.randomOp(rng, []string{"a", "b"})
		}
		c.converge(20, "a", "b")
		c.start("c")
		c.converge(20, "a", "b", "c")
		testutil.Equal(t, "transfers", c.nodes["a"].tr.Stats().Transfers+c.nodes["b"].tr.Stats().Transfers > 0, true)
	})
}

// TestPresenceServeTwice checks that a Tracker serves once at a time, and
// may serve again after.
func TestPresenceServeTwice(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		tr, err := presence.New(presence.Config{Broker: pubsub.NewMemory(pubsub.MemoryConfig{})})
		testutil.Success(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- tr.Serve(ctx) }()
		synctest.Wait()
		testutil.Error(t, tr.Serve(ctx))
		cancel()
		testutil.Success(t, <-done)
		ctx, cancel = context.WithCancel(context.Background())
		go func() { done <- tr.Serve(ctx) }()
		time.Sleep(time.Minute)
		cancel()
		testutil.Success(t, <-done)
	})
}

// TestPresenceBadMessages sends garbage on the replication topic: it is
// counted and dropped, and the Tracker goes on.
func TestPresenceBadMessages(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := pubsub.NewMemory(pubsub.MemoryConfig{})
		tr, err := presence.New(presence.Config{Broker: b})
		testutil.Success(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- tr.Serve(ctx) }()
		synctest.Wait()
		topic := "phx_presence:" + presence.DefaultName + "_shard0"
		for _, m := range []struct{ event, payload string }{
			{"heartbeat", `{`},
			{"heartbeat", `{"v":1,"replicas":[{"node":"x","vsn":1}]}`}, // no clock
			{"transfer_ack", `{"v":1,"replicas":[{"node":"x","vsn":1}]}`},
			{"nonsense", `{"v":1,"replicas":[{"node":"x","vsn":1}]}`},
		} {
			testutil.Success(t, b.Broadcast(ctx, &pubsub.Message{Topic: topic, Event: m.event, Payload: []byte(m.payload)}))
		}
		synctest.Wait()
		testutil.Equal(t, "invalid", tr.Stats().Invalid, uint64(4))
		cancel()
		testutil.Success(t, <-done)
	})
}
