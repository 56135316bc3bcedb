#!/usr/bin/env bash
# dashboard-overhead.sh measures what the live dashboard costs under
# cmd/suzaku-bench's fanout scenario: the same run against a conformance
# node without the dashboard (the baseline), with it mounted and sampling,
# and with its page open in Chromium. Run it under the load lock:
#
#   flock /tmp/suzaku-load.lock scripts/dashboard-overhead.sh
#
# Environment: OVH_CONNS (5000), OVH_DURATION (20s), OVH_RATE (10).
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
CONNS=${OVH_CONNS:-5000}
DURATION=${OVH_DURATION:-20s}
RATE=${OVH_RATE:-10}
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/conformance" ./examples/conformance
go build -o "$tmp/bench" ./cmd/suzaku-bench
(cd e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
for mode in baseline dashboard page; do
	args=(-addr 127.0.0.1:0)
	[ "$mode" != baseline ] && args+=(-dashboard-password overhead-check)
	"$tmp/conformance" "${args[@]}" >"$tmp/$mode.out" 2>"$tmp/$mode.err" &
	pid=$!
	pids+=("$pid")
	url=""
	for _ in $(seq 100); do
		url=$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*/\1/p' "$tmp/$mode.out")
		[ -n "$url" ] && break
		sleep 0.1
	done
	page=""
	if [ "$mode" = page ]; then
		node scripts/dashboard-page.mjs "$url/ops/" ops overhead-check >"$tmp/page.out" 2>&1 &
		page=$!
		pids+=("$page")
		for _ in $(seq 300); do grep -q "page open" "$tmp/page.out" && break; sleep 0.1; done
	fi
	"$tmp/bench" fanout --server "$url" --pid "$pid" --fanout-conns "$CONNS" --duration "$DURATION" --rate "$RATE" --quiet --out "$tmp/$mode.json" >/dev/null 2>&1
	[ -n "$page" ] && kill "$page" 2>/dev/null
	kill "$pid"
	wait "$pid" 2>/dev/null || true
done
python3 - "$tmp" <<'PY'
import json, sys, os
d = sys.argv[1]
rows = {}
for mode in ("baseline", "dashboard", "page"):
    f = json.load(open(os.path.join(d, mode + ".json")))["targets"][0]["fanout"]
    rows[mode] = f
b = rows["baseline"]
print(f"fanout: {b['subscribers']} subscribers, {b['offered_per_s']:.0f} broadcasts/s offered, {b['seconds']:.0f} s per run")
print(f"{'run':10s} {'server CPU µs/delivery':>22s} {'ratio':>6s} {'server CPU %':>13s} {'latency p50 ms':>15s} {'p99 ms':>8s} {'RSS MiB':>8s} {'delivered':>10s}")
for mode, f in rows.items():
    ratio = f["server_cpu_us_per_delivery"] / b["server_cpu_us_per_delivery"] if b.get("server_cpu_us_per_delivery") else 0
    print(f"{mode:10s} {f.get('server_cpu_us_per_delivery', 0):22.3f} {ratio:6.2f} {f.get('server_cpu_percent', 0):13.1f} {f['latency']['p50_ms']:15.2f} {f['latency']['p99_ms']:8.2f} {f.get('rss_kib', 0)/1024:8.1f} {f['delivered']:10d}")
PY
