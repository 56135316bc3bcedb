package presence

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/suzaku-go/suzaku/pubsub"
)

// This file is Phoenix.Tracker.Shard: the loop that heartbeats deltas,
// merges what other nodes send, asks for transfers when behind, and marks
// silent nodes down.

const (
	// clockSamplePeriods is how many ticks pass between two comparisons
	// of the clocks heard, which decide the transfer requests.
	clockSamplePeriods = 2
	// numGens is the number of delta generations; generation i holds up
	// to maxDeltaSize(i) values and dots.
	numGens = 3
	// maxInbox bounds the replication messages waiting for Serve. Beyond
	// it, messages are dropped; the clocks show the gap, and a transfer
	// repairs it.
	maxInbox = 10_000
)

// maxDeltaSize is Phoenix's max_delta_sizes: 100, 1000, 10 000.
func maxDeltaSize(i int) int {
	n := 100
	for range i {
		n *= 10
	}
	return n
}

// peer is another node's current replica, as heartbeats tell.
type peer struct {
	rep  replica
	last time.Time // last heartbeat
	down bool
}

// nodeClock is a replica's clock, as its heartbeat carried it.
type nodeClock struct {
	rep   replica
	clock clock
}

// Serve replicates the Tracker with the other nodes until ctx is done: it
// subscribes to the replication topic, heartbeats the local changes every
// BroadcastPeriod, merges the other nodes' changes, requests transfers
// when behind and marks silent nodes down (their presences leave) and
// then permanently down (their presences are deleted). Run it under the
// server's supervisor. A single-node deployment does not need it: local
// changes reach local subscribers without it.
//
// Serve returns nil when ctx is done, or an error if it cannot subscribe,
// is already running, or ran with Config.PermdownOnShutdown before.
// Between two runs of Serve, the presences of other nodes stay as they
// were.
func (t *Tracker) Serve(ctx context.Context) error {
	if ctx.Err() != nil {
		return nil
	}
	t.mu.Lock()
	if t.serving {
		t.mu.Unlock()
		return errors.New("presence: serve: already serving")
	}
	if t.retired {
		t.mu.Unlock()
		return errors.New("presence: serve: this replica announced its permanent shutdown; make a new Tracker")
	}
	t.serving = true
	t.st.record(true)
	t.silent = t.maxSilent // heartbeat on the first tick, to be known at once
	t.sample = clockSamplePeriods
	t.connects = t.brokerConnects()
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.serving = false
		t.st.record(false)
		t.gens, t.clockset = nil, nil
		t.mu.Unlock()
	}()

	t.in.take() // whatever came during a previous run is stale
	if err := t.broker.Subscribe(ctx, t.topic, t.in); err != nil {
		return fmt.Errorf("presence: serve: %w", err)
	}
	defer func() { _ = t.broker.Unsubscribe(context.WithoutCancel(ctx), t.topic, t.in) }()

	// The first tick comes after a random quarter of a period, so that
	// nodes started together do not heartbeat together.
	timer := time.NewTimer(rand.N(t.period/4 + 1))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			t.flush(ctx) // the leaves of a drain reach the other nodes
			if t.permOnStop {
				t.mu.Lock()
				t.retired = true
				t.mu.Unlock()
				t.sendPermdown(ctx)
			}
			return nil
		case <-t.in.ready:
			for _, m := range t.in.take() {
				t.handle(ctx, m)
			}
		case <-timer.C:
			t.tick(ctx)
			timer.Reset(t.period)
		}
	}
}

// brokerConnects returns how many times the broker has connected to the
// other nodes, for brokers that can lose messages (pubsub.Reconnecter),
// else 0.
func (t *Tracker) brokerConnects() uint64 {
	if rc, ok := t.broker.(pubsub.Reconnecter); ok {
		return rc.Connects()
	}
	return 0
}

