package presence_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/presence"
	"github.com/suzaku-go/suzaku/pubsub"
)

// coalesceSetup returns a Tracker with the given coalescing settings and n
// recorders subscribed to topic.
func coalesceSetup(t *testing.T, topic string, n int, cfg presence.Config) (*presence.Tracker, []*recorder) {
	t.Helper()
	broker := pubsub.NewMemory(pubsub.MemoryConfig{Node: "n"})
	cfg.Broker = broker
	tr, err := presence.New(cfg)
	testutil.Success(t, err)
	var recs []*recorder
	for range n {
		r := newRecorder()
		testutil.Success(t, broker.Subscribe(context.Background(), topic, r))
		recs = append(recs, r)
	}
	return tr, recs
}

// waitView waits until every recorder's view of topic is the Tracker's
// List, applied strictly (no join of a ref it has, no leave of one it
// has not).
func waitView(t *testing.T, tr *presence.Tracker, topic string, recs []*recorder) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		for _, r := range recs {
			if err = r.check(topic, viewOf(tr.List(topic))); err != nil {
				break
			}
		}
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPresenceCoalesceBurst: 500 joins, 100 updates and 250 leaves in a
// burst on a topic with more subscribers than CoalesceAbove reach every
// subscriber in far fewer diffs than changes, the first at once, and the
// subscribers' views end equal to the Tracker's.
func TestPresenceCoalesceBurst(t *testing.T) {
	t.Parallel()
	const topic, interval = "room:big", 50 * time.Millisecond
	tr, recs := coalesceSetup(t, topic, 3, presence.Config{DiffInterval: interval, CoalesceAbove: 2})
	ctx := context.Background()
	start := time.Now()
	var owners []*owner
	for i := range 500 {
		o := newOwner(topic)
		owners = append(owners, o)
		_, err := tr.Track(ctx, o, fmt.Sprint("user", i), map[string]any{"n": i})
		testutil.Success(t, err)
		if i == 0 {
			testutil.Equal(t, "diffs right after the first join", len(recs[0].diffs(topic)), 1)
		}
	}
	for i, o := range owners[:100] {
		_, err := tr.Update(ctx, o, topic, fmt.Sprint("user", i), map[string]any{"n": -i})
		testutil.Success(t, err)
	}
	for _, o := range owners[250:] {
		o.exit()
	}
	burst := time.Since(start)
	waitView(t, tr, topic, recs)
	testutil.Equal(t, "users present", len(tr.List(topic)), 250)
	// One diff at once, then at most one per interval while changes come,
	// and the last one after them.
	limit := 3 + int(burst/interval)
	for i, r := range recs {
		if n := len(r.diffs(topic)); n > limit {
			t.Errorf("subscriber %d got %d diffs for 850 changes in %v; want at most %d", i, n, burst, limit)
		}
	}
}

// TestPresenceCoalesceLoneChange: on a large topic that has gone quiet, a
// change goes out at once, not after an interval.
func TestPresenceCoalesceLoneChange(t *testing.T) {
	t.Parallel()
	const topic = "room:big"
	tr, recs := coalesceSetup(t, topic, 3, presence.Config{DiffInterval: time.Hour, CoalesceAbove: 2})
	_, err := tr.Track(context.Background(), newOwner(topic), "alice", map[string]any{})
	testutil.Success(t, err)
	testutil.Equal(t, "diffs right after the join", len(recs[0].diffs(topic)), 1)
	testutil.Success(t, recs[0].check(topic, viewOf(tr.List(topic))))
}

// TestPresenceNoCoalesceSmallTopic: a topic with no more subscribers than
// CoalesceAbove gets one diff per change, each as the change returns.
func TestPresenceNoCoalesceSmallTopic(t *testing.T) {
	t.Parallel()
	const topic = "room:small"
	tr, recs := coalesceSetup(t, topic, 2, presence.Config{DiffInterval: time.Hour, CoalesceAbove: 2})
	for i := range 50 {
		_, err := tr.Track(context.Background(), newOwner(topic), fmt.Sprint("user", i), map[string]any{})
		testutil.Success(t, err)
		testutil.Equal(t, "diffs after each join", len(recs[1].diffs(topic)), i+1)
	}
	testutil.Success(t, recs[1].check(topic, viewOf(tr.List(topic))))
}

// lateClient is a subscriber that starts from a presence_state and applies
// diffs as phoenix.js does: a join of a meta it has replaces it, a leave of
// one it has not is ignored.
type lateClient struct {
	mu sync.Mutex
	v  view
}

func (c *lateClient) Deliver(m *pubsub.Message) {
	if m.Event != presence.EventDiff {
		return
	}
	var d diffPayload
	if json.Unmarshal(m.Payload, &d) != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, p := range d.Joins {
		for _, meta := range p.Metas {
			c.v.add(key, meta)
		}
	}
	for key, p := range d.Leaves {
		for _, meta := range p.Metas {
			c.v.remove(key, meta)
		}
	}
}

func (c *lateClient) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.v.String()
}

// TestPresenceCoalesceLateSubscriber: a client that subscribes during a
// window gets a presence_state holding the window's changes so far; a
// user who joined and left within that window must still leave its list.
func TestPresenceCoalesceLateSubscriber(t *testing.T) {
	t.Parallel()
	const topic = "room:big"
	broker := pubsub.NewMemory(pubsub.MemoryConfig{Node: "n"})
	tr, err := presence.New(presence.Config{Broker: broker, DiffInterval: 200 * time.Millisecond, CoalesceAbove: -1})
	testutil.Success(t, err)
	ctx := context.Background()
	_, err = tr.Track(ctx, newOwner(topic), "first", map[string]any{}) // sent at once; opens the window
	testutil.Success(t, err)
	ghost := newOwner(topic)
	_, err = tr.Track(ctx, ghost, "ghost", map[string]any{}) // pending in the window
	testutil.Success(t, err)
	late := &lateClient{v: viewOf(tr.List(topic))} // its presence_state lists ghost
	testutil.Success(t, broker.Subscribe(ctx, topic, late))
	ghost.exit() // leaves within the same window
	deadline := time.Now().Add(5 * time.Second)
	for late.String() != viewOf(tr.List(topic)).String() {
		if time.Now().After(deadline) {
			t.Fatalf("the late client's list:\n%s\nthe tracker's:\n%s", late, viewOf(tr.List(topic)))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
