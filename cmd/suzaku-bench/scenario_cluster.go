package main

// The "cluster" subcommand: what a second (and third) node costs. It
// starts the conformance app itself: three nodes over one broker (-broker,
// -node) and, in the same run, one single node (memory broker), puts
// --conns subscribers of one bench topic on each (client processes as
// every scenario does, at most 15,000 connections each), and measures:
//
//   - fan-out: broadcasts posted on node 0, one at a time; per node, the
//     time from the request to the last delivery, and the delivery rate
//     (subscribers ÷ the time from the first delivery to the last), against
//     the single node's, where the broadcast is posted on the node itself;
//   - memory per connection: RSS growth ÷ connections of node 0 against
//     the single node's (both idle, after the joins);
//   - broker round trip: a message broadcast by one broker client and
//     received by another (two nodes of this process), median and p99.
//
//	suzaku-bench cluster --bin ./conformance --broker redis://127.0.0.1:6379 --conns 5000
//
// Run it under flock /tmp/suzaku-load.lock, as every load test.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	suzakucluster "github.com/suzaku-go/suzaku/cluster"
	"github.com/suzaku-go/suzaku/pubsub"
)

// ClusterNodeResult is one node's figures.
type ClusterNodeResult struct {
	Name string `json:"name"`
	// Clustered is false for the single node (memory broker).
	Clustered bool `json:"clustered"`
	// Origin is true for the node the broadcasts were posted on.
	Origin      bool         `json:"origin"`
	Subscribers int64        `json:"subscribers"`
	Rounds      RoundsResult `json:"rounds"`
	// DeliveriesPerS is the node's fan-out rate: subscribers ÷ the median
	// time from a round's first delivery to its last on this node (the
	// broker's hop, before the first, is in LastDelivery and BrokerRTT).
	DeliveriesPerS float64 `json:"deliveries_per_s"`
	KiBPerConn     float64 `json:"kib_per_conn"`
	RSSKiB         int64   `json:"rss_kib"`
}

// ClusterResult is the cluster scenario's report.
type ClusterResult struct {
	Command string              `json:"command"`
	Broker  string              `json:"broker"`
	Conns   int                 `json:"conns_per_node"`
	Rounds  int                 `json:"rounds"`
	Nodes   []ClusterNodeResult `json:"nodes"`
	// Ratios against the single node: the slowest clustered node's delivery
	// rate and last delivery, node 0's memory per connection.
	RateRatio         float64 `json:"rate_ratio"`
	LastDeliveryRatio float64 `json:"last_delivery_ratio"`
	MemoryRatio       float64 `json:"memory_ratio"`
	// AggregateRate is the sum of the clustered nodes' delivery rates (they
	// fan out at the same time), AggregateRatio that ÷ the single node's:
	// on a box whose cores the nodes share, the cluster as a whole against
	// one node.
	AggregateRate  float64 `json:"aggregate_deliveries_per_s"`
	AggregateRatio float64 `json:"aggregate_ratio"`
	// CPURatio is the single node's CPU per delivery ÷ the costliest
	// clustered node's: the per-node delivery rate to expect, as a ratio,
	// when each node has cores of its own.
	CPURatio float64 `json:"cpu_ratio"`
	// Broker round trip (two broker clients of this process), ms.
	BrokerRTT Dist     `json:"broker_rtt"`
	Notes     []string `json:"notes,omitempty"`
}

func clusterMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	bin := fs.String("bin", "", "the conformance app's binary (default: go build ./examples/conformance into a temporary folder)")
	brokerURL := fs.String("broker", "redis://127.0.0.1:6379", "broker URL the clustered nodes share (redis://… or nats://…); a cluster name of this run's own is added")
	nodes := fs.Int("nodes", 3, "clustered nodes")
	fs.IntVar(&o.Conns, "conns", 5000, "subscribers per node")
	fs.IntVar(&o.Rounds, "rounds", 20, "broadcasts, one at a time")
	fs.IntVar(&o.Payload, "payload", 100, "broadcast payload size, bytes")
	fs.IntVar(&o.Concurrency, "concurrency", 32, "connections being opened at once, per client process")
	fs.DurationVar(&o.RoundWait, "round-timeout", 10*time.Second, "longest wait for a broadcast to reach every subscriber")
	fs.DurationVar(&o.Gap, "gap", 200*time.Millisecond, "pause between two broadcasts")
	fs.StringVar(&o.SourceIP, "source-ip", "127.0.0.2", "first client source address; each client process takes the next one")
	fs.DurationVar(&o.ConnTimeout, "connect-timeout", 30*time.Second, "longest dial+upgrade+join of one connection")
	fs.DurationVar(&o.IdleMax, "idle-max", 20*time.Second, "longest wait for a node to go idle before reading its memory")
	rtts := fs.Int("rtt", 200, "broker round trips to time")
	out := fs.String("out", "", "write the JSON report to this file")
	fs.BoolVar(&o.Quiet, "quiet", false, "no progress on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *nodes < 2 {
		return errors.New("cluster: --nodes must be at least 2")
	}
	o.Topic = "cluster"
	sess, err := newSession(o, execSpawner(2*time.Hour), stderr)
	if err != nil {
		return err
	}
	res := &ClusterResult{Command: shellJoin(append([]string{"suzaku-bench", "cluster"}, args...)), Conns: o.Conns, Rounds: o.Rounds}
	if *bin == "" {
		dir, err := os.MkdirTemp("", "suzaku-bench-cluster-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*bin = filepath.Join(dir, "conformance")
		build := exec.CommandContext(ctx, "go", "build", "-o", *bin, "./examples/conformance")
		build.Stdout, build.Stderr = stderr, stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("cluster: build the conformance app (run from the repository root, or give --bin): %w", err)
		}
	}
	sep := "?"
	if strings.Contains(*brokerURL, "?") {
		sep = "&"
	}
	shared := fmt.Sprintf("%s%scluster=bench-%d", *brokerURL, sep, os.Getpid())
	res.Broker, _, _ = strings.Cut(*brokerURL, "?")

	// The nodes: clustered ones first, then the single one.
	var procs []*benchNode
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	for i := range *nodes + 1 {
		name, broker := fmt.Sprintf("bench-%d-%d", os.Getpid(), i), shared
		if i == *nodes {
			name, broker = "single", "memory"
		}
		p, err := startBenchNode(ctx, *bin, name, broker)
		if err != nil {
			return err
		}
		procs = append(procs, p)
		sess.log.printf("started %s (pid %d) at %s", name, p.pid, p.url)
	}

	rtt, err := brokerRTT(ctx, shared, *rtts)
	if err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("broker round trip: %v", err))
	}
	res.BrokerRTT = rtt
	sess.log.printf("broker round trip over %s: p50 %.3f ms, p99 %.3f ms", res.Broker, rtt.P50, rtt.P99)

	// Subscribers: --conns on every node, memory read once each is idle.
	runners := make([]*runner, len(procs))
	clients := make([]*cluster, len(procs))
	defer func() {
		for _, cl := range clients {
			if cl != nil {
				cl.close(context.WithoutCancel(ctx))
			}
		}
	}()
	for i, p := range procs {
		r := &runner{session: sess, target: Target{Name: p.name, URL: p.url, PID: p.pid}, rep: &TargetReport{}}
		runners[i] = r
		r.waitIdle(ctx)
		rss0 := r.rss()
		cl, _, err := r.connectPhase(ctx, "cluster", o.Conns, i*o.Conns, []string{r.topic()}, false)
		if err != nil {
			return err
		}
		clients[i] = cl
		r.waitIdle(ctx)
		rss := r.rss()
		res.Nodes = append(res.Nodes, ClusterNodeResult{
			Name: p.name, Clustered: i < *nodes, Origin: i == 0, Subscribers: int64(o.Conns),
			KiBPerConn: round1(float64(rss-rss0) / float64(o.Conns)), RSSKiB: rss,
		})
	}

	// Fan-out: posted on node 0 for the cluster, on the single node for itself.
	clustered := clients[:*nodes]
	pids := make([]int, len(procs))
	for i, p := range procs {
		pids[i] = p.pid
	}
	rounds, err := fanoutRounds(ctx, runners[0], o.Rounds, clustered, pids[:*nodes])
	if err != nil {
		return err
	}
	single, err := fanoutRounds(ctx, runners[*nodes], o.Rounds, clients[*nodes:], pids[*nodes:])
	if err != nil {
		return err
	}
	rounds = append(rounds, single...)
	for i := range res.Nodes {
		res.Nodes[i].Rounds = rounds[i]
		if med := rounds[i].FirstToLast.Median; med > 0 {
			res.Nodes[i].DeliveriesPerS = round1(float64(rounds[i].Delivered) / float64(rounds[i].Rounds) / (med / 1000))
		}
		if rounds[i].Delivered < rounds[i].Expected {
			res.Notes = append(res.Notes, fmt.Sprintf("%s: %d of %d deliveries missing", res.Nodes[i].Name, rounds[i].Expected-rounds[i].Delivered, rounds[i].Expected))
		}
	}
	for _, r := range runners {
		res.Notes = append(res.Notes, r.rep.Notes...)
	}
	base := res.Nodes[*nodes]
	worstRate, worstLast, worstCPU := 0.0, 0.0, 0.0
	for i, n := range res.Nodes[:*nodes] {
		if i == 0 || n.DeliveriesPerS < worstRate {
			worstRate = n.DeliveriesPerS
		}
		worstLast = max(worstLast, n.Rounds.LastDelivery.Median)
		worstCPU = max(worstCPU, n.Rounds.ServerCPUPerDelivery)
		res.AggregateRate += n.DeliveriesPerS
	}
	res.AggregateRatio = ratio(res.AggregateRate, base.DeliveriesPerS)
	res.CPURatio = ratio(base.Rounds.ServerCPUPerDelivery, worstCPU)
	res.RateRatio = ratio(worstRate, base.DeliveriesPerS)
	res.LastDeliveryRatio = ratio(worstLast, base.Rounds.LastDelivery.Median)
	res.MemoryRatio = ratio(res.Nodes[0].KiBPerConn, base.KiBPerConn)

	fmt.Fprint(stderr, "\n"+renderCluster(res))
	b, _ := json.MarshalIndent(res, "", "  ")
	b = append(b, '\n')
	if *out == "" {
		_, err = stdout.Write(b)
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s\n", *out)
	return nil
}

