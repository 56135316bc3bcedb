package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"
)

// The storm scenario: what a deploy or a network blip does. N clients are
// joined; every socket is dropped at once (each client process closes all
// of its connections), and every client reconnects and rejoins on
// phoenix.js's schedule: the socket retries after 10, 50, 100, 150, 200,
// 250, 500, 1000, 2000 ms, then every 5 s; a join that fails or times out
// is retried after 1, 2, 5, then every 10 s. The figures are the time from
// the drop until 99 % and 100 % of the clients are joined again, the
// server's CPU meanwhile and the failed attempts.

// StormResult is the storm scenario's outcome.
type StormResult struct {
	Conns    int          `json:"conns"`
	Connect  ConnectStats `json:"connect"`
	Rejoined int          `json:"rejoined"`
	// Attempts counts connection attempts after the drop; Failed those
	// that failed, by stage and kind in Errors.
	Attempts int64          `json:"attempts"`
	Failed   int64          `json:"failed"`
	Errors   map[string]int `json:"errors,omitempty"`
	Samples  []string       `json:"samples,omitempty"`
	// Rejoin is, per client, the time from the drop to its join reply.
	Rejoin Dist `json:"rejoin"`
	// P99MS and AllMS are the times until 99 % and 100 % were joined
	// again (AllMS is 0 unless every client was).
	P99MS            float64 `json:"rejoined_99_ms"`
	AllMS            float64 `json:"rejoined_all_ms"`
	Seconds          float64 `json:"seconds"`
	ServerCPUms      float64 `json:"server_cpu_ms,omitempty"`
	ServerCPUPercent float64 `json:"server_cpu_percent,omitempty"`
}

func (r *StormResult) metrics(add func(key, name, unit, better string, v float64, headline bool)) {
	if r == nil || r.Connect.Joined == 0 || r.Attempts == 0 {
		return
	}
	add("storm.rejoined_99", "time until 99 % rejoined", "ms", "lower", r.P99MS, true)
	add("storm.rejoined_all", "time until 100 % rejoined", "ms", "lower", r.AllMS, false)
	add("storm.rejoin_p50", "rejoin time p50", "ms", "lower", r.Rejoin.P50, false)
	add("storm.cpu", "server CPU time for the storm", "ms", "lower", r.ServerCPUms, true)
	add("storm.cpu_percent", "server CPU", "% of one core", "lower", r.ServerCPUPercent, false)
	add("storm.failed", "failed attempts", "conns", "lower", float64(r.Failed), false)
	add("storm.not_rejoined", "clients not rejoined", "conns", "lower", float64(r.Connect.Joined-r.Rejoined), false)
}

func (r *StormResult) title() string {
	return fmt.Sprintf("storm: %s joined clients dropped at once, reconnecting on phoenix.js's backoff", thousands(float64(r.Conns)))
}

func (r *StormResult) short() string {
	return fmt.Sprintf("storm (%s reconnect)", thousands(float64(r.Conns)))
}

const stormMethod = `- **storm**: N clients joined, then every client process closes all its sockets at once and
  each client reconnects and rejoins on phoenix.js's schedule (socket: 10, 50, 100, 150, 200,
  250, 500, 1000, 2000 ms, then 5 s; join: 1, 2, 5, then 10 s; 10 s join timeout). *Time until
  99 % / 100 % rejoined* is from the drop to the join reply; server CPU is over the whole storm.`

// stormSpec is the argument of opStorm.
type stormSpec struct {
	Deadline Duration `json:"deadline"` // give up reconnecting after this long
}

// stormResult is a child's answer to opStorm.
type stormResult struct {
	Conns    int            `json:"conns"`
	Rejoined int            `json:"rejoined"`
	Attempts int64          `json:"attempts"`
	Failed   int64          `json:"failed"`
	Errors   map[string]int `json:"errors,omitempty"`
	Samples  []string       `json:"samples,omitempty"`
	Rejoin   Hist           `json:"rejoin"`
}

// phoenix.js's schedules (socket reconnectAfterMs, channel rejoinAfterMs).
func reconnectAfter(tries int) time.Duration {
	s := []int{10, 50, 100, 150, 200, 250, 500, 1000, 2000}
	if tries-1 < len(s) {
		return time.Duration(s[tries-1]) * time.Millisecond
	}
	return 5 * time.Second
}

func rejoinAfter(tries int) time.Duration {
	s := []int{1000, 2000, 5000}
	if tries-1 < len(s) {
		return time.Duration(s[tries-1]) * time.Millisecond
	}
	return 10 * time.Second
}

