package presence

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/telemetry"
)

// Defaults of [Config], Phoenix.Tracker's.
const (
	DefaultName            = "presence"
	DefaultBroadcastPeriod = 1500 * time.Millisecond
	DefaultDownPeriod      = 30 * time.Second
	DefaultPermdownPeriod  = 20 * time.Minute
)

// Events a Tracker broadcasts on presence topics, and the one an
// application pushes [Tracker.List] with after a join.
const (
	EventDiff  = "presence_diff"
	EventState = "presence_state"
)

// Errors of [Tracker.Track] and [Tracker.Update].
var (
	// ErrAlreadyTracked: the owner already tracks that key on that topic
	// (Phoenix's {:error, {:already_tracked, pid, topic, key}}).
	ErrAlreadyTracked = errors.New("presence: already tracked")
	// ErrNoPresence: the owner tracks no such key on that topic
	// (Phoenix's {:error, :nopresence}).
	ErrNoPresence = errors.New("presence: no presence")
)

// Log attribute keys.
const (
	logNode  = "node"
	logTopic = "topic"
	logEvent = "event"
)

// Owner is what presences belong to: Phoenix's tracked pid. When it
// exits, every presence it tracks leaves. *channel.Channel satisfies it;
// its OnExit runs the hook however the channel ends, crashes included.
//
// An Owner must be comparable (a pointer), as it keys the Tracker's
// table. OnExit must run f once when the owner ends, or at once if it has
// ended already; f takes the Tracker's lock, so OnExit must not call it
// while holding a lock that [Tracker] methods need.
type Owner interface {
	// Topic is the owner's own topic, the one [Tracker.Track] uses.
	Topic() string
	// OnExit registers f to run when the owner ends.
	OnExit(f func(reason error))
}

// Presence is one key's presences on a topic: one meta per owner that
// tracks the key, each with its "phx_ref" (and "phx_ref_prev" after an
// update). It encodes as Phoenix's {"metas": [...]}.
//
// Metas are shared with the Tracker and must not be modified. They hold
// what encoding/json decodes into an any (numbers are float64), on every
// node, so that a presence reads the same wherever it was tracked.
type Presence struct {
	Metas []map[string]any `json:"metas"`
}

// Config configures [New]. Broker is required; every other field has a
// default.
type Config struct {
	// Broker carries the diffs to this node's subscribers and the
	// replication messages between nodes. Required.
	Broker pubsub.Broker
	// Node is this node's name, to which other nodes send transfers with
	// Broker.DirectBroadcast. Default Broker.Node(); set it only if the
	// broker routes another name to this process.
	Node string
	// Name names the tracker, and so its replication topic,
	// "phx_presence:<Name>_shard0". Trackers that share a broker node must
	// have different names. Default DefaultName.
	Name string
	// BroadcastPeriod is how often a replicating Tracker (see
	// [Tracker.Serve]) sends its changes to the other nodes: the most a
	// remote node lags. Default DefaultBroadcastPeriod (1.5 s).
	BroadcastPeriod time.Duration
	// DownPeriod is how long a node may be silent before its presences
	// leave; it must be at least twice BroadcastPeriod. An idle node
	// heartbeats at least twice per DownPeriod. Default 20 ×
	// BroadcastPeriod, as Phoenix, which is DefaultDownPeriod (30 s) with
	// the default BroadcastPeriod.
	DownPeriod time.Duration
	// PermdownPeriod is how long a silent node's presences are kept, in
	// case it comes back, before they are deleted; it must exceed
	// DownPeriod. Default DefaultPermdownPeriod (20 min).
	PermdownPeriod time.Duration
	// PermdownOnShutdown makes Serve tell the other nodes, when its
	// context is done, that this replica is gone for good, so that its
	// presences leave at once instead of after DownPeriod. The others then
	// ignore it, so the Tracker cannot Serve again: use it for process
	// shutdown, not with a supervisor that restarts Serve. Default false.
	PermdownOnShutdown bool
	// DiffInterval is how often, at most, a large topic (see
	// CoalesceAbove) gets a presence_diff while its presences keep
	// changing: the first change goes out at once, later ones within the
	// interval are merged into one diff. Default DefaultDiffInterval
	// (100 ms); negative sends every change at once, on every topic.
	DiffInterval time.Duration
	// CoalesceAbove is the number of local subscribers above which a
	// topic's diffs are coalesced (DiffInterval). It needs a broker that
	// counts them ([pubsub.LocalCounter]); with another, no topic is.
	// Default DefaultCoalesceAbove (100); negative coalesces every topic.
	CoalesceAbove int
	// Logger receives replica up/down events at Info and dropped or bad
	// messages at Debug. Nil discards.
	Logger *slog.Logger
	// Hook receives a KindPresenceDiff event per diff broadcast to this
	// node's subscribers, with its joins plus leaves (package telemetry).
	// Nil costs nothing.
	Hook telemetry.Hook
	// Now is the clock of phx_refs and of down detection, for tests; it
	// must be safe for concurrent use. Default time.Now.
	Now func() time.Time
}

