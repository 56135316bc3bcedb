package presence_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/presence"
	"github.com/suzaku-go/suzaku/pubsub"
)

// newSingle returns a Tracker on a memory broker, with a recorder
// subscribed to topics.
func newSingle(t *testing.T, topics ...string) (*presence.Tracker, *recorder) {
	t.Helper()
	b := pubsub.NewMemory(pubsub.MemoryConfig{})
	tr, err := presence.New(presence.Config{Broker: b})
	testutil.Success(t, err)
	rec := newRecorder()
	for _, topic := range topics {
		testutil.Success(t, b.Subscribe(context.Background(), topic, rec))
	}
	return tr, rec
}

// TestPresencePayloads checks the presence_diff payloads and the List
// encoding against docs/protocol.md §6.2, byte for byte.
func TestPresencePayloads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr, rec := newSingle(t, "room:lobby")
	o1, o2, o3 := newOwner("room:lobby"), newOwner("room:lobby"), newOwner("room:lobby")
	refs := map[string]string{} // placeholder → ref
	fill := func(s string) string {
		for k, v := range refs {
			s = strings.ReplaceAll(s, k, v)
		}
		return s
	}
	steps := []struct {
		name string
		op   func() (string, error) // returns the new ref, if any
		ref  string                 // placeholder for the ref op returns
		diff string
		list string
	}{
		{
			name: "track",
			op:   func() (string, error) { return tr.Track(ctx, o1, "123", map[string]any{"online_at": "1700000000"}) },
			ref:  "REF1",
			diff: `{"joins":{"123":{"metas":[{"online_at":"1700000000","phx_ref":"REF1"}]}},"leaves":{}}`,
			list: `{"123":{"metas":[{"online_at":"1700000000","phx_ref":"REF1"}]}}`,
		},
		{
			name: "second meta for the key",
			op:   func() (string, error) { return tr.Track(ctx, o2, "123", map[string]any{"status": "away"}) },
			ref:  "REF2",
			diff: `{"joins":{"123":{"metas":[{"phx_ref":"REF2","status":"away"}]}},"leaves":{}}`,
			list: `{"123":{"metas":[{"online_at":"1700000000","phx_ref":"REF1"},{"phx_ref":"REF2","status":"away"}]}}`,
		},
		{
			name: "nil meta",
			op:   func() (string, error) { return tr.Track(ctx, o3, "456", nil) },
			ref:  "REF3",
			diff: `{"joins":{"456":{"metas":[{"phx_ref":"REF3"}]}},"leaves":{}}`,
			list: `{"123":{"metas":[{"online_at":"1700000000","phx_ref":"REF1"},{"phx_ref":"REF2","status":"away"}]},"456":{"metas":[{"phx_ref":"REF3"}]}}`,
		},
		{
			name: "update is a join and a leave in one diff",
			op: func() (string, error) {
				return tr.Update(ctx, o1, "room:lobby", "123", map[string]any{"status": "away"})
			},
			ref:  "REF4",
			diff: `{"joins":{"123":{"metas":[{"phx_ref":"REF4","phx_ref_prev":"REF1","status":"away"}]}},"leaves":{"123":{"metas":[{"online_at":"1700000000","phx_ref":"REF1"}]}}}`,
			list: `{"123":{"metas":[{"phx_ref":"REF2","status":"away"},{"phx_ref":"REF4","phx_ref_prev":"REF1","status":"away"}]},"456":{"metas":[{"phx_ref":"REF3"}]}}`,
		},
		{
			name: "untrack",
			op:   func() (string, error) { return "", tr.Untrack(ctx, o2, "room:lobby", "123") },
			diff: `{"joins":{},"leaves":{"123":{"metas":[{"phx_ref":"REF2","status":"away"}]}}}`,
			list: `{"123":{"metas":[{"phx_ref":"REF4","phx_ref_prev":"REF1","status":"away"}]},"456":{"metas":[{"phx_ref":"REF3"}]}}`,
		},
		{
			name: "HTML characters are not escaped, as with Jason",
			op:   func() (string, error) { return tr.Track(ctx, o2, "<b>&", map[string]any{"s": "<&>"}) },
			ref:  "REF5",
			diff: `{"joins":{"<b>&":{"metas":[{"phx_ref":"REF5","s":"<&>"}]}},"leaves":{}}`,
			list: `{"123":{"metas":[{"phx_ref":"REF4","phx_ref_prev":"REF1","status":"away"}]},"456":{"metas":[{"phx_ref":"REF3"}]},"<b>&":{"metas":[{"phx_ref":"REF5","s":"<&>"}]}}`,
		},
	}
	for i, st := range steps { // in order: each builds on the last
		ref, err := st.op()
		testutil.Success(t, err)
		if st.ref != "" {
			refs[st.ref] = ref
		}
		diffs := rec.diffs("room:lobby")
		testutil.Equal(t, st.name+": diffs", len(diffs), i+1)
		testutil.Equal(t, st.name+": diff", diffs[i], fill(st.diff))
		list, err := json.Marshal(tr.List("room:lobby"))
		testutil.Success(t, err)
		// encoding/json escapes HTML; the comparison is on what it means.
		testutil.Equal(t, st.name+": List", unescape(string(list)), fill(st.list))
	}
	testutil.Success(t, rec.check("room:lobby", viewOf(tr.List("room:lobby"))))
}

