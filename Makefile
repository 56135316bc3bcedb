# Developer and CI entry points. `make test` is what CI runs (.ci/run).

GO ?= go

.PHONY: test fmt-check vet test-go test-e2e test-chat chat chat-web conformance bench

# test: formatting, vet, Go tests with the race detector, the end-to-end
# suite (official phoenix client against a race-built conformance app),
# and the chat app in Chromium.
test: fmt-check vet test-go test-e2e test-chat

fmt-check:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt -l reports unformatted files:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

test-go:
	$(GO) test -race -count=1 ./...

test-e2e:
	SUZAKU_E2E_RACE=1 ./e2e/run.sh

test-chat:
	./examples/chat/web/tests/run.sh

# chat: build the SPA (installing its npm packages) and run the reference
# app at http://localhost:4000.
chat: chat-web
	$(GO) run ./examples/chat -addr localhost:4000 -web examples/chat/web/dist -data examples/chat/data

chat-web:
	cd examples/chat/web && npm ci --no-audit --no-fund --loglevel=error && npm run build

conformance:
	$(GO) run ./examples/conformance

# bench: the load tests of docs/benchmarks.md (several minutes; run alone).
bench:
	./scripts/bench.sh
