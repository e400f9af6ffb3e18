# jobgate — make targets. `make test` is what CI runs (.ci/run).
GO       ?= go
PKGS     := ./...
FUZZTIME ?= 60s

.PHONY: run test test-deps lint fmt vet build bench bench-sandbox fuzz clean

## run: the server with the embedded store and the dev samples
run:
	$(GO) run ./cmd/jobgate serve --dev

## build: a static binary in ./bin
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/jobgate ./cmd/jobgate

## test: everything CI checks — tools, lint (format, vet, staticcheck, tidy go.mod), and
## every test with the race detector
test: test-deps lint
	$(GO) test -race -count=1 -timeout 15m -parallel 8 $(PKGS)

## test-deps: install what the tests need when it is missing (node for the fetch replays,
## mono-complete, a JDK and python3 for the client programs in clients/,
## redis-server for the Redis store); as root through apt-get, otherwise say how.
test-deps:
	@./scripts/test-deps.sh

## lint: gofmt, go vet, staticcheck (installed into GOPATH/bin when missing) and a tidy go.mod
STATICCHECK_VERSION := v0.8.2
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) mod tidy -diff
	@sc=$$($(GO) env GOPATH)/bin/staticcheck; \
	  if [ ! -x "$$sc" ]; then echo "lint: installing staticcheck $(STATICCHECK_VERSION)"; \
	    $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION); fi; \
	  "$$sc" $(PKGS)

## bench-sandbox: what the sandbox adds to starting a command job (docs/benchmarks.md)
bench-sandbox:
	$(GO) test -run '^$$' -bench BenchmarkCommand_True -benchtime 200x -count 5 ./robot

## fuzz: run every fuzzer for FUZZTIME (default 60s) each, one after the other
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzBindArguments -fuzztime=$(FUZZTIME) ./jobs/
	$(GO) test -run='^$$' -fuzz=FuzzSelectMode -fuzztime=$(FUZZTIME) ./trigger/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeObject -fuzztime=$(FUZZTIME) ./trigger/
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./odata/

## bench: the benchmark harness (bench/): prints the figures and writes docs/benchmarks.md.
## SOAK=30s for a short soak (default 5m); PROFILE=/abs/dir also profiles an in-process server.
bench:
	$(GO) test -run='^TestHarness$$' -count=1 -timeout 60m -v ./bench -args -harness \
	  -soak $${SOAK:-5m} $${PROFILE:+-profile $$PROFILE}

clean:
	rm -rf bin
