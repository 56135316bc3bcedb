package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// options are the scenario settings shared by every subcommand.
type options struct {
	Conns       int
	Procs       int // 0: automatic
	Topic       string
	Payload     int
	Rounds      int
	Duration    time.Duration
	Rate        float64
	Concurrency int // connect workers per client process
	RoundWait   time.Duration
	Gap         time.Duration
	SourceIP    string
	ConnTimeout time.Duration
	IdleMax     time.Duration
	// Per scenario connection counts for "all" (0: Conns).
	MemoryConns, ConnectConns, BroadcastConns, FanoutConns, SlowConns int
	MemoryBroadcasts                                                  int
	SlowClients, SlowRcvBuf, SlowFill                                 int
	SlowHold                                                          time.Duration
	Quiet                                                             bool
	// The scenarios of their own files (storm.go, presence.go,
	// longpoll.go, mixed.go).
	StormConns, PresenceConns, LongPollConns, MixedConns int
	MixedDuration                                        time.Duration
}

func (o *options) conns(n int) int {
	if n > 0 {
		return n
	}
	return o.Conns
}

// procsFor returns how many client processes hold n connections: the
// --procs flag, or enough to stay at or under maxPerChild each, and at
// least two from 1,000 connections up, to use both cores of the box.
func procsFor(n, flag int) int {
	if flag > 0 {
		return flag
	}
	p := (n + maxPerChild - 1) / maxPerChild
	if n >= 1000 {
		p = max(p, 2)
	}
	return max(p, 1)
}

// session is one invocation of the tool: it may run several scenarios
// against several targets, with source addresses and round numbers that
// never repeat.
type session struct {
	opts   options
	spawn  spawner
	log    *progressLog
	client *http.Client
	nextIP uint32
	round  int64
}

func newSession(opts options, spawn spawner, stderr io.Writer) (*session, error) {
	ip := net.ParseIP(opts.SourceIP).To4()
	if ip == nil || ip[0] != 127 {
		return nil, fmt.Errorf("--source-ip %q: want an IPv4 address in 127.0.0.0/8", opts.SourceIP)
	}
	return &session{
		opts:  opts,
		spawn: spawn,
		log:   &progressLog{w: stderr, quiet: opts.Quiet},
		client: &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true, Proxy: nil},
		},
		nextIP: binary.BigEndian.Uint32(ip),
	}, nil
}

// sourceIP returns a loopback address no client of this session used.
func (s *session) sourceIP() string {
	for {
		ip := s.nextIP
		s.nextIP++
		if b := byte(ip); b != 0 && b != 255 {
			var a [4]byte
			binary.BigEndian.PutUint32(a[:], ip)
			return net.IP(a[:]).String()
		}
	}
}

// rounds reserves k round numbers.
func (s *session) rounds(k int) int64 {
	base := s.round + 1
	s.round += int64(k)
	return base
}

// runner runs scenarios against one target.
type runner struct {
	*session
	target Target
	rep    *TargetReport
	// For the next connectPhase: topic groups (mixed.go), joins per
	// second and presence samples (presence.go).
	groupSize int
	joinRate  float64
	sample    int
}

func (r *runner) label(scenario string) string { return r.target.Name + " " + scenario }

func (r *runner) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.rep.Notes = append(r.rep.Notes, msg)
	r.log.printf("%s: NOTE: %s", r.target.Name, msg)
}

// checkLoopback refuses any target that is not on this machine's loopback.
func checkLoopback(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("target %q: want an http:// URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return u, nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("target %q: only loopback addresses (127.0.0.0/8, ::1, localhost) may be measured", raw)
	}
	return u, nil
}

// wsURL is the target's WebSocket endpoint.
func (r *runner) wsURL() string {
	u, _ := url.Parse(r.target.URL)
	u.Scheme = "ws"
	u.Path = strings.TrimSuffix(u.Path, "/") + "/socket/websocket"
	return u.String()
}

func (r *runner) topic() string {
	t := r.opts.Topic
	if !strings.HasPrefix(t, "bench:") {
		t = "bench:" + t
	}
	return t
}

