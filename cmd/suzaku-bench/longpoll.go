package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The longpoll scenario: phoenix.js's fallback transport at scale. N
// LongPoll clients (GET for a session token, POST the join, then one held
// GET after another, as phoenix.js's LongPoll does) on one topic, and the
// fan-out scenario's open-loop broadcasts to them: deliveries per second,
// latency, server CPU and the server's memory per session. raw has no
// LongPoll endpoint, so it has no figures here.

// LongPollResult is the longpoll scenario's outcome.
type LongPollResult struct {
	Clients  int     `json:"clients"`
	Joined   int     `json:"joined"`
	Failed   int     `json:"failed"`
	Seconds  float64 `json:"connect_seconds"`
	RSSDelta int64   `json:"rss_delta_kib"`
	// KiBPerSession is the server's RSS growth per joined session, idle.
	KiBPerSession float64        `json:"kib_per_session"`
	Errors        map[string]int `json:"errors,omitempty"`
	Fanout        FanoutResult   `json:"fanout"`
}

func (r *LongPollResult) metrics(add func(key, name, unit, better string, v float64, headline bool)) {
	if r == nil || r.Joined == 0 {
		return
	}
	f := &r.Fanout
	add("longpoll.achieved", "deliveries per second achieved", "deliveries/s", "higher", f.Achieved, true)
	add("longpoll.latency_p50", "delivery latency p50", "ms", "lower", f.Latency.P50, false)
	add("longpoll.latency_p99", "delivery latency p99", "ms", "lower", f.Latency.P99, true)
	if f.ServerCPUPerDelivery > 0 {
		add("longpoll.cpu_per_delivery", "server CPU per delivery", "µs", "lower", f.ServerCPUPerDelivery, false)
		add("longpoll.cpu_percent", "server CPU", "% of one core", "lower", f.ServerCPUPercent, true)
	}
	add("longpoll.kib_per_session", "server RSS per idle joined session", "KiB", "lower", r.KiBPerSession, true)
	add("longpoll.lost", "deliveries missing", "deliveries", "lower", float64(f.Expected-f.Delivered), false)
	add("longpoll.failed", "sessions that failed to join", "conns", "lower", float64(r.Failed), false)
}

func (r *LongPollResult) title() string {
	return fmt.Sprintf("longpoll: %s LongPoll clients on one topic, %g broadcasts/s of %d bytes for %g s",
		thousands(float64(r.Clients)), r.Fanout.Rate, r.Fanout.PayloadBytes, r.Fanout.Seconds)
}

func (r *LongPollResult) short() string {
	return fmt.Sprintf("longpoll (%s clients)", thousands(float64(r.Clients)))
}

const longPollMethod = `- **longpoll**: N LongPoll clients as phoenix.js runs them (GET for a session token, POST
  the join, then one held GET after another) on one topic; memory per session as in *memory*;
  then the fan-out scenario's open-loop broadcasts to them. Only suzaku serves LongPoll.`

// lpSpec is the argument of opLongPoll.
type lpSpec struct {
	URL         string   `json:"url"` // http://host:port/socket/longpoll
	Local       string   `json:"local"`
	First       int      `json:"first"`
	N           int      `json:"n"`
	Topic       string   `json:"topic"`
	Concurrency int      `json:"concurrency"`
	Timeout     Duration `json:"timeout"`
}

// lpResult is a child's answer to opLongPoll.
type lpResult struct {
	Joined int            `json:"joined"`
	Failed int            `json:"failed"`
	Errors map[string]int `json:"errors,omitempty"`
	RSS    int64          `json:"rss_kib"`
}

// lpState is a child's LongPoll clients: one HTTP client for all.
type lpState struct {
	once   sync.Once
	client *http.Client
}

// lpBody is a LongPoll response.
type lpBody struct {
	Status   int      `json:"status"`
	Token    string   `json:"token"`
	Messages []string `json:"messages"`
}

