package presence

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

// White-box tests of the CRDT: it is unexported, and its rules are the
// heart of the package.

func testReplica(node string) replica { return replica{node: node, vsn: 1} }

// newTestState returns a recording state for node that knows the others.
func newTestState(node string, others ...string) *state {
	s := newState(testReplica(node))
	s.record(true)
	for _, o := range others {
		s.replicaUp(testReplica(o))
	}
	return s
}

func testJoin(s *state, topic, key string) *value {
	ref := fmt.Sprintf("%s-%d", s.self.node, s.context[s.self]+1)
	raw := []byte(`{"phx_ref":"` + ref + `"}`)
	return s.join(topic, key, map[string]any{"phx_ref": ref}, raw)
}

// refs returns the phx_refs of vs, sorted.
func refs(vs []*value) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, v.meta["phx_ref"].(string))
	}
	slices.Sort(out)
	return out
}

func stateRefs(s *state) []string { return refs(slices.Collect(maps.Values(s.values))) }

func TestPresenceStateMerge(t *testing.T) {
	t.Parallel()
	a := newTestState("a", "b")
	b := newTestState("b", "a")
	type step struct {
		name        string
		do          func() *delta // changes on a, returns the delta b merges
		joins       []string
		leaves      []string
		onB         []string // b's values after
		contextOfAB uint64   // b's context for a after
	}
	var x, y *value
	steps := []step{
		{name: "two joins", do: func() *delta {
			x = testJoin(a, "room:1", "x")
			y = testJoin(a, "room:1", "y")
			return a.takeDelta()
		}, joins: []string{"a-1", "a-2"}, leaves: []string{}, onB: []string{"a-1", "a-2"}, contextOfAB: 2},
		{name: "leave", do: func() *delta {
			a.leave(x)
			return a.takeDelta()
		}, joins: []string{}, leaves: []string{"a-1"}, onB: []string{"a-2"}, contextOfAB: 3},
		{name: "update is a leave and a join", do: func() *delta {
			a.leaveJoin(y, map[string]any{"phx_ref": "a-5"}, []byte(`{"phx_ref":"a-5"}`))
			return a.takeDelta()
		}, joins: []string{"a-5"}, leaves: []string{"a-2"}, onB: []string{"a-5"}, contextOfAB: 5},
		{name: "empty delta", do: func() *delta { return a.takeDelta() },
			joins: []string{}, leaves: []string{}, onB: []string{"a-5"}, contextOfAB: 5},
	}
	for _, st := range steps { // in order: each builds on the last
		d := st.do()
		joins, leaves := b.merge(d)
		testutil.Equal(t, st.name+": joins", refs(joins), st.joins)
		testutil.Equal(t, st.name+": leaves", refs(leaves), st.leaves)
		testutil.Equal(t, st.name+": b values", stateRefs(b), st.onB)
		testutil.Equal(t, st.name+": b context[a]", b.context[a.self], st.contextOfAB)
		testutil.Equal(t, st.name+": b clouds", len(b.clouds), 0)
		// Idempotence: the same delta again changes nothing.
		joins, leaves = b.merge(d)
		testutil.Equal(t, st.name+": joins again", refs(joins), []string{})
		testutil.Equal(t, st.name+": leaves again", refs(leaves), []string{})
		testutil.Equal(t, st.name+": b values again", stateRefs(b), st.onB)
	}
}

func TestPresenceStateOutOfOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		order []int // indexes of the deltas, in delivery order
	}{
		{name: "in order", order: []int{0, 1, 2}},
		{name: "reversed", order: []int{2, 1, 0}},
		{name: "middle first", order: []int{1, 0, 2}},
		{name: "last first", order: []int{2, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newTestState("a", "b")
			x := testJoin(a, "room:1", "x") // dot 1
			d0 := a.takeDelta()
			a.leave(x)                      // dot 2
			y := testJoin(a, "room:1", "y") // dot 3
			d1 := a.takeDelta()
			testJoin(a, "room:2", "z") // dot 4
			a.leave(y)                 // dot 5
			d2 := a.takeDelta()
			deltas := []*delta{d0, d1, d2}

			b := newTestState("b", "a")
			visible := map[string]bool{} // what a client applying b's diffs sees
			for _, i := range tt.order {
				joins, leaves := b.merge(deltas[i])
				for _, r := range refs(joins) {
					testutil.Equal(t, "join of a visible "+r, visible[r], false)
					visible[r] = true
				}
				for _, r := range refs(leaves) {
					testutil.Equal(t, "leave of an absent "+r, visible[r], true)
					delete(visible, r)
				}
			}
			testutil.Equal(t, "b values", stateRefs(b), []string{"a-4"})
			testutil.Equal(t, "client", slices.Sorted(maps.Keys(visible)), []string{"a-4"})
			// All dots seen: the clouds compact into the context.
			testutil.Equal(t, "b context[a]", b.context[a.self], uint64(5))
			testutil.Equal(t, "b clouds", len(b.clouds), 0)
		})
	}
}