func unescape(s string) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(s)
}

func TestPresenceRefs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A stopped clock must not make refs repeat.
	stopped := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tr, err := presence.New(presence.Config{Broker: pubsub.NewMemory(pubsub.MemoryConfig{}), Now: func() time.Time { return stopped }})
	testutil.Success(t, err)
	seen := map[string]bool{}
	for i := range 1000 {
		ref, err := tr.TrackTopic(ctx, newOwner("t"), "t", fmt.Sprint(i), nil)
		testutil.Success(t, err)
		testutil.Equal(t, "len(ref)", len(ref), 16)
		raw, err := base64.URLEncoding.DecodeString(ref)
		testutil.Success(t, err)
		testutil.Equal(t, "decoded length", len(raw), 12)
		testutil.Equal(t, "ref "+ref+" is new", seen[ref], false)
		seen[ref] = true
	}
}

func TestPresenceListAndGet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr, _ := newSingle(t)
	a, b := newOwner("room:1"), newOwner("room:1")
	ra, err := tr.Track(ctx, a, "alice", map[string]any{"n": 1, "tags": []string{"x"}})
	testutil.Success(t, err)
	rb, err := tr.Track(ctx, b, "alice", map[string]any{"n": 2})
	testutil.Success(t, err)

	tests := []struct {
		name  string
		topic string
		key   string
		want  []map[string]any
		found bool
	}{
		// Metas hold JSON-decoded values on every node: numbers are float64.
		{name: "two metas", topic: "room:1", key: "alice", found: true, want: []map[string]any{
			{"n": 1.0, "tags": []any{"x"}, "phx_ref": ra},
			{"n": 2.0, "phx_ref": rb},
		}},
		{name: "unknown key", topic: "room:1", key: "bob"},
		{name: "unknown topic", topic: "room:2", key: "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, ok := tr.Get(tt.topic, tt.key)
			testutil.Equal(t, "found", ok, tt.found)
			testutil.Equal(t, "metas", p.Metas, tt.want)
		})
	}
	// An empty topic lists as {}, not null: it is pushed as presence_state.
	empty, err := json.Marshal(tr.List("room:2"))
	testutil.Success(t, err)
	testutil.Equal(t, "List(empty)", string(empty), "{}")
}

