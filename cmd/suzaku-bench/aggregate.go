package main

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// aggregateConnect adds up the clients' accounts of a connect phase that
// took elapsed wall time.
func aggregateConnect(reps []*connectReport, requested, procs int, elapsed time.Duration) ConnectStats {
	var tcp, up, join Hist
	var rss int64
	s := ConnectStats{Requested: requested, Procs: procs, Seconds: round3(elapsed.Seconds())}
	for _, r := range reps {
		if r == nil {
			continue
		}
		rss += r.RSS
		s.Connected += r.Connected
		s.Joined += r.Joined
		s.Failed += r.Failed
		tcp.Merge(r.TCP)
		up.Merge(r.Upgrade)
		join.Merge(r.Join)
		s.Errors = mergeCounts(s.Errors, r.Errors)
		for _, x := range r.Samples {
			if len(s.Samples) < maxSamples {
				s.Samples = append(s.Samples, x)
			}
		}
	}
	if elapsed > 0 {
		s.Rate = round1(float64(s.Joined) / elapsed.Seconds())
	}
	s.TCP, s.Upgrade, s.Join = tcp.Dist(), up.Dist(), join.Dist()
	if s.Connected > 0 {
		s.ClientKiBPerConn = round3(float64(rss) / float64(s.Connected))
	}
	if total := tcp.SumUS + up.SumUS + join.SumUS; total > 0 {
		s.Share = PhaseShare{
			TCP:     round3(float64(tcp.SumUS) / float64(total)),
			Upgrade: round3(float64(up.SumUS) / float64(total)),
			Join:    round3(float64(join.SumUS) / float64(total)),
		}
	}
	return s
}

// aggregateRounds adds up the clients' accounts of rounds
// base..base+len(sent)-1, where sent[i] is the Unix nanosecond time round
// base+i was requested (0: never sent). It fills the delivery figures of a
// RoundsResult.
func aggregateRounds(stats []*statsReport, base int64, sent []int64) RoundsResult {
	var r RoundsResult
	var lat Hist
	n := len(sent)
	first := make([]int64, n)
	last := make([]int64, n)
	count := make([]int64, n)
	for _, s := range stats {
		if s == nil {
			continue
		}
		r.Subscribers += s.Expect
		r.Delivered += s.Deliveries - s.Stray
		lat.Merge(s.Latency)
		for _, rs := range s.Rounds {
			i := rs.Round - base
			if i < 0 || i >= int64(n) || rs.Count == 0 {
				continue
			}
			count[i] += rs.Count
			if first[i] == 0 || rs.First < first[i] {
				first[i] = rs.First
			}
			last[i] = max(last[i], rs.Last)
		}
	}
	var lasts, spreads []float64
	for i := range n {
		if sent[i] == 0 {
			continue
		}
		r.Rounds++
		r.Expected += r.Subscribers
		if count[i] < r.Subscribers {
			r.Incomplete++
		}
		d := RoundTimes{Round: base + int64(i), Delivered: count[i]}
		if count[i] > 0 {
			d.FirstMS = nsToMS(first[i] - sent[i])
			d.LastMS = nsToMS(last[i] - sent[i])
			lasts = append(lasts, d.LastMS)
			spreads = append(spreads, nsToMS(last[i]-first[i]))
		}
		r.Detail = append(r.Detail, d)
	}
	r.LastDelivery = spreadOf(lasts)
	r.FirstToLast = spreadOf(spreads)
	r.Latency = lat.Dist()
	return r
}

// spreadOf summarises per-round figures.
func spreadOf(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	return Spread{Median: percentile(xs, 50), P90: percentile(xs, 90), Max: percentile(xs, 100)}
}

func nsToMS(ns int64) float64 { return round3(float64(ns) / 1e6) }

func round1(x float64) float64 { return math.Round(x*10) / 10 }
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// ratio returns a ÷ b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return round3(a / b)
}

// cpuPerDelivery returns CPU time per delivery in microseconds.
func cpuPerDelivery(cpu time.Duration, deliveries int64) float64 {
	if deliveries <= 0 || cpu <= 0 {
		return 0
	}
	return round3(float64(cpu.Nanoseconds()) / 1e3 / float64(deliveries))
}

// slowest returns the k rounds with the latest last delivery, slowest
// first.
func slowest(rounds []RoundTimes, k int) []RoundTimes {
	s := slices.Clone(rounds)
	slices.SortStableFunc(s, func(a, b RoundTimes) int { return cmp.Compare(b.LastMS, a.LastMS) })
	return s[:min(k, len(s))]
}

// setRequestTimes fills the rounds' RequestMS from req, indexed by round -
// base, in nanoseconds.
func setRequestTimes(rounds []RoundTimes, base int64, req []int64) {
	for i := range rounds {
		if j := rounds[i].Round - base; j >= 0 && j < int64(len(req)) {
			rounds[i].RequestMS = nsToMS(req[j])
		}
	}
}