// tick is one broadcast period: heartbeat, transfer requests, downs.
//
// After the broker has reconnected (an outage: heartbeats and deltas were
// lost both ways), the tick heartbeats at once and asks every live peer
// for what it missed, rather than waiting for its silent periods and the
// next clock sample, so that presence resumes within about a period of
// the broker's return.
func (t *Tracker) tick(ctx context.Context) {
	n := t.brokerConnects()
	t.mu.Lock()
	reconnected := n != t.connects
	t.connects = n
	var hb *message
	switch {
	case reconnected && !t.st.hasDelta():
		hb = &message{from: t.self, clock: t.st.clocks()}
		t.silent = 0
	case t.st.hasDelta():
		d := t.st.takeDelta()
		t.pushGen(d)
		hb = &message{from: t.self, clock: t.st.clocks(), state: d}
		t.silent = 0
	case t.silent >= t.maxSilent:
		hb = &message{from: t.self, clock: t.st.clocks()}
		t.silent = 0
	default:
		t.silent++
	}
	var behind []replica
	if t.sample--; t.sample <= 0 || reconnected {
		behind = t.needSync()
		t.clockset = nil
		t.sample = clockSamplePeriods
	}
	if reconnected {
		behind = t.livePeers()
	}
	var req *message
	if len(behind) > 0 {
		req = &message{from: t.self, clock: t.st.clocks()}
	}
	t.detectDowns()
	t.mu.Unlock()
	t.drain()

	// hb's delta was taken from the state, so it is ours to encode
	// without the lock.
	if hb != nil {
		t.send(ctx, "", eventHeartbeat, hb)
	}
	for _, r := range behind {
		t.send(ctx, r.node, eventTransferReq, req)
	}
}

// send encodes m and broadcasts it to every other node (node == "") or
// sends it to one.
func (t *Tracker) send(ctx context.Context, node, event string, m *message) {
	payload, err := encodeMessage(m)
	if err != nil { // only a bug can get here: metas were JSON already
		t.log.Error("encode replication message", logEvent, event, "err", err)
		return
	}
	pm := &pubsub.Message{Topic: t.topic, Event: event, Payload: payload, From: t.in}
	if node == "" {
		err = t.broker.Broadcast(ctx, pm)
	} else {
		err = t.broker.DirectBroadcast(ctx, node, pm)
	}
	if err != nil && ctx.Err() == nil {
		t.log.Debug("send replication message", logEvent, event, "to", node, "err", err)
	}
}

// flush sends the changes not yet replicated, as Serve stops: a server
// stops its services after its channels have ended, and their presences'
// leaves must not wait for the other nodes' DownPeriod.
func (t *Tracker) flush(ctx context.Context) {
	t.mu.Lock()
	if !t.st.hasDelta() {
		t.mu.Unlock()
		return
	}
	d := t.st.takeDelta()
	t.pushGen(d)
	hb := &message{from: t.self, clock: t.st.clocks(), state: d}
	t.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.period)
	defer cancel()
	t.send(ctx, "", eventHeartbeat, hb)
}

// sendPermdown tells the other nodes that this replica is gone.
func (t *Tracker) sendPermdown(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.period)
	defer cancel()
	t.send(ctx, "", eventPermdown, &message{from: t.self})
}

// handle handles one replication message.
func (t *Tracker) handle(ctx context.Context, pm *pubsub.Message) {
	m, err := decodeMessage(pm.Payload)
	if err == nil && !knownEvent(pm.Event) {
		err = fmt.Errorf("%w: unknown event %q", errBadMessage, pm.Event)
	}
	if err == nil {
		err = checkEvent(pm.Event, m)
	}
	if err != nil {
		t.mu.Lock()
		t.stats.Invalid++
		t.mu.Unlock()
		t.log.Debug("bad replication message", logEvent, pm.Event, "err", err)
		return
	}
	if m.from.node == t.node {
		return // our own, echoed by the broker
	}
	var ack *message
	t.mu.Lock()
	if _, old := t.superseded[m.from]; !old {
		t.stats.Received++
		switch pm.Event {
		case eventHeartbeat:
			t.heard(m.from)
			if m.state != nil {
				t.mergeRemote(m.state)
			}
			if m.clock != nil {
				t.clockset = appendClock(t.clockset, nodeClock{m.from, m.clock})
			}
		case eventTransferReq:
			ack = &message{from: t.self, state: t.extractFor(m.from, m.clock)}
			t.stats.Transfers++
		case eventTransferAck:
			t.mergeRemote(m.state)
		case eventPermdown:
			if p := t.peers[m.from.node]; p != nil && p.rep == m.from {
				if !p.down {
					t.down(p.rep)
				}
				t.permdown(p.rep)
				delete(t.peers, p.rep.node)
				t.superseded[p.rep] = t.now()
			}
		}
	}
	t.mu.Unlock()
	t.drain()
	if ack != nil {
		t.send(ctx, m.from.node, eventTransferAck, ack)
	}
}

func knownEvent(e string) bool {
	switch e {
	case eventHeartbeat, eventTransferReq, eventTransferAck, eventPermdown:
		return true
	}
	return false
}

