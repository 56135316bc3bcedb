package presence

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// This file is the replicated state: Phoenix.Tracker.State, a delta-state
// observed-remove set without tombstones. It does no locking and no I/O;
// the Tracker calls it under its mutex.
//
// Every presence is a value with a unique dot (tag): the replica that
// created it and that replica's clock at the time. A replica's context
// records the dots it has seen: per replica, the highest clock below which
// it has seen every dot, plus the clouds, the dots seen above it. A dot
// that is seen but has no value was removed. That is the whole trick: a
// removal needs no tombstone, only the knowledge that the dot was seen.

// replica names one incarnation of a Tracker: its node and a version drawn
// when the Tracker is made, so that a restarted node is a new replica.
type replica struct {
	node string
	vsn  int64
}

func compareReplica(a, b replica) int {
	if c := strings.Compare(a.node, b.node); c != 0 {
		return c
	}
	return cmp.Compare(a.vsn, b.vsn)
}

// tag is a dot: the c-th event of replica r.
type tag struct {
	r replica
	c uint64
}

func compareTag(a, b tag) int {
	if c := compareReplica(a.r, b.r); c != 0 {
		return c
	}
	return cmp.Compare(a.c, b.c)
}

// value is one presence: a meta under (topic, key), with its dot. Values
// are immutable once made, so the state, deltas and diff messages share
// them by pointer.
type value struct {
	tag   tag
	topic string
	key   string
	meta  map[string]any // decoded from raw; carries phx_ref
	raw   []byte         // meta as JSON, forwarded as is in diffs and deltas
}

// clock is a vector clock: per replica, the highest contiguous clock seen.
type clock map[replica]uint64

// clouds holds the dots seen above the context, per replica.
type clouds map[replica]map[uint64]struct{}

func (cl clouds) add(t tag) {
	d := cl[t.r]
	if d == nil {
		d = make(map[uint64]struct{})
		cl[t.r] = d
	}
	d[t.c] = struct{}{}
}

func (cl clouds) has(t tag) bool {
	_, ok := cl[t.r][t.c]
	return ok
}

func (cl clouds) size() int {
	n := 0
	for _, d := range cl {
		n += len(d)
	}
	return n
}

func (cl clouds) clone() clouds {
	out := make(clouds, len(cl))
	for r, d := range cl {
		out[r] = maps.Clone(d)
	}
	return out
}

// union adds o's dots to cl, for the replicas keep accepts.
func (cl clouds) union(o clouds, keep func(replica) bool) {
	for r, d := range o {
		if keep != nil && !keep(r) {
			continue
		}
		for c := range d {
			cl.add(tag{r, c})
		}
	}
}

// delta is what replicas exchange: either a delta (the changes of a window
// of clocks, full == false) or a whole state (full == true), Phoenix's
// :delta and extracted :normal modes.
//
// A delta's clouds hold every dot it covers: the dots of the values it adds
// and the dots of the values it removes. A value in the clouds but not in
// values was removed. Its range says which clocks of which replicas it
// covers completely: for each replica in start, every event in
// (start, end]. A full state has a context instead, and its clouds are the
// state's clouds.
type delta struct {
	full    bool
	context clock // full only
	start   clock // delta only
	end     clock // delta only
	clouds  clouds
	values  map[tag]*value
}

func newDelta() *delta {
	return &delta{start: clock{}, end: clock{}, clouds: clouds{}, values: map[tag]*value{}}
}

// covers reports whether d has seen t.
func (d *delta) covers(t tag) bool {
	if c, ok := d.context[t.r]; ok && c >= t.c {
		return true
	}
	return d.clouds.has(t)
}

// size is Phoenix's delta_size: values plus dots.
func (d *delta) size() int { return len(d.values) + d.clouds.size() }

// changed reports whether d carries anything. Every change adds a dot, so
// a delta with no dots is empty.
func (d *delta) changed() bool { return len(d.clouds) > 0 }

func (d *delta) clone() *delta {
	return &delta{
		full:    d.full,
		context: maps.Clone(d.context),
		start:   maps.Clone(d.start),
		end:     maps.Clone(d.end),
		clouds:  d.clouds.clone(),
		values:  maps.Clone(d.values),
	}
}

