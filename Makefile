# Thin driver for the README's commands. Everything real is in CMake and scripts/.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

# Our own builds treat warnings as errors (users' builds do not: SLOTGATE_WERROR is off by default).
CMAKE_FLAGS ?= -DSLOTGATE_WERROR=ON $(if $(shell command -v ccache),-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

.PHONY: all deps build run test unit sanitize test-sanitize fuzz release test-docker package test-package clean

all: build

deps:
	@bash scripts/install_deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j$(JOBS)

# A local 3+3 Redis Cluster and slotgate in front of it on 127.0.0.1:7777; Ctrl-C stops it all.
run: build
	@bash scripts/demo_cluster.sh $(BUILD_DIR)/slotgate

# Every test: unit (Catch2) and integration (real redis-server clusters on loopback).
test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j2

# Unit tests only (seconds).
unit: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) -R '^unit'

# The same tests built with AddressSanitizer and UndefinedBehaviorSanitizer; any finding fails.
test-sanitize: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSLOTGATE_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j$(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j2
sanitize: test-sanitize

# libFuzzer targets (clang), each run for FUZZ_SECONDS against the seed corpus in fuzz/corpus.
FUZZ_SECONDS ?= 30
fuzz: deps
	@bash scripts/fuzz.sh $(FUZZ_SECONDS)

# The packagers' build type (-O3), everything including the tests, and its unit tests.
release: deps
	@cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-release -j$(JOBS)
	@cd build-release && ctest --output-on-failure -j$(JOBS) -R '^unit'

# The docker image, a 3+3 cluster and slotgate in containers (host network, loopback ports), the
# sidecar example; starts a docker engine if none runs and removes everything it made.
test-docker: deps
	@bash scripts/install_deps.sh docker
	@/usr/bin/python3 test/docker/test_docker.py

# A .deb of the Release build, installed under /usr: build-release/slotgate_*.deb (cpack).
package: deps
	@bash scripts/install_deps.sh package
	@cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-release -j$(JOBS) --target slotgate
	@cd build-release && cpack -G DEB

# Installs that package on this machine, runs it against a local cluster, removes it (root).
test-package: package
	@/usr/bin/python3 test/package/test_deb.py

clean:
	rm -rf $(BUILD_DIR) build-asan build-fuzz build-release
