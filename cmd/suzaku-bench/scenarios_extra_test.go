package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

func TestBenchPresenceListAsPhoenixJS(t *testing.T) {
	t.Parallel()
	l := newPresenceList(time.Now())
	// A diff before the state waits for it, as Presence does.
	l.pending = append(l.pending, json.RawMessage(`{"joins":{"c":{"metas":[{"phx_ref":"3"}]}},"leaves":{"a":{"metas":[{"phx_ref":"1"}]}}}`))
	l.syncState(json.RawMessage(`{"a":{"metas":[{"phx_ref":"1"}]},"b":{"metas":[{"phx_ref":"2"}]}}`))
	testutil.Equal(t, "keys after state and pending diff", len(l.state), 2) // b, c
	_, hasA := l.state["a"]
	testutil.Equal(t, "a left", hasA, false)
	// A second meta for b, then one of its two leaves: b stays.
	l.syncDiff(json.RawMessage(`{"joins":{"b":{"metas":[{"phx_ref":"4"}]}},"leaves":{}}`))
	l.syncDiff(json.RawMessage(`{"joins":{},"leaves":{"b":{"metas":[{"phx_ref":"2"}]}}}`))
	testutil.Equal(t, "b's metas", len(l.state["b"]), 1)
	l.syncDiff(json.RawMessage(`{"joins":{},"leaves":{"b":{"metas":[{"phx_ref":"4"}]}}}`))
	testutil.Equal(t, "keys", len(l.state), 1)
}

func TestBenchTopicsAndRefs(t *testing.T) {
	t.Parallel()
	testutil.Equal(t, "own topic", expandTopic("bench:u{i}", 7, 100), "bench:u7")
	testutil.Equal(t, "group topic", expandTopic("bench:g{g}", 250, 100), "bench:g2")
	testutil.Equal(t, "plain topic", expandTopic("bench:all", 250, 100), "bench:all")
	testutil.Equal(t, "push reply", isPushReply([]byte(`["1","p123","bench:all","phx_reply",{"response":{},"status":"ok"}]`)), true)
	testutil.Equal(t, "join reply", isPushReply([]byte(`["1","1","bench:all","phx_reply",{"response":{},"status":"ok"}]`)), false)
	ts, ok := intAfter([]byte(`["1","p123","bench:all","phx_reply",{}]`), keyPushRef)
	testutil.Equal(t, "push ts", ts, int64(123))
	testutil.Equal(t, "push ts ok", ok, true)
}

func TestBenchPhoenixBackoff(t *testing.T) {
	t.Parallel()
	testutil.Equal(t, "first reconnect", reconnectAfter(1), 10*time.Millisecond)
	testutil.Equal(t, "ninth reconnect", reconnectAfter(9), 2*time.Second)
	testutil.Equal(t, "later reconnects", reconnectAfter(20), 5*time.Second)
	testutil.Equal(t, "first rejoin", rejoinAfter(1), time.Second)
	testutil.Equal(t, "later rejoins", rejoinAfter(4), 10*time.Second)
}

func TestBenchSmokeStormAndMixed(t *testing.T) {
	t.Parallel()
	url := startRaw(t)
	r, rep := smokeRunner(t, url, options{Conns: 40})
	r.opts.SourceIP = "127.0.0.20"
	r.opts.MixedDuration = 2 * time.Second
	r.opts.Rate, r.opts.Duration = 2, 2*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	testutil.Success(t, r.run(ctx, "storm"))
	s := rep.Storm
	testutil.Equal(t, "rejoined", s.Rejoined, 40)
	if s.AllMS <= 0 || s.P99MS <= 0 {
		t.Fatalf("storm times: 99 %% %v ms, all %v ms, want > 0", s.P99MS, s.AllMS)
	}
	testutil.Success(t, r.run(ctx, "mixed"))
	m := rep.Mixed
	if m.Sent < 40 || m.Replied != m.Sent {
		t.Fatalf("mixed: %d pushes sent, %d replied; want ≥ 40, all", m.Sent, m.Replied)
	}
	// raw has neither presence nor LongPoll: noted, no figures.
	testutil.Success(t, r.run(ctx, "longpoll"))
	testutil.Equal(t, "longpoll joined", rep.LongPoll.Joined, 0)
}