// contiguous reports whether o can be merged into d without a gap: for
// every replica both cover, their windows overlap or touch.
func (d *delta) contiguous(o *delta) bool {
	for r, s := range d.start {
		os, ok := o.start[r]
		if !ok {
			continue
		}
		if os > d.end[r] || s > o.end[r] {
			return false
		}
	}
	return true
}

// absorb merges the contiguous delta o into d (Phoenix's merge_deltas): the
// values o removes leave d, the values o adds that d has not seen join it,
// the clouds are unioned and the windows widened.
func (d *delta) absorb(o *delta) {
	for r, cs := range o.clouds {
		for c := range cs {
			t := tag{r, c}
			if _, ok := o.values[t]; !ok {
				delete(d.values, t)
			}
		}
	}
	for t, v := range o.values {
		if _, ok := d.values[t]; ok || d.clouds.has(t) {
			continue
		}
		d.values[t] = v
	}
	d.clouds.union(o.clouds, nil)
	for r, s := range o.start {
		if cur, ok := d.start[r]; !ok || s < cur {
			d.start[r] = s
		}
	}
	for r, e := range o.end {
		if cur, ok := d.end[r]; !ok || e > cur {
			d.end[r] = e
		}
	}
}

// fulfils reports whether d brings a replica whose clock is have up to
// want, the clocks of the replica answering: for every replica the
// requester knows and lags on, d's window must start at or below what the
// requester has and end at or above what it wants. Phoenix checks only the
// replicas d covers; checking all of them means a generation that lacks a
// replica's changes is never sent in place of the full state.
func (d *delta) fulfils(have, want clock, requester replica) bool {
	if !d.changed() {
		return false
	}
	for r, w := range want {
		h, known := have[r]
		if r == requester || !known || h >= w {
			continue
		}
		s, ok := d.start[r]
		if !ok || s > h || d.end[r] < w {
			return false
		}
	}
	return true
}

// extract returns what of d to send to requester, which knows the replicas
// in known: nothing of replicas it does not know, and nothing of its own.
// Phoenix leaves the requester's dots and window in; without them, the
// requester can keep what it gets in its own generations, which must not
// hold a window of its own replica without its values.
func (d *delta) extract(requester replica, known clock) *delta {
	out := &delta{full: d.full, clouds: clouds{}, values: map[tag]*value{}}
	keep := func(r replica) bool {
		_, ok := known[r]
		return ok && r != requester
	}
	if d.full {
		out.context = clock{}
		for r, c := range d.context {
			if keep(r) {
				out.context[r] = c
			}
		}
	} else {
		out.start, out.end = clock{}, clock{}
		for r, c := range d.start {
			if keep(r) {
				out.start[r], out.end[r] = c, d.end[r]
			}
		}
	}
	out.clouds.union(d.clouds, keep)
	for t, v := range d.values {
		if keep(t.r) {
			out.values[t] = v
		}
	}
	return out
}

// removeReplica forgets everything of r.
func (d *delta) removeReplica(r replica) {
	delete(d.context, r)
	delete(d.start, r)
	delete(d.end, r)
	delete(d.clouds, r)
	for t := range d.values {
		if t.r == r {
			delete(d.values, t)
		}
	}
}

// topicIndex holds a topic's values by key, each key's values sorted by
// tag, so that List is one pass and its metas come out in a fixed order
// on every node.
type topicIndex struct {
	keys map[string][]*value
	n    int
}

// state is one replica's view: Phoenix's State in :normal mode.
type state struct {
	self    replica
	context clock
	clouds  clouds
	values  map[tag]*value
	topics  map[string]*topicIndex
	down    map[replica]bool // replicas whose values are hidden
	delta   *delta           // local changes since the last heartbeat; nil when not replicating
}

func newState(self replica) *state {
	return &state{
		self:    self,
		context: clock{self: 0},
		clouds:  clouds{},
		values:  map[tag]*value{},
		topics:  map[string]*topicIndex{},
		down:    map[replica]bool{},
	}
}

