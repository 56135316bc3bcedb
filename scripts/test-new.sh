#!/usr/bin/env bash
# Guards `suzaku new`: generates projects from this checkout into a temporary
# directory (their go.mod replaces suzaku with this working tree, so nothing
# is downloaded but the SPA's pinned npm packages) and runs what their README
# promises: `make test` (go vet, Go tests with -race, the browser test), and
# for a -no-spa -broker project its Go tests over Redis and over NATS.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/suzaku-new.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

echo "== suzaku new demo (SPA, single node)"
go run ./cmd/suzaku new "$tmp/demo"
make -C "$tmp/demo" test

echo "== suzaku new -no-spa -broker cluster"
go run ./cmd/suzaku new -no-spa -broker "$tmp/cluster"
make -C "$tmp/cluster" test
(cd "$tmp/cluster" && TEST_BROKER_URL="${NATS_URL:-nats://127.0.0.1:4222}" go test -count=1 -run TestTwoNodes ./...)
