package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The mixed scenario: an application's everyday load rather than one big
// broadcast. Every connection joins three topics (its own, one shared by
// a group of 100, one shared by all) and pushes an "echo" event once per
// second, round robin over its topics; the server answers each with a
// reply. The figures are the reply latency (push sent to reply read) and
// the server's CPU.

// MixedResult is the mixed scenario's outcome.
type MixedResult struct {
	Conns   int          `json:"conns"`
	Group   int          `json:"group"`
	Rate    float64      `json:"pushes_per_s_per_conn"`
	Seconds float64      `json:"seconds"`
	Connect ConnectStats `json:"connect"`
	Sent    int64        `json:"sent"`
	Replied int64        `json:"replied"`
	Reply   Dist         `json:"reply_latency"`
	// ServerCPUPercent is over the pushing period; per push, µs.
	ServerCPUPercent float64 `json:"server_cpu_percent,omitempty"`
	ServerCPUPerPush float64 `json:"server_cpu_us_per_push,omitempty"`
	RSS              int64   `json:"rss_kib,omitempty"`
}

func (r *MixedResult) metrics(add func(key, name, unit, better string, v float64, headline bool)) {
	if r == nil || r.Sent == 0 {
		return
	}
	add("mixed.reply_p99", "push reply latency p99", "ms", "lower", r.Reply.P99, true)
	add("mixed.reply_p50", "push reply latency p50", "ms", "lower", r.Reply.P50, false)
	add("mixed.cpu_percent", "server CPU", "% of one core", "lower", r.ServerCPUPercent, true)
	add("mixed.cpu_per_push", "server CPU per push and reply", "µs", "lower", r.ServerCPUPerPush, false)
	add("mixed.unanswered", "pushes without a reply", "conns", "lower", float64(r.Sent-r.Replied), false)
	add("mixed.connect_rate", "connect+join rate (3 topics)", "conns/s", "higher", r.Connect.Rate, false)
	add("mixed.rss", "server RSS", "MiB", "lower", float64(r.RSS)/1024, false)
}

func (r *MixedResult) title() string {
	return fmt.Sprintf("mixed: %s connections × 3 topics (own, one of %d, all), %g push/s each with a reply, for %g s",
		thousands(float64(r.Conns)), r.Group, r.Rate, r.Seconds)
}

func (r *MixedResult) short() string {
	return fmt.Sprintf("mixed (%s conns × 3 topics, pushes)", thousands(float64(r.Conns)))
}

const mixedMethod = `- **mixed**: N connections each join three topics (` + "`bench:u<i>`" + ` its own,
  ` + "`bench:g<i/100>`" + ` shared by 100, ` + "`bench:all`" + ` shared by all), then each pushes an
  ` + "`echo`" + ` event once a second for the duration, round robin over its topics; the ref carries
  the send time and the reply latency is push sent to reply read. Server CPU is over the pushing.`

// pushSpec is the argument of opPush.
type pushSpec struct {
	Rate     float64  `json:"rate"` // pushes per second per connection
	Duration Duration `json:"duration"`
	Topics   []string `json:"topics"` // as in connectSpec
	Group    int      `json:"group"`
}

// pushResult is a child's answer to opPush.
type pushResult struct {
	Sent    int64 `json:"sent"`
	Replied int64 `json:"replied"`
	Latency Hist  `json:"latency"`
}

// expandTopic fills a topic template: "{i}" is the connection's index
// within its connect command, "{g}" the index ÷ group.
func expandTopic(t string, i, group int) string {
	if !strings.Contains(t, "{") {
		return t
	}
	t = strings.ReplaceAll(t, "{i}", strconv.Itoa(i))
	return strings.ReplaceAll(t, "{g}", strconv.Itoa(i/max(group, 1)))
}

var keyPushRef = []byte(`"p`)

// isPushReply tells a reply to a push ("p<send time>" ref) from others.
func isPushReply(p []byte) bool {
	i := bytes.Index(p, keyPushRef)
	return i >= 0 && i+2 < len(p) && p[i+2] >= '0' && p[i+2] <= '9'
}

// pushReplied records the latency of the push whose reply is p.
func (ch *child) pushReplied(p []byte, now int64) {
	ts, ok := intAfter(p, keyPushRef)
	h := ch.pushLat.Load()
	if !ok || h == nil {
		return
	}
	ch.pushReply.Add(1)
	h.record(time.Duration(now - ts))
}