// covers reports whether the state has seen t.
func (s *state) covers(t tag) bool {
	if c, ok := s.context[t.r]; ok && c >= t.c {
		return true
	}
	return s.clouds.has(t)
}

// visible reports whether v shows in List and diffs: its replica is not down.
func (s *state) visible(v *value) bool { return len(s.down) == 0 || !s.down[v.tag.r] }

// record starts (on) or stops recording local changes in a delta. A
// Tracker that does not replicate keeps no delta, so that it does not grow.
func (s *state) record(on bool) {
	if on {
		s.resetDelta()
	} else {
		s.delta = nil
	}
}

func (s *state) resetDelta() {
	d := newDelta()
	c := s.context[s.self]
	d.start[s.self], d.end[s.self] = c, c
	s.delta = d
}

// takeDelta returns the delta of the local changes and starts a new one.
func (s *state) takeDelta() *delta {
	d := s.delta
	s.resetDelta()
	return d
}

// hasDelta reports whether there are local changes to broadcast.
func (s *state) hasDelta() bool { return s.delta != nil && s.delta.changed() }

// bump advances the local clock and returns the new dot.
func (s *state) bump() tag {
	c := s.context[s.self] + 1
	s.context[s.self] = c
	t := tag{s.self, c}
	if s.delta != nil {
		s.delta.clouds.add(t)
		s.delta.end[s.self] = c
	}
	return t
}

// join adds a local presence.
func (s *state) join(topic, key string, meta map[string]any, raw []byte) *value {
	v := &value{tag: s.bump(), topic: topic, key: key, meta: meta, raw: raw}
	s.insert(v)
	if s.delta != nil {
		s.delta.values[v.tag] = v
	}
	return v
}

// leave removes a local presence. The removal is its dot in the delta's
// clouds without a value, plus a new dot so that the local clock moves and
// a peer that misses this delta sees that it is behind.
func (s *state) leave(v *value) {
	s.remove(v)
	s.unrecord(v.tag)
	s.bump()
}

// leaveJoin replaces old by a new value in one step: Phoenix's leave_join.
func (s *state) leaveJoin(old *value, meta map[string]any, raw []byte) *value {
	s.leave(old)
	return s.join(old.topic, old.key, meta, raw)
}

// unrecord notes in the delta that the value at t is gone.
func (s *state) unrecord(t tag) {
	if s.delta != nil {
		s.delta.clouds.add(t)
		delete(s.delta.values, t)
	}
}

func (s *state) insert(v *value) {
	s.values[v.tag] = v
	ti := s.topics[v.topic]
	if ti == nil {
		ti = &topicIndex{keys: map[string][]*value{}}
		s.topics[v.topic] = ti
	}
	vs := ti.keys[v.key]
	i, _ := slices.BinarySearchFunc(vs, v.tag, func(e *value, t tag) int { return compareTag(e.tag, t) })
	ti.keys[v.key] = slices.Insert(vs, i, v)
	ti.n++
}

func (s *state) remove(v *value) {
	if s.values[v.tag] != v {
		return
	}
	delete(s.values, v.tag)
	ti := s.topics[v.topic]
	vs := ti.keys[v.key]
	if i := slices.Index(vs, v); i >= 0 {
		vs = slices.Delete(vs, i, i+1)
		ti.n--
	}
	if len(vs) == 0 {
		delete(ti.keys, v.key)
	} else {
		ti.keys[v.key] = vs
	}
	if len(ti.keys) == 0 {
		delete(s.topics, v.topic)
	}
}

// known reports whether r is in the context, that is, whether this
// replica accepts its values.
func (s *state) known(r replica) bool {
	_, ok := s.context[r]
	return ok
}

