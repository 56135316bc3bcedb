#!/usr/bin/env bash
# Runs h2spec against suzaku.Server and a bare net/http.Server, over TLS and
# over h2c, and prints the pass/fail counts side by side.
#   go install github.com/summerwind/h2spec/cmd/h2spec@latest   (once)
#   ./scripts/h2spec.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/usr/local/go/bin:${HOME:-/root}/go/bin:$PATH"
command -v h2spec >/dev/null || go install github.com/summerwind/h2spec/cmd/h2spec@latest
bin="$(mktemp -d)"; trap 'rm -rf "$bin"' EXIT
go build -o "$bin/h2target" ./internal/h2target
printf '%-8s %-5s %s\n' target conn result
for mode in suzaku nethttp; do
  for t in tls h2c; do
    flags=(); h2flags=()
    if [ "$t" = tls ]; then flags=(-tls); h2flags=(-t -k); fi
    "$bin/h2target" -mode "$mode" "${flags[@]}" -addr 127.0.0.1:0 >"$bin/out" &
    pid=$!
    for _ in $(seq 100); do grep -q listening "$bin/out" 2>/dev/null && break; sleep 0.05; done
    port="$(sed -n 's/listening on .*:\([0-9]*\)$/\1/p' "$bin/out")"
    result="$(timeout 120 h2spec -h 127.0.0.1 -p "$port" "${h2flags[@]}" -o 2 2>&1 | grep -E "^[0-9]+ tests, " | tail -1)" || true
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true # connections h2spec left half-open can hold a drain
    wait "$pid" 2>/dev/null || true
    printf '%-8s %-5s %s\n' "$mode" "$t" "$result"
  done
done
