package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// table is the figures of a report arranged for display: one row per
// metric key, a value per target and, when there is a baseline, a ratio
// per other target.
type table struct {
	targets []string // in report order
	others  []string // targets with a ratio column: all but the baseline
	rows    []row
}

type row struct {
	m      Metric
	values map[string]*float64
	ratios map[string]*float64
}

// buildTable arranges r's figures; only figures with a key in keep (nil:
// all) and, when headline, only headline figures.
func buildTable(r *Report, scenario string, headline bool) table {
	var t table
	idx := make(map[string]int)
	for _, tr := range r.Targets {
		t.targets = append(t.targets, tr.Name)
		if r.Baseline != "" && tr.Name != r.Baseline {
			t.others = append(t.others, tr.Name)
		}
		for _, m := range tr.Metrics() {
			if (scenario != "" && !strings.HasPrefix(m.Key, scenario+".")) || (headline && !m.Headline) {
				continue
			}
			i, ok := idx[m.Key]
			if !ok {
				i = len(t.rows)
				idx[m.Key] = i
				t.rows = append(t.rows, row{m: m, values: map[string]*float64{}, ratios: map[string]*float64{}})
			}
			if headline && !ok {
				scn, _, _ := strings.Cut(m.Key, ".")
				t.rows[i].m.Name = scenarioShort(r, scn) + ": " + m.Name
			}
			v := m.Value
			t.rows[i].values[tr.Name] = &v
		}
	}
	for _, ra := range r.Ratios {
		if i, ok := idx[ra.Key]; ok {
			t.rows[i].ratios[ra.Target] = ra.Ratio
		}
	}
	return t
}

// fmtValue formats a figure with its unit.
func fmtValue(v *float64, unit string) string {
	if v == nil {
		return "—"
	}
	x := *v
	switch unit {
	case "conns/s", "deliveries/s":
		return thousands(math.Round(x)) + " /s"
	case "conns", "deliveries", "broadcasts":
		return thousands(math.Round(x))
	case "×":
		return fmt.Sprintf("%.2f×", x)
	case "% of one core":
		return fmt.Sprintf("%.0f %%", x)
	}
	prec := 2
	if math.Abs(x) >= 100 {
		prec = 0
	} else if math.Abs(x) >= 10 {
		prec = 1
	}
	return strconv.FormatFloat(x, 'f', prec, 64) + " " + unit
}

// fmtRatio formats a ratio; "—" when undefined.
func fmtRatio(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.2f×", *v)
}

