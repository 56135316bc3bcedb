#!/usr/bin/env bash
# Browser end-to-end test of examples/chat: installs the pinned npm packages,
# builds the SPA (dist/), then runs tests/chat.e2e.mjs with node's test runner,
# playwright-core and Debian's Chromium.
#
#   CHAT_URL=http://127.0.0.1:4000 examples/chat/web/tests/run.sh
#       against a chat server that is already running (it must serve this
#       dist/: start it after this script's build, or build first with
#       `npm run build`);
#   examples/chat/web/tests/run.sh
#       without CHAT_URL: builds ./examples/chat, starts it on a free loopback
#       port with a fresh data folder and this dist/, and stops it at the end;
#       then starts two chat nodes over Redis (REDIS_ADDR, default
#       127.0.0.1:6379; skipped when it does not answer, unless CI is set) and
#       runs tests/chat_cluster.e2e.mjs, a user on each node.
#
# Environment: CHAT_URL, CHROMIUM_PATH (default /usr/bin/chromium),
# CHAT_E2E_SKIP_BUILD=1 (reuse node_modules and dist/ as they are).
# Chromium comes from Debian: when it is missing and we are root, this script
# installs it with apt-get (never `npx playwright install`).
# Screenshots and browser logs go to tests/artifacts/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
web="$(cd "$here/.." && pwd)"
root="$(cd "$web/../../.." && pwd)"
cd "$web"

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi

if [ "${CHAT_E2E_SKIP_BUILD:-}" != "1" ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "== npm run build (tsc --noEmit && vite build)"
  npm run build
fi
test -f dist/index.html || { echo "dist/index.html is missing: run npm run build" >&2; exit 1; }

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing Debian's chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  if [ ! -x "$chromium" ]; then
    echo "$chromium not found: apt-get install -y chromium, or set CHROMIUM_PATH" >&2
    exit 1
  fi
fi
export CHROMIUM_PATH="$chromium"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/chat-e2e.XXXXXX")"
server_pid=""
node_pids=()
cleanup() {
  for pid in $server_pid "${node_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$here/artifacts"
rm -f "$here"/artifacts/*.png "$here"/artifacts/*.log "$here"/artifacts/*.tap "$here"/artifacts/screenshots.txt

cluster=0
if [ -z "${CHAT_URL:-}" ]; then
  cluster=1
  echo "== go build ./examples/chat"
  (cd "$root" && go build -o "$tmp/chat" ./examples/chat)
  port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  export CHAT_URL="http://127.0.0.1:$port"
  echo "== starting the chat server on $CHAT_URL (log: tests/artifacts/server.log)"
  "$tmp/chat" -addr "127.0.0.1:$port" -web "$web/dist" -data "$tmp/data" >"$here/artifacts/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "the chat server exited:" >&2
      cat "$here/artifacts/server.log" >&2
      exit 1
    fi
    sleep 0.1
  done
fi

echo "== node --test tests/chat.e2e.mjs against $CHAT_URL"
tap="$here/artifacts/chat-e2e.tap"
status=0
node --test --test-timeout=120000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  tests/chat.e2e.mjs || status=$?

pass="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -n 1)"
fail="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -n 1)"
echo "chat-e2e: ${pass:-0} passed, ${fail:-0} failed"
if [ "$status" -eq 0 ] && [ "${fail:-0}" != "0" ]; then status=1; fi
if [ "$status" -eq 0 ] && [ "${pass:-0}" = "0" ]; then echo "chat e2e: no test ran" >&2; status=1; fi

# Two nodes, one chat: two chat processes over one Redis (the shared one,
# REDIS_ADDR or 127.0.0.1:6379, on a cluster name of their own) and one data
# folder (SQLite and the token secret), a browser user on each.
if [ "$cluster" = "1" ]; then
  redis="${REDIS_ADDR:-127.0.0.1:6379}"
  if ! (exec 3<>"/dev/tcp/${redis%:*}/${redis##*:}") 2>/dev/null; then
    if [ -n "${CI:-}" ]; then echo "chat cluster e2e: Redis does not answer on $redis, and CI is set" >&2; exit 1; fi
    echo "== chat cluster e2e skipped: Redis does not answer on $redis"
    exit "$status"
  fi
  broker="redis://$redis?cluster=chat-e2e-$$-$RANDOM"
  urls=()
  for n in a b; do
    port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
    echo "== starting chat node $n on http://127.0.0.1:$port over $broker (log: tests/artifacts/node-$n.log)"
    "$tmp/chat" -addr "127.0.0.1:$port" -web "$web/dist" -data "$tmp/cluster-data" -broker "$broker" -node "chat-e2e-$n" >"$here/artifacts/node-$n.log" 2>&1 &
    node_pids+=($!)
    for _ in $(seq 1 150); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
      if ! kill -0 "${node_pids[-1]}" 2>/dev/null; then echo "chat node $n exited:" >&2; cat "$here/artifacts/node-$n.log" >&2; exit 1; fi
      sleep 0.1
    done
    urls+=("http://127.0.0.1:$port")
  done
  export CHAT_URLS="${urls[0]},${urls[1]}"
  echo "== node --test tests/chat_cluster.e2e.mjs against $CHAT_URLS"
  ctap="$here/artifacts/chat-cluster-e2e.tap"
  cstatus=0
  node --test --test-timeout=120000 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$ctap" \
    tests/chat_cluster.e2e.mjs || cstatus=$?
  cpass="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$ctap" | tail -n 1)"
  cfail="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$ctap" | tail -n 1)"
  echo "chat-cluster-e2e: ${cpass:-0} passed, ${cfail:-0} failed"
  if [ "$cstatus" -eq 0 ] && { [ "${cfail:-0}" != "0" ] || [ "${cpass:-0}" = "0" ]; }; then cstatus=1; fi
  if [ "$status" -eq 0 ]; then status=$cstatus; fi
fi
exit "$status"
