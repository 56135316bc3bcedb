package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

// sampleReport is a compare report of two targets with every scenario.
func sampleReport() *Report {
	mk := func(name string, kib, lastMS, cpu float64, rate float64) *TargetReport {
		c := ConnectStats{Requested: 100, Joined: 100, Connected: 100, Rate: rate, Share: PhaseShare{TCP: 0.2, Upgrade: 0.3, Join: 0.5}}
		rr := RoundsResult{Subscribers: 100, Rounds: 20, PayloadBytes: 100, Expected: 2000, Delivered: 2000,
			LastDelivery: Spread{Median: lastMS, P90: lastMS * 1.5, Max: lastMS * 2}, Latency: Dist{P50: lastMS / 2, P99: lastMS}, ServerCPUPerDelivery: cpu}
		return &TargetReport{
			Target:    Target{Name: name, URL: "http://127.0.0.1:4000", PID: 1},
			Memory:    &MemoryResult{Conns: 100, Connect: c, RSSBefore: 1000, RSSAfter: 1000 + int64(kib*100), KiBPerConn: kib},
			Connect:   &ConnectResult{Conns: 100, Connect: c},
			Broadcast: &BroadcastResult{Connect: c, RoundsResult: rr},
			Fanout:    &FanoutResult{Connect: c, Subscribers: 100, Rate: 10, Seconds: 30, PayloadBytes: 100, Sent: 300, Expected: 30000, Delivered: 30000, Offered: 1000, Achieved: 1000, Latency: Dist{P50: 1, P99: 2}, ServerCPUPerDelivery: cpu},
			Slow:      &SlowResult{Normal: 50, Slow: 10, FillBytes: 4 << 20, RcvBuf: 4096, Without: rr, With: rr, LastDeliveryRatio: 1, LatencyP99Ratio: 1, SlowOpen: 10},
		}
	}
	r := &Report{
		Tool: "suzaku-bench", Started: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), Command: "suzaku-bench compare --scenario all",
		Commit: "abc1234", Host: HostInfo{CPUs: 2, Go: "go1.26"}, Scenario: "all", Baseline: "raw",
		Targets: []*TargetReport{mk("suzaku", 4, 100, 12, 5000), mk("raw", 2, 50, 6, 10000)},
	}
	r.Targets[0].Notes = []string{"suzaku broadcast: something odd"}
	r.Ratios = computeRatios(r.Targets, r.Baseline)
	return r
}

func TestReportRatios(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	byKey := make(map[string]Ratio)
	for _, ra := range r.Ratios {
		testutil.Equal(t, "target", ra.Target, "suzaku")
		testutil.Equal(t, "baseline", ra.Baseline, "raw")
		byKey[ra.Key] = ra
	}
	tests := []struct {
		key  string
		want float64
	}{
		{key: "memory.kib_per_conn", want: 2},
		{key: "broadcast.last_median", want: 2},
		{key: "broadcast.cpu_per_delivery", want: 2},
		{key: "connect.connect_rate", want: 0.5},
	}
	for _, tt := range tests {
		ra, ok := byKey[tt.key]
		if !ok || ra.Ratio == nil {
			t.Fatalf("ratio %s missing", tt.key)
		}
		testutil.Equal(t, tt.key, *ra.Ratio, tt.want)
	}
	// A baseline of 0 (no failed connections) gives no ratio.
	if ra := byKey["connect.failed"]; ra.Ratio != nil {
		t.Fatalf("ratio of connect.failed = %v, want null", *ra.Ratio)
	}
	testutil.Equal(t, "no baseline", computeRatios(r.Targets, "nope"), []Ratio(nil))
}

func TestReportJSONListsRatiosFirst(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(sampleReport())
	testutil.Success(t, err)
	ratios, targets := bytes.Index(b, []byte(`"ratios"`)), bytes.Index(b, []byte(`"targets"`))
	if ratios < 0 || targets < 0 || ratios > targets {
		t.Fatalf(`"ratios" at %d, "targets" at %d: want ratios first`, ratios, targets)
	}
	if !bytes.Contains(b, []byte(`"ratio":null`)) {
		t.Fatal(`want "ratio":null for a zero baseline`)
	}
}

func TestReportWriteRead(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "results.json")
	want := sampleReport()
	testutil.Success(t, writeReport(path, want))
	got, err := readReport(path)
	testutil.Success(t, err)
	testutil.Equal(t, "round trip", got, want)
}

func TestReportMetricsHeadlines(t *testing.T) {
	t.Parallel()
	var keys []string
	for _, m := range sampleReport().Targets[0].Metrics() {
		if m.Headline {
			keys = append(keys, m.Key)
		}
		if m.Better != "lower" && m.Better != "higher" {
			t.Fatalf("%s: Better = %q", m.Key, m.Better)
		}
	}
	testutil.Equal(t, "headlines", strings.Join(keys, " "), "memory.kib_per_conn connect.connect_rate broadcast.last_median broadcast.cpu_per_delivery "+
		"fanout.achieved fanout.latency_p50 fanout.latency_p99 fanout.cpu_per_delivery slow.last_ratio")
}
