#!/usr/bin/env bash
# bench.sh measures suzaku (examples/conformance) against the raw epoll
# baseline with cmd/suzaku-bench, then rewrites docs/benchmarks.md from the
# JSON report. Everything runs on this machine's loopback.
#
#   scripts/bench.sh                    # the full run (about 5 minutes)
#   BENCH_SCALE=0.1 scripts/bench.sh    # a quick smoke run
#
# Environment (connection counts and the fan-out duration are multiplied
# by BENCH_SCALE):
#   BENCH_SCALE             1
#   BENCH_MEMORY_CONNS      15000   memory per idle joined connection
#   BENCH_CONNECT_CONNS     10000   connect+join rate
#   BENCH_BROADCAST_CONNS   10000   one broadcast at a time
#   BENCH_FANOUT_CONNS      10000   sustained fan-out
#   BENCH_SLOW_CONNS        5000    normal subscribers beside the slow clients
#   BENCH_SLOW_CLIENTS      10      clients that stop reading (not scaled)
#   BENCH_ROUNDS            20      broadcasts per series (not scaled)
#   BENCH_FANOUT_RATE       10      broadcasts/s (not scaled)
#   BENCH_FANOUT_DURATION   30      seconds
#   BENCH_PAYLOAD           100     bytes per broadcast payload
#   BENCH_STORM_CONNS       15000   joined clients dropped at once, reconnecting
#   BENCH_PRESENCE_CONNS    5000    clients joining one presence topic
#   BENCH_LONGPOLL_CONNS    2000    LongPoll clients on one topic
#   BENCH_MIXED_CONNS       10000   connections × 3 topics pushing once a second
#   BENCH_MIXED_DURATION    20      seconds
#   BENCH_RAW_SERIAL        0       1: also measure raw with one writer (raw-serial)
#   BENCH_SCENARIO          all     or memory, connect, broadcast, fanout, slow, storm,
#                                   presence, longpoll, mixed, or a comma-separated list
#   BENCH_OUT               docs/benchmarks.md
#   BENCH_JSON              where to keep the JSON report (default: a temporary file)
#   BENCH_EXTRA             more flags for suzaku-bench compare
set -euo pipefail
cd "$(dirname "$0")/.."

# Each client process holds up to 15,000 sockets and the server up to
# ~19,900: both need the hard limit (20,000 here).
ulimit -n "$(ulimit -Hn)"

SCALE=${BENCH_SCALE:-1}
scaled() { # scaled N [MIN]: N × BENCH_SCALE, rounded, at least MIN (default 1)
	awk -v n="$1" -v s="$SCALE" -v m="${2:-1}" 'BEGIN { v = int(n * s + 0.5); if (v < m) v = m; print v }'
}
MEMORY_CONNS=$(scaled "${BENCH_MEMORY_CONNS:-15000}")
CONNECT_CONNS=$(scaled "${BENCH_CONNECT_CONNS:-10000}")
BROADCAST_CONNS=$(scaled "${BENCH_BROADCAST_CONNS:-10000}")
FANOUT_CONNS=$(scaled "${BENCH_FANOUT_CONNS:-10000}")
SLOW_CONNS=$(scaled "${BENCH_SLOW_CONNS:-5000}")
FANOUT_DURATION=$(scaled "${BENCH_FANOUT_DURATION:-30}" 3)
STORM_CONNS=$(scaled "${BENCH_STORM_CONNS:-15000}")
PRESENCE_CONNS=$(scaled "${BENCH_PRESENCE_CONNS:-5000}")
LONGPOLL_CONNS=$(scaled "${BENCH_LONGPOLL_CONNS:-2000}")
MIXED_CONNS=$(scaled "${BENCH_MIXED_CONNS:-10000}")
MIXED_DURATION=$(scaled "${BENCH_MIXED_DURATION:-20}" 3)
SLOW_CLIENTS=${BENCH_SLOW_CLIENTS:-10}
ROUNDS=${BENCH_ROUNDS:-20}
RATE=${BENCH_FANOUT_RATE:-10}
PAYLOAD=${BENCH_PAYLOAD:-100}
SCENARIO=${BENCH_SCENARIO:-all}
OUT=${BENCH_OUT:-docs/benchmarks.md}

tmp=$(mktemp -d)
JSON=${BENCH_JSON:-$tmp/results.json}
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "building…" >&2
go build -o "$tmp/conformance" ./examples/conformance
go build -o "$tmp/suzaku-bench" ./cmd/suzaku-bench

