package main

import (
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

func hist(us ...int64) Hist {
	var h Hist
	for _, v := range us {
		h.Record(time.Duration(v) * time.Microsecond)
	}
	return h
}

func TestAggregateConnect(t *testing.T) {
	t.Parallel()
	reps := []*connectReport{
		{
			progressReport: progressReport{Connected: 3, Joined: 2, Failed: 1},
			TCP:            hist(100, 100), Upgrade: hist(300, 300), Join: hist(600, 600),
			Errors:  map[string]int{"join: no reply (timeout)": 1},
			Samples: []string{"join: no reply (timeout): x"},
		},
		{
			progressReport: progressReport{Connected: 2, Joined: 2},
			TCP:            hist(100, 100), Upgrade: hist(300, 300), Join: hist(600, 600),
		},
		nil, // a client that did not answer
	}
	s := aggregateConnect(reps, 5, 3, 2*time.Second)
	testutil.Equal(t, "counts", [4]int{s.Requested, s.Connected, s.Joined, s.Failed}, [4]int{5, 5, 4, 1})
	testutil.Equal(t, "Rate", s.Rate, 2.0)
	testutil.Equal(t, "Procs", s.Procs, 3)
	testutil.Equal(t, "Share", s.Share, PhaseShare{TCP: 0.1, Upgrade: 0.3, Join: 0.6})
	testutil.Equal(t, "TCP.P50", s.TCP.P50, 0.1)
	testutil.Equal(t, "Join.Count", s.Join.Count, int64(4))
	testutil.Equal(t, "Errors", s.Errors, map[string]int{"join: no reply (timeout)": 1})
	testutil.Equal(t, "Samples", len(s.Samples), 1)
}

func TestAggregateRounds(t *testing.T) {
	t.Parallel()
	const ms = int64(time.Millisecond)
	const t0 = int64(1_000_000_000_000)
	// Rounds 10, 11, 12 sent at t0, t0+1s, t0+2s; round 13 never sent.
	sent := []int64{t0, t0 + 1000*ms, t0 + 2000*ms, 0}
	stats := []*statsReport{
		{
			Expect: 3, Deliveries: 9 + 2, Stray: 2, Latency: hist(1000, 2000),
			Rounds: []roundStats{
				{Round: 10, Count: 3, First: t0 + 1*ms, Last: t0 + 5*ms},
				{Round: 11, Count: 3, First: t0 + 1002*ms, Last: t0 + 1010*ms},
				{Round: 12, Count: 3, First: t0 + 2001*ms, Last: t0 + 2003*ms},
				{Round: 13},
			},
		},
		{
			Expect: 2, Deliveries: 5, Latency: hist(3000),
			Rounds: []roundStats{
				{Round: 10, Count: 2, First: t0 + 2*ms, Last: t0 + 7*ms},
				{Round: 11, Count: 2, First: t0 + 1001*ms, Last: t0 + 1004*ms},
				{Round: 12, Count: 1, First: t0 + 2002*ms, Last: t0 + 2009*ms}, // one missing
				{Round: 13},
			},
		},
	}
	r := aggregateRounds(stats, 10, sent)
	testutil.Equal(t, "Subscribers", r.Subscribers, int64(5))
	testutil.Equal(t, "Rounds", r.Rounds, 3)
	testutil.Equal(t, "Expected", r.Expected, int64(15))
	testutil.Equal(t, "Delivered (strays excluded)", r.Delivered, int64(14))
	testutil.Equal(t, "Incomplete", r.Incomplete, 1)
	testutil.Equal(t, "Detail", r.Detail, []RoundTimes{
		{Round: 10, Delivered: 5, FirstMS: 1, LastMS: 7},
		{Round: 11, Delivered: 5, FirstMS: 1, LastMS: 10},
		{Round: 12, Delivered: 4, FirstMS: 1, LastMS: 9},
	})
	testutil.Equal(t, "LastDelivery", r.LastDelivery, Spread{Median: 9, P90: 10, Max: 10})
	testutil.Equal(t, "FirstToLast", r.FirstToLast, Spread{Median: 8, P90: 9, Max: 9})
	testutil.Equal(t, "Latency.Count", r.Latency.Count, int64(3))
	testutil.Equal(t, "Latency.Max", r.Latency.Max, 3.0)
}

func TestAggregateRatioAndCPU(t *testing.T) {
	t.Parallel()
	testutil.Equal(t, "ratio", ratio(3, 2), 1.5)
	testutil.Equal(t, "ratio by zero", ratio(3, 0), 0.0)
	testutil.Equal(t, "cpuPerDelivery", cpuPerDelivery(60*time.Millisecond, 10000), 6.0)
	testutil.Equal(t, "cpuPerDelivery none", cpuPerDelivery(time.Second, 0), 0.0)
}

func TestScenarioProcsFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		n, flag int
		want    int
	}{
		{name: "small: one process", n: 50, want: 1},
		{name: "from 1,000: two, for two cores", n: 1000, want: 2},
		{name: "15,000: two", n: 15000, want: 2},
		{name: "40,000: three of ≤ 15,000", n: 40000, want: 3},
		{name: "the flag wins", n: 50, flag: 4, want: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "procsFor", procsFor(tt.n, tt.flag), tt.want)
		})
	}
}

func TestScenarioParseTarget(t *testing.T) {
	t.Parallel()
	got, err := parseTarget("suzaku=http://127.0.0.1:4000,pid=123")
	testutil.Success(t, err)
	testutil.Equal(t, "target", got, Target{Name: "suzaku", URL: "http://127.0.0.1:4000", PID: 123})
	got, err = parseTarget("raw=http://localhost:4100")
	testutil.Success(t, err)
	testutil.Equal(t, "target without pid", got, Target{Name: "raw", URL: "http://localhost:4100"})
	for _, bad := range []string{
		"http://127.0.0.1:4000",           // no name
		"x=http://10.0.0.1:4000",          // not loopback
		"x=http://example.com:4000",       // not loopback
		"x=ws://127.0.0.1:4000",           // not http
		"x=http://127.0.0.1:4000,pid=abc", // bad pid
		"x=http://127.0.0.1:4000,port=1",  // unknown option
	} {
		if _, err := parseTarget(bad); err == nil {
			t.Errorf("parseTarget(%q) = nil error, want one", bad)
		}
	}
}

func TestScenarioShellJoin(t *testing.T) {
	t.Parallel()
	got := shellJoin([]string{"suzaku-bench", "compare", "--target", "a=http://127.0.0.1:1,pid=2", "--note", "it's a test", ""})
	testutil.Equal(t, "shellJoin", got, `suzaku-bench compare --target a=http://127.0.0.1:1,pid=2 --note 'it'\''s a test' ''`)
}

func TestAggregateSlowest(t *testing.T) {
	t.Parallel()
	rounds := []RoundTimes{{Round: 1, LastMS: 5}, {Round: 2, LastMS: 50}, {Round: 3, LastMS: 7}, {Round: 4, LastMS: 7}}
	testutil.Equal(t, "slowest 3", slowest(rounds, 3), []RoundTimes{{Round: 2, LastMS: 50}, {Round: 3, LastMS: 7}, {Round: 4, LastMS: 7}})
	testutil.Equal(t, "slowest of none", len(slowest(nil, 5)), 0)
	testutil.Equal(t, "input unchanged", rounds[0].Round, int64(1))
}