// Tracker tracks presences, keeps the diffs flowing to local subscribers
// and, while [Tracker.Serve] runs, replicates them with the other nodes.
// All its methods are safe for concurrent use.
type Tracker struct {
	broker     pubsub.Broker
	node       string
	topic      string // replication topic
	self       replica
	period     time.Duration
	downAfter  time.Duration
	permAfter  time.Duration
	maxSilent  int
	permOnStop bool
	log        *slog.Logger
	hook       telemetry.Hook
	now        func() time.Time
	in         *inbox

	refHash  uint16
	lastRef  atomic.Int64 // ns of the last phx_ref, so refs never repeat
	refCount atomic.Uint32

	// mu guards everything below; see the lock order in the package doc.
	mu         sync.Mutex
	st         *state
	owners     map[Owner]*ownerState
	serving    bool
	retired    bool                  // announced its permdown: may not serve again
	peers      map[string]*peer      // other nodes' current replicas, by node
	superseded map[replica]time.Time // old replicas of restarted nodes: ignored
	gens       []*delta              // delta generations, smallest first
	clockset   []nodeClock           // clocks heard since the last sample
	connects   uint64                // the broker's connection count at the last tick (pubsub.Reconnecter)
	silent     int                   // ticks since the last heartbeat
	sample     int                   // ticks until the next clock sample
	stats      Stats

	diffEvery     time.Duration       // Config.DiffInterval; <= 0: never coalesce
	coalesceAbove int                 // Config.CoalesceAbove
	counter       pubsub.LocalCounter // nil: never coalesce

	qmu      sync.Mutex // guards queue, draining and windows; taken after mu
	queue    []diff
	draining bool
	windows  map[string]*window // large topics' open coalescing windows
}

// ownerState is what one Owner tracks.
type ownerState struct {
	entries map[topicKey]*value
}

type topicKey struct{ topic, key string }

// diff is a presence_diff waiting to be broadcast.
type diff struct {
	topic         string
	joins, leaves []*value
}

