# Developer and CI entry points. `make test` is what CI runs (.ci/run).

GO ?= go

.PHONY: test fmt-check vet test-go test-e2e conformance

# test: formatting, vet, Go tests with the race detector, then the end-to-end suites.
test: fmt-check vet test-go test-e2e

fmt-check:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt -l reports unformatted files:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

test-go:
	$(GO) test -race -count=1 ./...

test-e2e:
	SUZAKU_E2E_RACE=1 ./e2e/run.sh

conformance:
	$(GO) run ./examples/conformance
