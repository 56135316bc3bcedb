// Package dashboard is a live view of a suzaku cluster for operators: a
// small page, served under a path the application chooses and protected by
// a callback it provides, that updates itself every second over a suzaku
// channel. It shows the nodes, connections by transport, joins, frames in
// and out per second, broadcasts and their fan-out, p50/p99 handler and
// broadcast latency, slow clients dropped, the router patterns with the
// most channels, presence sizes, memory, goroutines, GC, and the broker's
// status and check time, with sparklines of the last two minutes.
//
//	d, err := dashboard.New(dashboard.Config{
//		Authorize: dashboard.BasicAuth("ops", os.Getenv("SUZAKU_DASHBOARD_PASSWORD")),
//		Metrics:   m,             // *metrics.Metrics, the socket's hook
//		Broker:    c.Broker(),    // every node's figures reach every page
//		Node:      c.Node(),
//		Presence:  c.Presence(),
//	})
//	mux.Handle("/ops/", http.StripPrefix("/ops", d))
//	srv, _ := suzaku.New(suzaku.Config{…, Services: []suzaku.Service{c, d}})
//
// # How it works
//
// Each node runs the dashboard as a service ([Dashboard.Serve]): once per
// Config.Interval it reads its figures (package metrics' Snapshot,
// runtime/metrics, which stops nothing, presence and broker health) and
// broadcasts them as one small JSON message on the broker topic
// "suzaku:dashboard". The page joins that topic through the dashboard's
// own WebSocket endpoint (under the same path, behind the same callback)
// with the official phoenix client, embedded in the binary: no build step
// and no CDN. A node keeps the last two minutes of every node's figures,
// which a new page gets in its join reply.
//
// # Protection
//
// New refuses a Config without Authorize. Every request under the
// dashboard's path, the page, its script, its socket and the optional
// profiler ([Config.Profiling]: net/http/pprof and the runtime/metrics
// figures), is checked by it. Since browsers do not always send their
// HTTP credentials on a WebSocket handshake, the page also carries a
// signed ticket (HMAC-SHA256, valid Config.TicketTTL) that admits its
// socket; several nodes behind one load balancer need the same
// Config.Secret for a page served by one node to connect to another.
package dashboard
