package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// The presence scenario: one presence topic at scale. N clients join
// room:lobby (the conformance app tracks each with its user name) at a
// steady pace within about 10 s; every 250th keeps the presence list as
// phoenix.js's Presence does (presence_state replaces it, presence_diff
// merges joins and removes leaves by phx_ref, diffs that come before the
// state wait for it). The figures: the time until every sample's list
// holds all N users, the bytes each client read, the server's CPU; then
// one more client joins the full topic: the size of its presence_state
// and how long it took. raw tracks no presence, so it has no figures here.

// PresenceResult is the presence scenario's outcome.
type PresenceResult struct {
	Clients int          `json:"clients"`
	Samples int          `json:"samples"`
	Connect ConnectStats `json:"connect"`
	// JoinSeconds is how long the N joins took (paced); ConvergedMS is
	// from the last join reply until every sample list held all N users
	// (0: never, within the wait), ConvergedFromStartMS from the first
	// join.
	JoinSeconds          float64 `json:"join_seconds"`
	ConvergedMS          float64 `json:"converged_ms"`
	ConvergedFromStartMS float64 `json:"converged_from_start_ms"`
	Converged            bool    `json:"converged"`
	// BytesPerClient is the WebSocket payload bytes each client read, on
	// average, from its join until convergence.
	BytesPerClient   float64 `json:"bytes_per_client"`
	ServerCPUms      float64 `json:"server_cpu_ms,omitempty"`
	ServerCPUPercent float64 `json:"server_cpu_percent,omitempty"`
	// The late joiner: its presence_state's size and the time from its
	// join request to the state.
	StateBytes int64   `json:"late_state_bytes"`
	StateMS    float64 `json:"late_state_ms"`
	StateKeys  int     `json:"late_state_keys"`
}

func (r *PresenceResult) metrics(add func(key, name, unit, better string, v float64, headline bool)) {
	if r == nil || r.Connect.Joined == 0 || r.Samples == 0 {
		return
	}
	add("presence.join_seconds", fmt.Sprintf("time for the %s joins (offered in 10 s)", thousands(float64(r.Clients))), "s", "lower", r.JoinSeconds, true)
	add("presence.join_p99", "join reply p99", "ms", "lower", r.Connect.Join.P99, false)
	if r.Converged { // else noted: not complete within a minute
		add("presence.converged", "sample lists complete, after the last join", "ms", "lower", r.ConvergedMS, true)
		add("presence.converged_start", "sample lists complete, after the first join", "ms", "lower", r.ConvergedFromStartMS, false)
	}
	add("presence.bytes_per_client", "bytes read per client", "KiB", "lower", r.BytesPerClient/1024, true)
	add("presence.cpu", "server CPU time, joins to convergence", "ms", "lower", r.ServerCPUms, false)
	add("presence.cpu_percent", "server CPU", "% of one core", "lower", r.ServerCPUPercent, false)
	add("presence.state_bytes", "late joiner: presence_state size", "KiB", "lower", float64(r.StateBytes)/1024, false)
	add("presence.state_ms", "late joiner: join to presence_state", "ms", "lower", r.StateMS, true)
}

func (r *PresenceResult) title() string {
	return fmt.Sprintf("presence: %s clients join one presence topic, offered over 10 s (the joins took %.0f s; %d sample lists), then one more joins",
		thousands(float64(r.Clients)), r.JoinSeconds, r.Samples)
}

func (r *PresenceResult) short() string {
	return fmt.Sprintf("presence (%s on one topic)", thousands(float64(r.Clients)))
}

const presenceMethod = `- **presence**: N clients join ` + "`room:lobby`" + ` (tracked by user name) at a steady pace over about
  10 s; every 250th keeps its list as phoenix.js's ` + "`Presence`" + ` does (state replaces, diffs merge
  joins and drop leaves by phx_ref, diffs before the state wait for it). *Complete* is when every
  sample lists all N users. Then one more client joins: its presence_state's size and delay.`

// presenceList is a sample client's view of the topic's presence.
type presenceList struct {
	mu         sync.Mutex
	opened     time.Time
	state      map[string]map[string]struct{} // key → phx_refs
	pending    []json.RawMessage              // diffs before the state
	gotState   bool
	stateAt    time.Time
	stateBytes int64
	changed    time.Time
}

func newPresenceList(opened time.Time) *presenceList {
	return &presenceList{opened: opened, state: make(map[string]map[string]struct{})}
}

type presenceEntries map[string]struct {
	Metas []struct {
		Ref string `json:"phx_ref"`
	} `json:"metas"`
}