func TestPresenceOwnerExit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr, rec := newSingle(t, "room:1", "user:1")
	o, other := newOwner("room:1"), newOwner("room:1")
	r1, err := tr.Track(ctx, o, "alice", nil)
	testutil.Success(t, err)
	r2, err := tr.Track(ctx, o, "alice:phone", nil)
	testutil.Success(t, err)
	r3, err := tr.TrackTopic(ctx, o, "user:1", "alice", nil)
	testutil.Success(t, err)
	_, err = tr.Track(ctx, other, "bob", nil)
	testutil.Success(t, err)
	testutil.Equal(t, "OnExit hooks registered", o.hookCount(), 1)

	o.exit()
	testutil.Equal(t, "room:1 last diff", rec.diffs("room:1")[3],
		`{"joins":{},"leaves":{"alice":{"metas":[{"phx_ref":"`+r1+`"}]},"alice:phone":{"metas":[{"phx_ref":"`+r2+`"}]}}}`)
	testutil.Equal(t, "user:1 diffs", rec.diffs("user:1"), []string{
		`{"joins":{"alice":{"metas":[{"phx_ref":"` + r3 + `"}]}},"leaves":{}}`,
		`{"joins":{},"leaves":{"alice":{"metas":[{"phx_ref":"` + r3 + `"}]}}}`,
	})
	for _, topic := range []string{"room:1", "user:1"} {
		testutil.Success(t, rec.check(topic, viewOf(tr.List(topic))))
	}
	testutil.Equal(t, "room:1 keys", len(tr.List("room:1")), 1)
	testutil.Equal(t, "user:1 keys", len(tr.List("user:1")), 0)

	// An owner that has ended is untracked as soon as it tracks.
	ref, err := tr.Track(ctx, o, "late", nil)
	testutil.Success(t, err)
	testutil.Equal(t, "late ref", len(ref), 16)
	_, found := tr.Get("room:1", "late")
	testutil.Equal(t, "late presence found", found, false)
	testutil.Success(t, rec.check("room:1", viewOf(tr.List("room:1"))))
}

// TestPresenceUntrackAll checks that UntrackAll sends one diff per topic,
// and keeps the owner's exit hook for what it tracks next.
func TestPresenceUntrackAll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr, rec := newSingle(t, "a", "b")
	o := newOwner("a")
	for _, topic := range []string{"a", "b"} {
		for _, key := range []string{"x", "y"} {
			_, err := tr.TrackTopic(ctx, o, topic, key, nil)
			testutil.Success(t, err)
		}
	}
	testutil.Success(t, tr.UntrackAll(ctx, o))
	testutil.Equal(t, "diffs on a", len(rec.diffs("a")), 3)
	testutil.Equal(t, "diffs on b", len(rec.diffs("b")), 3)
	_, err := tr.Track(ctx, o, "z", nil)
	testutil.Success(t, err)
	o.exit()
	testutil.Equal(t, "hooks", o.hookCount(), 1)
	for _, topic := range []string{"a", "b"} {
		testutil.Equal(t, "List("+topic+")", len(tr.List(topic)), 0)
		testutil.Success(t, rec.check(topic, view{}))
	}
}

// funcOwner is an Owner of a type that cannot key a map.
type funcOwner func()

func (funcOwner) Topic() string      { return "t" }
func (funcOwner) OnExit(func(error)) {}

func TestPresenceErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	tr, _ := newSingle(t)
	o := newOwner("room:1")
	_, err := tr.Track(ctx, o, "alice", nil)
	testutil.Success(t, err)

	tests := []struct {
		name string
		op   func() error
		want error // nil: any error
	}{
		{name: "already tracked", want: presence.ErrAlreadyTracked, op: func() error {
			_, err := tr.Track(ctx, o, "alice", nil)
			return err
		}},
		{name: "update of nothing", want: presence.ErrNoPresence, op: func() error {
			_, err := tr.Update(ctx, o, "room:1", "bob", nil)
			return err
		}},
		{name: "update by another owner", want: presence.ErrNoPresence, op: func() error {
			_, err := tr.Update(ctx, newOwner("room:1"), "room:1", "alice", nil)
			return err
		}},
		{name: "track with a cancelled context", want: context.Canceled, op: func() error {
			_, err := tr.Track(cancelled, o, "bob", nil)
			return err
		}},
		{name: "untrack with a cancelled context", want: context.Canceled, op: func() error {
			return tr.Untrack(cancelled, o, "room:1", "alice")
		}},
		{name: "meta that is not JSON", op: func() error {
			_, err := tr.Track(ctx, o, "bob", map[string]any{"f": func() {}})
			return err
		}},
		{name: "update with a meta that is not JSON", op: func() error {
			_, err := tr.Update(ctx, o, "room:1", "alice", map[string]any{"c": make(chan int)})
			return err
		}},
		{name: "nil owner", op: func() error {
			_, err := tr.Track(ctx, nil, "bob", nil)
			return err
		}},
		{name: "owner not comparable", op: func() error {
			_, err := tr.Track(ctx, funcOwner(func() {}), "bob", nil)
			return err
		}},
		{name: "untrack by an owner not comparable", op: func() error {
			return tr.Untrack(ctx, funcOwner(func() {}), "t", "bob")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			if tt.want != nil {
				testutil.ErrorIs(t, err, tt.want)
			} else {
				testutil.Error(t, err)
			}
		})
	}
	// None of them changed anything.
	p, _ := tr.Get("room:1", "alice")
	testutil.Equal(t, "metas", len(p.Metas), 1)
	testutil.Equal(t, "phx_ref_prev", p.Metas[0]["phx_ref_prev"], nil)
	_, found := tr.Get("room:1", "bob")
	testutil.Equal(t, "bob", found, false)
	// Untracking what is not tracked is not an error.
	testutil.Success(t, tr.Untrack(ctx, o, "room:1", "bob"))
	testutil.Success(t, tr.Untrack(ctx, newOwner("x"), "room:1", "alice"))
}

func TestPresenceNew(t *testing.T) {
	t.Parallel()
	b := pubsub.NewMemory(pubsub.MemoryConfig{})
	tests := []struct {
		name string
		cfg  presence.Config
		ok   bool
	}{
		{name: "defaults", cfg: presence.Config{Broker: b}, ok: true},
		{name: "no broker", cfg: presence.Config{}},
		{name: "negative period", cfg: presence.Config{Broker: b, BroadcastPeriod: -1}},
		{name: "down period too short", cfg: presence.Config{Broker: b, BroadcastPeriod: time.Second, DownPeriod: time.Second}},
		{name: "permdown not after down", cfg: presence.Config{Broker: b, DownPeriod: time.Minute, PermdownPeriod: time.Minute}},
		{name: "only the broadcast period", cfg: presence.Config{Broker: b, BroadcastPeriod: 10 * time.Second}, ok: true},
		{name: "broadcast period too long for permdown", cfg: presence.Config{Broker: b, BroadcastPeriod: time.Minute}},
		{name: "short periods", cfg: presence.Config{Broker: b, BroadcastPeriod: time.Millisecond, DownPeriod: 2 * time.Millisecond, PermdownPeriod: 3 * time.Millisecond}, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr, err := presence.New(tt.cfg)
			if tt.ok {
				testutil.Success(t, err)
				testutil.Equal(t, "tracker", tr != nil, true)
			} else {
				testutil.Error(t, err)
			}
		})
	}
}

