#!/usr/bin/env bash
# Runs the end-to-end suites against examples/conformance: installs the pinned
# npm packages, builds the app once, then runs every *.test.js with node's
# built-in test runner. Exits non-zero on any failure.
#
#   ./e2e/run.sh                      all files
#   ./e2e/run.sh frames.test.js       some files (relative to e2e/)
#   SUZAKU_E2E_RACE=1 ./e2e/run.sh    the app built with -race
#   SUZAKU_E2E_SEED=7 ./e2e/run.sh    another seed for the presence convergence test
#
# cluster*.test.js start their own redis-server and nats-server (on free
# ports, never the shared ones) and several app nodes over them: without
# the binaries those suites are skipped, or fail when CI is set.
#
# browser.test.js drives Debian's chromium (/usr/bin/chromium, or
# SUZAKU_E2E_CHROMIUM) with playwright-core: without it the test is skipped,
# or fails when CI is set.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$here"

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi

if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
else
  npm install --no-audit --no-fund --loglevel=error >/dev/null
fi

bindir="$(mktemp -d "${TMPDIR:-/tmp}/suzaku-e2e-bin.XXXXXX")"
trap 'rm -rf "$bindir"' EXIT
build=(go build)
if [ "${SUZAKU_E2E_RACE:-}" = "1" ]; then build+=(-race); fi
(cd "$root" && "${build[@]}" -o "$bindir/conformance" ./examples/conformance)
export SUZAKU_E2E_BIN="$bindir/conformance"

if [ "$#" -gt 0 ]; then
  files=("$@")
else
  files=(*.test.js)
fi

# Each file runs in its own process with its own app instance. Node 20 applies
# --test-timeout to each file as a whole (its tests bound their own waits), so
# it is the budget of the slowest file: the presence file waits out a LongPoll
# session timeout (15 s) and the poll window test 10 s. The spec report goes to
# stdout, a TAP copy to artifacts/e2e.tap for the closing summary.
rm -f artifacts/*.log artifacts/*.png artifacts/e2e.tap
mkdir -p artifacts
tap="artifacts/e2e.tap"
status=0
node --test --test-timeout=150000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  "${files[@]}" || status=$?

pass="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -n 1)"
fail="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -n 1)"
skipped="$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$tap" | tail -n 1)"
echo "# pass ${pass:-0}"
echo "# fail ${fail:-0}"
echo "e2e: ${pass:-0} passed, ${fail:-0} failed, ${skipped:-0} skipped"
if [ "$status" -eq 0 ] && [ "${fail:-0}" != "0" ]; then status=1; fi
if [ "$status" -eq 0 ] && [ "${pass:-0}" = "0" ]; then echo "e2e: no test ran" >&2; status=1; fi
exit "$status"
