// Package metrics turns suzaku's telemetry events into Prometheus metrics,
// with the official client library and a registry of its own (nothing is
// registered globally).
//
// A [Metrics] is a [telemetry.Hook]: put it in channel.Config.Hook (the
// transports follow the socket), pubsub.MemoryConfig.Hook, the adapters'
// and api's Hook fields, and mount it as an http.Handler at GET /metrics.
//
//	m, _ := metrics.New(metrics.Config{})
//	sock, _ := channel.NewSocket(channel.Config{Router: r, Hook: m})
//	mux.Handle("GET /metrics", m)
//
// # Names
//
// Names follow Prometheus conventions: a suzaku_ prefix, _total on
// counters, _seconds and _bytes base units, histograms for latencies and
// sizes. Labels are bounded: transport, router pattern ("room:*"), route
// pattern, a short reason or status, a limit or cache name; never a topic
// or a path. Close codes are grouped into a fixed set.
//
// The metrics the conformance app must expose are suzaku_connections
// {transport}, suzaku_channels, suzaku_messages_received_total and
// suzaku_messages_sent_total (protocol frames from and to clients; pings,
// pongs and close frames are not counted). See [Metrics] for the whole
// list.
//
// # Cost
//
// The events on the hot paths (frames, handled events, replies,
// broadcasts) go to metrics bound in advance: an atomic add or a
// histogram observation, no label lookup and no allocation. Per-pattern
// metrics are bound on first use and cached.
package metrics