// New returns a Tracker for cfg. It starts nothing: local presences work at
// once, and [Tracker.Serve] replicates them.
func New(cfg Config) (*Tracker, error) {
	if cfg.Broker == nil {
		return nil, errors.New("presence: new: Config.Broker is nil")
	}
	node := cfg.Node
	if node == "" {
		node = cfg.Broker.Node()
	}
	if node == "" {
		return nil, errors.New("presence: new: empty node name")
	}
	name := cmp.Or(cfg.Name, DefaultName)
	period := cmp.Or(cfg.BroadcastPeriod, DefaultBroadcastPeriod)
	down := cmp.Or(cfg.DownPeriod, 20*period) // Phoenix: period × max_silent_periods × 2
	perm := cmp.Or(cfg.PermdownPeriod, DefaultPermdownPeriod)
	switch {
	case period < 0 || down < 0 || perm < 0:
		return nil, errors.New("presence: new: negative period")
	case down < 2*period:
		return nil, fmt.Errorf("presence: new: DownPeriod %v is less than twice BroadcastPeriod %v", down, period)
	case perm <= down:
		return nil, fmt.Errorf("presence: new: PermdownPeriod %v is not more than DownPeriod %v", perm, down)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	self := replica{node: node, vsn: rand.Int64()}
	h := fnv.New32a()
	h.Write([]byte(node + "/" + strconv.FormatInt(self.vsn, 10)))
	t := &Tracker{
		broker:     cfg.Broker,
		node:       node,
		topic:      "phx_presence:" + name + "_shard0",
		self:       self,
		period:     period,
		downAfter:  down,
		permAfter:  perm,
		maxSilent:  max(0, int(down/(2*period))-1),
		permOnStop: cfg.PermdownOnShutdown,
		log:        log.With(logNode, node),
		hook:       cfg.Hook,
		now:        now,
		in:         newInbox(),
		diffEvery:  cmp.Or(cfg.DiffInterval, DefaultDiffInterval),
		counter:    localCounter(cfg.Broker),
		refHash:    uint16(h.Sum32()),
		st:         newState(self),
		owners:     map[Owner]*ownerState{},
		peers:      map[string]*peer{},
		superseded: map[replica]time.Time{},
	}
	t.coalesceAbove = cfg.CoalesceAbove
	if t.coalesceAbove == 0 {
		t.coalesceAbove = DefaultCoalesceAbove
	}
	return t, nil
}

// newRef returns a phx_ref as Phoenix makes them: URL-safe base64 of the
// time in ns (64 bits), a hash of the node and replica (16 bits) and a
// counter (16 bits), 16 characters. The time never repeats within a
// Tracker, so neither do refs, even with a stopped clock.
func (t *Tracker) newRef() string {
	ns := t.now().UnixNano()
	for {
		last := t.lastRef.Load()
		next := max(ns, last+1)
		if t.lastRef.CompareAndSwap(last, next) {
			ns = next
			break
		}
	}
	var b [12]byte
	binary.BigEndian.PutUint64(b[0:8], uint64(ns))
	binary.BigEndian.PutUint16(b[8:10], t.refHash)
	binary.BigEndian.PutUint16(b[10:12], uint16(t.refCount.Add(1)))
	return base64.URLEncoding.EncodeToString(b[:])
}

// encodeMeta returns meta with phx_ref (and phx_ref_prev) as JSON, and
// decoded back, so that local presences hold the same types as remote
// ones, and the caller's map is not kept.
func encodeMeta(meta map[string]any, ref, prev string) (map[string]any, []byte, error) {
	m := make(map[string]any, len(meta)+2)
	maps.Copy(m, meta)
	m["phx_ref"] = ref
	if prev != "" {
		m["phx_ref_prev"] = prev
	}
	raw, err := marshalJSON(m)
	if err != nil {
		return nil, nil, err
	}
	dec, err := decodeMeta(raw)
	if err != nil {
		return nil, nil, err
	}
	return dec, raw, nil
}

func checkOwner(owner Owner) error {
	if owner == nil {
		return errors.New("nil owner")
	}
	if typ := reflect.TypeOf(owner); !typ.Comparable() {
		return fmt.Errorf("owner type %v is not comparable; use a pointer", typ)
	}
	return nil
}

// Track tracks owner's presence under key on owner's own topic, with meta,
// which must encode as JSON. It returns the new meta's phx_ref, and an
// error wrapping [ErrAlreadyTracked] if owner already tracks key there.
// Subscribers of the topic get a presence_diff with the join. When owner
// exits, its presences leave.
//
// Like every change, Track fails if ctx is done, and otherwise completes:
// it does no I/O of its own. Its diff goes out to this node's subscribers
// at once (by this goroutine, or by the one already broadcasting diffs),
// and to other nodes with the next heartbeat.
func (t *Tracker) Track(ctx context.Context, owner Owner, key string, meta map[string]any) (string, error) {
	if owner == nil {
		return "", fmt.Errorf("presence: track %q: nil owner", key)
	}
	return t.TrackTopic(ctx, owner, owner.Topic(), key, meta)
}

// TrackTopic is [Tracker.Track] on any topic, such as a user's own topic
// tracked from a lobby channel.
func (t *Tracker) TrackTopic(ctx context.Context, owner Owner, topic, key string, meta map[string]any) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("presence: track %q %q: %w", topic, key, err)
	}
	if err := checkOwner(owner); err != nil {
		return "", fmt.Errorf("presence: track %q %q: %w", topic, key, err)
	}
	ref := t.newRef()
	m, raw, err := encodeMeta(meta, ref, "")
	if err != nil {
		return "", fmt.Errorf("presence: track %q %q: encode meta: %w", topic, key, err)
	}
	tk := topicKey{topic, key}
	t.mu.Lock()
	own := t.owners[owner]
	if own != nil && own.entries[tk] != nil {
		t.mu.Unlock()
		return "", fmt.Errorf("presence: track %q %q: %w", topic, key, ErrAlreadyTracked)
	}
	hook := own == nil
	if hook {
		own = &ownerState{entries: map[topicKey]*value{}}
		t.owners[owner] = own
	}
	v := t.st.join(topic, key, m, raw)
	own.entries[tk] = v
	t.enqueue(diff{topic: topic, joins: []*value{v}})
	t.mu.Unlock()
	t.drain()
	if hook {
		// Outside the lock: if owner has ended, OnExit runs the hook now.
		owner.OnExit(func(error) { t.exit(owner, own) })
	}
	return ref, nil
}

