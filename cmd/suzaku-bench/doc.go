// Command suzaku-bench load-tests a server that speaks the Phoenix
// Channels V2 JSON protocol over WebSocket (suzaku's examples/conformance
// app, or the raw baseline it ships) and reports the figures of the
// "Performance" issue: memory per connection, connect+join rate, one
// broadcast to many subscribers, sustained fan-out, and slow clients. It
// measures servers on this machine's loopback only.
//
//	go run ./cmd/suzaku-bench broadcast --server http://127.0.0.1:4000 --pid 1234 --conns 2000
//	go run ./cmd/suzaku-bench compare --scenario all \
//	    --target suzaku=http://127.0.0.1:4000,pid=1234 \
//	    --target raw=http://127.0.0.1:4100,pid=5678 --out results.json
//	go run ./cmd/suzaku-bench render --in results.json --out docs/benchmarks.md
//	go run ./cmd/suzaku-bench rawserver -addr 127.0.0.1:4100
//
// scripts/bench.sh runs the whole comparison and rewrites
// docs/benchmarks.md.
//
// # Processes
//
// The command is a coordinator: it starts client processes (itself, with
// the hidden "client" subcommand), each holding at most 15,000
// connections from its own source address 127.0.0.x, so that neither the
// 20,000 descriptors a process may open nor the ephemeral ports of one
// address run out. The coordinator sends each client JSON commands on its
// stdin (connect, reset, stats, drain, close) and reads JSON events on its
// stdout (acks, connect progress, "round complete"). A client exits when
// its stdin closes, so an interrupted coordinator leaves nothing behind.
//
// Each connection is one goroutine reading frames from a 1 KiB buffer; a
// broadcast costs the client no allocation. Each connection joins
// bench:<topic> and sends a heartbeat every 30 s.
//
// # Scenarios
//
//   - memory: connect+join N, wait for the server to go idle, and divide
//     its RSS growth (VmRSS, /proc/PID/status) by N; again after a few
//     broadcasts. It also reports the connect+join rate.
//   - connect: the connect+join rate of N connections, and where each
//     connection's time goes (TCP connect, upgrade, join reply).
//   - broadcast: N subscribers; K broadcasts one at a time, each carrying
//     its send time; the time to the last delivery (median and p90 over
//     rounds), per-delivery latency, and server CPU per delivery
//     (utime+stime, /proc/PID/stat).
//   - fanout: broadcasts at a fixed rate for a duration; deliveries per
//     second achieved, latency, server CPU per delivery.
//   - slow: the broadcast rounds without, then with, clients that stopped
//     reading (small SO_RCVBUF, a backlog queued for them first); the
//     normal subscribers' delivery times and the server's RSS, with ÷
//     without.
//   - all: the five in that order; memory first, on a fresh server.
//
// compare runs a scenario (or all) against several targets in one
// invocation, scenario by scenario, and reports every figure of each as a
// ratio to the baseline target's (raw, by default). The JSON report
// (--out) lists the ratios first, then each target's results and notes
// (failed connections, missing deliveries, connections the server
// closed); render turns it into Markdown.
//
// # Raw baseline
//
// rawserver runs [github.com/suzaku-go/suzaku/internal/rawbaseline]: an
// epoll WebSocket server that answers joins and heartbeats and writes one
// pre-encoded frame per subscriber, with no queue and no framework: the
// practical limit of the box, against which suzaku's figures are ratios.
package main