// merge merges a remote delta or full state into s and returns the values
// that joined and left, sorted by tag:
//
//   - joins are the remote values of replicas s knows whose dots s has not
//     seen;
//   - leaves are the values of s, other than its own, that the remote has
//     seen (its context or clouds cover their dots) but no longer holds.
//
// The contexts are then joined and compacted. Unlike Phoenix, the dots of
// removed values stay in the clouds until compacted into the context, so
// that a late copy of a removed value cannot join again; and the dots of
// joined values are added even if the remote left them out of its clouds.
func (s *state) merge(d *delta) (joins, leaves []*value) {
	for t, v := range d.values {
		if t.r == s.self || !s.known(t.r) || s.covers(t) {
			continue
		}
		joins = append(joins, v)
	}
	if d.full {
		for t, v := range s.values {
			if t.r == s.self {
				continue
			}
			if _, ok := d.values[t]; !ok && d.covers(t) {
				leaves = append(leaves, v)
			}
		}
	} else {
		for r, cs := range d.clouds {
			if r == s.self {
				continue
			}
			for c := range cs {
				t := tag{r, c}
				if v, ok := s.values[t]; ok {
					if _, kept := d.values[t]; !kept {
						leaves = append(leaves, v)
					}
				}
			}
		}
	}
	for _, v := range leaves {
		s.remove(v)
		s.unrecord(v.tag) // relay the removal in the next delta
	}
	for _, v := range joins {
		s.insert(v)
		s.clouds.add(v.tag)
	}
	keep := func(r replica) bool { return r != s.self && s.known(r) }
	s.clouds.union(d.clouds, keep)
	for r, c := range d.context {
		if keep(r) && c > s.context[r] {
			s.context[r] = c
		}
	}
	s.compact()
	slices.SortFunc(joins, func(a, b *value) int { return compareTag(a.tag, b.tag) })
	slices.SortFunc(leaves, func(a, b *value) int { return compareTag(a.tag, b.tag) })
	return joins, leaves
}

// compact folds the dots of the clouds that are contiguous with the
// context into it, and drops the dots the context covers.
func (s *state) compact() {
	for r, cs := range s.clouds {
		c, ok := s.context[r]
		if !ok {
			delete(s.clouds, r)
			continue
		}
		for {
			if _, ok := cs[c+1]; !ok {
				break
			}
			delete(cs, c+1)
			c++
		}
		for x := range cs {
			if x <= c {
				delete(cs, x)
			}
		}
		s.context[r] = c
		if len(cs) == 0 {
			delete(s.clouds, r)
		}
	}
}

// clocks returns the context without the down replicas: what a heartbeat
// or a transfer request advertises (Phoenix's State.clocks).
func (s *state) clocks() clock {
	out := make(clock, len(s.context))
	for r, c := range s.context {
		if !s.down[r] {
			out[r] = c
		}
	}
	return out
}

// replicaValues returns r's values, sorted by tag.
func (s *state) replicaValues(r replica) []*value {
	var vs []*value
	for t, v := range s.values {
		if t.r == r {
			vs = append(vs, v)
		}
	}
	slices.SortFunc(vs, func(a, b *value) int { return compareTag(a.tag, b.tag) })
	return vs
}

// replicaUp makes r known and visible, and returns its values, which join.
func (s *state) replicaUp(r replica) []*value {
	if _, ok := s.context[r]; !ok {
		s.context[r] = 0
	}
	if !s.down[r] {
		return nil // already visible: nothing joins
	}
	delete(s.down, r)
	return s.replicaValues(r)
}

// replicaDown hides r's values and returns them, which leave. They are
// kept, in case r comes back.
func (s *state) replicaDown(r replica) []*value {
	if s.down[r] || !s.known(r) {
		return nil
	}
	s.down[r] = true
	return s.replicaValues(r)
}

// removeReplica deletes everything of r: its permdown.
func (s *state) removeReplica(r replica) {
	for _, v := range s.replicaValues(r) {
		s.remove(v)
	}
	delete(s.context, r)
	delete(s.clouds, r)
	delete(s.down, r)
	if s.delta != nil {
		s.delta.removeReplica(r)
	}
}

// extract returns the full state to send to requester, which knows the
// replicas in known (Phoenix's extract in :normal mode).
func (s *state) extract(requester replica, known clock) *delta {
	full := &delta{full: true, context: s.context, clouds: s.clouds, values: s.values}
	return full.extract(requester, known)
}