// push sends, from every joined connection, spec.Rate pushes a second for
// spec.Duration, then waits up to 5 s for the last replies.
func (ch *child) push(ctx context.Context, c command) event {
	var spec pushSpec
	if err := json.Unmarshal(c.Spec, &spec); err != nil || spec.Rate <= 0 || len(spec.Topics) == 0 {
		return event{Err: fmt.Sprintf("push: bad spec (%v)", err)}
	}
	ch.pushLat.Store(new(atomicHist))
	ch.pushReply.Store(0)
	ch.mu.Lock()
	conns := append([]*benchConn(nil), ch.conns...)
	ch.mu.Unlock()
	// Each tick, the connections of one slot push: every connection once
	// per 1/Rate seconds, spread evenly.
	const tick = 10 * time.Millisecond
	slots := max(int(time.Duration(float64(time.Second)/spec.Rate)/tick), 1)
	t := time.NewTicker(tick)
	defer t.Stop()
	var sent atomic.Int64
	end := time.Now().Add(time.Duration(spec.Duration))
	first := 0
	if spec := ch.lastSpec.Load(); spec != nil {
		first = spec.First
	}
	for n := 0; time.Now().Before(end) && ctx.Err() == nil; n++ {
		<-t.C
		slot := n % slots
		round := n / slots
		for i := slot; i < len(conns); i += slots {
			bc := conns[i]
			if bc.dead.Load() {
				continue
			}
			k := (round + i) % len(spec.Topics)
			topic := expandTopic(spec.Topics[k], bc.idx-first, spec.Group)
			frame := fmt.Appendf(nil, `["%d","p%d",%q,"echo",{"n":%d}]`, k+1, time.Now().UnixNano(), topic, round)
			if err := bc.write(appendClientFrame(nil, wsText, frame)); err != nil {
				ch.errs.add("push: "+errKind(err), err)
				continue
			}
			sent.Add(1)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for ch.pushReply.Load() < sent.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	res, _ := json.Marshal(pushResult{Sent: sent.Load(), Replied: ch.pushReply.Load(), Latency: ch.pushLat.Load().snapshot()})
	return event{Result: res}
}

// runMixed: N connections × 3 topics, pushes with replies for Duration.
func (r *runner) runMixed(ctx context.Context) error {
	n := r.opts.conns(r.opts.MixedConns)
	const group = 100
	topics := []string{"bench:u{i}", "bench:g{g}", "bench:all"}
	spec := pushSpec{Rate: 1, Duration: Duration(r.opts.MixedDuration), Topics: topics, Group: group}
	if spec.Duration <= 0 {
		return errors.New("mixed: --mixed-duration must be positive")
	}
	res := &MixedResult{Conns: n, Group: group, Rate: spec.Rate, Seconds: time.Duration(spec.Duration).Seconds()}
	r.rep.Mixed = res
	fds0 := r.fds()
	r.groupSize = group
	cl, st, err := r.connectPhase(ctx, "mixed", n, 0, topics, false)
	r.groupSize = 0
	res.Connect = st
	if err != nil {
		return err
	}
	defer r.closePhase(ctx, fds0, cl)
	r.waitIdle(ctx)
	label := r.label("mixed")
	r.log.printf("%s: %d connections push %g/s each for %v", label, st.Joined, spec.Rate, time.Duration(spec.Duration))
	raw, _ := json.Marshal(spec)
	cpu0, t0 := r.cpu(), time.Now()
	acks, err := cl.call(ctx, time.Duration(spec.Duration)+time.Minute, func(int) command { return command{Op: opPush, Spec: raw} })
	if err != nil {
		return err
	}
	cpu, wall := r.cpu()-cpu0, time.Since(t0)
	var lat Hist
	for _, a := range acks {
		var pr pushResult
		if err := json.Unmarshal(a.Result, &pr); err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		res.Sent += pr.Sent
		res.Replied += pr.Replied
		lat.Merge(pr.Latency)
	}
	res.Reply = lat.Dist()
	if wall > 0 {
		res.ServerCPUPercent = round1(100 * float64(cpu) / float64(wall))
	}
	if res.Sent > 0 {
		res.ServerCPUPerPush = round3(float64(cpu.Microseconds()) / float64(res.Sent))
	}
	res.RSS = r.rss()
	if res.Replied < res.Sent {
		r.note("%s: %d of %d pushes got no reply within 5 s", label, res.Sent-res.Replied, res.Sent)
	}
	r.log.printf("%s: %d pushes, %d replies; reply p50 %.1f ms, p99 %.1f ms; server CPU %.0f %%",
		label, res.Sent, res.Replied, res.Reply.P50, res.Reply.P99, res.ServerCPUPercent)
	return nil
}