func TestPresenceStateCloudsCompaction(t *testing.T) {
	t.Parallel()
	a := newTestState("a", "b")
	testJoin(a, "t", "1")
	d1 := a.takeDelta() // dot 1
	testJoin(a, "t", "2")
	testJoin(a, "t", "3")
	d2 := a.takeDelta() // dots 2, 3
	testJoin(a, "t", "4")
	d3 := a.takeDelta() // dot 4

	b := newTestState("b", "a")
	b.merge(d3)
	testutil.Equal(t, "context after d3", b.context[a.self], uint64(0))
	testutil.Equal(t, "clouds after d3", slices.Sorted(maps.Keys(b.clouds[a.self])), []uint64{4})
	b.merge(d1)
	testutil.Equal(t, "context after d1", b.context[a.self], uint64(1))
	testutil.Equal(t, "clouds after d1", slices.Sorted(maps.Keys(b.clouds[a.self])), []uint64{4})
	b.merge(d2)
	testutil.Equal(t, "context after d2", b.context[a.self], uint64(4))
	testutil.Equal(t, "clouds after d2", len(b.clouds), 0)
	testutil.Equal(t, "values", stateRefs(b), []string{"a-1", "a-2", "a-3", "a-4"})
}

func TestPresenceStateCommutes(t *testing.T) {
	t.Parallel()
	// Deltas of two replicas, merged into a third in every order, give the
	// same state.
	a := newTestState("a", "b", "c")
	x := testJoin(a, "t", "x")
	testJoin(a, "t", "y")
	da1 := a.takeDelta()
	a.leave(x)
	da2 := a.takeDelta()
	c := newTestState("c", "a", "b")
	testJoin(c, "t", "x")
	dc1 := c.takeDelta()

	deltas := []*delta{da1, da2, dc1}
	var want []string
	var wantCtx clock
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 2, 0}, {2, 0, 1}, {0, 2, 1}, {1, 0, 2}} {
		b := newTestState("b", "a", "c")
		for _, i := range order {
			b.merge(deltas[i])
		}
		got := stateRefs(b)
		if want == nil {
			want, wantCtx = got, maps.Clone(b.context)
		}
		testutil.Equal(t, fmt.Sprint("values, order ", order), got, want)
		testutil.Equal(t, fmt.Sprint("context, order ", order), b.context, wantCtx)
	}
	testutil.Equal(t, "values", want, []string{"a-2", "c-1"})
}

func TestPresenceStateIgnores(t *testing.T) {
	t.Parallel()
	a := newTestState("a", "b")
	testJoin(a, "t", "x")
	d := a.takeDelta()

	tests := []struct {
		name  string
		state *state
		want  []string
	}{
		// A replica accepts values only of replicas it knows (has heard).
		{name: "unknown replica", state: newTestState("b"), want: []string{}},
		{name: "known replica", state: newTestState("b", "a"), want: []string{"a-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			joins, _ := tt.state.merge(d.clone())
			testutil.Equal(t, "joins", refs(joins), tt.want)
		})
	}

	// A remote never removes a replica's own values, even if it claims
	// to have seen their dots.
	b := newTestState("b", "a")
	own := testJoin(b, "t", "mine")
	forged := newDelta()
	forged.clouds.add(own.tag)
	_, leaves := b.merge(forged)
	testutil.Equal(t, "leaves of own values", refs(leaves), []string{})
	testutil.Equal(t, "own values", stateRefs(b), []string{"b-1"})
}

func TestPresenceStateFullMerge(t *testing.T) {
	t.Parallel()
	a := newTestState("a", "b")
	x := testJoin(a, "t", "x")
	b := newTestState("b", "a")
	b.merge(a.takeDelta())
	// b misses the delta with these changes.
	a.leave(x)
	testJoin(a, "t", "y")
	a.takeDelta()

	full := a.extract(b.self, b.clocks())
	testutil.Equal(t, "full", full.full, true)
	joins, leaves := b.merge(full)
	testutil.Equal(t, "joins", refs(joins), []string{"a-3"})
	testutil.Equal(t, "leaves", refs(leaves), []string{"a-1"})
	testutil.Equal(t, "b context[a]", b.context[a.self], uint64(3))
	testutil.Equal(t, "b values", stateRefs(b), []string{"a-3"})
}