// checkEvent checks that m has what its event needs.
func checkEvent(event string, m *message) error {
	switch {
	case event == eventHeartbeat && m.clock == nil:
		return fmt.Errorf("%w: heartbeat without a clock", errBadMessage)
	case event == eventHeartbeat && m.state != nil && m.state.full:
		return fmt.Errorf("%w: heartbeat with a full state", errBadMessage)
	case event == eventTransferReq && m.clock == nil:
		return fmt.Errorf("%w: transfer_req without a clock", errBadMessage)
	case event == eventTransferAck && m.state == nil:
		return fmt.Errorf("%w: transfer_ack without a state", errBadMessage)
	}
	return nil
}

// mergeRemote merges a delta or a full state, reports the diff, and keeps
// a delta in the generations. A full state moves the context without a
// delta, so the generations no longer describe it and are dropped.
// Called with mu held.
func (t *Tracker) mergeRemote(d *delta) {
	joins, leaves := t.st.merge(d)
	t.report(joins, leaves)
	if d.full {
		t.gens = nil
	} else {
		t.pushGen(d)
	}
}

// heard records a heartbeat of r: a new replica comes up; a known one
// that was down comes back up (its kept presences join again); a new
// version of a known node means that node restarted, and its old replica
// goes permanently down at once. Called with mu held.
//
// Unlike Phoenix, a replica that comes up makes this one heartbeat on its
// next tick rather than when its silent periods are over, and compare the
// clocks heard on its next tick rather than at the next sample, so that a
// new node learns of this one, and asks for its state, within a period or
// two instead of up to half a DownPeriod.
func (t *Tracker) heard(r replica) {
	now := t.now()
	p := t.peers[r.node]
	switch {
	case p == nil:
		t.peers[r.node] = &peer{rep: r, last: now}
	case p.rep == r:
		p.last = now
		if !p.down {
			return
		}
		p.down = false
	default:
		old := p.rep
		if !p.down {
			t.down(old)
		}
		t.permdown(old)
		t.superseded[old] = now
		*p = peer{rep: r, last: now}
	}
	t.up(r)
	t.silent = t.maxSilent
	t.sample = min(t.sample, 1) // compare clocks next tick: a new peer has state for us
}

// livePeers returns the peers' current replicas that are not down.
// Called with mu held.
func (t *Tracker) livePeers() []replica {
	var out []replica
	for _, p := range t.peers {
		if !p.down {
			out = append(out, p.rep)
		}
	}
	slices.SortFunc(out, compareReplica)
	return out
}

// detectDowns marks the peers silent for DownPeriod down and those silent
// for PermdownPeriod permanently down. Called with mu held.
func (t *Tracker) detectDowns() {
	now := t.now()
	for _, node := range slices.Sorted(maps.Keys(t.peers)) {
		p := t.peers[node]
		silent := now.Sub(p.last)
		switch {
		case silent > t.permAfter:
			if !p.down {
				t.down(p.rep)
			}
			t.permdown(p.rep)
			delete(t.peers, node)
		case silent > t.downAfter && !p.down:
			p.down = true
			t.down(p.rep)
		}
	}
	for r, at := range t.superseded {
		if now.Sub(at) > t.permAfter {
			delete(t.superseded, r)
		}
	}
}

func (t *Tracker) up(r replica) {
	t.log.Info("presence replica up", "replica", r.node, "vsn", r.vsn)
	t.enqueueGrouped(t.st.replicaUp(r), nil)
}

func (t *Tracker) down(r replica) {
	t.log.Info("presence replica down", "replica", r.node, "vsn", r.vsn)
	t.enqueueGrouped(nil, t.st.replicaDown(r))
}

func (t *Tracker) permdown(r replica) {
	t.log.Info("presence replica permanently down", "replica", r.node, "vsn", r.vsn)
	t.st.removeReplica(r)
	for _, g := range t.gens {
		g.removeReplica(r)
	}
	t.clockset = slices.DeleteFunc(t.clockset, func(nc nodeClock) bool { return nc.rep == r })
}

// pushGen adds d to the delta generations (Phoenix's
// DeltaGeneration.push): each generation absorbs d if d continues it and
// the result fits its size; otherwise it restarts from the generation
// below it (or d). Generations own their deltas: d is never stored.
// Called with mu held.
func (t *Tracker) pushGen(d *delta) {
	if len(t.gens) == 0 {
		t.gens = make([]*delta, numGens)
		for i := range t.gens {
			t.gens[i] = d.clone()
		}
		return
	}
	prev := d
	for i, g := range t.gens {
		if g.contiguous(d) && g.size()+d.size() <= maxDeltaSize(i) {
			g.absorb(d)
		} else {
			t.gens[i] = prev.clone()
		}
		prev = t.gens[i]
	}
}