// connectPhase starts client processes and opens n connections joined to
// topics, first user bench<first>.
func (r *runner) connectPhase(ctx context.Context, scenario string, n, first int, topics []string, slow bool) (*cluster, ConnectStats, error) {
	procs := procsFor(n, r.opts.Procs)
	if slow {
		procs = 1
	}
	if (n+procs-1)/procs > maxPerChild {
		return nil, ConnectStats{}, fmt.Errorf("%d connections over %d processes: more than %d each", n, procs, maxPerChild)
	}
	label := r.label(scenario)
	if slow {
		label += " (slow clients)"
	}
	cl, err := newCluster(ctx, label, procs, r.spawn, r.log)
	if err != nil {
		return nil, ConnectStats{}, err
	}
	specs := make([]connectSpec, procs)
	at := first
	for i := range specs {
		k := n / procs
		if i < n%procs {
			k++
		}
		specs[i] = connectSpec{
			URL: r.wsURL(), Local: r.sourceIP(), First: at, N: k, Topics: topics,
			Concurrency: r.opts.Concurrency, Timeout: Duration(r.opts.ConnTimeout),
			Group: r.groupSize, Rate: r.joinRate / float64(procs), Sample: r.sample,
		}
		if slow {
			specs[i].Slow, specs[i].RcvBuf = true, r.opts.SlowRcvBuf
		}
		at += k
	}
	r.log.printf("%s: connecting %d over %d client processes", label, n, procs)
	start := time.Now()
	acks, err := cl.call(ctx, r.opts.ConnTimeout+time.Duration(n)*5*time.Millisecond+time.Minute, func(i int) command {
		return command{Op: opConnect, Connect: &specs[i]}
	})
	elapsed := time.Since(start)
	if err != nil {
		cl.close(ctx)
		return nil, ConnectStats{}, err
	}
	reps := make([]*connectReport, len(acks))
	for i, a := range acks {
		reps[i] = a.Connect
	}
	st := aggregateConnect(reps, n, procs, elapsed)
	r.log.printf("%s: %d joined, %d failed in %.1f s (%.0f/s); tcp p50 %.2f ms, upgrade p50 %.2f ms, join p50 %.2f ms; clients use %.1f KiB per connection",
		label, st.Joined, st.Failed, st.Seconds, st.Rate, st.TCP.P50, st.Upgrade.P50, st.Join.P50, st.ClientKiBPerConn)
	if st.Failed > 0 {
		r.note("%s: %d of %d connections failed (%s)", label, st.Failed, n, formatCounts(st.Errors))
	}
	if st.Joined == 0 {
		cl.close(ctx)
		return nil, st, fmt.Errorf("%s: no connection joined (%s)", label, formatCounts(st.Errors))
	}
	return cl, st, nil
}

