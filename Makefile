# Interlock: `make run` and `make test` are the whole quick start (see README.md).
BUILD       ?= build
# One clang build with ASan+UBSan and libFuzzer coverage serves both `make test-asan` and
# `make fuzz`: the libraries are compiled once for both (CI time, see .ci/run).
BUILD_SAN   ?= build-san
BUILD_TYPE  ?= RelWithDebInfo
JOBS        ?= $(shell nproc)
FUZZ_SECONDS ?= 20
PORT        ?= 8181
CMAKE_GEN   := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
# ccache, where installed, makes a rebuild in a fresh clone or another worktree cheap; a
# machine without it builds as before (install-deps.sh does not install it).
CCACHE      := $(shell command -v ccache 2>/dev/null)
CMAKE_CACHE := $(if $(CCACHE),-DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE))
# Unity builds (CMakeLists.txt, INTERLOCK_UNITY_BUILD) for the build directories `make`
# configures: a build from scratch, as on a fresh machine and in CI, takes ~40% less CPU.
# `make UNITY=OFF` when you first configure keeps one file per compile (quicker edits).
UNITY       ?= ON
CMAKE_CACHE += -DINTERLOCK_UNITY_BUILD=$(UNITY)

.PHONY: all deps build run demo test unit sanitizer-build test-asan fuzz bench package test-package image test-image format check-format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja $(BUILD)/Makefile:
	cmake -S . -B $(BUILD) $(CMAKE_GEN) $(CMAKE_CACHE) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD)/$(if $(CMAKE_GEN),build.ninja,Makefile)
	cmake --build $(BUILD) -j $(JOBS)

# The main job on the embedded default: see scripts/run.sh. Builds only the programs it runs
# (not the tests and benchmarks). `make run PORT=9090` serves on another port.
run: deps $(BUILD)/$(if $(CMAKE_GEN),build.ninja,Makefile)
	cmake --build $(BUILD) -j $(JOBS) --target interlock interlock-sandbox-bridge
	@scripts/run.sh $(BUILD) $(PORT)

# scripts/make-test.sh: the build, and while it compiles what the tests need from the network
# (scripts/prepare-tests.sh: the pinned npm packages, the package test's Debian root); then
# every test, loopback only: in a network namespace whose only interface is lo
# (scripts/hermetic.sh; as root, or as the same user through user namespaces).
test: deps $(BUILD)/$(if $(CMAKE_GEN),build.ninja,Makefile)
	@scripts/make-test.sh $(BUILD) $(JOBS)

# The sanitizer build: clang-14, Debug (line tables only, -g1), ASan + UBSan (no recovery), libraries
# instrumented for libFuzzer; unit tests and fuzz targets, no integration tests or benches.
# Linked by lld (lld-14): an ASan test binary links in ~4 s where GNU ld takes ~20. Each unit
# test executable runs whole, in four GoogleTest shards (INTERLOCK_TEST_SHARDS), not one
# process per case: `build-san/tests/unit/DIR/EXE --gtest_filter=...` runs one case.
$(BUILD_SAN)/CMakeCache.txt:
	cmake -S . -B $(BUILD_SAN) $(CMAKE_GEN) $(CMAKE_CACHE) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
	  -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld \
	  -DCMAKE_CXX_COMPILER=clang++-14 -DINTERLOCK_SANITIZE=address,undefined \
	  -DINTERLOCK_BUILD_FUZZ=ON -DINTERLOCK_BUILD_BENCH=OFF -DINTERLOCK_BUILD_INTEGRATION_TESTS=OFF \
	  -DINTERLOCK_TEST_SHARDS=4

# What `test-asan` and `fuzz` run, built (CI starts it at idle priority beside `make test`).
sanitizer-build: deps $(BUILD_SAN)/CMakeCache.txt
	cmake --build $(BUILD_SAN) -j $(JOBS) --target unit_tests fuzzers

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (no benches).
test-asan: deps $(BUILD_SAN)/CMakeCache.txt
	cmake --build $(BUILD_SAN) -j $(JOBS) --target unit_tests
	scripts/hermetic.sh ctest --test-dir $(BUILD_SAN) --output-on-failure -j $(JOBS) -L unit --timeout 600

# Each libFuzzer target for FUZZ_SECONDS, starting from its checked-in corpus.
fuzz: deps $(BUILD_SAN)/CMakeCache.txt
	cmake --build $(BUILD_SAN) -j $(JOBS) --target fuzzers
	@scripts/run-fuzzers.sh $(BUILD_SAN) $(FUZZ_SECONDS)

# This build against the last landed release (INTERLOCK_LAST_RELEASE_COMMIT), in one run:
# `interlock decide` over 100,000 lines, the daemon's HTTP decisions (wrk) and the stdio MCP
# gateway, in alternating pairs, printed as a table of ratios new/old (below 1: faster);
# ~1-2 min once the old program is built (cached in BUILD/last-release-bench, built as
# BUILD is: the first run adds its compile). A report, not a test: scripts/run-bench.sh,
# docs/performance.md#make-bench-against-the-last-release. `make bench BENCH_MICRO=1`
# also runs the in-process Google benchmarks (engine, audit verify).
bench: deps $(BUILD)/$(if $(CMAKE_GEN),build.ninja,Makefile)
	cmake --build $(BUILD) -j $(JOBS) --target interlock \
	  $(if $(filter 1,$(BENCH_MICRO)),engine_benchmark audit_verify_benchmark)
	@BENCH_MICRO=$(BENCH_MICRO) scripts/run-bench.sh $(BUILD)

# The Debian package, BUILD/interlock_<version>_amd64.deb (docs/operations.md#the-debian-package),
# and its test in a fresh Debian 12 root (also in `make test`: ctest label `package`). Only
# the two programs are built for them, not the tests and benches.
package: deps $(BUILD)/$(if $(CMAKE_GEN),build.ninja,Makefile)
	cmake --build $(BUILD) -j $(JOBS) --target interlock interlock-sandbox-bridge
	@packaging/build-deb.sh $(BUILD)

test-package: deps $(BUILD)/$(if $(CMAKE_GEN),build.ninja,Makefile)
	cmake --build $(BUILD) -j $(JOBS) --target interlock interlock-sandbox-bridge
	@packaging/test-package.sh --prepare $(BUILD)
	@scripts/hermetic.sh packaging/test-package.sh $(BUILD)

# The container image, BUILD/image/interlock-oci.tar (docs/kubernetes.md#the-image): an OCI
# archive for `podman load -i`, `docker load -i` or `skopeo copy oci-archive:...`, built
# from Debian's packages only (a Debian 12 root by mmdebstrap, the .deb installed, uid 10001,
# read-only root, state on the volume /var/lib/interlock). As root. `make test-image` runs
# its test (also in `make test`: ctest label `image`, with the Kubernetes manifests' check).
image: deps $(BUILD)/$(if $(CMAKE_GEN),build.ninja,Makefile)
	cmake --build $(BUILD) -j $(JOBS) --target interlock interlock-sandbox-bridge
	@packaging/image/build-image.sh --prepare $(BUILD)
	@packaging/image/build-image.sh $(BUILD)

test-image: image
	@scripts/hermetic.sh packaging/image/test-image.sh $(BUILD)
	@scripts/setup-kubernetes-tests.sh
	@scripts/hermetic.sh tests/integration/kubernetes/run.sh . $(BUILD)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

check-format:
	@git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD) $(BUILD_SAN)