// storm closes every connection and reconnects each on phoenix.js's
// schedule, until all are joined again or the deadline passes.
func (ch *child) storm(ctx context.Context, c command) event {
	var spec stormSpec
	if err := json.Unmarshal(c.Spec, &spec); err != nil {
		return event{Err: "storm: " + err.Error()}
	}
	last := ch.lastSpec.Load()
	if last == nil {
		return event{Err: "storm: nothing connected"}
	}
	cs := *last
	cs.Timeout = Duration(10 * time.Second) // phoenix.js's join timeout
	u, err := url.Parse(cs.URL)
	if err != nil {
		return event{Err: err.Error()}
	}
	dialer := newDialer(cs, net.ParseIP(cs.Local))
	ch.mu.Lock()
	old := ch.conns
	ch.conns = nil
	ch.mu.Unlock()
	t0 := time.Now()
	for _, bc := range old {
		bc.nc.Close()
	}
	var (
		st                   connectState
		tcp, upgrade, joins  atomicHist
		rejoin               atomicHist
		wg                   sync.WaitGroup
		attempts, rejoinedMu = int64(0), sync.Mutex{}
		rejoined             int
	)
	deadline := t0.Add(time.Duration(spec.Deadline))
	for _, bc := range old {
		if !bc.joined.Load() {
			continue
		}
		idx := bc.idx
		wg.Go(func() {
			sockTries, joinTries := 1, 0
			wait := reconnectAfter(1)
			for ctx.Err() == nil && !ch.closing.Load() {
				if time.Now().Add(wait).After(deadline) {
					return
				}
				time.Sleep(wait)
				rejoinedMu.Lock()
				attempts++
				rejoinedMu.Unlock()
				switch ch.open(ctx, dialer, u, cs, idx, &st, &tcp, &upgrade, &joins) {
				case "":
					rejoin.record(time.Since(t0))
					rejoinedMu.Lock()
					rejoined++
					rejoinedMu.Unlock()
					return
				case "join":
					joinTries++
					wait = rejoinAfter(joinTries)
				default:
					sockTries++
					wait = reconnectAfter(sockTries)
				}
			}
		})
	}
	wg.Wait()
	res := stormResult{Conns: len(old), Rejoined: rejoined, Attempts: attempts, Failed: st.failed.Load(), Rejoin: rejoin.snapshot()}
	res.Errors, res.Samples = st.errs.snapshot()
	b, _ := json.Marshal(res)
	return event{Result: b}
}

// runStorm: N joined clients, all dropped, all reconnecting.
func (r *runner) runStorm(ctx context.Context) error {
	n := r.opts.conns(r.opts.StormConns)
	res := &StormResult{Conns: n}
	r.rep.Storm = res
	fds0 := r.fds()
	cl, st, err := r.connectPhase(ctx, "storm", n, 0, []string{r.topic()}, false)
	res.Connect = st
	if err != nil {
		return err
	}
	defer r.closePhase(ctx, fds0, cl)
	r.waitIdle(ctx)
	label := r.label("storm")
	const deadline = 2 * time.Minute
	raw, _ := json.Marshal(stormSpec{Deadline: Duration(deadline)})
	r.log.printf("%s: dropping %d connections", label, st.Joined)
	cpu0, t0 := r.cpu(), time.Now()
	acks, err := cl.call(ctx, deadline+time.Minute, func(int) command { return command{Op: opStorm, Spec: raw} })
	if err != nil {
		return err
	}
	cpu, wall := r.cpu()-cpu0, time.Since(t0)
	var h Hist
	for _, a := range acks {
		var sr stormResult
		if err := json.Unmarshal(a.Result, &sr); err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		res.Rejoined += sr.Rejoined
		res.Attempts += sr.Attempts
		res.Failed += sr.Failed
		res.Errors = mergeCounts(res.Errors, sr.Errors)
		for _, s := range sr.Samples {
			if len(res.Samples) < maxSamples {
				res.Samples = append(res.Samples, s)
			}
		}
		h.Merge(sr.Rejoin)
	}
	res.Rejoin = h.Dist()
	res.P99MS = ms(h.Quantile(0.99))
	if res.Rejoined >= st.Joined {
		res.AllMS = res.Rejoin.Max
	} else {
		r.note("%s: %d of %d clients not rejoined within %v", label, st.Joined-res.Rejoined, st.Joined, deadline)
	}
	res.Seconds = round3(wall.Seconds())
	res.ServerCPUms = ms(cpu)
	if wall > 0 {
		res.ServerCPUPercent = round1(100 * float64(cpu) / float64(wall))
	}
	if res.Failed > 0 {
		r.note("%s: %d failed attempts (%s)", label, res.Failed, formatCounts(res.Errors))
	}
	r.log.printf("%s: %d of %d rejoined; 99 %% in %.0f ms, all in %.0f ms; %d attempts, %d failed; server CPU %.0f ms",
		label, res.Rejoined, st.Joined, res.P99MS, res.AllMS, res.Attempts, res.Failed, res.ServerCPUms)
	return nil
}
