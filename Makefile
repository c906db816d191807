# sitepulse: the two commands a newcomer needs.
#   make demo   install what is missing, build Release, run sitepulse on generated sample logs,
#               then the closed loop live (run | heal rolls back a bad deploy; ~1 minute)
#   make test   install, build, run every test (unit, end-to-end, sanitizers)
# Other targets: build, deps, unit, sanitizers, bench (>= 1 GB per format), bench-small,
# bench-kafka (needs Java: a local broker), nab (the NAB score), soak (MINUTES=30: memory, fds and
# line accounting of a live run with churning sites; docs/reliability.md), fuzz (FUZZ_SECONDS=300
# per libFuzzer target under ASan+UBSan; fuzz/README.md), clean.

JOBS ?= $(shell nproc)
RELEASE := build/release

.PHONY: demo test deps build unit sanitizers bench bench-small bench-kafka nab soak fuzz clean

MINUTES ?= 30
FUZZ_SECONDS ?= 300

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

demo: build
	@scripts/demo.sh $(RELEASE)
	@scripts/heal-demo.sh $(RELEASE)

test: build
	@scripts/test.sh

unit: build
	@ctest --preset release -L unit -j $(JOBS)

sanitizers: deps
	@scripts/test.sh --sanitizers-only

bench: build
	@scripts/bench.sh full

bench-small: build
	@scripts/bench.sh small

bench-kafka: build
	@scripts/kafka-bench.sh

nab: build
	@scripts/nab.sh

soak: build
	@scripts/soak.sh $(MINUTES) $(RELEASE) build/soak

fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

clean:
	rm -rf build