func TestPresenceStateExtractPrunes(t *testing.T) {
	t.Parallel()
	a := newTestState("a", "b", "c")
	testJoin(a, "t", "a")
	b := newTestState("b", "a", "c")
	testJoin(b, "t", "b")
	c := newTestState("c", "a", "b")
	testJoin(c, "t", "c")
	a.merge(b.takeDelta())
	a.merge(c.takeDelta())
	testutil.Equal(t, "a values", stateRefs(a), []string{"a-1", "b-1", "c-1"})

	// b knows a but not c: it gets a's values only, none of its own.
	full := a.extract(b.self, clock{a.self: 0, b.self: 1})
	testutil.Equal(t, "values for b", refs(slices.Collect(maps.Values(full.values))), []string{"a-1"})
	testutil.Equal(t, "context for b", full.context, clock{a.self: 1})
}

func TestPresenceStateReplicaDownUp(t *testing.T) {
	t.Parallel()
	a := newTestState("a", "b")
	testJoin(a, "t", "x")
	testJoin(a, "u", "y")
	b := newTestState("b", "a")
	b.merge(a.takeDelta())

	testutil.Equal(t, "down", refs(b.replicaDown(a.self)), []string{"a-1", "a-2"})
	testutil.Equal(t, "down again", refs(b.replicaDown(a.self)), []string{})
	testutil.Equal(t, "clocks without down replica", b.clocks(), clock{b.self: 0})
	for _, v := range b.values {
		testutil.Equal(t, "visible while down", b.visible(v), false)
	}
	testutil.Equal(t, "up", refs(b.replicaUp(a.self)), []string{"a-1", "a-2"})
	testutil.Equal(t, "up again", refs(b.replicaUp(a.self)), []string{})

	b.removeReplica(a.self)
	testutil.Equal(t, "values after permdown", stateRefs(b), []string{})
	testutil.Equal(t, "topics after permdown", len(b.topics), 0)
	testutil.Equal(t, "known after permdown", b.known(a.self), false)
}

func TestPresenceDeltaGenerations(t *testing.T) {
	t.Parallel()
	a := newTestState("a", "b")
	x := testJoin(a, "t", "x")
	d1 := a.takeDelta() // (0, 1]
	a.leave(x)
	testJoin(a, "t", "y")
	d2 := a.takeDelta() // (1, 3]
	testJoin(a, "t", "z")
	d3 := a.takeDelta() // (3, 4]

	g := d1.clone()
	testutil.Equal(t, "d2 continues d1", g.contiguous(d2), true)
	testutil.Equal(t, "d3 does not continue d1", g.contiguous(d3), false)
	g.absorb(d2)
	g.absorb(d3)
	testutil.Equal(t, "window", [2]uint64{g.start[a.self], g.end[a.self]}, [2]uint64{0, 4})
	testutil.Equal(t, "values", refs(slices.Collect(maps.Values(g.values))), []string{"a-3", "a-4"})
	testutil.Equal(t, "dots", g.clouds.size(), 4)

	want := clock{a.self: 4}
	tests := []struct {
		name string
		have clock
		g    *delta
		want bool
	}{
		{name: "covers from zero", have: clock{a.self: 0}, g: g, want: true},
		{name: "covers from the middle", have: clock{a.self: 2}, g: g, want: true},
		{name: "window starts too late", have: clock{a.self: 0}, g: d3, want: false},
		{name: "window ends too early", have: clock{a.self: 0}, g: d1, want: false},
		{name: "requester knows nothing of a", have: clock{}, g: d1, want: true},
	}
	for _, tt := range tests {
		testutil.Equal(t, tt.name, tt.g.fulfils(tt.have, want, testReplica("b")), tt.want)
	}

	// A requester that missed d2 gets what it needs from the generation.
	b := newTestState("b", "a")
	b.merge(d1)
	joins, leaves := b.merge(g.extract(b.self, b.clocks()))
	testutil.Equal(t, "joins", refs(joins), []string{"a-3", "a-4"})
	testutil.Equal(t, "leaves", refs(leaves), []string{"a-1"})
	testutil.Equal(t, "context", b.context[a.self], uint64(4))
}