// Untrack removes owner's presence under key on topic. Untracking a
// presence that does not exist is not an error.
func (t *Tracker) Untrack(ctx context.Context, owner Owner, topic, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("presence: untrack %q %q: %w", topic, key, err)
	}
	if err := checkOwner(owner); err != nil {
		return fmt.Errorf("presence: untrack %q %q: %w", topic, key, err)
	}
	t.mu.Lock()
	if own := t.owners[owner]; own != nil {
		tk := topicKey{topic, key}
		if v := own.entries[tk]; v != nil {
			delete(own.entries, tk)
			t.st.leave(v)
			t.enqueue(diff{topic: topic, leaves: []*value{v}})
		}
	}
	t.mu.Unlock()
	t.drain()
	return nil
}

// UntrackAll removes all of owner's presences, on every topic, with one
// diff per topic: what happens when owner exits.
func (t *Tracker) UntrackAll(ctx context.Context, owner Owner) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("presence: untrack all: %w", err)
	}
	if err := checkOwner(owner); err != nil {
		return fmt.Errorf("presence: untrack all: %w", err)
	}
	t.mu.Lock()
	if own := t.owners[owner]; own != nil {
		t.untrackAll(own)
	}
	t.mu.Unlock()
	t.drain()
	return nil
}

// exit is the OnExit hook of an owner: all its presences leave and the
// Tracker forgets it.
func (t *Tracker) exit(owner Owner, own *ownerState) {
	t.mu.Lock()
	if t.owners[owner] == own {
		t.untrackAll(own)
		delete(t.owners, owner)
	}
	t.mu.Unlock()
	t.drain()
}

// untrackAll removes own's presences, one diff per topic in topic order.
// Called with mu held.
func (t *Tracker) untrackAll(own *ownerState) {
	vs := slices.Collect(maps.Values(own.entries))
	slices.SortFunc(vs, func(a, b *value) int { return compareTag(a.tag, b.tag) })
	clear(own.entries)
	byTopic := map[string][]*value{}
	for _, v := range vs {
		t.st.leave(v)
		byTopic[v.topic] = append(byTopic[v.topic], v)
	}
	for _, topic := range slices.Sorted(maps.Keys(byTopic)) {
		t.enqueue(diff{topic: topic, leaves: byTopic[topic]})
	}
}

