#!/usr/bin/env bash
# bench-stale.sh says whether docs/benchmarks.md still describes the code:
# it lists the commits that changed the hot path (transport, channel, wire,
# pubsub without its adapters; tests excluded) since the commit the page
# was measured at, and exits 1 if there
# are any: then rerun scripts/bench.sh (under the load lock) and commit the
# page. It exits 2 if the page records no commit git knows.
#
#   scripts/bench-stale.sh            # or: make bench-stale
set -euo pipefail
cd "$(dirname "$0")/.."
page=${1:-docs/benchmarks.md}
hot=(transport channel wire pubsub
	':(exclude)*_test.go' ':(exclude)**/testdata/**'
	':(exclude)pubsub/redis' ':(exclude)pubsub/nats' ':(exclude)pubsub/pubsubtest')
commit=$(sed -n 's/.*at commit `\([0-9a-f]*\)\(-dirty\)\{0,1\}`.*/\1/p' "$page" | head -1)
if [ -z "$commit" ] || ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
	echo "$page records no known commit (found '${commit:-none}')" >&2
	exit 2
fi
changes=$(git log --oneline "$commit..HEAD" -- "${hot[@]}")
if [ -n "$changes" ]; then
	echo "$page was measured at $commit; the hot path changed since in $(echo "$changes" | wc -l) commits:"
	echo "$changes"
	exit 1
fi
echo "$page is current: no hot-path change since $commit"