// TestPresenceDiffOrder changes presences from many goroutines at once and
// checks that every subscriber gets the diffs in the order of the changes:
// applied strictly, they give List.
func TestPresenceDiffOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	topics := []string{"room:1", "room:2"}
	tr, rec := newSingle(t, topics...)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			owners := []*owner{newOwner("room:1"), newOwner("room:2"), newOwner("room:1")}
			for i := range 500 {
				o := owners[rng.IntN(len(owners))]
				topic := topics[rng.IntN(len(topics))]
				key := fmt.Sprint("k", rng.IntN(4))
				switch rng.IntN(5) {
				case 0, 1:
					_, _ = tr.TrackTopic(ctx, o, topic, key, map[string]any{"g": g, "i": i})
				case 2:
					_, _ = tr.Update(ctx, o, topic, key, map[string]any{"g": g, "i": i, "u": true})
				case 3:
					_ = tr.Untrack(ctx, o, topic, key)
				case 4:
					if rng.IntN(10) == 0 {
						o.exit()
						owners[rng.IntN(len(owners))] = newOwner(topic)
					}
				}
			}
		})
	}
	wg.Wait()
	// The last batches may still be on their way: a caller publishes its
	// own batch, and the tracker's goroutine the ones queued meanwhile.
	for _, topic := range topics {
		testutil.CheckFor(t, 5*time.Second, func() error { return rec.check(topic, viewOf(tr.List(topic))) })
	}
}

// listingSub calls List from Deliver, as a subscriber may.
type listingSub struct {
	tr *presence.Tracker
	n  int
}

func (s *listingSub) Deliver(m *pubsub.Message) { s.n = len(s.tr.List(m.Topic)) }

func TestPresenceSubscriberMayList(t *testing.T) {
	t.Parallel()
	b := pubsub.NewMemory(pubsub.MemoryConfig{})
	tr, err := presence.New(presence.Config{Broker: b})
	testutil.Success(t, err)
	s := &listingSub{tr: tr}
	testutil.Success(t, b.Subscribe(context.Background(), "t", s))
	_, err = tr.TrackTopic(context.Background(), newOwner("t"), "t", "k", nil)
	testutil.Success(t, err)
	testutil.Equal(t, "List from Deliver", s.n, 1)
}

func TestPresenceStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tr, _ := newSingle(t)
	o := newOwner("a")
	_, _ = tr.Track(ctx, o, "x", nil)
	_, _ = tr.TrackTopic(ctx, o, "b", "x", nil)
	testutil.Equal(t, "Stats", tr.Stats(), presence.Stats{Presences: 2, Topics: 2})
}

// gateSub holds the delivery of the diffs of chosen keys until released.
type gateSub struct {
	gates map[string]chan struct{} // key in the diff → released when closed
	held  chan string              // a held delivery's key, as it starts waiting
}

func (s *gateSub) Deliver(m *pubsub.Message) {
	for key, gate := range s.gates {
		if strings.Contains(string(m.Payload), `"`+key+`"`) {
			s.held <- key
			<-gate
		}
	}
}

// TestPresenceTrackPublishesOneBatch: a Track whose caller starts
// draining the diff queue publishes the diffs queued when it came, its own,
// and leaves those queued meanwhile to the tracker: in a storm of joins,
// one unlucky channel must not broadcast everyone's diffs for as long as
// the storm lasts while its own client waits.
func TestPresenceTrackPublishesOneBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := pubsub.NewMemory(pubsub.MemoryConfig{})
	tr, err := presence.New(presence.Config{Broker: b})
	testutil.Success(t, err)
	s := &gateSub{gates: map[string]chan struct{}{"first": make(chan struct{}), "later": make(chan struct{})}, held: make(chan string, 2)}
	testutil.Success(t, b.Subscribe(ctx, "t", s))

	firstDone := make(chan struct{})
	go func() {
		defer close(firstDone)
		_, _ = tr.TrackTopic(ctx, newOwner("t"), "t", "first", nil)
	}()
	testutil.Equal(t, "held delivery", <-s.held, "first") // the first caller is draining
	// Meanwhile another change: its caller finds the queue being drained
	// and returns at once.
	_, err = tr.TrackTopic(ctx, newOwner("t"), "t", "later", nil)
	testutil.Success(t, err)
	close(s.gates["first"])
	// The first caller returns once its own batch is out, while the later
	// diff is still held in the tracker's goroutine.
	select {
	case <-firstDone:
	case <-time.After(5 * time.Second):
		t.Fatal("the first Track is still publishing diffs queued after its own")
	}
	testutil.Equal(t, "held delivery", <-s.held, "later")
	close(s.gates["later"])
}