// TestPresenceStateConvergence is a property test of the CRDT alone: random
// changes on a few replicas, deltas delivered late, twice, out of order or
// never, then one round of full-state exchange; every replica must end with
// the union of the replicas' own values, and the joins and leaves each one
// reported must add up to what it holds.
func TestPresenceStateConvergence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		replicas int
		seed     uint64
		drop     float64
	}{
		{name: "two replicas", replicas: 2, seed: 1, drop: 0},
		{name: "three replicas lossy", replicas: 3, seed: 2, drop: 0.3},
		{name: "five replicas lossy", replicas: 5, seed: 3, drop: 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(tt.seed, 42))
			var names []string
			for i := range tt.replicas {
				names = append(names, fmt.Sprintf("n%d", i))
			}
			states := make([]*state, tt.replicas)
			seen := make([]map[*value]bool, tt.replicas) // from reported diffs
			for i, n := range names {
				states[i] = newTestState(n, names...)
				seen[i] = map[*value]bool{}
			}
			apply := func(i int, joins, leaves []*value) {
				for _, v := range joins {
					if seen[i][v] {
						t.Fatalf("replica %d: join of %v, already there", i, v.tag)
					}
					seen[i][v] = true
				}
				for _, v := range leaves {
					if !seen[i][v] {
						t.Fatalf("replica %d: leave of %v, not there", i, v.tag)
					}
					delete(seen[i], v)
				}
			}
			type pending struct {
				to int
				d  *delta
			}
			var inflight []pending
			own := make([][]*value, tt.replicas)
			for range 3000 {
				i := rng.IntN(tt.replicas)
				s := states[i]
				switch op := rng.IntN(10); {
				case op < 4 || len(own[i]) == 0:
					v := s.join(fmt.Sprint("t", rng.IntN(3)), fmt.Sprint("k", rng.IntN(5)), map[string]any{}, []byte(`{}`))
					own[i] = append(own[i], v)
					apply(i, []*value{v}, nil)
				case op < 6:
					j := rng.IntN(len(own[i]))
					v := own[i][j]
					own[i] = slices.Delete(own[i], j, j+1)
					s.leave(v)
					apply(i, nil, []*value{v})
				case op < 7:
					j := rng.IntN(len(own[i]))
					old := own[i][j]
					v := s.leaveJoin(old, map[string]any{}, []byte(`{}`))
					own[i][j] = v
					apply(i, []*value{v}, []*value{old})
				case op < 9:
					if !s.hasDelta() {
						continue
					}
					d := s.takeDelta()
					for j := range states {
						if j == i || rng.Float64() < tt.drop {
							continue
						}
						inflight = append(inflight, pending{j, d})
						if rng.IntN(10) == 0 { // duplicated
							inflight = append(inflight, pending{j, d})
						}
					}
				default:
					if len(inflight) == 0 {
						continue
					}
					k := rng.IntN(len(inflight)) // any order
					p := inflight[k]
					inflight = slices.Delete(inflight, k, k+1)
					joins, leaves := states[p.to].merge(p.d)
					apply(p.to, joins, leaves)
				}
			}
			for _, p := range inflight {
				joins, leaves := states[p.to].merge(p.d)
				apply(p.to, joins, leaves)
			}
			// Anti-entropy: everyone pulls everyone's full state.
			for i := range states {
				for j := range states {
					if i != j {
						joins, leaves := states[i].merge(states[j].extract(states[i].self, states[i].clocks()))
						apply(i, joins, leaves)
					}
				}
			}
			var want []string
			for i := range own {
				for _, v := range own[i] {
					want = append(want, fmt.Sprint(v.tag))
				}
			}
			slices.Sort(want)
			for i, s := range states {
				var got, gotSeen []string
				for _, v := range s.values {
					got = append(got, fmt.Sprint(v.tag))
				}
				for v := range seen[i] {
					gotSeen = append(gotSeen, fmt.Sprint(v.tag))
				}
				slices.Sort(got)
				slices.Sort(gotSeen)
				testutil.Equal(t, fmt.Sprintf("replica %d values", i), got, want)
				testutil.Equal(t, fmt.Sprintf("replica %d reported", i), gotSeen, want)
				for _, o := range states {
					testutil.Equal(t, fmt.Sprintf("replica %d context[%s]", i, o.self.node), s.context[o.self], o.context[o.self])
				}
			}
		})
	}
}
