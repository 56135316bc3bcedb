#!/usr/bin/env bash
# metrics-check.sh runs cmd/suzaku-bench's fanout scenario against a
# conformance node and compares what the node's GET /metrics says with what
# the load tool did: connections and channels while the clients are joined,
# frames, broadcasts and deliveries once at rest. Run it under the load lock:
#
#   flock /tmp/suzaku-load.lock scripts/metrics-check.sh
#
# Environment: CHECK_CONNS (2000), CHECK_DURATION (5s), CHECK_RATE (20).
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
CONNS=${CHECK_CONNS:-2000}
DURATION=${CHECK_DURATION:-5s}
RATE=${CHECK_RATE:-20}
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/conformance" ./examples/conformance
go build -o "$tmp/bench" ./cmd/suzaku-bench
"$tmp/conformance" -addr 127.0.0.1:0 >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do
	url=$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*/\1/p' "$tmp/out")
	[ -n "$url" ] && break
	sleep 0.1
done
metric() { curl -s "$url/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
"$tmp/bench" fanout --server "$url" --pid "$pid" --fanout-conns "$CONNS" --duration "$DURATION" --rate "$RATE" --quiet --out "$tmp/report.json" &
bench=$!
peak_conns=0 peak_chans=0
while kill -0 "$bench" 2>/dev/null; do
	c=$(metric 'suzaku_connections{transport="websocket"}'); h=$(metric suzaku_channels)
	[ "${c%.*}" -gt "$peak_conns" ] && peak_conns=${c%.*}
	[ "${h%.*}" -gt "$peak_chans" ] && peak_chans=${h%.*}
	sleep 0.5
done
wait "$bench"
sleep 2 # at rest: every client is gone
python3 - "$tmp/report.json" "$peak_conns" "$peak_chans" \
	"$(metric suzaku_messages_received_total)" "$(metric suzaku_messages_sent_total)" \
	"$(metric suzaku_broadcasts_total)" "$(metric 'suzaku_broadcast_fanout_bucket{le="0"}')" "$(metric suzaku_broadcast_fanout_sum)" \
	"$(metric 'suzaku_connections{transport="websocket"}')" "$(metric suzaku_channels)" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
f = rep["targets"][0]["fanout"]
joined, sent, delivered = f["connect"]["joined"], f["sent"], f["delivered"]
# The tool also sends one unmeasured warm-up broadcast, and heartbeats,
# which it counts in a note.
import re
hb = sum(int(m.group(1)) for n in rep["targets"][0].get("notes", []) for m in [re.search(r"sent (\d+) heartbeats", n)] if m)
warm = 1
peak_conns, peak_chans, rin, rout, bcasts, empty, fanout, conns_rest, chans_rest = map(float, sys.argv[2:])
print(f"load tool: {joined} joined, {sent} broadcasts + {warm} warm-up, {delivered} deliveries measured, {hb} heartbeats")
rows = [
    ("connections while joined", peak_conns, joined),
    ("channels while joined", peak_chans, joined),
    ("frames in (joins + heartbeats)", rin, joined + hb),
    ("frames out (replies + deliveries)", rout, joined + hb + delivered + warm * joined),
    ("broadcasts reaching subscribers", bcasts - empty, sent + warm),
    ("fan-out sum (deliveries)", fanout, delivered + warm * joined),
    ("connections at rest", conns_rest, 0),
    ("channels at rest", chans_rest, 0),
]
bad = 0
for name, got, want in rows:
    ok = got == want
    bad += not ok
    print(f"{name:42s} /metrics {got:12.0f}   load tool {want:12.0f}   {'ok' if ok else 'MISMATCH'}")
sys.exit(1 if bad else 0)
PY