// Update replaces the meta of owner's presence under key on topic. The new
// meta gets a new phx_ref and phx_ref_prev, the old one; subscribers get
// one diff with the new meta joining and the old one leaving, as Phoenix
// does. It returns the new phx_ref, or an error wrapping [ErrNoPresence].
func (t *Tracker) Update(ctx context.Context, owner Owner, topic, key string, meta map[string]any) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("presence: update %q %q: %w", topic, key, err)
	}
	if err := checkOwner(owner); err != nil {
		return "", fmt.Errorf("presence: update %q %q: %w", topic, key, err)
	}
	ref := t.newRef()
	tk := topicKey{topic, key}
	t.mu.Lock()
	own := t.owners[owner]
	old := (*value)(nil)
	if own != nil {
		old = own.entries[tk]
	}
	if old == nil {
		t.mu.Unlock()
		return "", fmt.Errorf("presence: update %q %q: %w", topic, key, ErrNoPresence)
	}
	prev, _ := old.meta["phx_ref"].(string)
	m, raw, err := encodeMeta(meta, ref, prev)
	if err != nil {
		t.mu.Unlock()
		return "", fmt.Errorf("presence: update %q %q: encode meta: %w", topic, key, err)
	}
	v := t.st.leaveJoin(old, m, raw)
	own.entries[tk] = v
	t.enqueue(diff{topic: topic, joins: []*value{v}, leaves: []*value{old}})
	t.mu.Unlock()
	t.drain()
	return ref, nil
}

// List returns the presences on topic, by key, from every node that is up:
// what an application pushes as presence_state after a join. The map is
// the caller's; the metas are shared (see [Presence]).
func (t *Tracker) List(topic string) map[string]Presence {
	t.mu.Lock()
	defer t.mu.Unlock()
	ti := t.st.topics[topic]
	if ti == nil {
		return map[string]Presence{}
	}
	out := make(map[string]Presence, len(ti.keys))
	all := make([]map[string]any, 0, ti.n) // one backing array for every key
	for key, vs := range ti.keys {
		start := len(all)
		for _, v := range vs {
			if t.st.visible(v) {
				all = append(all, v.meta)
			}
		}
		if len(all) > start {
			out[key] = Presence{Metas: all[start:len(all):len(all)]}
		}
	}
	return out
}

// Get returns the presences under key on topic, and whether there are any.
func (t *Tracker) Get(topic, key string) (Presence, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ti := t.st.topics[topic]
	if ti == nil {
		return Presence{}, false
	}
	var metas []map[string]any
	for _, v := range ti.keys[key] {
		if t.st.visible(v) {
			metas = append(metas, v.meta)
		}
	}
	if len(metas) == 0 {
		return Presence{}, false
	}
	return Presence{Metas: metas}, true
}

// Stats is a snapshot of a Tracker's counters.
type Stats struct {
	Presences int    // presences stored, hidden ones of down nodes included
	Topics    int    // topics with at least one presence
	Peers     int    // other nodes heard from and not yet permanently down
	PeersDown int    // of which are down
	Received  uint64 // replication messages handled
	Invalid   uint64 // replication messages dropped as undecodable
	Dropped   uint64 // replication messages dropped because Serve lagged
	Transfers uint64 // state transfers sent, in answer to transfer_req
}

// Stats returns the Tracker's counters.
func (t *Tracker) Stats() Stats {
	t.mu.Lock()
	st := t.stats
	st.Presences = len(t.st.values)
	st.Topics = len(t.st.topics)
	st.Peers = len(t.peers)
	for _, p := range t.peers {
		if p.down {
			st.PeersDown++
		}
	}
	t.mu.Unlock()
	st.Dropped = t.in.droppedCount()
	return st
}

// enqueue appends a diff to the queue. Called with mu held, which is what
// puts the diffs in the order of the changes.
func (t *Tracker) enqueue(d diff) {
	t.qmu.Lock()
	t.queue = append(t.queue, d)
	t.qmu.Unlock()
}