// fanoutRounds posts k broadcasts on r's node, one at a time, each once
// every reading subscriber of every cluster of cls has it (or RoundWait
// passed), and returns each cluster's figures.
// pids[i] is the node of cls[i], for its CPU time.
func fanoutRounds(ctx context.Context, r *runner, k int, cls []*cluster, pids []int) ([]RoundsResult, error) {
	label := r.label("fan-out")
	warm := r.rounds(1)
	if err := fanoutRound(ctx, r, warm, 1, cls, nil); err != nil {
		return nil, fmt.Errorf("%s: warm-up: %w", label, err)
	}
	time.Sleep(r.opts.Gap)
	base := r.rounds(k)
	sent := make([]int64, k)
	cpu0 := make([]time.Duration, len(pids))
	for i, pid := range pids {
		cpu0[i], _ = readCPU(pid)
	}
	if err := fanoutRound(ctx, r, base, k, cls, sent); err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	cpu := make([]time.Duration, len(pids))
	for i, pid := range pids {
		c, _ := readCPU(pid)
		cpu[i] = c - cpu0[i]
	}
	out := make([]RoundsResult, len(cls))
	for i, cl := range cls {
		sts, err := stats(ctx, cl)
		if err != nil {
			return nil, err
		}
		out[i] = aggregateRounds(sts, base, sent)
		out[i].PayloadBytes = r.opts.Payload
		out[i].ServerCPUms = ms(cpu[i])
		out[i].ServerCPUPerDelivery = cpuPerDelivery(cpu[i], out[i].Delivered)
		r.noteStats(fmt.Sprintf("%s (clients %d)", label, i), sts)
	}
	r.log.printf("%s: last delivery median per node %v ms", label, medians(out))
	return out, nil
}

// fanoutRound runs rounds base..base+k-1; sent (if not nil) gets each
// round's send time.
func fanoutRound(ctx context.Context, r *runner, base int64, k int, cls []*cluster, sent []int64) error {
	readers := make([]int, len(cls))
	for i, cl := range cls {
		n, err := resetRounds(ctx, base, k, cl)
		if err != nil {
			return err
		}
		readers[i] = n
	}
	for i := range k {
		round := base + int64(i)
		ts := time.Now().UnixNano()
		if err := r.post(ctx, r.topic(), makePayload(round, ts, r.opts.Payload)); err != nil {
			return fmt.Errorf("round %d: %w", i+1, err)
		}
		if sent != nil {
			sent[i] = ts
		}
		var wg sync.WaitGroup
		errs := make([]error, len(cls))
		for j, cl := range cls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[j] = cl.waitRound(ctx, round, readers[j], r.opts.RoundWait)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if i < k-1 {
			time.Sleep(r.opts.Gap)
		}
	}
	return nil
}

func medians(rs []RoundsResult) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = r.LastDelivery.Median
	}
	return out
}