// syncState replaces the list, as Presence.syncState ends up doing.
func (l *presenceList) syncState(payload json.RawMessage) {
	var st presenceEntries
	if json.Unmarshal(payload, &st) != nil {
		return
	}
	l.state = make(map[string]map[string]struct{}, len(st))
	for k, p := range st {
		refs := make(map[string]struct{}, len(p.Metas))
		for _, m := range p.Metas {
			refs[m.Ref] = struct{}{}
		}
		l.state[k] = refs
	}
	for _, d := range l.pending {
		l.syncDiff(d)
	}
	l.pending = nil
}

// syncDiff merges joins and removes leaves, as Presence.syncDiff does.
func (l *presenceList) syncDiff(payload json.RawMessage) {
	var d struct {
		Joins  presenceEntries `json:"joins"`
		Leaves presenceEntries `json:"leaves"`
	}
	if json.Unmarshal(payload, &d) != nil {
		return
	}
	for k, p := range d.Joins {
		refs := l.state[k]
		if refs == nil {
			refs = make(map[string]struct{}, len(p.Metas))
			l.state[k] = refs
		}
		for _, m := range p.Metas {
			refs[m.Ref] = struct{}{}
		}
	}
	for k, p := range d.Leaves {
		refs := l.state[k]
		if refs == nil {
			continue
		}
		for _, m := range p.Metas {
			delete(refs, m.Ref)
		}
		if len(refs) == 0 {
			delete(l.state, k)
		}
	}
}