func (ch *child) lpClient(spec lpSpec) *http.Client {
	ch.lp.once.Do(func() {
		d := &net.Dialer{Timeout: time.Duration(spec.Timeout)}
		if ip := net.ParseIP(spec.Local); ip != nil {
			d.LocalAddr = &net.TCPAddr{IP: ip}
		}
		ch.lp.client = &http.Client{Transport: &http.Transport{
			DialContext: d.DialContext, MaxIdleConns: 4 * maxPerChild, MaxIdleConnsPerHost: 4 * maxPerChild,
			IdleConnTimeout: time.Minute, DisableCompression: true, Proxy: nil,
		}}
	})
	return ch.lp.client
}

// lpDo sends one LongPoll request and decodes its answer.
func lpDo(ctx context.Context, c *http.Client, method, u string, body []byte) (lpBody, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return lpBody{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return lpBody{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return lpBody{}, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var b lpBody
	err = json.NewDecoder(resp.Body).Decode(&b)
	return b, err
}

// longPoll opens spec.N LongPoll clients, each joined to spec.Topic, and
// answers once all are joined or failed; the clients keep polling, and
// their broadcasts count like the WebSocket clients'.
func (ch *child) longPoll(ctx context.Context, c command) event {
	var spec lpSpec
	if err := json.Unmarshal(c.Spec, &spec); err != nil || spec.N <= 0 {
		return event{Err: fmt.Sprintf("longpoll: bad spec (%v)", err)}
	}
	if spec.Timeout <= 0 {
		spec.Timeout = Duration(30 * time.Second)
	}
	hc := ch.lpClient(spec)
	var (
		next, joined, failed atomic.Int64
		errs                 errTally
		wg                   sync.WaitGroup
		ready                sync.WaitGroup
	)
	ready.Add(spec.N)
	for range min(max(spec.Concurrency, 1), spec.N) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= spec.N {
					return
				}
				go ch.lpRun(ctx, hc, spec, spec.First+i, &ready, &joined, &failed, &errs)
			}
		})
	}
	wg.Wait()
	waited := make(chan struct{})
	go func() { ready.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
	}
	res := lpResult{Joined: int(joined.Load()), Failed: int(failed.Load())}
	res.Errors, _ = errs.snapshot()
	res.RSS, _ = readRSS(os.Getpid())
	b, _ := json.Marshal(res)
	return event{Result: b}
}

// lpRun is one LongPoll client: session, join, then polls until the
// child closes. ready is done once it joined or failed.
func (ch *child) lpRun(ctx context.Context, hc *http.Client, spec lpSpec, idx int, ready *sync.WaitGroup, joined, failed *atomic.Int64, errs *errTally) {
	signalled := false
	fail := func(stage string, err error) {
		errs.add(stage+": "+errKind(err), err)
		if !signalled {
			signalled = true
			failed.Add(1)
			ready.Done()
		} else {
			ch.lpLive.Add(-1)
		}
	}
	base := spec.URL + "?vsn=2.0.0&user=bench" + strconv.Itoa(idx)
	tctx, cancel := context.WithTimeout(ctx, time.Duration(spec.Timeout))
	b, err := lpDo(tctx, hc, http.MethodGet, base, nil)
	cancel()
	if err != nil || b.Token == "" {
		if err == nil {
			err = fmt.Errorf("status %d without a token", b.Status)
		}
		fail("session", err)
		return
	}
	token := b.Token
	join := []byte(`["1","1",` + strconv.Quote(spec.Topic) + `,"phx_join",{}]`)
	tctx, cancel = context.WithTimeout(ctx, time.Duration(spec.Timeout))
	b, err = lpDo(tctx, hc, http.MethodPost, base+"&token="+url.QueryEscape(token), join)
	cancel()
	if err != nil || b.Status != http.StatusOK {
		if err == nil {
			err = fmt.Errorf("status %d", b.Status)
		}
		fail("join", err)
		return
	}
	for ctx.Err() == nil && !ch.closing.Load() {
		tctx, cancel := context.WithTimeout(ctx, time.Minute)
		b, err := lpDo(tctx, hc, http.MethodGet, base+"&token="+url.QueryEscape(token), nil)
		cancel()
		now := time.Now().UnixNano()
		if err != nil {
			if ctx.Err() == nil && !ch.closing.Load() {
				fail("poll", err)
			}
			return
		}
		switch b.Status {
		case http.StatusOK, http.StatusNoContent:
		default:
			fail("poll", fmt.Errorf("status %d", b.Status))
			return
		}
		if b.Token != "" {
			token = b.Token
		}
		for _, m := range b.Messages {
			p := []byte(m)
			kind, round, ts := classify(p)
			switch {
			case kind == kindBroadcast && signalled:
				ch.deliver(round, ts, now)
			case kind == kindReply && !signalled && strings.HasPrefix(m, `["1","1"`):
				signalled = true
				if _, status, _ := parseReply(p); status != "ok" {
					failed.Add(1)
					ready.Done()
					errs.add("join: status "+status, nil)
					return
				}
				joined.Add(1)
				ch.lpLive.Add(1)
				ready.Done()
			}
		}
	}
}

