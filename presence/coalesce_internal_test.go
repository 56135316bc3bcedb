package presence

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
)

// TestPresenceMergedDiffs: merging diffs gives what applying them one by
// one gives a client (joins, then leaves, per diff).
func TestPresenceMergedDiffs(t *testing.T) {
	t.Parallel()
	r := testReplica("a")
	v := func(c uint64) *value { return &value{tag: tag{r, c}, topic: "t", key: fmt.Sprint(c)} }
	a, b, c := v(1), v(2), v(3)
	tags := func(vs []*value) []uint64 {
		out := []uint64{}
		for _, x := range vs {
			out = append(out, x.tag.c)
		}
		return out
	}
	tests := []struct {
		name                  string
		diffs                 []diff
		wantJoins, wantLeaves []uint64
		wantNothing           bool
	}{
		{"joins add up", []diff{{joins: []*value{a}}, {joins: []*value{b}}}, []uint64{1, 2}, []uint64{}, false},
		// A client that joined the topic in between has a in its
		// presence_state: it must see a leave.
		{"joined then left: both sent", []diff{{joins: []*value{a}}, {leaves: []*value{a}}}, []uint64{1}, []uint64{1}, false},
		// A client that joined in between lacks a: it must see a join.
		{"left then back (node down and up): a join", []diff{{leaves: []*value{a}}, {joins: []*value{a}}}, []uint64{1}, []uint64{}, false},
		{"left, back, left: join and leave", []diff{{leaves: []*value{a}}, {joins: []*value{a}}, {leaves: []*value{a}}}, []uint64{1}, []uint64{1}, false},
		{"update after join", []diff{{joins: []*value{a}}, {joins: []*value{b}, leaves: []*value{a}}}, []uint64{1, 2}, []uint64{1}, false},
		{"leaves add up", []diff{{leaves: []*value{a}}, {leaves: []*value{b, c}}}, []uint64{}, []uint64{1, 2, 3}, false},
		{"left twice", []diff{{leaves: []*value{a}}, {leaves: []*value{a}}}, []uint64{}, []uint64{1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m merged
			for i := range tt.diffs {
				m.add(&tt.diffs[i])
			}
			d, ok := m.take("t")
			testutil.Equal(t, "anything to send", ok, !tt.wantNothing)
			if tt.wantNothing {
				return
			}
			testutil.Equal(t, "joins", fmt.Sprint(tags(d.joins)), fmt.Sprint(tt.wantJoins))
			testutil.Equal(t, "leaves", fmt.Sprint(tags(d.leaves)), fmt.Sprint(tt.wantLeaves))
		})
	}
}

// TestPresenceMergedBounded: a merged diff holds at most a join and a
// leave per value: a node going down and up 100,000 times within one
// window holds one entry for it, and 1,000 values joined and left hold
// 2,000.
func TestPresenceMergedBounded(t *testing.T) {
	t.Parallel()
	r := testReplica("a")
	var m merged
	flap := &value{tag: tag{r, 0}, key: "flap"}
	m.add(&diff{joins: []*value{flap}})
	for range 100_000 {
		m.add(&diff{leaves: []*value{flap}})
		m.add(&diff{joins: []*value{flap}})
	}
	if n := len(m.joins) + len(m.leaves); n > 130 {
		t.Errorf("after 100,000 downs and ups of one value the merged diff holds %d entries", n)
	}
	for i := range uint64(1000) {
		x := &value{tag: tag{r, i + 1}, key: "churn"}
		m.add(&diff{joins: []*value{x}})
		m.add(&diff{leaves: []*value{x}})
	}
	d, ok := m.take("t")
	testutil.Equal(t, "pending", ok, true)
	testutil.Equal(t, "joins", len(d.joins), 1001)
	testutil.Equal(t, "leaves", len(d.leaves), 1000)
	testutil.Equal(t, "the flapping value ends joined", d.joins[0].key, "flap")
}

// TestPresenceWindowsClose: a burst on a large topic opens a window, and
// once the topic is quiet the Tracker holds nothing for it.
func TestPresenceWindowsClose(t *testing.T) {
	t.Parallel()
	broker := pubsub.NewMemory(pubsub.MemoryConfig{Node: "n"})
	tr, err := New(Config{Broker: broker, DiffInterval: 100 * time.Millisecond, CoalesceAbove: -1})
	testutil.Success(t, err)
	for i := range 200 {
		o := &testOwner{topic: "room:big"}
		_, err := tr.Track(context.Background(), o, fmt.Sprint(i), map[string]any{})
		testutil.Success(t, err)
	}
	windows := func() int {
		tr.qmu.Lock()
		defer tr.qmu.Unlock()
		return len(tr.windows)
	}
	testutil.Equal(t, "windows open during the burst", windows(), 1)
	deadline := time.Now().Add(10 * time.Second)
	for windows() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	testutil.Equal(t, "windows open once quiet", windows(), 0)
}

// testOwner is an Owner that never exits.
type testOwner struct{ topic string }

func (o *testOwner) Topic() string      { return o.topic }
func (o *testOwner) OnExit(func(error)) {}
