#!/usr/bin/env bash
# Builds the `interlock` program of the last landed release from this clone's git history,
# for the upgrade tests (upgrade_test.cc, upgrade_pgtest.cc: a store that program wrote must
# open, migrate and verify with this build's), or for `make bench` (scripts/run-bench.sh:
# the same program, built as the main build is, to compare speeds with).
#   build-last-release.sh SOURCE_DIR OUT_DIR COMMIT CXX [PROFILE]
# PROFILE is `upgrade` (the default, below) or `bench`: CMAKE_BUILD_TYPE, INTERLOCK_MALLOC
# and INTERLOCK_UNITY_BUILD from INTERLOCK_BENCH_BUILD_TYPE (RelWithDebInfo),
# INTERLOCK_BENCH_MALLOC (jemalloc) and INTERLOCK_BENCH_UNITY (ON), as `make` configures
# the main build (run-bench.sh passes that build's own), with the compiler launcher
# INTERLOCK_BENCH_LAUNCHER (ccache, say) if set; the rest as for `upgrade`. Each profile
# wants its own OUT_DIR (the STAMP names the flags: the other profile's would rebuild it).
# Prints the program's path (OUT_DIR/interlock) as its last line of stdout; exits 1 with the
# reason (and how to fix it) on stderr otherwise. The program is cached: a second run with
# the same commit and flags only checks OUT_DIR/STAMP. Concurrent runs wait for each other.
# It is also kept where the machine keeps it between clones, INTERLOCK_LAST_RELEASE_CACHE
# (default ${XDG_CACHE_HOME:-~/.cache}/interlock/last-release; `off`: nowhere), in a folder
# named by the STAMP's SHA-256: a fresh clone on the same machine (CI's next run, another
# worktree) copies it from there instead of compiling it again. A cache that cannot be
# written, or a copy that does not run, is passed over: the program is built as before.
#
# Kept small for CI (2 cores): `git archive COMMIT` into OUT_DIR/src, configured without
# tests, benches or fuzzers, -O1 without debug info, no -Werror (a newer compiler's new
# warning must not break an old tree), the system allocator, shared third-party libraries;
# only the `interlock` target is built, then the sources and objects are removed: ~430 s of
# CPU, 3.7 min on 2 idle cores. Not -O0: only ~6% less CPU, and that build of 8b9aae4 dies
# of SIGSEGV after "stopped" when its daemon on PostgreSQL stops (a CallListener clears the
# listener of a store already reset). INTERLOCK_UNITY_BUILD=ON: a release from d86b7da on
# compiles its libraries in unity batches (about half the CPU); 8b9aae4 does not know the
# option (helpers of the same name in anonymous namespaces of one module) and ignores it.
set -euo pipefail

usage="usage: build-last-release.sh SOURCE_DIR OUT_DIR COMMIT CXX [upgrade|bench]"
src=${1:?$usage}
out=${2:?$usage}
commit=${3:?$usage}
cxx=${4:?$usage}
profile=${5:-upgrade}
jobs=${INTERLOCK_LAST_RELEASE_JOBS:-$(nproc)}
gen=$(command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")
case $profile in
  upgrade)  # the same flags, in the same order (so the same STAMP), as before profiles
    flags=(-G "$gen" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG"
      "-DCMAKE_CXX_COMPILER=$cxx" -DINTERLOCK_BUILD_TESTS=OFF
      -DINTERLOCK_BUILD_INTEGRATION_TESTS=OFF -DINTERLOCK_BUILD_BENCH=OFF
      -DINTERLOCK_BUILD_FUZZ=OFF -DINTERLOCK_WERROR=OFF -DINTERLOCK_MALLOC=system
      -DINTERLOCK_STATIC_DEPS=OFF -DINTERLOCK_UNITY_BUILD=ON) ;;
  bench)
    flags=(-G "$gen" "-DCMAKE_BUILD_TYPE=${INTERLOCK_BENCH_BUILD_TYPE:-RelWithDebInfo}"
      "-DCMAKE_CXX_COMPILER=$cxx" -DINTERLOCK_BUILD_TESTS=OFF
      -DINTERLOCK_BUILD_INTEGRATION_TESTS=OFF -DINTERLOCK_BUILD_BENCH=OFF
      -DINTERLOCK_BUILD_FUZZ=OFF -DINTERLOCK_WERROR=OFF
      "-DINTERLOCK_MALLOC=${INTERLOCK_BENCH_MALLOC:-jemalloc}"
      "-DINTERLOCK_UNITY_BUILD=${INTERLOCK_BENCH_UNITY:-ON}")
    if [ -n "${INTERLOCK_BENCH_LAUNCHER:-}" ]; then
      flags+=("-DCMAKE_CXX_COMPILER_LAUNCHER=$INTERLOCK_BENCH_LAUNCHER")
    fi ;;
  *)
    echo "build-last-release: unknown profile '$profile' (upgrade or bench)" >&2
    exit 2 ;;
