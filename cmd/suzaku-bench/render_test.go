package main

import (
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

func TestRenderMarkdown(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	r.Note = "a smoke run"
	md := renderMarkdown(r, "scripts/bench.sh")
	for _, want := range []string{
		"# Benchmarks\n",
		"at commit `abc1234`",
		"**Note:** a smoke run\n",
		"Measured on 2026-11-26 12:00 (UTC)",
		"## Summary",
		// Ratios first, then the values, then the direction.
		"| figure | suzaku ÷ raw | suzaku | raw | better |\n|---|---:|---:|---:|---|\n",
		"| memory (100 conns): server RSS per idle joined connection | **2.00×** | 4.00 KiB | 2.00 KiB | lower |",
		"| connect (100 conns): connect+join rate | **0.50×** | 5,000 /s | 10,000 /s | higher |",
		"| connect+join rate | **0.50×** | 5,000 /s | 10,000 /s | higher |",
		"| failed connections | **—** | 0 | 0 | lower |",
		"### memory: 100 connections joined to one topic",
		"### fanout: 10 broadcasts/s of 100 bytes for 30 s to 100 subscribers (1,000 deliveries/s offered)",
		"BENCH_SCALE=0.1 scripts/bench.sh",
		"suzaku-bench compare --scenario all",
		"suzaku: per connection, TCP connect 20 %, upgrade 30 %, join 50 % of the time.",
		"raw: after 0 s of silence, slow clients still open: 10; closed by the server: none.",
		"## Notes from the run\n\n- suzaku: suzaku broadcast: something odd\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("renderMarkdown: missing %q", want)
		}
	}
	if t.Failed() {
		t.Log(md)
	}
}

func TestRenderSingleTargetHasNoRatioColumn(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	r.Targets, r.Baseline, r.Ratios = r.Targets[:1], "", nil
	md := renderMarkdown(r, "x")
	if !strings.Contains(md, "| figure | suzaku | better |") {
		t.Fatalf("single target table header missing:\n%s", md)
	}
	if strings.Contains(md, "suzaku ÷") {
		t.Fatal("single target report shows a ratio")
	}
}

func TestRenderText(t *testing.T) {
	t.Parallel()
	txt := renderText(sampleReport())
	lines := strings.Split(txt, "\n")
	testutil.Equal(t, "header", strings.Fields(lines[0]), []string{"figure", "suzaku÷raw", "suzaku", "raw", "better"})
	if !strings.Contains(txt, "note: suzaku: suzaku broadcast: something odd") {
		t.Fatalf("renderText: notes missing:\n%s", txt)
	}
}

func TestRenderFormat(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		name string
		v    *float64
		unit string
		want string
	}{
		{name: "none", v: nil, unit: "ms", want: "—"},
		{name: "small ms", v: f(6.407), unit: "ms", want: "6.41 ms"},
		{name: "ms", v: f(62.43), unit: "ms", want: "62.4 ms"},
		{name: "large ms", v: f(1234.6), unit: "ms", want: "1235 ms"},
		{name: "rate", v: f(101234.4), unit: "deliveries/s", want: "101,234 /s"},
		{name: "count", v: f(1234567), unit: "deliveries", want: "1,234,567"},
		{name: "negative count", v: f(-1234), unit: "conns", want: "-1,234"},
		{name: "factor", v: f(1.234), unit: "×", want: "1.23×"},
		{name: "percent", v: f(63.4), unit: "% of one core", want: "63 %"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "fmtValue", fmtValue(tt.v, tt.unit), tt.want)
		})
	}
	testutil.Equal(t, "fmtRatio(nil)", fmtRatio(nil), "—")
}

// TestRenderPeersFromData: the peers' figures come from the data file in
// docs, with their source and date, and the page says they were not
// measured in this run; without the file there is no Context section.
func TestRenderPeersFromData(t *testing.T) {
	t.Parallel()
	const file = "../../docs/bench-peers.json"
	peers, err := readPeers(file)
	testutil.Success(t, err)
	if peers == nil {
		t.Fatalf("readPeers(%s) = nil: the repository's peers file is missing", file)
	}
	md := renderPage(sampleReport(), "scripts/bench.sh", peers, "docs/bench-peers.json")
	for _, want := range []string{
		"## Context\n",
		"not measured in this run: peers measured on " + peers.Measured + " (from `docs/bench-peers.json`). " + peers.Source,
		"| Phoenix 1.7.24 (Bandit 1.11 / Cowboy 2.13, OTP 25) | 31.6 (36–41 after 70 s) | 103–113 | 13–19 µs | 398–641 / 951–1,999 |",
		"| Centrifugo v6.9.1 (default config) |",
		"`scripts/bench-stale.sh` (`make bench-stale`) lists the hot-path commits since `abc1234`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("renderPage: missing %q", want)
		}
	}
	if md := renderMarkdown(sampleReport(), "x"); strings.Contains(md, "## Context") || strings.Contains(md, "Centrifugo") {
		t.Errorf("renderMarkdown without peers data shows peers:\n%s", md)
	}
	if p, err := readPeers(t.TempDir() + "/none.json"); p != nil || err != nil {
		t.Errorf("readPeers(missing) = %v, %v; want nil, nil", p, err)
	}
}