// closePhase closes the clients and waits (up to 30 s) for the server to
// let go of their sockets: its descriptor count falls back to fds0.
func (r *runner) closePhase(ctx context.Context, fds0 int, cls ...*cluster) {
	for _, cl := range cls {
		if cl != nil {
			cl.close(ctx)
		}
	}
	if r.target.PID == 0 || fds0 == 0 {
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := countFDs(r.target.PID)
		if err != nil || n <= fds0+5 || ctx.Err() != nil {
			return
		}
		if time.Now().After(deadline) {
			r.note("30 s after the clients closed, the server still holds %d descriptors (%d before the scenario)", n, fds0)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *runner) fds() int {
	if r.target.PID == 0 {
		return 0
	}
	n, _ := countFDs(r.target.PID)
	return n
}

// waitIdle waits until the server is idle: it used less than 2 % of a
// core over the last half second and its RSS moved by less than 0.5 %
// (the Go runtime returns freed memory to the system in the background)
// over the last two half seconds; or until IdleMax passes. It returns how
// long it waited.
func (r *runner) waitIdle(ctx context.Context) time.Duration {
	start := time.Now()
	if r.target.PID == 0 {
		return 0
	}
	const window = 500 * time.Millisecond
	prevCPU, err := readCPU(r.target.PID)
	if err != nil {
		return 0
	}
	prevRSS, _ := readRSS(r.target.PID)
	stable := 0
	for time.Since(start) < r.opts.IdleMax && ctx.Err() == nil {
		time.Sleep(window)
		cpu, err1 := readCPU(r.target.PID)
		rss, err2 := readRSS(r.target.PID)
		if err1 != nil || err2 != nil {
			return time.Since(start)
		}
		if cpu-prevCPU <= window/50 && abs(rss-prevRSS)*200 <= prevRSS {
			stable++
		} else {
			stable = 0
		}
		if stable >= 2 {
			return time.Since(start)
		}
		prevCPU, prevRSS = cpu, rss
	}
	r.note("the server did not go idle (CPU < 2 %%, RSS steady) within %v", r.opts.IdleMax)
	return time.Since(start)
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func (r *runner) rss() int64 {
	if r.target.PID == 0 {
		return 0
	}
	kib, err := readRSS(r.target.PID)
	if err != nil {
		r.note("read RSS: %v", err)
	}
	return kib
}

func (r *runner) cpu() time.Duration {
	if r.target.PID == 0 {
		return 0
	}
	d, _ := readCPU(r.target.PID)
	return d
}

// clientCPU is the CPU time the client processes of cls used so far.
func clientCPU(cls ...*cluster) time.Duration {
	var d time.Duration
	for _, cl := range cls {
		for _, pid := range cl.pids() {
			if c, err := readCPU(pid); err == nil {
				d += c
			}
		}
	}
	return d
}

// post broadcasts payload as event "bench" on topic through the target's
// POST /api/broadcast.
func (r *runner) post(ctx context.Context, topic string, payload []byte) error {
	var body bytes.Buffer
	body.Grow(len(payload) + 64)
	fmt.Fprintf(&body, `{"topic":%q,"event":"bench","payload":`, topic)
	body.Write(payload)
	body.WriteByte('}')
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(r.target.URL, "/")+"/api/broadcast", &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /api/broadcast: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

// resetRounds readies every cluster for rounds base..base+k-1 and returns how
// many clients of main expect deliveries.
func resetRounds(ctx context.Context, base int64, k int, main *cluster, others ...*cluster) (int, error) {
	readers := 0
	for i, cl := range append([]*cluster{main}, others...) {
		acks, err := cl.call(ctx, 30*time.Second, func(int) command { return command{Op: opReset, Base: base, Rounds: k} })
		if err != nil {
			return 0, err
		}
		for _, a := range acks {
			if i == 0 && a.Stats != nil && a.Stats.Expect > 0 {
				readers++
			}
		}
	}
	return readers, nil
}

func stats(ctx context.Context, cl *cluster) ([]*statsReport, error) {
	acks, err := cl.call(ctx, 60*time.Second, func(int) command { return command{Op: opStats} })
	if err != nil {
		return nil, err
	}
	out := make([]*statsReport, len(acks))
	for i, a := range acks {
		out[i] = a.Stats
	}
	return out, nil
}

// broadcastRounds sends k broadcasts to topic one at a time, each once the
// previous one reached every reading subscriber of main (or RoundWait
// passed), and gathers the figures.
func (r *runner) broadcastRounds(ctx context.Context, label string, k int, main *cluster, others ...*cluster) (RoundsResult, error) {
	if err := r.warmUp(ctx, label, main, others...); err != nil {
		return RoundsResult{}, err
	}
	base := r.rounds(k)
	readers, err := resetRounds(ctx, base, k, main, others...)
	if err != nil {
		return RoundsResult{}, err
	}
	sent, req := make([]int64, k), make([]int64, k)
	cpu0, ccpu0 := r.cpu(), clientCPU(append(others, main)...)
	timeouts := 0
	for i := range k {
		round := base + int64(i)
		ts := time.Now().UnixNano()
		if err := r.post(ctx, r.topic(), makePayload(round, ts, r.opts.Payload)); err != nil {
			return RoundsResult{}, fmt.Errorf("%s: round %d: %w", label, i+1, err)
		}
		sent[i], req[i] = ts, time.Now().UnixNano()-ts
		ok, err := main.waitRound(ctx, round, readers, r.opts.RoundWait)
		if err != nil {
			return RoundsResult{}, err
		}
		if !ok {
			timeouts++
		}
		r.log.printf("%s: round %d/%d %s in %.1f ms", label, i+1, k, map[bool]string{true: "delivered", false: "NOT fully delivered"}[ok], float64(time.Now().UnixNano()-ts)/1e6)
		if i < k-1 {
			time.Sleep(r.opts.Gap)
		}
	}
	cpu := r.cpu() - cpu0
	ccpu := clientCPU(append(others, main)...) - ccpu0
	sts, err := stats(ctx, main)
	if err != nil {
		return RoundsResult{}, err
	}
	res := aggregateRounds(sts, base, sent)
	setRequestTimes(res.Detail, base, req)
	res.PayloadBytes = r.opts.Payload
	res.ServerCPUms = ms(cpu)
	res.ServerCPUPerDelivery = cpuPerDelivery(cpu, res.Delivered)
	res.ClientCPUms = ms(ccpu)
	res.RSS = r.rss()
	if timeouts > 0 || res.Delivered < res.Expected {
		r.note("%s: %d of %d rounds not delivered to every subscriber within %v; %d of %d deliveries missing",
			label, res.Incomplete, k, r.opts.RoundWait, res.Expected-res.Delivered, res.Expected)
	}
	r.noteStats(label, sts)
	r.log.printf("%s: last delivery median %.1f ms, p90 %.1f ms; latency p50 %.1f ms, p99 %.1f ms; server CPU %.2f µs/delivery",
		label, res.LastDelivery.Median, res.LastDelivery.P90, res.Latency.P50, res.Latency.P99, res.ServerCPUPerDelivery)
	return res, nil
}

// warmUp sends one broadcast that is not measured: the first one also
// pays for the broadcast request's HTTP connection and for cold caches in
// the server and the clients.
func (r *runner) warmUp(ctx context.Context, label string, main *cluster, others ...*cluster) error {
	round := r.rounds(1)
	readers, err := resetRounds(ctx, round, 1, main, others...)
	if err != nil {
		return err
	}
	if err := r.post(ctx, r.topic(), makePayload(round, time.Now().UnixNano(), r.opts.Payload)); err != nil {
		return fmt.Errorf("%s: warm-up: %w", label, err)
	}
	_, err = main.waitRound(ctx, round, readers, r.opts.RoundWait)
	time.Sleep(r.opts.Gap)
	return err
}

// noteStats records the connections the server closed and client errors.
func (r *runner) noteStats(label string, sts []*statsReport) {
	var closed, errs map[string]int
	var heartbeats int64
	for _, s := range sts {
		if s != nil {
			closed = mergeCounts(closed, s.Closed)
			errs = mergeCounts(errs, s.Errors)
			heartbeats += s.Heartbeats
		}
	}
	if heartbeats > 0 {
		r.note("%s: the clients sent %d heartbeats", label, heartbeats)
	}
	if len(closed) > 0 {
		r.note("%s: the server closed connections: %s", label, formatCounts(closed))
	}
	if len(errs) > 0 {
		r.note("%s: client errors: %s", label, formatCounts(errs))
	}
}

// runMemory: connect+join N, then the server's RSS growth per connection.
func (r *runner) runMemory(ctx context.Context) error {
	n := r.opts.conns(r.opts.MemoryConns)
	if r.target.PID == 0 {
		return errors.New("memory: the target's pid is needed (--pid, or pid= in --target)")
	}
	fds0 := r.fds()
	r.waitIdle(ctx)
	res := &MemoryResult{Conns: n, RSSBefore: r.rss()}
	r.rep.Memory = res
	cl, st, err := r.connectPhase(ctx, "memory", n, 0, []string{r.topic()}, false)
	res.Connect = st
	if err != nil {
		return err
	}
	defer r.closePhase(ctx, fds0, cl)
	res.IdleSeconds = round1(r.waitIdle(ctx).Seconds())
	res.RSSAfter = r.rss()
	res.KiBPerConn = round3(float64(res.RSSAfter-res.RSSBefore) / float64(st.Joined))
	r.log.printf("%s: RSS %d → %d KiB: %.2f KiB per connection", r.label("memory"), res.RSSBefore, res.RSSAfter, res.KiBPerConn)
	if k := r.opts.MemoryBroadcasts; k > 0 {
		if _, err := r.broadcastRounds(ctx, r.label("memory"), k, cl); err != nil {
			return err
		}
		r.waitIdle(ctx)
		res.Broadcasts = k
		res.RSSAfterBroadcasts = r.rss()
		res.KiBPerConnAfterMessages = round3(float64(res.RSSAfterBroadcasts-res.RSSBefore) / float64(st.Joined))
		r.log.printf("%s: after %d broadcasts: RSS %d KiB: %.2f KiB per connection", r.label("memory"), k, res.RSSAfterBroadcasts, res.KiBPerConnAfterMessages)
	}
	return nil
}

// runConnect: connect+join N as fast as the server lets them in.
func (r *runner) runConnect(ctx context.Context) error {
	n := r.opts.conns(r.opts.ConnectConns)
	fds0 := r.fds()
	cl, st, err := r.connectPhase(ctx, "connect", n, 0, []string{r.topic()}, false)
	r.rep.Connect = &ConnectResult{Conns: n, Connect: st}
	if err != nil {
		return err
	}
	r.closePhase(ctx, fds0, cl)
	return nil
}

// runBroadcast: N subscribers, Rounds broadcasts one at a time.
func (r *runner) runBroadcast(ctx context.Context) error {
	n := r.opts.conns(r.opts.BroadcastConns)
	fds0 := r.fds()
	cl, st, err := r.connectPhase(ctx, "broadcast", n, 0, []string{r.topic()}, false)
	res := &BroadcastResult{Connect: st}
	r.rep.Broadcast = res
	if err != nil {
		return err
	}
	defer r.closePhase(ctx, fds0, cl)
	r.waitIdle(ctx)
	rr, err := r.broadcastRounds(ctx, r.label("broadcast"), r.opts.Rounds, cl)
	res.RoundsResult = rr
	return err
}

// runFanout: N subscribers, broadcasts at Rate per second for Duration,
// sent on schedule whether or not earlier ones were delivered.
func (r *runner) runFanout(ctx context.Context) error {
	n := r.opts.conns(r.opts.FanoutConns)
	if r.opts.Rate <= 0 || r.opts.Duration <= 0 {
		return errors.New("fanout: --rate and --duration must be positive")
	}
	total := int(math.Ceil(r.opts.Rate * r.opts.Duration.Seconds()))
	if total > 1_000_000 {
		return fmt.Errorf("fanout: %d broadcasts: at most 1,000,000", total)
	}
	fds0 := r.fds()
	cl, st, err := r.connectPhase(ctx, "fanout", n, 0, []string{r.topic()}, false)
	res := &FanoutResult{Connect: st, Rate: r.opts.Rate, PayloadBytes: r.opts.Payload}
	r.rep.Fanout = res
	if err != nil {
		return err
	}
	defer r.closePhase(ctx, fds0, cl)
	r.waitIdle(ctx)
	return r.fanoutRounds(ctx, r.label("fanout"), cl, res, total)
}

// fanoutRounds broadcasts Rate per second for Duration (total
// broadcasts) to the subscribers of cl, whatever their transport, and
// fills res.
func (r *runner) fanoutRounds(ctx context.Context, label string, cl *cluster, res *FanoutResult, total int) error {
	if err := r.warmUp(ctx, label, cl); err != nil {
		return err
	}
	base := r.rounds(total)
	readers, err := resetRounds(ctx, base, total, cl)
	if err != nil {
		return err
	}
	sent, req := make([]int64, total), make([]int64, total)
	// Up to posters requests run at once and as many more wait their
	// turn; a broadcast due when all are taken is skipped (open loop: the
	// schedule does not wait for the server).
	const posters = 16
	jobs := make(chan int, posters)
	var wg sync.WaitGroup
	var postErrs errTally
	for range posters {
		wg.Go(func() {
			for i := range jobs {
				ts := time.Now().UnixNano()
				if err := r.post(ctx, r.topic(), makePayload(base+int64(i), ts, r.opts.Payload)); err != nil {
					postErrs.add("post: "+errKind(err), err)
					continue
				}
				sent[i], req[i] = ts, time.Now().UnixNano()-ts
			}
		})
	}
	interval := time.Duration(float64(time.Second) / r.opts.Rate)
	cpu0, ccpu0 := r.cpu(), clientCPU(cl)
	t0 := time.Now()
	lastLog := t0
	for i := 0; i < total && ctx.Err() == nil; i++ {
		if d := time.Until(t0.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		select {
		case jobs <- i:
			res.Sent++
		default:
			res.Skipped++
		}
		if err := cl.pump(); err != nil {
			close(jobs)
			wg.Wait()
			return err
		}
		if time.Since(lastLog) >= 2*time.Second {
			lastLog = time.Now()
			r.log.printf("%s: %.0f s: %d broadcasts sent, %d skipped", label, time.Since(t0).Seconds(), res.Sent, res.Skipped)
		}
	}
	close(jobs)
	wg.Wait()
	// Drain: wait for the last rounds, RoundWait at most after the last send.
	deadline := time.Now().Add(r.opts.RoundWait)
	for i := range total {
		if sent[i] == 0 {
			continue
		}
		ok, err := cl.waitRound(ctx, base+int64(i), readers, time.Until(deadline))
		if err != nil {
			return err
		}
		if !ok {
			break
		}
	}
	cpu := r.cpu() - cpu0
	res.ClientCPUms = ms(clientCPU(cl) - ccpu0)
	sts, err := stats(ctx, cl)
	if err != nil {
		return err
	}
	rr := aggregateRounds(sts, base, sent)
	setRequestTimes(rr.Detail, base, req)
	var lastRecv int64
	for _, s := range sts {
		for _, x := range s.Rounds {
			lastRecv = max(lastRecv, x.Last)
		}
	}
	res.Subscribers, res.Expected, res.Delivered = rr.Subscribers, rr.Expected, rr.Delivered
	res.Latency, res.LastDelivery = rr.Latency, rr.LastDelivery
	res.Slowest = slowest(rr.Detail, 5)
	res.Seconds = round3(r.opts.Duration.Seconds())
	res.Offered = round1(r.opts.Rate * float64(rr.Subscribers))
	if span := lastRecv - t0.UnixNano(); span > 0 {
		res.Achieved = round1(float64(res.Delivered) / (float64(span) / 1e9))
		res.ServerCPUPercent = round1(100 * float64(cpu) / float64(span))
	}
	res.ServerCPUms = ms(cpu)
	res.ServerCPUPerDelivery = cpuPerDelivery(cpu, res.Delivered)
	if errs, samples := postErrs.snapshot(); len(errs) > 0 {
		r.note("%s: broadcast requests failed: %s (%s)", label, formatCounts(errs), strings.Join(samples, "; "))
	}
	if res.Skipped > 0 {
		r.note("%s: %d of %d broadcasts skipped: %d requests were already running or waiting", label, res.Skipped, total, 2*posters)
	}
	if res.Delivered < res.Expected {
		r.note("%s: %d of %d deliveries missing %v after the last broadcast", label, res.Expected-res.Delivered, res.Expected, r.opts.RoundWait)
	}
	r.noteStats(label, sts)
	r.log.printf("%s: %.0f deliveries/s (offered %.0f); latency p50 %.1f ms, p99 %.1f ms; server CPU %.2f µs/delivery (%.0f %%)",
		label, res.Achieved, res.Offered, res.Latency.P50, res.Latency.P99, res.ServerCPUPerDelivery, res.ServerCPUPercent)
	return nil
}

// fillChunk is the payload size of the broadcasts that fill the slow
// clients' queues.
const fillChunk = 32 << 10

// runSlow: N normal subscribers; rounds without slow clients, then with
// SlowClients that stopped reading beside them, their queues filled with
// SlowFill bytes first.
func (r *runner) runSlow(ctx context.Context) error {
	n := r.opts.conns(r.opts.SlowConns)
	fds0 := r.fds()
	res := &SlowResult{Normal: n, Slow: r.opts.SlowClients, FillBytes: r.opts.SlowFill, RcvBuf: r.opts.SlowRcvBuf}
	r.rep.Slow = res
	cl, st, err := r.connectPhase(ctx, "slow", n, 0, []string{r.topic()}, false)
	res.Connect = st
	if err != nil {
		return err
	}
	var slow *cluster
	defer func() { r.closePhase(ctx, fds0, cl, slow) }()
	r.waitIdle(ctx)
	label := r.label("slow")
	if res.Without, err = r.broadcastRounds(ctx, label+" without slow clients", r.opts.Rounds, cl); err != nil {
		return err
	}
	if r.opts.SlowClients <= 0 {
		return nil
	}
	fillTopic := r.topic() + "-fill"
	slow, _, err = r.connectPhase(ctx, "slow", r.opts.SlowClients, 1_000_000, []string{r.topic(), fillTopic}, true)
	if err != nil {
		return err
	}
	fills := (r.opts.SlowFill + fillChunk - 1) / fillChunk
	for range fills {
		if err := r.post(ctx, fillTopic, fillPayload(fillChunk)); err != nil {
			return fmt.Errorf("%s: fill: %w", label, err)
		}
	}
	filled := time.Now()
	r.log.printf("%s: %d slow clients joined and sent %d KiB each", label, r.opts.SlowClients, fills*fillChunk>>10)
	r.waitIdle(ctx)
	if res.With, err = r.broadcastRounds(ctx, label+" with slow clients", r.opts.Rounds, cl, slow); err != nil {
		return err
	}
	res.RSSGrowth = res.With.RSS - res.Without.RSS
	res.LastDeliveryRatio = ratio(res.With.LastDelivery.Median, res.Without.LastDelivery.Median)
	res.LatencyP99Ratio = ratio(res.With.Latency.P99, res.Without.Latency.P99)
	if rest := r.opts.SlowHold - time.Since(filled); rest > 0 {
		r.log.printf("%s: the slow clients stay silent %.0f s more (--slow-hold %v)", label, rest.Seconds(), r.opts.SlowHold)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(rest):
		}
	}
	res.HoldSeconds = round1(time.Since(filled).Seconds())
	acks, err := slow.call(ctx, time.Minute, func(int) command { return command{Op: opDrain, Wait: Duration(20 * time.Second)} })
	if err != nil {
		return err
	}
	for _, a := range acks {
		if d := a.Drain; d != nil {
			res.SlowOpen += d.Open
			res.SlowClosed = mergeCounts(res.SlowClosed, d.Closed)
			res.SlowDrained += d.Bytes
		}
	}
	r.log.printf("%s: with ÷ without: last delivery %.2f×, p99 %.2f×; RSS %+d KiB; slow clients: %d open, closed: %s",
		label, res.LastDeliveryRatio, res.LatencyP99Ratio, res.RSSGrowth, res.SlowOpen, formatCounts(res.SlowClosed))
	return nil
}

// scenarios lists what "all" runs, in order: memory first, while the
// server's heap holds nothing from earlier scenarios.
var scenarios = []string{"memory", "connect", "broadcast", "fanout", "slow", "storm", "presence", "longpoll", "mixed"}

// run runs one scenario.
func (r *runner) run(ctx context.Context, scenario string) error {
	switch scenario {
	case "memory":
		return r.runMemory(ctx)
	case "connect":
		return r.runConnect(ctx)
	case "broadcast":
		return r.runBroadcast(ctx)
	case "fanout":
		return r.runFanout(ctx)
	case "slow":
		return r.runSlow(ctx)
	case "storm":
		return r.runStorm(ctx)
	case "presence":
		return r.runPresence(ctx)
	case "longpoll":
		return r.runLongPoll(ctx)
	case "mixed":
		return r.runMixed(ctx)
	}
	return fmt.Errorf("unknown scenario %q (want %s or all)", scenario, strings.Join(scenarios, ", "))
}
