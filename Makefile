# p2pcopy — see README.md. `make test` is exactly what CI runs.
GO          ?= go
BIN         := bin/p2pcopy
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 10s
# croc is only a yardstick for `make bench`, installed into bin/tools, never a dependency.
CROC        := github.com/schollz/croc/v10@v10.7.0
BENCHFLAGS  ?=

.PHONY: all build test lint fuzz demo bench clean dist

all: build

build:
	$(GO) build -o $(BIN) ./cmd/p2pcopy

# Everything CI runs: formatting, vet (then vet and build for every OS/arch we support:
# scripts/crossvet.sh), staticcheck (host only), then every test (fuzz corpora run as tests).
# With CI=true no test may be skipped: scripts/check-no-skips fails the run if one was.
# The page's JavaScript (web/) is tested with node's own runner; testsummary counts both.
test: lint
	# Upstream's tests of the patched pion/sctp (third_party/pion-sctp/P2PCOPY-PATCH.md).
	cd third_party/pion-sctp && $(GO) test -count=1 -timeout 10m ./...
	# Upstream's tests of the patched pion/dtls (third_party/pion-dtls/P2PCOPY-PATCH.md).
	cd third_party/pion-dtls && $(GO) test -count=1 -timeout 10m ./...
	# Upstream's tests of the patched pion/datachannel (third_party/pion-datachannel/P2PCOPY-PATCH.md).
	cd third_party/pion-datachannel && $(GO) test -count=1 -timeout 5m ./...
	# Upstream's tests of the patched pion/ice (third_party/pion-ice/P2PCOPY-PATCH.md).
	cd third_party/pion-ice && $(GO) test -count=1 -timeout 10m ./...
	# Upstream's tests of the patched pion/webrtc (third_party/pion-webrtc/P2PCOPY-PATCH.md),
	# but three that are flaky upstream under load (P2PCOPY-PATCH.md, "Upstream tests not run").
	cd third_party/pion-webrtc && $(GO) test -count=1 -timeout 10m \
	  -skip '^(TestCryptexRejectedAnswerPreservesSignalingState|TestDataChannel_ORTCE2E|TestNegotiationNeededStressOneSided)$$' ./...
	# The race detector on the packages with concurrency, and the CLI's in-process tests.
	$(GO) test -race -count=1 -timeout 20m ./transfer ./signal ./internal/session
	$(GO) test -race -count=1 -timeout 10m ./cmd/p2pcopy -run '^(TestScripts|TestOwnTokenPastedBack|TestAnswerRace|TestStallDisplay|TestNamesShownEscaped)$$'
	@if command -v node >/dev/null; then node --test --test-reporter=tap web/test/*.test.mjs > web-test-results.tap 2>&1; \
	  else echo "node: not installed" > web-test-results.tap; fi
	$(GO) test -count=1 -timeout 30m -json ./... > test-results.json; status=$$?; \
	  $(GO) run ./scripts/testsummary -node web-test-results.tap < test-results.json; s2=$$?; \
	  [ $$status -eq 0 ] && [ $$s2 -eq 0 ]

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	GO=$(GO) scripts/crossvet.sh
	$(GO) run $(STATICCHECK) ./...

# Short fuzzing of every decoder of peer or user input; new crashers land in testdata/fuzz.
fuzz:
	$(GO) test ./signal/ -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./transfer/ -run '^$$' -fuzz '^FuzzDecodeMessage$$' -fuzztime $(FUZZTIME)
	$(GO) test ./transfer/ -run '^$$' -fuzz '^FuzzSanitizePath$$' -fuzztime $(FUZZTIME)

# Sends a 50 MB file between two local processes joined by pipes: a whole transfer in one command.
demo: build
	scripts/demo.sh $(BIN)

# Throughput side by side with plain TCP and croc, through the lab's link emulator and over a
# 1 Gbit/s LAN (tc tbf), memory, CPU and time to connect; needs root and takes about 22 minutes.
# Rewrites docs/BENCHMARKS.md.
# Smaller runs: make bench BENCHFLAGS='-sections wan -wan-bytes 20000000'
bench: build
	GOBIN=$(abspath bin/tools) $(GO) install $(CROC)
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 90m ./internal/bench -args \
	  -p2pcopy $(abspath $(BIN)) -croc $(abspath bin/tools/croc) -out $(abspath docs/BENCHMARKS.md) \
	  -wan-bytes 300000000 $(BENCHFLAGS)

# Release archives for every supported OS and architecture, with SHA256SUMS, into dist/
# (reproducible: the same commit gives the same bytes). VERSION=v1.2.3 names the release.
dist:
	GO=$(GO) scripts/dist.sh $(VERSION)

clean:
	rm -rf bin dist test-results.json web-test-results.tap