esac
stamp="$commit ${flags[*]}"
bin=$out/interlock
cache_root=${INTERLOCK_LAST_RELEASE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/interlock/last-release}
cached=$cache_root/$(printf '%s' "$stamp" | sha256sum | cut -c1-32)

mkdir -p "$out"
exec 9>"$out/.lock"
flock -w 3600 9 || { echo "build-last-release: $out/.lock still held after 1 h" >&2; exit 1; }
if [ -x "$bin" ] && [ "$(cat "$out/STAMP" 2>/dev/null)" = "$stamp" ]; then
  echo "$bin"
  exit 0
fi
if [ "$cache_root" != off ] && [ -x "$cached/interlock" ] &&
  [ "$(cat "$cached/STAMP" 2>/dev/null)" = "$stamp" ] &&
  cp "$cached/interlock" "$bin.tmp" 2>/dev/null && version=$("$bin.tmp" --version 2>/dev/null); then
  mv "$bin.tmp" "$bin"
  echo "$stamp" >"$out/STAMP"
  echo "build-last-release: interlock at $commit ($profile) from the machine's cache" \
    "$cached: $version" >&2
  echo "$bin"
  exit 0
fi
rm -f "$bin.tmp"

if ! err=$(git -C "$src" cat-file -e "$commit^{commit}" 2>&1); then
  cat >&2 <<EOF
build-last-release: the last landed release, commit $commit, is not in the git history
of $src, so the upgrade tests cannot build it and fail: ${err:-no such commit}
A shallow clone (git clone --depth N; CI checkouts with fetch-depth 1) lacks it. Fetch it:
  git -C $src fetch --unshallow       (or: git -C $src fetch origin $commit)
then run the tests again (docs/operations.md#upgrades-and-rollback).
EOF
  exit 1
fi

rm -rf "$bin" "$out/STAMP" "$out/src" "$out/build"
mkdir -p "$out/src"
start=$(date +%s)
git -C "$src" archive "$commit" | tar -x -C "$out/src"
log=$out/build.log
fail() {
  tail -n 60 "$log" >&2
  echo "build-last-release: $1 failed at $commit (the whole log: $log)" >&2
  exit 1
}
cmake -S "$out/src" -B "$out/build" "${flags[@]}" >"$log" 2>&1 || fail "cmake configure"
cmake --build "$out/build" -j "$jobs" --target interlock >>"$log" 2>&1 || fail "the build"
cp "$out/build/interlock" "$bin.tmp"
mv "$bin.tmp" "$bin"
echo "$stamp" >"$out/STAMP"
rm -rf "$out/src" "$out/build"
if [ "$cache_root" != off ]; then
  if ! { mkdir -p "$cached" && cp "$bin" "$cached/interlock.$$" &&
    mv "$cached/interlock.$$" "$cached/interlock" && echo "$stamp" >"$cached/STAMP"; } 2>/dev/null; then
    rm -f "$cached/interlock.$$" 2>/dev/null || true
    echo "build-last-release: not kept in $cached (cannot write there)" >&2
  fi
fi
echo "build-last-release: interlock at $commit ($profile) built in $(($(date +%s) - start)) s" \
  "with -j$jobs: $("$bin" --version)" | tee -a "$log" >&2
echo "$bin"
