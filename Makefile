# Interlock: `make run` and `make test` are the whole quick start (see README.md).
BUILD       ?= build
BUILD_ASAN  ?= build-asan
BUILD_FUZZ  ?= build-fuzz
BUILD_TYPE  ?= RelWithDebInfo
JOBS        ?= $(shell nproc)
FUZZ_SECONDS ?= 20
PORT        ?= 8181
CMAKE_GEN   := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all deps build run demo test unit test-asan fuzz bench format check-format clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja $(BUILD)/Makefile:
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: deps $(BUILD)/$(if $(CMAKE_GEN),build.ninja,Makefile)
	cmake --build $(BUILD) -j $(JOBS)

# The main job on the embedded default: see scripts/run.sh. `make run PORT=9090` serves on
# another port.
run: build
	@scripts/run.sh $(BUILD) $(PORT)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) --timeout 600

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (no benches).
test-asan: deps
	cmake -S . -B $(BUILD_ASAN) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug \
	  -DINTERLOCK_SANITIZE=address,undefined -DINTERLOCK_BUILD_BENCH=OFF \
	  -DINTERLOCK_BUILD_INTEGRATION_TESTS=OFF
	cmake --build $(BUILD_ASAN) -j $(JOBS) --target unit_tests
	ctest --test-dir $(BUILD_ASAN) --output-on-failure -j $(JOBS) -L unit --timeout 600

# Each libFuzzer target for FUZZ_SECONDS, starting from its checked-in corpus.
fuzz: deps
	CXX=clang++-14 cmake -S . -B $(BUILD_FUZZ) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug \
	  -DINTERLOCK_BUILD_FUZZ=ON -DINTERLOCK_BUILD_TESTS=OFF -DINTERLOCK_BUILD_BENCH=OFF
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzzers
	@scripts/run-fuzzers.sh $(BUILD_FUZZ) $(FUZZ_SECONDS)

bench: build
	@scripts/run-bench.sh $(BUILD)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

check-format:
	@git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