// readPresence reads a whole text frame of a sample connection: join
// replies go to replies, presence_state and presence_diff to its list.
func (ch *child) readPresence(c *benchConn, n int64, joins *int, replies chan<- string) error {
	if n > 64<<20 {
		return fmt.Errorf("frame of %d bytes", n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(c.br, buf); err != nil {
		return err
	}
	now := time.Now()
	var parts []json.RawMessage
	if json.Unmarshal(buf, &parts) != nil || len(parts) < 5 {
		return nil
	}
	var event string
	_ = json.Unmarshal(parts[3], &event)
	l := c.pres
	l.mu.Lock()
	defer l.mu.Unlock()
	switch event {
	case "phx_reply":
		if *joins > 0 {
			if _, status, err := parseReply(buf); err == nil {
				*joins--
				select {
				case replies <- status:
				default:
				}
			}
		}
	case "presence_state":
		if !l.gotState {
			l.gotState, l.stateAt, l.stateBytes = true, now, n
		}
		l.syncState(parts[4])
		l.changed = now
	case "presence_diff":
		if !l.gotState {
			l.pending = append(l.pending, parts[4])
			return nil
		}
		l.syncDiff(parts[4])
		l.changed = now
	}
	return nil
}

// presenceSample is one sample's list, as opPresence reports it.
type presenceSample struct {
	Keys       int   `json:"keys"`
	GotState   bool  `json:"got_state"`
	StateNS    int64 `json:"state_ns"` // from opening to presence_state
	StateBytes int64 `json:"state_bytes"`
	Changed    int64 `json:"changed"` // Unix ns of the last change
}

// presenceReport is a child's answer to opPresence.
type presenceReport struct {
	Samples []presenceSample `json:"samples"`
	Conns   int              `json:"conns"`
	Bytes   int64            `json:"bytes"`
}

func (ch *child) presenceStatus(command) event {
	var rep presenceReport
	ch.mu.Lock()
	conns := append([]*benchConn(nil), ch.conns...)
	ch.mu.Unlock()
	for _, c := range conns {
		rep.Conns++
		rep.Bytes += c.bytes.Load()
		if l := c.pres; l != nil {
			l.mu.Lock()
			s := presenceSample{Keys: len(l.state), GotState: l.gotState, StateBytes: l.stateBytes, Changed: l.changed.UnixNano()}
			if l.gotState {
				s.StateNS = l.stateAt.Sub(l.opened).Nanoseconds()
			}
			l.mu.Unlock()
			rep.Samples = append(rep.Samples, s)
		}
	}
	b, _ := json.Marshal(rep)
	return event{Result: b}
}

func presenceOf(ctx context.Context, cl *cluster) ([]presenceReport, error) {
	acks, err := cl.call(ctx, time.Minute, func(int) command { return command{Op: opPresence} })
	if err != nil {
		return nil, err
	}
	out := make([]presenceReport, len(acks))
	for i, a := range acks {
		if err := json.Unmarshal(a.Result, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// presenceWait bounds the wait for the sample lists after the last join:
// the diffs of a large topic lag (20 s after 1,500 joins on the 2-core box).
const presenceWait = 3 * time.Minute

// presenceTopic is the conformance app's presence topic for the scenario.
const presenceTopic = "room:lobby"

// runPresence: N clients join one presence topic, then a late one.
func (r *runner) runPresence(ctx context.Context) error {
	n := r.opts.conns(r.opts.PresenceConns)
	const sample = 250
	res := &PresenceResult{Clients: n}
	r.rep.Presence = res
	label := r.label("presence")
	fds0 := r.fds()
	// A probe: one client that should get a presence_state at once.
	r.sample = 1
	probe, _, err := r.connectPhase(ctx, "presence probe", 1, 2_000_000, []string{presenceTopic}, false)
	r.sample = 0
	if err != nil {
		return err
	}
	var cls []*cluster
	defer func() { r.closePhase(ctx, fds0, append(cls, probe)...) }()
	deadline := time.Now().Add(3 * time.Second)
	for {
		reps, err := presenceOf(ctx, probe)
		if err != nil {
			return err
		}
		if len(reps) > 0 && len(reps[0].Samples) > 0 && reps[0].Samples[0].GotState {
			break
		}
		if time.Now().After(deadline) {
			r.note("%s: no presence_state within 3 s of a join: the target tracks no presence", label)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.waitIdle(ctx)
	joinWindow := 10 * time.Second
	r.joinRate = float64(n) / joinWindow.Seconds()
	r.sample = sample
	cpu0, t0 := r.cpu(), time.Now()
	cl, st, err := r.connectPhase(ctx, "presence", n, 0, []string{presenceTopic}, false)
	r.joinRate, r.sample = 0, 0
	res.Connect = st
	if err != nil {
		return err
	}
	cls = append(cls, cl)
	joinedAt := time.Now()
	res.JoinSeconds = round1(joinedAt.Sub(t0).Seconds())
	want := st.Joined + 1 // the probe is present too
	var reps []presenceReport
	for {
		if reps, err = presenceOf(ctx, cl); err != nil {
			return err
		}
		done, samples := true, 0
		for _, rp := range reps {
			for _, s := range rp.Samples {
				samples++
				if s.Keys < want {
					done = false
				}
			}
		}
		res.Samples = samples
		if done && samples > 0 {
			res.Converged = true
			break
		}
		if time.Since(joinedAt) > presenceWait || ctx.Err() != nil {
			r.note("%s: the sample lists were not complete %v after the last join", label, presenceWait)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	end := time.Now()
	if res.Converged {
		var last int64
		for _, rp := range reps {
			for _, s := range rp.Samples {
				last = max(last, s.Changed)
			}
		}
		end = time.Unix(0, last)
		res.ConvergedMS = round1(max(ms(end.Sub(joinedAt)), 0))
		res.ConvergedFromStartMS = round1(ms(end.Sub(t0)))
	}
	cpu, wall := r.cpu()-cpu0, time.Since(t0)
	res.ServerCPUms = ms(cpu)
	res.ServerCPUPercent = round1(100 * float64(cpu) / float64(wall))
	var bytes int64
	conns := 0
	for _, rp := range reps {
		bytes += rp.Bytes
		conns += rp.Conns
	}
	if conns > 0 {
		res.BytesPerClient = round1(float64(bytes) / float64(conns))
	}
	r.log.printf("%s: %d joined in %.1f s; %d sample lists complete %.0f ms after the last join; %.0f KiB read per client; server CPU %.0f ms",
		label, st.Joined, res.JoinSeconds, res.Samples, res.ConvergedMS, res.BytesPerClient/1024, res.ServerCPUms)
	// The late joiner.
	r.sample = 1
	late, _, err := r.connectPhase(ctx, "presence late joiner", 1, 3_000_000, []string{presenceTopic}, false)
	r.sample = 0
	if err != nil {
		return err
	}
	cls = append(cls, late)
	deadline = time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		reps, err := presenceOf(ctx, late)
		if err != nil {
			return err
		}
		if len(reps) > 0 && len(reps[0].Samples) > 0 && reps[0].Samples[0].GotState {
			s := reps[0].Samples[0]
			res.StateBytes, res.StateMS, res.StateKeys = s.StateBytes, round1(float64(s.StateNS)/1e6), s.Keys
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.log.printf("%s: the late joiner's presence_state: %d users, %d KiB, %.1f ms after its join request", label, res.StateKeys, res.StateBytes>>10, res.StateMS)
	return nil
}