# start NAME CMD…: runs a server on a free loopback port and waits for its
# "listening on http://ADDR" line; sets URL and PID.
start() {
	local name=$1
	shift
	"$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	PID=$!
	pids+=("$PID")
	for _ in $(seq 100); do
		URL=$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*/\1/p' "$tmp/$name.out")
		if [ -n "$URL" ]; then
			echo "$name: $URL (pid $PID)" >&2
			return 0
		fi
		if ! kill -0 "$PID" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	echo "$name did not start:" >&2
	cat "$tmp/$name.err" >&2
	exit 1
}
start suzaku "$tmp/conformance" -addr "${BENCH_SUZAKU_ADDR:-127.0.0.1:0}"
SUZAKU_URL=$URL SUZAKU_PID=$PID
start raw "$tmp/suzaku-bench" rawserver -addr "${BENCH_RAW_ADDR:-127.0.0.1:0}"
RAW_URL=$URL RAW_PID=$PID
serial_target=()
if [ "${BENCH_RAW_SERIAL:-0}" = 1 ]; then
	start raw-serial "$tmp/suzaku-bench" rawserver -writers 1 -addr "${BENCH_RAW_SERIAL_ADDR:-127.0.0.1:0}"
	serial_target=(--target "raw-serial=$URL,pid=$PID")
fi

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then
	commit="$commit-dirty"
fi

note=""
if [ "$SCALE" != 1 ]; then
	note="A reduced run (BENCH_SCALE=$SCALE), not the issue's sizes: rerun scripts/bench.sh without BENCH_SCALE for those."
fi

# append_saturation SRC DST: appends SRC's fan-out table to DST, under a
# heading of its own.
append_saturation() {
	{
		echo
		echo "## Saturation: fan-out beyond what the box can deliver"
		echo
		echo "The same fan-out with more broadcasts offered than either server can deliver:"
		echo "*achieved* is then each server's ceiling on this box, clients included."
		echo
		sed -n '/^### fanout/,/^##/p' "$1" | sed '/^## /d' | sed 's/^### /#### /'
	} >>"$2"
}

status=0
# shellcheck disable=SC2086 # BENCH_EXTRA is a list of flags
"$tmp/suzaku-bench" compare --scenario "$SCENARIO" \
	--target "suzaku=$SUZAKU_URL,pid=$SUZAKU_PID" \
	--target "raw=$RAW_URL,pid=$RAW_PID" "${serial_target[@]}" \
	--memory-conns "$MEMORY_CONNS" --connect-conns "$CONNECT_CONNS" \
	--storm-conns "$STORM_CONNS" --presence-conns "$PRESENCE_CONNS" \
	--longpoll-conns "$LONGPOLL_CONNS" --mixed-conns "$MIXED_CONNS" --mixed-duration "${MIXED_DURATION}s" \
	--broadcast-conns "$BROADCAST_CONNS" --fanout-conns "$FANOUT_CONNS" \
	--slow-conns "$SLOW_CONNS" --slow-clients "$SLOW_CLIENTS" \
	--rounds "$ROUNDS" --rate "$RATE" --duration "${FANOUT_DURATION}s" --payload "$PAYLOAD" \
	--commit "$commit" --note "$note" --out "$JSON" ${BENCH_EXTRA:-} || status=$?

if [ -s "$tmp/suzaku.err" ]; then
	echo "suzaku's stderr (last lines):" >&2
	tail -n 20 "$tmp/suzaku.err" >&2
fi
if [ ! -s "$JSON" ]; then
	echo "no report written" >&2
	exit 1
fi
# The "Operations" section (telemetry and dashboard costs, measured by
# scripts/dashboard-overhead.sh and Go benchmarks) is kept across
# regenerations: it is the last section of the page.
ops_section=$(sed -n '/^## Operations: /,$p' "$OUT" 2>/dev/null || true)
"$tmp/suzaku-bench" render --in "$JSON" --out "$OUT" --script "scripts/bench.sh"
printf '\nThe targets of these figures, the profiles behind them and what is left: [performance.md](performance.md).\n' >>"$OUT"

# At 10 broadcasts/s both servers deliver everything they are offered; the
# issue's fan-out target is about the most each can deliver, so a second
# run offers more than either can take and its table is appended.
if [ "$SCENARIO" = all ] && [ "${BENCH_SATURATE_RATE:-40}" != 0 ]; then
	"$tmp/suzaku-bench" compare --scenario fanout \
		--target "suzaku=$SUZAKU_URL,pid=$SUZAKU_PID" \
		--target "raw=$RAW_URL,pid=$RAW_PID" \
		--fanout-conns "$FANOUT_CONNS" --rate "${BENCH_SATURATE_RATE:-40}" \
		--duration "$(scaled 20 3)s" --payload "$PAYLOAD" \
		--commit "$commit" --out "$tmp/saturate.json" || status=$?
	"$tmp/suzaku-bench" render --in "$tmp/saturate.json" --out "$tmp/saturate.md" --script "scripts/bench.sh"
	append_saturation "$tmp/saturate.md" "$OUT"
fi
if [ -n "$ops_section" ]; then
	printf '\n%s\n' "$ops_section" >>"$OUT"
fi
if [ -z "${BENCH_JSON:-}" ]; then
	echo "(the JSON report was $JSON; set BENCH_JSON to keep it)" >&2
fi
exit "$status"