// extractFor returns what to send requester, whose clock is have: the
// smallest delta generation that brings it up to date with what this
// replica has broadcast, or else the full state. Called with mu held.
func (t *Tracker) extractFor(requester replica, have clock) *delta {
	want := t.st.clocks()
	if t.st.delta != nil {
		// The local changes since the last heartbeat go out with the
		// next one; a generation need not hold them.
		want[t.self] = t.st.delta.start[t.self]
	}
	for _, g := range t.gens {
		if g.fulfils(have, want, requester) {
			return g.extract(requester, have)
		}
	}
	return t.st.extract(requester, have)
}

// needSync returns the replicas whose clocks are not dominated by this
// one's among those heard since the last sample: the ones that have
// something this replica lacks. Called with mu held.
func (t *Tracker) needSync() []replica {
	set := appendClock(slices.Clone(t.clockset), nodeClock{t.self, t.st.clocks()})
	var out []replica
	for _, nc := range set {
		if p := t.peers[nc.rep.node]; nc.rep != t.self && p != nil && p.rep == nc.rep && !p.down {
			out = append(out, nc.rep)
		}
	}
	slices.SortFunc(out, compareReplica)
	return out
}

// appendClock adds nc to a set of clocks, keeping only the ones no other
// dominates (Phoenix's Clock.append_clock).
func appendClock(set []nodeClock, nc nodeClock) []nodeClock {
	if len(nc.clock) == 0 {
		return set
	}
	big := clock{}
	for _, o := range set {
		for r, c := range o.clock {
			big[r] = max(big[r], c)
		}
	}
	switch {
	case dominates(nc.clock, big):
		return []nodeClock{nc}
	case dominates(big, nc.clock):
		return set
	}
	out := set[:0]
	insert := false
	for _, o := range set {
		if dominates(nc.clock, o.clock) {
			insert = true
			continue
		}
		out = append(out, o)
		insert = insert || !dominates(o.clock, nc.clock)
	}
	if insert {
		out = append(out, nc)
	}
	return out
}

// dominates reports whether a has seen everything b has (Phoenix's
// Clock.dominates?, with its rule that a smaller clock never dominates).
func dominates(a, b clock) bool {
	if len(a) < len(b) {
		return false
	}
	for r, c := range b {
		if a[r] < c {
			return false
		}
	}
	return true
}

// report queues the diffs of a merge, leaving out the values of down
// replicas, which were reported as leaves when they went down and join
// again if they come back. Called with mu held.
func (t *Tracker) report(joins, leaves []*value) {
	hidden := func(v *value) bool { return !t.st.visible(v) }
	t.enqueueGrouped(slices.DeleteFunc(joins, hidden), slices.DeleteFunc(leaves, hidden))
}

// enqueueGrouped queues one diff per topic, in topic order. Called with mu
// held.
func (t *Tracker) enqueueGrouped(joins, leaves []*value) {
	byTopic := map[string]*diff{}
	get := func(topic string) *diff {
		d := byTopic[topic]
		if d == nil {
			d = &diff{topic: topic}
			byTopic[topic] = d
		}
		return d
	}
	for _, v := range joins {
		d := get(v.topic)
		d.joins = append(d.joins, v)
	}
	for _, v := range leaves {
		d := get(v.topic)
		d.leaves = append(d.leaves, v)
	}
	for _, topic := range slices.Sorted(maps.Keys(byTopic)) {
		t.enqueue(*byTopic[topic])
	}
}

// inbox is the Tracker's subscriber on the replication topic: Deliver
// queues for Serve and returns.
type inbox struct {
	mu      sync.Mutex
	msgs    []*pubsub.Message
	ready   chan struct{} // has a token when msgs may be non-empty
	dropped atomic.Uint64
}

func newInbox() *inbox { return &inbox{ready: make(chan struct{}, 1)} }

// Deliver implements pubsub.Subscriber.
func (in *inbox) Deliver(m *pubsub.Message) {
	in.mu.Lock()
	if len(in.msgs) >= maxInbox {
		in.mu.Unlock()
		in.dropped.Add(1)
		return
	}
	in.msgs = append(in.msgs, m)
	in.mu.Unlock()
	select {
	case in.ready <- struct{}{}:
	default:
	}
}

func (in *inbox) take() []*pubsub.Message {
	in.mu.Lock()
	defer in.mu.Unlock()
	msgs := in.msgs
	in.msgs = nil
	return msgs
}

func (in *inbox) droppedCount() uint64 { return in.dropped.Load() }