// drain broadcasts the queued diffs, in order, unless another goroutine is
// already doing so, in which case that one broadcasts them. Called without
// mu, so that subscribers may call List while a diff is delivered.
//
// The caller broadcasts one batch, the diffs queued when it came, which
// hold its own change; if more were queued meanwhile, a goroutine of the
// tracker's takes over. Otherwise, in a storm of joins, the one channel
// that happened to start draining would broadcast everyone's diffs for as
// long as the storm lasts, and its own client would wait that long for
// its presence_state.
func (t *Tracker) drain() {
	t.qmu.Lock()
	if t.draining {
		t.qmu.Unlock()
		return
	}
	t.draining = true
	if t.drainBatch() {
		go t.drainRest()
	}
}

// drainBatch publishes what is queued, with qmu held and draining set.
// It returns with qmu released: false once the queue was empty (draining
// is then cleared), true if more was queued while it published (draining
// stays set: the caller must go on).
func (t *Tracker) drainBatch() (more bool) {
	q := t.queue
	t.queue = nil
	if len(q) == 0 {
		t.draining = false
		t.qmu.Unlock()
		return false
	}
	q = t.coalesce(q)
	t.qmu.Unlock()
	t.publishAll(q)
	t.qmu.Lock()
	if len(t.queue) == 0 {
		t.draining = false
		t.qmu.Unlock()
		return false
	}
	t.qmu.Unlock()
	return true
}

// drainRest publishes batches until the queue is empty. A subscriber that
// panics must not take the process down from this goroutine.
func (t *Tracker) drainRest() {
	defer func() {
		if p := recover(); p != nil {
			t.log.Error("presence diff: subscriber panicked", "panic", fmt.Sprint(p))
		}
	}()
	for {
		t.qmu.Lock()
		if !t.drainBatch() {
			return
		}
	}
}

// publishAll publishes q. If a subscriber panics, the panic goes on up,
// but the next change finds the queue free to drain.
func (t *Tracker) publishAll(q []diff) {
	done := false
	defer func() {
		if !done {
			t.qmu.Lock()
			t.draining = false
			t.qmu.Unlock()
		}
	}()
	for i := range q {
		func() {
			defer t.sent(q[i].topic) // panic or not, the window runs
			t.publish(&q[i])
		}()
	}
	done = true
}

// publish broadcasts one diff to this node's subscribers. The context is
// not the caller's: once the state has changed, its diff must go out, or
// subscribers would drift from List.
func (t *Tracker) publish(d *diff) {
	m := &pubsub.Message{Topic: d.topic, Event: EventDiff, Payload: encodeDiff(d)}
	if t.hook != nil {
		t.hook.Event(telemetry.Event{Kind: telemetry.KindPresenceDiff, N: len(d.joins) + len(d.leaves)})
	}
	if err := t.broker.LocalBroadcast(context.Background(), m); err != nil {
		t.log.Warn("presence diff not broadcast", logTopic, d.topic, "err", err)
	}
}

// encodeDiff encodes {"joins":{key:{"metas":[…]}},"leaves":{…}}, keys
// sorted, each key's metas in tag order.
func encodeDiff(d *diff) []byte {
	b := make([]byte, 0, 64+len(d.joins)*96+len(d.leaves)*96)
	b = append(b, `{"joins":`...)
	b = appendPresences(b, d.joins)
	b = append(b, `,"leaves":`...)
	b = appendPresences(b, d.leaves)
	return append(b, '}')
}

func appendPresences(b []byte, vs []*value) []byte {
	vs = slices.Clone(vs)
	slices.SortStableFunc(vs, func(a, b *value) int {
		if a.key != b.key {
			if a.key < b.key {
				return -1
			}
			return 1
		}
		return compareTag(a.tag, b.tag)
	})
	b = append(b, '{')
	for i, v := range vs {
		if i == 0 || vs[i-1].key != v.key {
			if i > 0 {
				b = append(b, "]},"...)
			}
			b = appendJSONString(b, v.key)
			b = append(b, `:{"metas":[`...)
		} else {
			b = append(b, ',')
		}
		b = append(b, v.raw...)
	}
	if len(vs) > 0 {
		b = append(b, "]}"...)
	}
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := marshalJSON(s) // a string always marshals
	return append(b, q...)
}
