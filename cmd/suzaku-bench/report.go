package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Report is the JSON file the tool writes (--out): one or more targets,
// each with the results of the scenarios run against it, and, when a
// baseline is named, every figure of the other targets as a ratio to the
// baseline's, first.
type Report struct {
	Tool     string    `json:"tool"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Command is the tool's command line.
	Command string `json:"command"`
	// Commit names the server's source (scripts/bench.sh passes git's).
	Commit string   `json:"commit,omitempty"`
	Host   HostInfo `json:"host"`
	// Note is a remark from whoever ran the tool (--note).
	Note string `json:"note,omitempty"`
	// Scenario is what ran: memory, connect, broadcast, fanout, slow or all.
	Scenario string `json:"scenario"`
	// Baseline is the target the ratios divide by.
	Baseline string          `json:"baseline,omitempty"`
	Ratios   []Ratio         `json:"ratios,omitempty"`
	Targets  []*TargetReport `json:"targets"`
}

// HostInfo describes the machine.
type HostInfo struct {
	CPUs   int    `json:"cpus"`
	Go     string `json:"go"`
	Kernel string `json:"kernel,omitempty"`
	Model  string `json:"cpu_model,omitempty"`
}

func hostInfo() HostInfo {
	h := HostInfo{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				h.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	return h
}

// Target is a server under test.
type Target struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// PID is the server's process id, for its memory and CPU; 0 if unknown.
	PID int `json:"pid,omitempty"`
}

// TargetReport holds one target's results.
type TargetReport struct {
	Target
	Memory    *MemoryResult    `json:"memory,omitempty"`
	Connect   *ConnectResult   `json:"connect,omitempty"`
	Broadcast *BroadcastResult `json:"broadcast,omitempty"`
	Fanout    *FanoutResult    `json:"fanout,omitempty"`
	Slow      *SlowResult      `json:"slow,omitempty"`
	// The scenarios of their own files.
	Storm    *StormResult    `json:"storm,omitempty"`
	Presence *PresenceResult `json:"presence,omitempty"`
	LongPoll *LongPollResult `json:"longpoll,omitempty"`
	Mixed    *MixedResult    `json:"mixed,omitempty"`
	// Notes lists what looked wrong: failed connections, lost deliveries,
	// connections the server closed, rounds that timed out.
	Notes []string `json:"notes,omitempty"`
}

// ConnectStats describes a connect+join phase.
type ConnectStats struct {
	Requested int     `json:"requested"`
	Connected int     `json:"connected"`
	Joined    int     `json:"joined"`
	Failed    int     `json:"failed"`
	Procs     int     `json:"procs"`
	Seconds   float64 `json:"seconds"`
	// Rate is joined connections per second of wall time.
	Rate float64 `json:"rate_per_s"`
	// TCP connect, WebSocket upgrade and join (request to reply), per
	// connection.
	TCP     Dist `json:"tcp"`
	Upgrade Dist `json:"upgrade"`
	Join    Dist `json:"join"`
	// Share is how the summed per-connection time splits between the three.
	Share   PhaseShare     `json:"share"`
	Errors  map[string]int `json:"errors,omitempty"`
	Samples []string       `json:"samples,omitempty"`
	// ClientKiBPerConn is the client processes' resident memory per
	// connection: what the tool itself costs.
	ClientKiBPerConn float64 `json:"client_kib_per_conn,omitempty"`
}

// PhaseShare is a split of connection time, as fractions that add to 1.
type PhaseShare struct {
	TCP     float64 `json:"tcp"`
	Upgrade float64 `json:"upgrade"`
	Join    float64 `json:"join"`
}

// MemoryResult is the memory scenario's outcome.
type MemoryResult struct {
	Conns       int          `json:"conns"`
	Connect     ConnectStats `json:"connect"`
	RSSBefore   int64        `json:"rss_before_kib"`
	RSSAfter    int64        `json:"rss_after_kib"`
	KiBPerConn  float64      `json:"kib_per_conn"`
	IdleSeconds float64      `json:"idle_wait_s"`
	// After Broadcasts broadcasts to every connection.
	Broadcasts              int     `json:"broadcasts,omitempty"`
	RSSAfterBroadcasts      int64   `json:"rss_after_broadcasts_kib,omitempty"`
	KiBPerConnAfterMessages float64 `json:"kib_per_conn_after_broadcasts,omitempty"`
}

// ConnectResult is the connect scenario's outcome.
type ConnectResult struct {
	Conns   int          `json:"conns"`
	Connect ConnectStats `json:"connect"`
}

// Spread summarises a figure over rounds, in milliseconds.
type Spread struct {
	Median float64 `json:"median_ms"`
	P90    float64 `json:"p90_ms"`
	Max    float64 `json:"max_ms"`
}

// RoundsResult is a series of broadcasts to the same subscribers.
type RoundsResult struct {
	Subscribers  int64 `json:"subscribers"`
	Rounds       int   `json:"rounds"`
	PayloadBytes int   `json:"payload_bytes"`
	Expected     int64 `json:"expected"`
	Delivered    int64 `json:"delivered"`
	// Incomplete counts rounds not delivered to every subscriber in time.
	Incomplete int `json:"incomplete"`
	// LastDelivery is, per round, the time from the broadcast request to
	// the last subscriber's receipt; FirstToLast from the first receipt to
	// the last.
	LastDelivery Spread `json:"last_delivery"`
	FirstToLast  Spread `json:"first_to_last"`
	// Latency is per delivery: send to receipt.
	Latency Dist `json:"latency"`
	// ServerCPU is the server's CPU time over the rounds (gaps included,
	// which cost nothing), and per delivery.
	ServerCPUms          float64      `json:"server_cpu_ms,omitempty"`
	ServerCPUPerDelivery float64      `json:"server_cpu_us_per_delivery,omitempty"`
	ClientCPUms          float64      `json:"client_cpu_ms,omitempty"`
	RSS                  int64        `json:"rss_kib,omitempty"`
	Detail               []RoundTimes `json:"detail,omitempty"`
}

// RoundTimes is one round, times from the request in milliseconds.
type RoundTimes struct {
	Round     int64   `json:"round"`
	Delivered int64   `json:"delivered"`
	FirstMS   float64 `json:"first_ms"`
	LastMS    float64 `json:"last_ms"`
	// RequestMS is how long the broadcast request took to answer.
	RequestMS float64 `json:"request_ms,omitempty"`
}

// BroadcastResult is the broadcast scenario's outcome.
type BroadcastResult struct {
	Connect ConnectStats `json:"connect"`
	RoundsResult
}

// FanoutResult is the fanout scenario's outcome.
type FanoutResult struct {
	Connect      ConnectStats `json:"connect"`
	Subscribers  int64        `json:"subscribers"`
	Rate         float64      `json:"rate_per_s"` // broadcasts offered per second
	Seconds      float64      `json:"seconds"`
	PayloadBytes int          `json:"payload_bytes"`
	Sent         int          `json:"sent"`
	// Skipped counts broadcasts not sent because every poster was still
	// waiting for an earlier request: the server did not keep up.
	Skipped   int   `json:"skipped"`
	Expected  int64 `json:"expected"`
	Delivered int64 `json:"delivered"`
	// Offered and Achieved are deliveries per second: what the schedule
	// asked for, and what arrived (deliveries ÷ first request to last
	// receipt).
	Offered              float64 `json:"offered_per_s"`
	Achieved             float64 `json:"achieved_per_s"`
	Latency              Dist    `json:"latency"`
	LastDelivery         Spread  `json:"last_delivery"`
	ServerCPUms          float64 `json:"server_cpu_ms,omitempty"`
	ServerCPUPerDelivery float64 `json:"server_cpu_us_per_delivery,omitempty"`
	ServerCPUPercent     float64 `json:"server_cpu_percent,omitempty"`
	ClientCPUms          float64 `json:"client_cpu_ms,omitempty"`
	// Slowest lists the broadcasts with the latest last delivery, at most
	// five, slowest first: where the tail latency comes from.
	Slowest []RoundTimes `json:"slowest,omitempty"`
}

// SlowResult is the slow scenario's outcome: the same rounds to the same
// normal subscribers, without and then with slow clients beside them.
type SlowResult struct {
	Normal    int          `json:"normal"`
	Slow      int          `json:"slow"`
	FillBytes int          `json:"fill_bytes"`
	RcvBuf    int          `json:"rcvbuf"`
	Connect   ConnectStats `json:"connect"`
	Without   RoundsResult `json:"without"`
	With      RoundsResult `json:"with"`
	// LastDeliveryRatio is With ÷ Without of the median last delivery;
	// LatencyP99Ratio of the per-delivery p99.
	LastDeliveryRatio float64 `json:"last_delivery_ratio"`
	LatencyP99Ratio   float64 `json:"latency_p99_ratio"`
	// RSS growth while the slow clients hold queued data, KiB.
	RSSGrowth int64 `json:"rss_growth_kib"`
	// HoldSeconds is how long the slow clients stayed silent after the
	// fill, before they read again.
	HoldSeconds float64 `json:"hold_s"`
	// How the slow clients ended: still open after reading what was
	// queued, or closed by the server (by close code).
	SlowOpen   int            `json:"slow_open"`
	SlowClosed map[string]int `json:"slow_closed,omitempty"`
	// SlowDrained is what the slow clients read once they read again.
	SlowDrained int64 `json:"slow_drained_bytes"`
}

// Metric is one figure of a result, named for tables and ratios.
type Metric struct {
	Key   string  `json:"key"` // "memory.kib_per_conn"
	Name  string  `json:"name"`
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
	// Better is "lower" or "higher".
	Better string `json:"better"`
	// Headline marks the figures of the summary table.
	Headline bool `json:"headline,omitempty"`
}

// Ratio compares one figure of a target with the baseline's.
type Ratio struct {
	Key      string   `json:"key"`
	Name     string   `json:"name"`
	Unit     string   `json:"unit"`
	Better   string   `json:"better"`
	Target   string   `json:"target"`
	Baseline string   `json:"baseline"`
	Value    float64  `json:"value"`
	Base     float64  `json:"baseline_value"`
	Ratio    *float64 `json:"ratio"` // Value ÷ Base; null unless Base > 0 and Value ≥ 0
	Headline bool     `json:"headline,omitempty"`
}

// Metrics lists t's figures in a stable order: scenario, then figure. A
// scenario that failed before measuring anything has none.
func (t *TargetReport) Metrics() []Metric {
	var m []Metric
	add := func(key, name, unit, better string, v float64, headline bool) {
		m = append(m, Metric{Key: key, Name: name, Unit: unit, Value: v, Better: better, Headline: headline})
	}
	connect := func(scn string, c ConnectStats, headline bool) {
		add(scn+".connect_rate", "connect+join rate", "conns/s", "higher", c.Rate, headline)
		add(scn+".tcp_p50", "TCP connect p50", "ms", "lower", c.TCP.P50, false)
		add(scn+".tcp_p99", "TCP connect p99", "ms", "lower", c.TCP.P99, false)
		add(scn+".upgrade_p50", "upgrade p50", "ms", "lower", c.Upgrade.P50, false)
		add(scn+".upgrade_p99", "upgrade p99", "ms", "lower", c.Upgrade.P99, false)
		add(scn+".join_p50", "join reply p50", "ms", "lower", c.Join.P50, false)
		add(scn+".join_p99", "join reply p99", "ms", "lower", c.Join.P99, false)
		add(scn+".failed", "failed connections", "conns", "lower", float64(c.Failed), false)
	}
	rounds := func(scn, suffix string, r RoundsResult, headline bool) {
		add(scn+".last_median"+suffix, "last delivery, median"+nameSuffix(suffix), "ms", "lower", r.LastDelivery.Median, headline)
		add(scn+".last_p90"+suffix, "last delivery, p90"+nameSuffix(suffix), "ms", "lower", r.LastDelivery.P90, false)
		add(scn+".spread_median"+suffix, "first to last delivery, median"+nameSuffix(suffix), "ms", "lower", r.FirstToLast.Median, false)
		add(scn+".latency_p50"+suffix, "delivery latency p50"+nameSuffix(suffix), "ms", "lower", r.Latency.P50, false)
		add(scn+".latency_p99"+suffix, "delivery latency p99"+nameSuffix(suffix), "ms", "lower", r.Latency.P99, false)
		if r.ServerCPUPerDelivery > 0 {
			add(scn+".cpu_per_delivery"+suffix, "server CPU per delivery"+nameSuffix(suffix), "µs", "lower", r.ServerCPUPerDelivery, headline)
		}
		add(scn+".lost"+suffix, "deliveries missing"+nameSuffix(suffix), "deliveries", "lower", float64(r.Expected-r.Delivered), false)
	}
	if r := t.Memory; r != nil && r.Connect.Joined > 0 {
		add("memory.kib_per_conn", "server RSS per idle joined connection", "KiB", "lower", r.KiBPerConn, true)
		if r.Broadcasts > 0 {
			add("memory.kib_per_conn_after", fmt.Sprintf("server RSS per connection after %d broadcasts", r.Broadcasts), "KiB", "lower", r.KiBPerConnAfterMessages, false)
		}
		add("memory.rss_after", "server RSS with all connections", "MiB", "lower", float64(r.RSSAfter)/1024, false)
		connect("memory", r.Connect, false)
	}
	if r := t.Connect; r != nil && r.Connect.Joined > 0 {
		connect("connect", r.Connect, true)
	}
	if r := t.Broadcast; r != nil && r.Rounds > 0 {
		rounds("broadcast", "", r.RoundsResult, true)
	}
	if r := t.Fanout; r != nil && r.Sent > 0 {
		add("fanout.achieved", "deliveries per second achieved", "deliveries/s", "higher", r.Achieved, true)
		add("fanout.latency_p50", "delivery latency p50", "ms", "lower", r.Latency.P50, true)
		add("fanout.latency_p99", "delivery latency p99", "ms", "lower", r.Latency.P99, true)
		if r.ServerCPUPerDelivery > 0 {
			add("fanout.cpu_per_delivery", "server CPU per delivery", "µs", "lower", r.ServerCPUPerDelivery, true)
			add("fanout.cpu_percent", "server CPU", "% of one core", "lower", r.ServerCPUPercent, false)
		}
		add("fanout.lost", "deliveries missing", "deliveries", "lower", float64(r.Expected-r.Delivered), false)
		add("fanout.skipped", "broadcasts skipped (server busy)", "broadcasts", "lower", float64(r.Skipped), false)
	}
	if r := t.Slow; r != nil && r.Without.Rounds > 0 {
		add("slow.last_ratio", "last delivery median, with ÷ without slow clients", "×", "lower", r.LastDeliveryRatio, true)
		add("slow.p99_ratio", "delivery latency p99, with ÷ without slow clients", "×", "lower", r.LatencyP99Ratio, false)
		rounds("slow", "_without", r.Without, false)
		rounds("slow", "_with", r.With, false)
		add("slow.rss_ratio", "server RSS, with ÷ without slow clients", "×", "lower", ratio(float64(r.With.RSS), float64(r.Without.RSS)), false)
		add("slow.rss_growth", "server RSS growth with slow clients", "MiB", "lower", float64(r.RSSGrowth)/1024, false)
		add("slow.rss_with", "server RSS with slow clients", "MiB", "lower", float64(r.With.RSS)/1024, false)
	}
	t.Storm.metrics(add)
	t.Presence.metrics(add)
	t.LongPoll.metrics(add)
	t.Mixed.metrics(add)
	return m
}

func nameSuffix(s string) string {
	switch s {
	case "_with":
		return " (with slow)"
	case "_without":
		return " (without slow)"
	}
	return ""
}

// computeRatios divides every figure of every other target by the
// baseline's same figure.
func computeRatios(targets []*TargetReport, baseline string) []Ratio {
	var base *TargetReport
	for _, t := range targets {
		if t.Name == baseline {
			base = t
		}
	}
	if base == nil {
		return nil
	}
	bm := make(map[string]Metric)
	for _, m := range base.Metrics() {
		bm[m.Key] = m
	}
	var out []Ratio
	for _, t := range targets {
		if t == base {
			continue
		}
		for _, m := range t.Metrics() {
			b, ok := bm[m.Key]
			if !ok {
				continue
			}
			r := Ratio{Key: m.Key, Name: m.Name, Unit: m.Unit, Better: m.Better, Target: t.Name, Baseline: base.Name, Value: m.Value, Base: b.Value, Headline: m.Headline}
			if b.Value > 0 && m.Value >= 0 { // a ratio to 0, or of a negative figure, says nothing
				v := m.Value / b.Value
				r.Ratio = &v
			}
			out = append(out, r)
		}
	}
	return out
}

// writeReport writes r as indented JSON to path.
func writeReport(path string, r *Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// readReport reads a report written by writeReport.
func readReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// mergeCounts adds src's counts into dst (allocating it).
func mergeCounts(dst map[string]int, src map[string]int) map[string]int {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]int)
	}
	for k, v := range src {
		dst[k] += v
	}
	return dst
}

// formatCounts writes counts as "a: 1, b: 2" in key order.
func formatCounts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