// thousands writes an integer with thin separators: 12,345.
func thousands(x float64) string {
	s := strconv.FormatFloat(math.Abs(x), 'f', 0, 64)
	var b strings.Builder
	if x < 0 {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// markdown writes t as a Markdown table: figure, ratios first, then the
// values, then which way is better.
func (t table) markdown(b *bytes.Buffer) {
	b.WriteString("| figure |")
	for _, o := range t.others {
		fmt.Fprintf(b, " %s ÷ %s |", o, baselineOf(t))
	}
	for _, n := range t.targets {
		fmt.Fprintf(b, " %s |", n)
	}
	b.WriteString(" better |\n|---|")
	for range len(t.others) + len(t.targets) {
		b.WriteString("---:|")
	}
	b.WriteString("---|\n")
	for _, r := range t.rows {
		fmt.Fprintf(b, "| %s |", r.m.Name)
		for _, o := range t.others {
			fmt.Fprintf(b, " **%s** |", fmtRatio(r.ratios[o]))
		}
		for _, n := range t.targets {
			fmt.Fprintf(b, " %s |", fmtValue(r.values[n], r.m.Unit))
		}
		fmt.Fprintf(b, " %s |\n", r.m.Better)
	}
}

// baselineOf returns the target that has no ratio column.
func baselineOf(t table) string {
	for _, n := range t.targets {
		if !contains(t.others, n) {
			return n
		}
	}
	return ""
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// text writes t aligned for a terminal.
func (t table) text(b *bytes.Buffer) {
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "figure")
	for _, o := range t.others {
		fmt.Fprintf(tw, "\t%s÷%s", o, baselineOf(t))
	}
	for _, n := range t.targets {
		fmt.Fprintf(tw, "\t%s", n)
	}
	fmt.Fprint(tw, "\tbetter\n")
	for _, r := range t.rows {
		fmt.Fprint(tw, r.m.Key)
		for _, o := range t.others {
			fmt.Fprintf(tw, "\t%s", fmtRatio(r.ratios[o]))
		}
		for _, n := range t.targets {
			fmt.Fprintf(tw, "\t%s", fmtValue(r.values[n], r.m.Unit))
		}
		fmt.Fprintf(tw, "\t%s\n", r.m.Better)
	}
	tw.Flush()
}

// renderText is the summary printed on stderr at the end of a run.
func renderText(r *Report) string {
	var b bytes.Buffer
	t := buildTable(r, "", false)
	if len(t.rows) == 0 {
		return "no results\n"
	}
	t.text(&b)
	for _, tr := range r.Targets {
		for _, n := range tr.Notes {
			fmt.Fprintf(&b, "note: %s: %s\n", tr.Name, n)
		}
	}
	return b.String()
}

// scenarioShort names a scenario with its size, for the summary.
func scenarioShort(r *Report, scn string) string {
	for _, t := range r.Targets {
		switch {
		case scn == "memory" && t.Memory != nil:
			return fmt.Sprintf("memory (%s conns)", thousands(float64(t.Memory.Conns)))
		case scn == "connect" && t.Connect != nil:
			return fmt.Sprintf("connect (%s conns)", thousands(float64(t.Connect.Conns)))
		case scn == "broadcast" && t.Broadcast != nil:
			return fmt.Sprintf("broadcast (%s subscribers)", thousands(float64(t.Broadcast.Subscribers)))
		case scn == "fanout" && t.Fanout != nil:
			return fmt.Sprintf("fanout (%s deliveries/s offered)", thousands(t.Fanout.Offered))
		case scn == "slow" && t.Slow != nil:
			return fmt.Sprintf("slow (%d beside %s)", t.Slow.Slow, thousands(float64(t.Slow.Normal)))
		case scn == "storm" && t.Storm != nil:
			return t.Storm.short()
		case scn == "presence" && t.Presence != nil && t.Presence.Samples > 0:
			return t.Presence.short()
		case scn == "longpoll" && t.LongPoll != nil && t.LongPoll.Joined > 0:
			return t.LongPoll.short()
		case scn == "mixed" && t.Mixed != nil:
			return t.Mixed.short()
		}
	}
	return scn
}

// scenarioTitle describes a scenario's size from the first target that
// ran it.
func scenarioTitle(r *Report, scn string) string {
	for _, t := range r.Targets {
		switch {
		case scn == "memory" && t.Memory != nil:
			return fmt.Sprintf("memory: %s connections joined to one topic", thousands(float64(t.Memory.Conns)))
		case scn == "connect" && t.Connect != nil:
			return fmt.Sprintf("connect: %s connections, connect+join", thousands(float64(t.Connect.Conns)))
		case scn == "broadcast" && t.Broadcast != nil:
			b := t.Broadcast
			return fmt.Sprintf("broadcast: %d broadcasts of %d bytes, one at a time, to %s subscribers", b.Rounds, b.PayloadBytes, thousands(float64(b.Subscribers)))
		case scn == "fanout" && t.Fanout != nil:
			f := t.Fanout
			return fmt.Sprintf("fanout: %g broadcasts/s of %d bytes for %g s to %s subscribers (%s deliveries/s offered)", f.Rate, f.PayloadBytes, f.Seconds, thousands(float64(f.Subscribers)), thousands(f.Offered))
		case scn == "slow" && t.Slow != nil:
			s := t.Slow
			return fmt.Sprintf("slow: %s subscribers, then %d clients that stopped reading beside them (SO_RCVBUF %d, %s KiB sent to each first)", thousands(float64(s.Normal)), s.Slow, s.RcvBuf, thousands(float64(s.FillBytes>>10)))
		case scn == "storm" && t.Storm != nil:
			return t.Storm.title()
		case scn == "presence" && t.Presence != nil && t.Presence.Samples > 0:
			return t.Presence.title()
		case scn == "longpoll" && t.LongPoll != nil && t.LongPoll.Joined > 0:
			return t.LongPoll.title()
		case scn == "mixed" && t.Mixed != nil:
			return t.Mixed.title()
		}
	}
	return scn
}

const methodText = `Every client is a minimal WebSocket client (gobwas/ws) speaking Phoenix
Channels V2 JSON: it connects to ` + "`/socket/websocket?vsn=2.0.0&user=bench<i>`" + `, joins
` + "`bench:x`" + ` with ` + "`[\"1\",\"1\",\"bench:x\",\"phx_join\",{}]`" + ` and sends a heartbeat every 30 s. Client
processes hold up to 15,000 connections each, each process from its own source address
(127.0.0.2, 127.0.0.3, …), and share the 2 cores with the server: delivery times include the
clients' own work, so server CPU per delivery is the cleaner measure of the server's cost.
Broadcasts go through ` + "`POST /api/broadcast`" + `; their payload carries the send time
(` + "`time.Now().UnixNano()`" + `, one clock for every process) and each client notes when it
receives them. The targets run one after the other, scenario by scenario, in the same
invocation; only one holds connections at a time.

- **memory**: connect and join N, wait until the server is idle (under 2 % of a core, and its
  RSS steady within 0.5 %, over two half seconds), then (VmRSS after − VmRSS before) ÷ N, from
  ` + "`/proc/PID/status`" + `. Then 10 broadcasts and the same figure again. It runs first, on a
  fresh server.
- **connect**: the connect+join rate (joined connections ÷ wall time, 32 connections opened at
  once per client process) and where each connection's time goes: TCP connect, the HTTP
  upgrade, the join request to its reply.
- **broadcast**: broadcasts one at a time, each once the previous one reached every subscriber.
  *Last delivery* is from the request to the last subscriber's receipt (median and p90 over
  rounds); *latency* is per delivery. Server CPU is utime+stime from ` + "`/proc/PID/stat`" + `
  over the rounds ÷ deliveries.
- **fanout**: broadcasts sent on a fixed schedule (open loop) for the duration;
  *achieved* is deliveries ÷ (first request to last receipt).
- **slow**: the broadcast rounds to N subscribers, then again with slow clients beside them:
  clients with a small receive buffer (SO_RCVBUF 4 KiB) that stop reading once joined, after
  4 MiB of broadcasts on a topic only they joined were sent to each. On loopback the kernel
  takes about 2.8 MiB per socket (the server's send buffer autotunes to 3.75 MiB), so the
  rest waits in the server, or the server drops the client: raw, which has no queue, drops it.
  The ratio compares the normal subscribers' last delivery with and without them. The slow
  clients stay silent for 15 s after the fill (rounds included), then read again, to tell
  which ones the server had closed, and how ("eof" or "reset": closed without a close frame).

Each broadcast series starts with one unmeasured warm-up broadcast. The sizes above are the
defaults; the command shows the flags of this run.`

// renderMarkdown renders the docs page for report r, produced by script.
func renderMarkdown(r *Report, script string) string { return renderPage(r, script, nil, "") }

// renderPage renders the docs page for report r, produced by script, with
// the peers' figures of peersFile for context (none when peers is nil).
func renderPage(r *Report, script string, peers *peerData, peersFile string) string {
	var b bytes.Buffer
	b.WriteString("# Benchmarks\n\n")
	fmt.Fprintf(&b, "<!-- Generated by `suzaku-bench render` from the report of `%s`. Do not edit: rerun the script. -->\n\n", script)
	commit := r.Commit
	if commit == "" {
		commit = "unknown"
	}
	fmt.Fprintf(&b, "Measured on %s (UTC) at commit `%s`, on a %d-core box (%s; Linux %s; %s), clients and servers on the same machine over loopback.\n",
		r.Started.Format("2006-01-02 15:04"), commit, r.Host.CPUs, orDash(r.Host.Model), orDash(r.Host.Kernel), r.Host.Go)
	if commit != "unknown" {
		fmt.Fprintf(&b, "`scripts/bench-stale.sh` (`make bench-stale`) lists the hot-path commits since `%s`; the page is regenerated when there are any.\n", strings.TrimSuffix(commit, "-dirty"))
	}
	if r.Baseline != "" {
		fmt.Fprintf(&b, "`%s` is a minimal epoll WebSocket server (`internal/rawbaseline`) that writes one pre-encoded frame to each subscriber socket: the practical limit of this box. "+
			"Each ratio divides a figure by `%s`'s, measured in the same run: 1× is as good as the box allows; for a *lower is better* figure, 2× is twice the cost.\n", r.Baseline, r.Baseline)
	}
	if r.Note != "" {
		fmt.Fprintf(&b, "\n**Note:** %s\n", r.Note)
	}
	b.WriteString("\n## Summary\n\n")
	buildTable(r, "", true).markdown(&b)
	b.WriteString("\n## Reproduce\n\n```sh\n")
	fmt.Fprintf(&b, "%s                   # the full run, at the issue's sizes\n", script)
	fmt.Fprintf(&b, "BENCH_SCALE=0.1 %s   # a quick smoke run at a tenth of the sizes\n", script)
	b.WriteString("```\n\nThe script builds `examples/conformance`, `cmd/suzaku-bench` and its raw server, starts both servers on free loopback ports, then runs:\n\n```sh\n")
	b.WriteString(r.Command)
	b.WriteString("\n```\n\nand renders this page from the JSON report with `suzaku-bench render`.\n\n## Method\n\n")
	b.WriteString(methodText)
	b.WriteString("\n\n" + stormMethod + "\n" + presenceMethod + "\n" + longPollMethod + "\n" + mixedMethod)
	b.WriteString("\n\n## All figures\n")
	for _, scn := range scenarios {
		t := buildTable(r, scn, false)
		if len(t.rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n", scenarioTitle(r, scn))
		t.markdown(&b)
		if scn == "slow" {
			for _, tr := range r.Targets {
				if s := tr.Slow; s != nil {
					closed := formatCounts(s.SlowClosed)
					if closed == "" {
						closed = "none"
					}
					fmt.Fprintf(&b, "\n%s: after %.0f s of silence, slow clients still open: %d; closed by the server: %s.", tr.Name, s.HoldSeconds, s.SlowOpen, closed)
				}
			}
			b.WriteString("\n")
		}
		if scn == "connect" || scn == "memory" {
			for _, tr := range r.Targets {
				var c *ConnectStats
				if scn == "connect" && tr.Connect != nil {
					c = &tr.Connect.Connect
				} else if scn == "memory" && tr.Memory != nil {
					c = &tr.Memory.Connect
				}
				if c != nil && c.Joined > 0 {
					fmt.Fprintf(&b, "\n%s: per connection, TCP connect %.0f %%, upgrade %.0f %%, join %.0f %% of the time.", tr.Name, 100*c.Share.TCP, 100*c.Share.Upgrade, 100*c.Share.Join)
				}
			}
			b.WriteString("\n")
		}
	}
	notes := false
	for _, tr := range r.Targets {
		for _, n := range tr.Notes {
			if !notes {
				b.WriteString("\n## Notes from the run\n\n")
				notes = true
			}
			fmt.Fprintf(&b, "- %s: %s\n", tr.Name, n)
		}
	}
	if peers != nil {
		peers.markdown(&b, peersFile)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func jsonIndent(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	return append(b, '\n'), err
}