// brokerRTT times n round trips through the broker at url: two brokers
// (two nodes of this process), one subscribed, the other broadcasting.
func brokerRTT(ctx context.Context, url string, n int) (Dist, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var brokers []pubsub.Broker
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, name := range []string{"rtt-a", "rtt-b"} {
		b, _, err := suzakucluster.OpenBroker(url, fmt.Sprintf("%s-%d", name, os.Getpid()), nil)
		if err != nil {
			return Dist{}, err
		}
		brokers = append(brokers, b)
		if s, ok := b.(interface{ Serve(context.Context) error }); ok {
			wg.Add(1)
			go func() { defer wg.Done(); _ = s.Serve(ctx) }()
		}
	}
	got := make(chan int64, 1)
	sub := rttSubscriber(got)
	topic := fmt.Sprintf("bench:rtt-%d", os.Getpid())
	if err := brokers[1].Subscribe(ctx, topic, sub); err != nil {
		return Dist{}, err
	}
	var h Hist
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; i < n+10; i++ { // 10 warm-up trips, and until the brokers are connected
		t0 := time.Now()
		m := &pubsub.Message{Topic: topic, Event: "rtt", Payload: []byte(strconv.FormatInt(t0.UnixNano(), 10))}
		if err := brokers[0].Broadcast(ctx, m); err != nil {
			return Dist{}, err
		}
		select {
		case <-got:
			if i >= 10 {
				h.Record(time.Since(t0))
			}
		case <-time.After(time.Second):
			if time.Now().After(deadline) {
				return Dist{}, errors.New("no message crossed the broker within 15 s")
			}
			i-- // not connected yet
		case <-ctx.Done():
			return Dist{}, ctx.Err()
		}
	}
	return h.Dist(), nil
}

// rttSubscriber hands each message's arrival to got.
type rttSubscriber chan int64

func (s rttSubscriber) Deliver(m *pubsub.Message) {
	select {
	case s <- time.Now().UnixNano():
	default:
	}
}

// benchNode is a conformance app process the scenario started.
type benchNode struct {
	name, url string
	pid       int
	cmd       *exec.Cmd
}

func startBenchNode(ctx context.Context, bin, name, broker string) (*benchNode, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "-addr", addr, "-broker", broker, "-node", name)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	n := &benchNode{name: name, url: "http://" + addr, pid: cmd.Process.Pid, cmd: cmd}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "listening on ") {
				ready <- nil
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		ready <- fmt.Errorf("%s exited before listening", name)
	}()
	select {
	case err = <-ready:
	case <-time.After(30 * time.Second):
		err = fmt.Errorf("%s did not listen within 30 s", name)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		n.stop()
		return nil, err
	}
	return n, nil
}

func (n *benchNode) stop() {
	_ = n.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = n.cmd.Process.Kill()
		<-done
	}
}

// renderCluster writes the report as a Markdown table.
func renderCluster(r *ClusterResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cluster over %s: %d subscribers per node, %d broadcasts posted on %s\n\n", r.Broker, r.Conns, r.Rounds, r.Nodes[0].Name)
	b.WriteString("| node | last delivery median (ms) | p90 (ms) | first→last (ms) | deliveries/s | latency p50 / p99 (ms) | CPU µs per delivery | KiB per connection |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, n := range r.Nodes {
		label := n.Name
		switch {
		case !n.Clustered:
			label = "single node (baseline)"
		case n.Origin:
			label += " (origin)"
		}
		fmt.Fprintf(&b, "| %s | %.1f | %.1f | %.1f | %s | %.1f / %.1f | %.2f | %.2f |\n", label, n.Rounds.LastDelivery.Median, n.Rounds.LastDelivery.P90,
			n.Rounds.FirstToLast.Median, thousands(n.DeliveriesPerS), n.Rounds.Latency.P50, n.Rounds.Latency.P99, n.Rounds.ServerCPUPerDelivery, n.KiBPerConn)
	}
	fmt.Fprintf(&b, "\nslowest clustered node ÷ single: delivery rate %.2f×, last delivery %.2f×; memory per connection (node 0 ÷ single) %.2f×\n",
		r.RateRatio, r.LastDeliveryRatio, r.MemoryRatio)
	fmt.Fprintf(&b, "the clustered nodes together ÷ single: %s deliveries/s, %.2f×; CPU per delivery (single ÷ costliest clustered node) %.2f×\n",
		thousands(r.AggregateRate), r.AggregateRatio, r.CPURatio)
	fmt.Fprintf(&b, "broker round trip (%s): p50 %.3f ms, p99 %.3f ms\n", r.Broker, r.BrokerRTT.P50, r.BrokerRTT.P99)
	notes := slices.Compact(slices.Clone(r.Notes))
	for _, n := range notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}
