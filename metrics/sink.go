package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/suzaku-go/suzaku/telemetry"
)

// patternSet holds the metrics of one router pattern, bound on first use.
type patternSet struct {
	channels  prometheus.Gauge
	joins     prometheus.Counter
	joinDur   prometheus.Observer
	handleDur prometheus.Observer
	repliesOK prometheus.Counter
	repliesEr prometheus.Counter
}

func (m *Metrics) pattern(p string) *patternSet {
	if ps, ok := m.patterns.Load(p); ok {
		return ps.(*patternSet)
	}
	ps := &patternSet{
		channels:  m.patChannels.WithLabelValues(p),
		joins:     m.joins.WithLabelValues(p),
		joinDur:   m.joinDur.WithLabelValues(p),
		handleDur: m.handleDur.WithLabelValues(p),
		repliesOK: m.replies.WithLabelValues(p, "ok"),
		repliesEr: m.replies.WithLabelValues(p, "error"),
	}
	actual, _ := m.patterns.LoadOrStore(p, ps)
	return actual.(*patternSet)
}

func (m *Metrics) transport(t string) *transportSet {
	switch t {
	case "websocket":
		return &m.transports[0]
	case "longpoll":
		return &m.transports[1]
	}
	return &transportSet{
		conns: m.conns.WithLabelValues(t), total: m.connsTotal.WithLabelValues(t),
		connectDur: m.connectDur.WithLabelValues(t), lifetime: m.lifetime.WithLabelValues(t),
	}
}

// Event implements telemetry.Hook.
func (m *Metrics) Event(e telemetry.Event) {
	switch e.Kind {
	case telemetry.KindFrameIn:
		m.framesIn.Add(1)
		m.bytesIn.Add(uint64(max(e.N, 0)))
	case telemetry.KindFrameOut:
		m.framesOut.Add(1)
		m.bytesOut.Add(uint64(max(e.N, 0)))
	case telemetry.KindHandle:
		m.pattern(e.Pattern).handleDur.Observe(e.Duration.Seconds())
	case telemetry.KindReply:
		ps := m.pattern(e.Pattern)
		if e.Reason == "ok" {
			ps.repliesOK.Inc()
		} else {
			ps.repliesEr.Inc()
		}
	case telemetry.KindBroadcast:
		m.broadcasts.Inc()
		m.fanout.Observe(float64(e.N))
		m.broadcastDur.Observe(e.Duration.Seconds())
	case telemetry.KindConnect:
		t := m.transport(e.Transport)
		t.conns.Inc()
		t.total.Inc()
		t.connectDur.Observe(e.Duration.Seconds())
	case telemetry.KindDisconnect:
		t := m.transport(e.Transport)
		t.conns.Dec()
		t.lifetime.Observe(e.Duration.Seconds())
		m.disconnects.WithLabelValues(e.Transport, closeCode(e.Code)).Inc()
	case telemetry.KindConnectRefused:
		m.refused.WithLabelValues(e.Transport, e.Reason).Inc()
	case telemetry.KindJoin:
		ps := m.pattern(e.Pattern)
		ps.joins.Inc()
		ps.joinDur.Observe(e.Duration.Seconds())
		ps.channels.Inc()
		m.channels.Inc()
	case telemetry.KindJoinError:
		m.joinErrors.WithLabelValues(e.Pattern, e.Reason).Inc()
		if e.Duration > 0 {
			m.pattern(e.Pattern).joinDur.Observe(e.Duration.Seconds())
		}
	case telemetry.KindChannelClose:
		m.pattern(e.Pattern).channels.Dec()
		m.channels.Dec()
		m.closes.WithLabelValues(e.Pattern, e.Reason).Inc()
	case telemetry.KindCrash:
		m.crashes.WithLabelValues(e.Pattern).Inc()
	case telemetry.KindSlowClient:
		m.slow.WithLabelValues(e.Transport).Inc()
	case telemetry.KindDrop:
		m.drops.WithLabelValues(e.Transport, e.Reason).Add(float64(max(e.N, 1)))
	case telemetry.KindLimit:
		m.limits.WithLabelValues(e.Pattern, e.Transport).Inc()
	case telemetry.KindPresenceDiff:
		m.diffs.Inc()
		m.diffEntries.Add(float64(e.N))
	case telemetry.KindBrokerPublish:
		m.publishes.Inc()
		if e.Err != nil {
			m.publishErrs.Inc()
		}
		if e.Duration > 0 {
			m.publishDur.Observe(e.Duration.Seconds())
		}
	case telemetry.KindBrokerReceive:
		m.brokerRecv.Inc()
	case telemetry.KindBrokerReconnect:
		m.reconnects.Inc()
		m.brokerUp.Set(1)
	case telemetry.KindBrokerDown:
		m.brokerUp.Set(0)
	case telemetry.KindBrokerRoundTrip:
		if e.Err != nil {
			m.brokerUp.Set(0)
			return
		}
		m.brokerUp.Set(1)
		m.roundTrip.Observe(e.Duration.Seconds())
	case telemetry.KindCacheHit:
		m.cacheHits.WithLabelValues(e.Pattern).Inc()
	case telemetry.KindCacheMiss:
		m.cacheMisses.WithLabelValues(e.Pattern).Inc()
	case telemetry.KindCacheInvalidate:
		m.cacheInvals.WithLabelValues(e.Pattern).Add(float64(max(e.N, 1)))
	case telemetry.KindAPIRequest:
		m.apiRequests.WithLabelValues(e.Pattern, statusCode(e.Code)).Inc()
		m.apiDur.WithLabelValues(e.Pattern).Observe(e.Duration.Seconds())
	}
}

// closeCode groups WebSocket close codes into a bounded label set.
func closeCode(code int) string {
	switch code {
	case 0:
		return "none"
	case 1000, 1001, 1002, 1003, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013:
		return strconv.Itoa(code)
	}
	if code >= 4000 && code <= 4999 {
		return "4xxx"
	}
	return "other"
}

// statusCode keeps HTTP statuses as they are (they are few), others as
// "other".
func statusCode(code int) string {
	if code >= 100 && code <= 599 {
		return strconv.Itoa(code)
	}
	return "other"
}
