package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/suzaku-go/suzaku/internal/rawbaseline"
)

const usage = `suzaku-bench: load tests for Phoenix-Channels-compatible servers (loopback only)

usage:
  suzaku-bench memory|connect|broadcast|fanout|slow|all --server URL --pid PID [flags]
  suzaku-bench compare --target NAME=URL,pid=PID --target NAME=URL,pid=PID [--scenario all] [flags]
  suzaku-bench stream-storm --server URL --pid PID [--conns 5000 --messages 100]
  suzaku-bench cluster [--bin ./conformance] --broker redis://HOST:PORT|nats://HOST:PORT [--conns 5000 --nodes 3]
  suzaku-bench render --in results.json [--out docs/benchmarks.md]
  suzaku-bench rawserver [-addr 127.0.0.1:4100]

Run "suzaku-bench <subcommand> -h" for the flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "suzaku-bench:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "client":
		return childMain(ctx, args)
	case "rawserver":
		return rawServerMain(ctx, args, stdout)
	case "render":
		return renderMain(args, stderr)
	case "stream-storm":
		return streamStormMain(ctx, args, stdout, stderr) // streamstorm.go
	case "cluster":
		return clusterMain(ctx, args, stdout, stderr) // scenario_cluster.go
	case "compare":
		return benchMain(ctx, cmd, args, stdout, stderr)
	case "all":
		return benchMain(ctx, cmd, args, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stderr, usage)
		return nil
	}
	if slices.Contains(scenarios, cmd) {
		return benchMain(ctx, cmd, args, stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown subcommand %q", cmd)
}

// targetList is the repeatable --target flag: NAME=URL[,pid=PID].
type targetList []Target

// String implements flag.Value.
func (l *targetList) String() string { return fmt.Sprint(*l) }

// Set implements flag.Value: it adds one target.
func (l *targetList) Set(v string) error {
	t, err := parseTarget(v)
	if err != nil {
		return err
	}
	*l = append(*l, t)
	return nil
}

// parseTarget parses NAME=URL[,pid=PID].
func parseTarget(v string) (Target, error) {
	name, rest, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return Target{}, fmt.Errorf("target %q: want NAME=URL[,pid=PID]", v)
	}
	parts := strings.Split(rest, ",")
	t := Target{Name: name, URL: parts[0]}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(p, "=")
		switch k {
		case "pid":
			pid, err := strconv.Atoi(val)
			if err != nil || pid < 0 {
				return Target{}, fmt.Errorf("target %q: bad pid %q", v, val)
			}
			t.PID = pid
		default:
			return Target{}, fmt.Errorf("target %q: unknown option %q", v, k)
		}
	}
	if _, err := checkLoopback(t.URL); err != nil {
		return Target{}, err
	}
	return t, nil
}

// benchMain runs a scenario (or all, or compare) and writes the report.
func benchMain(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.Conns, "conns", 1000, "connections (subscribers) per scenario, unless a per-scenario flag says otherwise")
	fs.IntVar(&o.Procs, "procs", 0, "client processes (0: enough for ≤ 15,000 each, at least 2 from 1,000 connections)")
	fs.StringVar(&o.Topic, "topic", "x", `topic the clients join: bench:<topic>`)
	fs.IntVar(&o.Payload, "payload", 100, "broadcast payload size, bytes")
	fs.IntVar(&o.Rounds, "rounds", 20, "broadcast and slow: broadcasts, one at a time")
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "fanout: how long to broadcast")
	fs.Float64Var(&o.Rate, "rate", 10, "fanout: broadcasts per second")
	fs.IntVar(&o.Concurrency, "concurrency", 32, "connections being opened at once, per client process")
	fs.DurationVar(&o.RoundWait, "round-timeout", 10*time.Second, "longest wait for a broadcast to reach every subscriber")
	fs.DurationVar(&o.Gap, "gap", 200*time.Millisecond, "pause between two broadcast rounds")
	fs.StringVar(&o.SourceIP, "source-ip", "127.0.0.2", "first client source address; each client process takes the next one")
	fs.DurationVar(&o.ConnTimeout, "connect-timeout", 30*time.Second, "longest dial+upgrade+join of one connection")
	fs.DurationVar(&o.IdleMax, "idle-max", 20*time.Second, "longest wait for the server to go idle before reading its memory")
	fs.IntVar(&o.MemoryConns, "memory-conns", 0, "memory: connections (0: --conns)")
	fs.IntVar(&o.ConnectConns, "connect-conns", 0, "connect: connections (0: --conns)")
	fs.IntVar(&o.BroadcastConns, "broadcast-conns", 0, "broadcast: subscribers (0: --conns)")
	fs.IntVar(&o.FanoutConns, "fanout-conns", 0, "fanout: subscribers (0: --conns)")
	fs.IntVar(&o.SlowConns, "slow-conns", 0, "slow: normal subscribers (0: --conns)")
	fs.IntVar(&o.MemoryBroadcasts, "memory-broadcasts", 10, "memory: broadcasts before the second memory reading (0: none)")
	fs.IntVar(&o.SlowClients, "slow-clients", 10, "slow: clients that stop reading")
	fs.IntVar(&o.SlowRcvBuf, "slow-rcvbuf", 4096, "slow: the slow clients' SO_RCVBUF, bytes")
	fs.IntVar(&o.SlowFill, "slow-fill", 4<<20, "slow: bytes broadcast to the slow clients alone before the rounds (the kernel takes ≈ 2.8 MiB per loopback socket; the rest waits in the server)")
	fs.DurationVar(&o.SlowHold, "slow-hold", 15*time.Second, "slow: how long the slow clients stay silent after the fill (at least), before they read again and tell whether the server closed them")
	fs.IntVar(&o.StormConns, "storm-conns", 0, "storm: joined clients dropped and reconnecting (0: --conns)")
	fs.IntVar(&o.PresenceConns, "presence-conns", 0, "presence: clients joining one presence topic (0: --conns)")
	fs.IntVar(&o.LongPollConns, "longpoll-conns", 0, "longpoll: LongPoll clients (0: --conns)")
	fs.IntVar(&o.MixedConns, "mixed-conns", 0, "mixed: connections × 3 topics (0: --conns)")
	fs.DurationVar(&o.MixedDuration, "mixed-duration", 20*time.Second, "mixed: how long every connection pushes")
	fs.BoolVar(&o.Quiet, "quiet", false, "no progress on stderr")
	server := fs.String("server", "http://127.0.0.1:4000", "the target's base URL (single-target subcommands)")
	pid := fs.Int("pid", 0, "the target's process id, for its memory and CPU (single-target subcommands)")
	name := fs.String("name", "suzaku", "the target's name in the report (single-target subcommands)")
	var targets targetList
	fs.Var(&targets, "target", "compare: NAME=URL[,pid=PID], repeated")
	scenario := fs.String("scenario", "all", "compare: the scenario (or comma-separated scenarios) to run on every target")
	baseline := fs.String("baseline", "", `compare: the target the ratios divide by (default "raw" if present, else the last)`)
	out := fs.String("out", "", "write the JSON report to this file (default: stdout)")
	commit := fs.String("commit", "", "record this commit in the report")
	note := fs.String("note", "", "record this remark in the report (and on the rendered page)")
	timeout := fs.Duration("timeout", 2*time.Hour, "stop everything after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	scn := cmd
	if cmd == "compare" {
		scn = *scenario
		if len(targets) < 2 {
			return errors.New("compare: give at least two --target")
		}
	} else {
		t, err := parseTarget(*name + "=" + *server + ",pid=" + strconv.Itoa(*pid))
		if err != nil {
			return err
		}
		targets = targetList{t}
	}
	list := strings.Split(scn, ",")
	if scn == "all" {
		list = scenarios
	}
	for _, x := range list {
		if !slices.Contains(scenarios, x) {
			return fmt.Errorf("unknown scenario %q (want %s, a comma-separated list of them, or all)", x, strings.Join(scenarios, ", "))
		}
	}
	base := *baseline
	if cmd == "compare" && base == "" {
		base = targets[len(targets)-1].Name
		for _, t := range targets {
			if t.Name == "raw" {
				base = "raw"
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	sess, err := newSession(o, execSpawner(*timeout+time.Minute), stderr)
	if err != nil {
		return err
	}
	rep := &Report{
		Tool: "suzaku-bench", Started: time.Now().UTC().Truncate(time.Second), Host: hostInfo(),
		Command: shellJoin(append([]string{"suzaku-bench", cmd}, args...)), Commit: *commit,
		Scenario: scn, Baseline: base, Note: *note,
	}
	runErr := runAll(ctx, sess, rep, targets, list)
	rep.Finished = time.Now().UTC().Truncate(time.Second)
	rep.Ratios = computeRatios(rep.Targets, base)
	fmt.Fprint(stderr, "\n"+renderText(rep))
	if *out == "" {
		b, _ := jsonIndent(rep)
		_, _ = stdout.Write(b)
	} else if err := writeReport(*out, rep); err != nil {
		return errors.Join(runErr, err)
	} else {
		fmt.Fprintf(stderr, "wrote %s\n", *out)
	}
	return runErr
}

// runAll runs every scenario of list on every target, scenario by
// scenario, so that the targets meet the box in the same state. A failed
// scenario is noted and the run goes on.
func runAll(ctx context.Context, sess *session, rep *Report, targets []Target, list []string) error {
	var failed []string
	for _, t := range targets {
		rep.Targets = append(rep.Targets, &TargetReport{Target: t})
	}
	for _, scn := range list {
		for i, t := range targets {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r := &runner{session: sess, target: t, rep: rep.Targets[i]}
			sess.log.printf("== %s: %s", t.Name, scn)
			if err := r.run(ctx, scn); err != nil {
				r.note("%s failed: %v", scn, err)
				failed = append(failed, t.Name+" "+scn)
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

// renderMain rewrites the Markdown page from a JSON report.
func renderMain(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "the JSON report (required)")
	out := fs.String("out", "docs/benchmarks.md", "the Markdown file to write")
	script := fs.String("script", "scripts/bench.sh", "the command that produced the report, for the page")
	peersFile := fs.String("peers", "docs/bench-peers.json", "peers' figures (measured data with source and date) for the Context section; none if the file is missing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return errors.New("render: --in is required")
	}
	rep, err := readReport(*in)
	if err != nil {
		return err
	}
	peers, err := readPeers(*peersFile)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, []byte(renderPage(rep, *script, peers, *peersFile)), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s\n", *out)
	return nil
}

// rawServerMain runs the baseline server until interrupted.
func rawServerMain(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("rawserver", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:4100", "address to listen on")
	writers := fs.Int("writers", 0, "goroutines writing each broadcast (0: GOMAXPROCS, the parallel baseline; 1: serial)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv, err := rawbaseline.NewWith(rawbaseline.Config{Writers: *writers})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	loop := make(chan error, 1)
	go func() { loop <- srv.Serve(ctx) }()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	select {
	case err = <-served:
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = hs.Shutdown(sctx)
	cancel()
	lerr := <-loop
	if errors.Is(lerr, context.Canceled) {
		lerr = nil
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, lerr)
}

// shellJoin writes args as a shell command line, quoting where needed.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		safe := a != ""
		for _, c := range a {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_./:=,@%+-", c)) {
				safe = false
				break
			}
		}
		if safe {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}
