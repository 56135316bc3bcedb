package presence

import (
	"fmt"
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
)

func TestPresenceDominates(t *testing.T) {
	t.Parallel()
	a, b, c := testReplica("a"), testReplica("b"), testReplica("c")
	tests := []struct {
		name string
		x, y clock
		want bool
	}{
		{name: "equal", x: clock{a: 1, b: 2}, y: clock{a: 1, b: 2}, want: true},
		{name: "ahead", x: clock{a: 2, b: 2}, y: clock{a: 1, b: 2}, want: true},
		{name: "behind", x: clock{a: 1, b: 1}, y: clock{a: 1, b: 2}, want: false},
		{name: "concurrent", x: clock{a: 2, b: 1}, y: clock{a: 1, b: 2}, want: false},
		{name: "more replicas", x: clock{a: 1, b: 2, c: 0}, y: clock{a: 1, b: 2}, want: true},
		// Phoenix's rule: a clock with fewer replicas never dominates.
		{name: "fewer replicas", x: clock{a: 5}, y: clock{a: 1, b: 0}, want: false},
		{name: "empty", x: clock{a: 1}, y: clock{}, want: true},
	}
	for _, tt := range tests {
		testutil.Equal(t, tt.name, dominates(tt.x, tt.y), tt.want)
	}
}

func TestPresenceAppendClock(t *testing.T) {
	t.Parallel()
	a, b := testReplica("a"), testReplica("b")
	nc := func(r replica, c clock) nodeClock { return nodeClock{r, c} }
	names := func(set []nodeClock) []string {
		out := []string{}
		for _, x := range set {
			out = append(out, x.rep.node)
		}
		return out
	}
	tests := []struct {
		name string
		set  []nodeClock
		add  nodeClock
		want []string
	}{
		{name: "into empty", add: nc(a, clock{a: 1}), want: []string{"a"}},
		{name: "empty clock ignored", set: []nodeClock{nc(a, clock{a: 1})}, add: nc(b, clock{}), want: []string{"a"}},
		{name: "dominating replaces", set: []nodeClock{nc(a, clock{a: 1, b: 1})}, add: nc(b, clock{a: 1, b: 2}), want: []string{"b"}},
		{name: "dominated dropped", set: []nodeClock{nc(a, clock{a: 2, b: 2})}, add: nc(b, clock{a: 1, b: 2}), want: []string{"a"}},
		{name: "concurrent kept", set: []nodeClock{nc(a, clock{a: 2, b: 1})}, add: nc(b, clock{a: 1, b: 2}), want: []string{"a", "b"}},
	}
	for _, tt := range tests {
		testutil.Equal(t, tt.name, names(appendClock(tt.set, tt.add)), tt.want)
	}
}

func TestPresenceInboxBounded(t *testing.T) {
	t.Parallel()
	in := newInbox()
	for i := range maxInbox + 5 {
		in.Deliver(&pubsub.Message{Topic: fmt.Sprint(i)})
	}
	testutil.Equal(t, "dropped", in.droppedCount(), uint64(5))
	testutil.Equal(t, "queued", len(in.take()), maxInbox)
	testutil.Equal(t, "queued after take", len(in.take()), 0)
}

func TestPresencePushGen(t *testing.T) {
	t.Parallel()
	tr := &Tracker{}
	a := newTestState("a", "b")
	// Deltas of 60 values each: generation 0 (100) holds one, 1 (1000)
	// holds them all, as does 2.
	for range 5 {
		for i := range 60 {
			testJoin(a, "t", fmt.Sprint(i))
		}
		tr.pushGen(a.takeDelta())
	}
	testutil.Equal(t, "generations", len(tr.gens), numGens)
	testutil.Equal(t, "gen 0 values", len(tr.gens[0].values), 60)
	testutil.Equal(t, "gen 1 values", len(tr.gens[1].values), 300)
	testutil.Equal(t, "gen 1 window", [2]uint64{tr.gens[1].start[a.self], tr.gens[1].end[a.self]}, [2]uint64{0, 300})
	testutil.Equal(t, "gen 2 values", len(tr.gens[2].values), 300)
	// A gap restarts the generations from the delta after it.
	for i := range 3 {
		testJoin(a, "u", fmt.Sprint(i))
	}
	a.takeDelta() // lost
	testJoin(a, "v", "x")
	tr.pushGen(a.takeDelta())
	for i, g := range tr.gens {
		testutil.Equal(t, fmt.Sprint("gen ", i, " after a gap"), len(g.values), 1)
	}
}

// BenchmarkFullTransfer10k is the cost of a full state transfer of 10 000
// presences: extract and encode on the sender, decode and merge on the
// receiver.
func BenchmarkFullTransfer10k(b *testing.B) {
	a := newTestState("a", "b")
	for i := range 10_000 {
		ref := fmt.Sprintf("ref%013d", i)
		raw := []byte(`{"device":"laptop","online_at":1700000000,"phx_ref":"` + ref + `"}`)
		meta, err := decodeMeta(raw)
		if err != nil {
			b.Fatal(err)
		}
		a.join("room:lobby", fmt.Sprint("user:", i), meta, raw)
	}
	have := clock{testReplica("a"): 0, testReplica("b"): 0}
	b.ReportAllocs()
	for b.Loop() {
		data, err := encodeMessage(&message{from: a.self, state: a.extract(testReplica("b"), have)})
		if err != nil {
			b.Fatal(err)
		}
		m, err := decodeMessage(data)
		if err != nil {
			b.Fatal(err)
		}
		r := newTestState("b", "a")
		if joins, _ := r.merge(m.state); len(joins) != 10_000 {
			b.Fatalf("%d joins", len(joins))
		}
		b.SetBytes(int64(len(data)))
	}
}
