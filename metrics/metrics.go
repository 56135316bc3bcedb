package metrics

import (
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/suzaku-go/suzaku/telemetry"
)

// Default buckets.
var (
	// DefaultLatencyBuckets are the buckets of the latency histograms, in
	// seconds: 50 µs to 10 s.
	DefaultLatencyBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}
	// DefaultFanOutBuckets are the buckets of suzaku_broadcast_fanout, in
	// subscribers.
	DefaultFanOutBuckets = []float64{0, 1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000, 50000, 100000}
	// DefaultLifetimeBuckets are the buckets of
	// suzaku_connection_duration_seconds: 1 s to a day.
	DefaultLifetimeBuckets = []float64{1, 10, 60, 300, 1800, 3600, 4 * 3600, 24 * 3600}
)

// Config configures [New]. The zero value is valid.
type Config struct {
	// Registry receives the metrics. Nil makes a new registry, which
	// [Metrics.Registry] returns. Metrics never touches the global
	// prometheus.DefaultRegisterer.
	Registry *prometheus.Registry
	// ConstLabels are added to every metric, such as {"node": "n1"} when
	// the scraper does not label instances itself. Nil adds none.
	ConstLabels prometheus.Labels
	// LatencyBuckets are the buckets of every latency histogram, in
	// seconds. Nil means DefaultLatencyBuckets.
	LatencyBuckets []float64
	// NoRuntime leaves out the Go runtime and process collectors
	// (go_goroutines, go_memstats_*, process_*), which New otherwise
	// registers on the registry.
	NoRuntime bool
}

// Metrics is a [telemetry.Hook] that keeps Prometheus metrics, and the
// http.Handler that exposes them. It is safe for concurrent use.
//
// Connections: suzaku_connections{transport} (gauge),
// suzaku_connections_total{transport},
// suzaku_connections_refused_total{transport,reason},
// suzaku_disconnections_total{transport,code},
// suzaku_connect_duration_seconds{transport},
// suzaku_connection_duration_seconds{transport},
// suzaku_slow_clients_total{transport},
// suzaku_dropped_frames_total{transport,reason},
// suzaku_limit_hits_total{limit,transport}.
//
// Frames: suzaku_messages_received_total, suzaku_messages_sent_total,
// suzaku_received_bytes_total, suzaku_sent_bytes_total.
//
// Channels: suzaku_channels (gauge), suzaku_pattern_channels{pattern}
// (gauge), suzaku_joins_total{pattern},
// suzaku_join_errors_total{pattern,reason},
// suzaku_join_duration_seconds{pattern},
// suzaku_channel_closes_total{pattern,reason},
// suzaku_handle_duration_seconds{pattern},
// suzaku_replies_total{pattern,status},
// suzaku_channel_crashes_total{pattern}.
//
// Broadcasts: suzaku_broadcasts_total, suzaku_broadcast_fanout,
// suzaku_broadcast_duration_seconds.
//
// Broker: suzaku_broker_up (gauge), suzaku_broker_publishes_total,
// suzaku_broker_publish_errors_total,
// suzaku_broker_publish_duration_seconds,
// suzaku_broker_received_total, suzaku_broker_reconnects_total,
// suzaku_broker_round_trip_seconds.
//
// Presence: suzaku_presence_diffs_total, suzaku_presence_diff_entries_total.
//
// Cache: suzaku_cache_hits_total{cache}, suzaku_cache_misses_total{cache},
// suzaku_cache_invalidations_total{cache}.
//
// API: suzaku_api_requests_total{route,code},
// suzaku_api_request_duration_seconds{route}.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler
	lat     []float64

	conns       *prometheus.GaugeVec
	connsTotal  *prometheus.CounterVec
	refused     *prometheus.CounterVec
	disconnects *prometheus.CounterVec
	connectDur  *prometheus.HistogramVec
	lifetime    *prometheus.HistogramVec
	slow        *prometheus.CounterVec
	drops       *prometheus.CounterVec
	limits      *prometheus.CounterVec
	transports  [2]transportSet // websocket, longpoll: bound in advance
	// The per-frame counters are plain atomics read by CounterFuncs: an
	// add is one atomic instruction, where prometheus.Counter.Add of a
	// float is a compare-and-swap loop.
	framesIn, framesOut, bytesIn, bytesOut atomic.Uint64
	channels                               prometheus.Gauge
	patChannels                            *prometheus.GaugeVec
	joins                                  *prometheus.CounterVec
	joinErrors                             *prometheus.CounterVec
	joinDur                                *prometheus.HistogramVec
	closes                                 *prometheus.CounterVec
	handleDur                              *prometheus.HistogramVec
	replies                                *prometheus.CounterVec
	crashes                                *prometheus.CounterVec
	broadcasts                             prometheus.Counter
	fanout                                 prometheus.Histogram
	broadcastDur                           prometheus.Histogram
	brokerUp                               prometheus.Gauge
	publishes                              prometheus.Counter
	publishErrs                            prometheus.Counter
	publishDur                             prometheus.Histogram
	brokerRecv                             prometheus.Counter
	reconnects                             prometheus.Counter
	roundTrip                              prometheus.Histogram
	diffs                                  prometheus.Counter
	diffEntries                            prometheus.Counter
	cacheHits                              *prometheus.CounterVec
	cacheMisses                            *prometheus.CounterVec
	cacheInvals                            *prometheus.CounterVec
	apiRequests                            *prometheus.CounterVec
	apiDur                                 *prometheus.HistogramVec

	patterns sync.Map // pattern string → *patternSet
}

