package presence

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

// sampleDelta returns a delta with values, a removal and a relayed dot.
func sampleDelta() *delta {
	a := newTestState("a", "b", "c")
	x := testJoin(a, "room:1", "alice")
	a.takeDelta()
	a.leave(x)
	testJoin(a, "room:1", "bob")
	testJoin(a, "room:2", "carol \"c\" <&>")
	d := a.takeDelta()
	d.clouds.add(tag{testReplica("c"), 7})
	return d
}

func TestPresenceWireRoundTrip(t *testing.T) {
	t.Parallel()
	a := newTestState("a", "b")
	testJoin(a, "room:1", "alice")
	full := a.extract(testReplica("b"), clock{testReplica("a"): 0, testReplica("b"): 0})
	tests := []struct {
		name string
		m    *message
	}{
		{name: "empty heartbeat", m: &message{from: testReplica("a"), clock: clock{testReplica("a"): 3, testReplica("b"): 1}}},
		{name: "delta heartbeat", m: &message{from: testReplica("a"), clock: clock{testReplica("a"): 4}, state: sampleDelta()}},
		{name: "full state", m: &message{from: testReplica("a"), state: full}},
		{name: "permdown", m: &message{from: replica{node: "a", vsn: -1 << 62}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data, err := encodeMessage(tt.m)
			testutil.Success(t, err)
			got, err := decodeMessage(data)
			testutil.Success(t, err)
			testutil.Equal(t, "from", got.from, tt.m.from)
			testutil.Equal(t, "clock", got.clock, tt.m.clock)
			if tt.m.state == nil {
				testutil.Equal(t, "state", got.state, (*delta)(nil))
				return
			}
			equalDelta(t, got.state, tt.m.state)
			again, err := encodeMessage(got)
			testutil.Success(t, err)
			testutil.Equal(t, "encoding is deterministic", string(again), string(data))
		})
	}
}

func equalDelta(t *testing.T, got, want *delta) {
	t.Helper()
	testutil.Equal(t, "full", got.full, want.full)
	nilIfEmpty := func(c clock) clock {
		if len(c) == 0 {
			return nil
		}
		return c
	}
	testutil.Equal(t, "context", nilIfEmpty(got.context), nilIfEmpty(want.context))
	testutil.Equal(t, "start", nilIfEmpty(got.start), nilIfEmpty(want.start))
	testutil.Equal(t, "end", nilIfEmpty(got.end), nilIfEmpty(want.end))
	testutil.Equal(t, "clouds", got.clouds, want.clouds)
	testutil.Equal(t, "value tags", slices.SortedFunc(maps.Keys(got.values), compareTag), slices.SortedFunc(maps.Keys(want.values), compareTag))
	for tg, w := range want.values {
		g := got.values[tg]
		testutil.Equal(t, "topic", g.topic, w.topic)
		testutil.Equal(t, "key", g.key, w.key)
		testutil.Equal(t, "meta", g.meta, w.meta)
		testutil.Equal(t, "raw", string(g.raw), string(w.raw))
	}
}

func TestPresenceWireRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
	}{
		{name: "not JSON", data: `{`},
		{name: "wrong version", data: `{"v":2,"replicas":[{"node":"a","vsn":1}]}`},
		{name: "no sender", data: `{"v":1,"replicas":[]}`},
		{name: "empty node", data: `{"v":1,"replicas":[{"node":"","vsn":1}]}`},
		{name: "duplicate replica", data: `{"v":1,"replicas":[{"node":"a","vsn":1},{"node":"a","vsn":1}]}`},
		{name: "clock index out of range", data: `{"v":1,"replicas":[{"node":"a","vsn":1}],"clock":[{"r":1,"c":1}]}`},
		{name: "negative index", data: `{"v":1,"replicas":[{"node":"a","vsn":1}],"clock":[{"r":-1,"c":1}]}`},
		{name: "clock lists a replica twice", data: `{"v":1,"replicas":[{"node":"a","vsn":1}],"clock":[{"r":0,"c":1},{"r":0,"c":2}]}`},
		{name: "dot zero in clouds", data: `{"v":1,"replicas":[{"node":"a","vsn":1}],"state":{"clouds":[{"r":0,"c":[0]}]}}`},
		{name: "dot zero in values", data: `{"v":1,"replicas":[{"node":"a","vsn":1}],"state":{"values":[{"r":0,"c":0,"t":"t","k":"k","m":{}}]}}`},
		{name: "duplicate value", data: `{"v":1,"replicas":[{"node":"a","vsn":1}],"state":{"values":[{"r":0,"c":1,"t":"t","k":"k","m":{}},{"r":0,"c":1,"t":"t","k":"k","m":{}}]}}`},
		{name: "meta not an object", data: `{"v":1,"replicas":[{"node":"a","vsn":1}],"state":{"values":[{"r":0,"c":1,"t":"t","k":"k","m":[1]}]}}`},
		{name: "meta null", data: `{"v":1,"replicas":[{"node":"a","vsn":1}],"state":{"values":[{"r":0,"c":1,"t":"t","k":"k","m":null}]}}`},
		{name: "meta missing", data: `{"v":1,"replicas":[{"node":"a","vsn":1}],"state":{"values":[{"r":0,"c":1,"t":"t","k":"k"}]}}`},
		{name: "range end before start", data: `{"v":1,"replicas":[{"node":"a","vsn":1}],"state":{"start":[{"r":0,"c":5}],"end":[{"r":0,"c":4}]}}`},
		{name: "range without end", data: `{"v":1,"replicas":[{"node":"a","vsn":1}],"state":{"start":[{"r":0,"c":5}]}}`},
		{name: "full with a range", data: `{"v":1,"replicas":[{"node":"a","vsn":1}],"state":{"full":true,"start":[{"r":0,"c":5}],"end":[{"r":0,"c":5}]}}`},
		{name: "delta with a context", data: `{"v":1,"replicas":[{"node":"a","vsn":1}],"state":{"context":[{"r":0,"c":5}]}}`},
		{name: "vsn not an integer", data: `{"v":1,"replicas":[{"node":"a","vsn":1.5}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeMessage([]byte(tt.data))
			if !errors.Is(err, errBadMessage) {
				t.Fatalf("decodeMessage(%s) error = %v, want errBadMessage", tt.data, err)
			}
		})
	}
}

// FuzzDecodeDelta feeds replication payloads to the decoder: it must never
// panic, what it accepts must encode and decode to the same thing, and
// merging it into a state must not panic either.
func FuzzDecodeDelta(f *testing.F) {
	for _, m := range []*message{
		{from: testReplica("a"), clock: clock{testReplica("a"): 3}},
		{from: testReplica("a"), clock: clock{testReplica("a"): 4}, state: sampleDelta()},
		{from: testReplica("b"), state: newTestState("b", "a").extract(testReplica("a"), clock{testReplica("a"): 0, testReplica("b"): 0})},
	} {
		data, err := encodeMessage(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"v":1,"replicas":[{"node":"a","vsn":1}],"state":{"full":true,"context":[{"r":0,"c":18446744073709551615}],"clouds":[{"r":0,"c":[18446744073709551615]}]}}`))
	f.Add([]byte(`{"v":1,"replicas":[{"node":"a","vsn":1},{"node":"b","vsn":1}],"state":{"values":[{"r":1,"c":2,"t":"","k":"","m":{"a":{"b":[1,2,null]}}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeMessage(data)
		if err != nil {
			return
		}
		again, err := encodeMessage(m)
		if err != nil {
			t.Fatalf("encode what decoded: %v", err)
		}
		m2, err := decodeMessage(again)
		if err != nil {
			t.Fatalf("decode what encoded: %v\n%s", err, again)
		}
		testutil.Equal(t, "from", m2.from, m.from)
		testutil.Equal(t, "clock", m2.clock, m.clock)
		if m.state == nil {
			return
		}
		equalDelta(t, m2.state, m.state)
		// Merging anything, into a replica that knows the sender, must
		// hold the state's invariants.
		s := newTestState("local", m.from.node)
		s.replicaUp(m.from)
		s.merge(m.state)
		s.merge(m.state)
		n := 0
		for _, ti := range s.topics {
			for _, vs := range ti.keys {
				n += len(vs)
			}
		}
		testutil.Equal(t, "indexed values", n, len(s.values))
	})
}