// runLongPoll: N LongPoll clients, their memory, then the fan-out.
func (r *runner) runLongPoll(ctx context.Context) error {
	n := r.opts.conns(r.opts.LongPollConns)
	total := int(math.Ceil(r.opts.Rate * r.opts.Duration.Seconds()))
	if total <= 0 || total > 1_000_000 {
		return fmt.Errorf("longpoll: %d broadcasts: want 1..1,000,000 (--rate, --duration)", total)
	}
	res := &LongPollResult{Clients: n, Fanout: FanoutResult{Rate: r.opts.Rate, PayloadBytes: r.opts.Payload}}
	r.rep.LongPoll = res
	label := r.label("longpoll")
	procs := max(1, (n+1999)/2000)
	fds0 := r.fds()
	r.waitIdle(ctx)
	rss0 := r.rss()
	cl, err := newCluster(ctx, label, procs, r.spawn, r.log)
	if err != nil {
		return err
	}
	defer r.closePhase(ctx, fds0, cl)
	u, _ := url.Parse(r.target.URL)
	u.Path = strings.TrimSuffix(u.Path, "/") + "/socket/longpoll"
	specs := make([]lpSpec, procs)
	at := 0
	for i := range specs {
		k := n / procs
		if i < n%procs {
			k++
		}
		specs[i] = lpSpec{URL: u.String(), Local: r.sourceIP(), First: at, N: k, Topic: r.topic(), Concurrency: r.opts.Concurrency, Timeout: Duration(r.opts.ConnTimeout)}
		at += k
	}
	r.log.printf("%s: opening %d LongPoll sessions over %d client processes", label, n, procs)
	t0 := time.Now()
	acks, err := cl.call(ctx, r.opts.ConnTimeout+time.Minute, func(i int) command {
		raw, _ := json.Marshal(specs[i])
		return command{Op: opLongPoll, Spec: raw}
	})
	if err != nil {
		return err
	}
	res.Seconds = round3(time.Since(t0).Seconds())
	for _, a := range acks {
		var lr lpResult
		if err := json.Unmarshal(a.Result, &lr); err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		res.Joined += lr.Joined
		res.Failed += lr.Failed
		res.Errors = mergeCounts(res.Errors, lr.Errors)
	}
	if res.Joined == 0 {
		r.note("%s: no LongPoll session joined (%s): the target has no LongPoll endpoint", label, formatCounts(res.Errors))
		return nil
	}
	if res.Failed > 0 {
		r.note("%s: %d of %d sessions failed (%s)", label, res.Failed, n, formatCounts(res.Errors))
	}
	r.waitIdle(ctx)
	res.RSSDelta = r.rss() - rss0
	res.KiBPerSession = round3(float64(res.RSSDelta) / float64(res.Joined))
	r.log.printf("%s: %d sessions joined in %.1f s; server RSS +%d KiB: %.2f KiB per session", label, res.Joined, res.Seconds, res.RSSDelta, res.KiBPerSession)
	return r.fanoutRounds(ctx, label, cl, &res.Fanout, total)
}