var _ telemetry.Hook = (*Metrics)(nil)

// transportSet holds the metrics of one transport, bound in advance.
type transportSet struct {
	conns      prometheus.Gauge
	total      prometheus.Counter
	connectDur prometheus.Observer
	lifetime   prometheus.Observer
}

// New registers the metrics on cfg.Registry (or a new registry). It fails
// if the registry already holds metrics of the same names.
func New(cfg Config) (*Metrics, error) {
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	lat := cfg.LatencyBuckets
	if lat == nil {
		lat = DefaultLatencyBuckets
	}
	m := &Metrics{reg: reg, lat: lat}
	f := factory{cl: cfg.ConstLabels}
	m.conns = f.gaugeVec("suzaku_connections", "Open client connections on this node.", "transport")
	m.connsTotal = f.counterVec("suzaku_connections_total", "Client connections accepted.", "transport")
	m.refused = f.counterVec("suzaku_connections_refused_total", "Client connections refused, by reason (origin, version, refused, limit).", "transport", "reason")
	m.disconnects = f.counterVec("suzaku_disconnections_total", "Client connections ended, by close code (grouped; \"none\" when the peer vanished).", "transport", "code")
	m.connectDur = f.histogramVec("suzaku_connect_duration_seconds", "Time the application's Connect callback took.", lat, "transport")
	m.lifetime = f.histogramVec("suzaku_connection_duration_seconds", "Lifetime of ended connections.", DefaultLifetimeBuckets, "transport")
	m.slow = f.counterVec("suzaku_slow_clients_total", "Clients disconnected because their write queue was over its limit.", "transport")
	m.drops = f.counterVec("suzaku_dropped_frames_total", "Frames dropped for a client without closing it.", "transport", "reason")
	m.limits = f.counterVec("suzaku_limit_hits_total", "Requests refused by a limit.", "limit", "transport")
	for i, t := range []string{"websocket", "longpoll"} {
		m.transports[i] = transportSet{
			conns: m.conns.WithLabelValues(t), total: m.connsTotal.WithLabelValues(t),
			connectDur: m.connectDur.WithLabelValues(t), lifetime: m.lifetime.WithLabelValues(t),
		}
	}
	f.counterFunc("suzaku_messages_received_total", "Protocol frames received from clients.", &m.framesIn)
	f.counterFunc("suzaku_messages_sent_total", "Protocol frames queued for clients (replies, pushes, broadcasts).", &m.framesOut)
	f.counterFunc("suzaku_received_bytes_total", "Bytes of the protocol frames received from clients.", &m.bytesIn)
	f.counterFunc("suzaku_sent_bytes_total", "Bytes of the protocol frames queued for clients.", &m.bytesOut)
	m.channels = f.gauge("suzaku_channels", "Joined channels on this node.")
	m.patChannels = f.gaugeVec("suzaku_pattern_channels", "Joined channels on this node, by router pattern.", "pattern")
	m.joins = f.counterVec("suzaku_joins_total", "Successful joins, by router pattern.", "pattern")
	m.joinErrors = f.counterVec("suzaku_join_errors_total", "Failed joins, by router pattern and reason (refused, crashed, unmatched, too_many, subscribe).", "pattern", "reason")
	m.joinDur = f.histogramVec("suzaku_join_duration_seconds", "Time the Join callbacks took.", lat, "pattern")
	m.closes = f.counterVec("suzaku_channel_closes_total", "Joined channels that ended, by reason (left, closed, duplicate, crashed, stopped, error).", "pattern", "reason")
	m.handleDur = f.histogramVec("suzaku_handle_duration_seconds", "Time HandleIn took per client event.", lat, "pattern")
	m.replies = f.counterVec("suzaku_replies_total", "Replies to client events, by status.", "pattern", "status")
	m.crashes = f.counterVec("suzaku_channel_crashes_total", "Channel handlers that panicked.", "pattern")
	m.broadcasts = f.counter("suzaku_broadcasts_total", "Broadcasts delivered to this node's subscribers.")
	m.fanout = f.histogram("suzaku_broadcast_fanout", "Local subscribers a broadcast was delivered to.", DefaultFanOutBuckets)
	m.broadcastDur = f.histogram("suzaku_broadcast_duration_seconds", "Time the local delivery of a broadcast took.", lat)
	m.brokerUp = f.gauge("suzaku_broker_up", "1 while the broker connection is up, 0 while it is down.")
	m.publishes = f.counter("suzaku_broker_publishes_total", "Messages published to the broker.")
	m.publishErrs = f.counter("suzaku_broker_publish_errors_total", "Publishes to the broker that failed.")
	m.publishDur = f.histogram("suzaku_broker_publish_duration_seconds", "Time a publish to the broker took.", lat)
	m.brokerRecv = f.counter("suzaku_broker_received_total", "Messages received from the broker.")
	m.reconnects = f.counter("suzaku_broker_reconnects_total", "Times the broker connection came back.")
	m.roundTrip = f.histogram("suzaku_broker_round_trip_seconds", "Round trip of one request to the broker's server (Redis PING, NATS flush), sampled by the dashboard.", lat)
	m.diffs = f.counter("suzaku_presence_diffs_total", "Presence diffs applied.")
	m.diffEntries = f.counter("suzaku_presence_diff_entries_total", "Joins and leaves in the presence diffs applied.")
	m.cacheHits = f.counterVec("suzaku_cache_hits_total", "Cache lookups that hit.", "cache")
	m.cacheMisses = f.counterVec("suzaku_cache_misses_total", "Cache lookups that missed.", "cache")
	m.cacheInvals = f.counterVec("suzaku_cache_invalidations_total", "Cache entries invalidated.", "cache")
	m.apiRequests = f.counterVec("suzaku_api_requests_total", "API requests, by route pattern and status.", "route", "code")
	m.apiDur = f.histogramVec("suzaku_api_request_duration_seconds", "API request latency, by route pattern.", lat, "route")
	m.brokerUp.Set(1)

	cs := f.all
	if !cfg.NoRuntime {
		cs = append(cs, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
	return m, nil
}

// Registry returns the registry the metrics live on, to add the
// application's own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ServeHTTP writes the exposition (text format, or whatever the scraper
// negotiates).
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }

// factory makes metrics with the const labels and keeps them for
// registration.
type factory struct {
	cl  prometheus.Labels
	all []prometheus.Collector
}

func (f *factory) add(c prometheus.Collector) { f.all = append(f.all, c) }

func (f *factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: f.cl})
	f.add(c)
	return c
}

func (f *factory) counterFunc(name, help string, v *atomic.Uint64) {
	f.add(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: f.cl}, func() float64 { return float64(v.Load()) }))
}

func (f *factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: f.cl}, labels)
	f.add(c)
	return c
}

func (f *factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: f.cl})
	f.add(g)
	return g
}

func (f *factory) gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: f.cl}, labels)
	f.add(g)
	return g
}

func (f *factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets, ConstLabels: f.cl})
	f.add(h)
	return h
}

func (f *factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets, ConstLabels: f.cl}, labels)
	f.add(h)
	return h
}
