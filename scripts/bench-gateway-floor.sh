#!/usr/bin/env bash
# What the stdio MCP gateway's added latency would be with a log-structured durability
# point (issue 34), measured before building it: its floor.
#
# bench/mcp/gateway-log-floor.patch (an experiment, never shipped) lets `interlock mcp`
# decide in memory (core::MemoryRunStore, the same core::DecideInTxn) and append each audit
# event, composed as the store composes it, to one file: write(), and with `--durability
# full` one fdatasync per decision, before the call is forwarded. That is the call path of
# the log-structured design with nothing else: no SQLite transaction, no redo of rows, no
# reads behind a barrier, no writer applying the log beside it. So it is a lower bound.
# Environment of the patched binary: INTERLOCK_EXP_LOG=PATH (the log), =none (no record at
# all: KeepsAudit false, nothing composed or written), INTERLOCK_EXP_OVERWRITE=1 (pwrite
# into a file zero-filled beforehand, as a recycled log would, instead of appending).
# Without INTERLOCK_EXP_LOG the patched binary is today's gateway, so every variant runs
# the same binary.
#
# Usage: scripts/bench-gateway-floor.sh [N] [ROUNDS]      (default 3000 calls, 3 rounds)
#   EXP_BUILD=DIR: a build of the patched tree to reuse (else one is made in a temporary
#   worktree of HEAD: a unity RelWithDebInfo build of interlock alone, ~5 minutes).
# Prints, per round, bench-mcp.sh's lines (added p50 and p99, the relay alone, the
# gateway's own CPU per echo and per ping) for: today (normal, full), the log floor
# appended (normal, full), the log floor overwritten (full), no record (normal); then
# pg_test_fsync's and fsync_probe's fdatasync on the same file system.
# Not a test: read the ratios of one run.
set -euo pipefail
n=${1:-3000}
rounds=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/interlock-gwfloor.XXXXXX)
worktree=""
cleanup() {
  if [ -n "$worktree" ]; then git -C "$root" worktree remove --force "$worktree" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

build=${EXP_BUILD:-}
if [ -z "$build" ]; then
  worktree="$work/src"
  git -C "$root" worktree add --detach "$worktree" HEAD >/dev/null
  git -C "$worktree" apply "$root/bench/mcp/gateway-log-floor.patch" || {
    echo "bench-gateway-floor: bench/mcp/gateway-log-floor.patch no longer applies to HEAD;" \
      "update it (it touches src/core/memory_run_store.*, src/mcp/guard_enforcer.cc," \
      "src/cli/mcp_cmd.cc)" >&2
    exit 1
  }
  build="$work/build"
  gen=Unix\ Makefiles
  command -v ninja >/dev/null && gen=Ninja
  cmake -S "$worktree" -B "$build" -G "$gen" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DINTERLOCK_BUILD_TESTS=OFF -DINTERLOCK_BUILD_BENCH=OFF -DINTERLOCK_UNITY_BUILD=ON >"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log" >&2; exit 1; }
  cmake --build "$build" -j "$(nproc)" --target interlock >>"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log" >&2; exit 1; }
fi
[ -x "$build/interlock" ] || { echo "bench-gateway-floor: no $build/interlock" >&2; exit 1; }

log="$work/exp.log"
bench() { # LABEL DURABILITY [VAR=VALUE...]
  local label=$1 durability=$2
  shift 2
  echo "== $label"
  env "$@" DURABILITY="$durability" "$root/scripts/bench-mcp.sh" "$build" "$n" |
    grep -E "^(direct|via|added|gateway CPU)"
}
for r in $(seq 1 "$rounds"); do
  echo "=== round $r"
  bench "today" normal,full
  rm -f "$log"
  bench "log floor, appended" normal,full INTERLOCK_EXP_LOG="$log"
  rm -f "$log"
  dd if=/dev/zero of="$log" bs=1M count=64 status=none
  sync
  bench "log floor, overwritten" full INTERLOCK_EXP_LOG="$log" INTERLOCK_EXP_OVERWRITE=1
  rm -f "$log"
  bench "no record at all" normal INTERLOCK_EXP_LOG=none
done

echo "=== one fdatasync on this file system ($work)"
for pgtf in /usr/lib/postgresql/*/bin/pg_test_fsync; do
  [ -x "$pgtf" ] || continue
  "$pgtf" -s 2 -f "$work/pgtf" >"$work/pgtf.out"
  grep -m1 -E "^ +fdatasync" "$work/pgtf.out"
done
probe="$root/build/bench/store/fsync_probe"
if [ -x "$probe" ]; then
  "$probe" "$work" 300 >"$work/probe.out"
  grep " 4096 B" "$work/probe.out"
fi
