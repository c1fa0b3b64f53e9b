#!/usr/bin/env bash
# `make bench`: this build against the last landed release, in one run, as ratios new/old
# (below 1: this build is faster). Three measures, each in alternating pairs (old, new,
# old, new, ...) so that a change in the machine's load hits both alike; the median of each:
#  - decide: `interlock decide` over 100,000 lines (bench/decide/inputs.sh, run budgets
#    raised so every line is decided in full), stdout /dev/null: CPU (user + sys) and wall;
#  - daemon: POST /v1/runs/{run}/calls (bench/daemon/decide.lua, allow, 64 runs), wrk at
#    16 connections against both daemons (durability normal), started side by side: the
#    daemon's CPU per request and wall per request (1 / requests per second);
#  - mcp: the stdio gateway (bench/mcp/compare_gateway.mjs, durability normal), N
#    sequential echo calls: the gateway's CPU per call and the p50 latency.
# The old program is the last release (INTERLOCK_LAST_RELEASE_COMMIT in
# tests/integration/upgrade/CMakeLists.txt) built as this build is (its CMAKE_BUILD_TYPE,
# INTERLOCK_MALLOC, INTERLOCK_UNITY_BUILD; build-last-release.sh's `bench` profile), cached
# in BUILD_DIR/last-release-bench: the upgrade tests' -O1 system-allocator build is not
# comparable. Not a test: nothing fails on a ratio. Figures: docs/performance.md.
# Usage: scripts/run-bench.sh [BUILD_DIR]; env BENCH_ROUNDS (5 decide pairs; the daemon
# and mcp take ROUNDS - 2, at least 1), BENCH_LINES (100000), BENCH_SECONDS (3, per wrk
# run), BENCH_CALLS (1000, per gateway session), BENCH_OLD (another old program instead:
# a build of any commit), BENCH_MICRO=1 (then the in-process Google benchmarks too:
# engine_benchmark, audit_verify_benchmark).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
rounds=${BENCH_ROUNDS:-5}
lines=${BENCH_LINES:-100000}
secs=${BENCH_SECONDS:-3}
calls=${BENCH_CALLS:-1000}
short=$((rounds > 3 ? rounds - 2 : 1))
new=$build/interlock
[ -x "$new" ] || { echo "run-bench: $new is not built (make bench builds it)" >&2; exit 1; }

cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
commit=$(sed -n 's/.*set(INTERLOCK_LAST_RELEASE_COMMIT \([0-9a-f]*\)).*/\1/p' \
  "$root/tests/integration/upgrade/CMakeLists.txt")
if [ -n "${BENCH_OLD:-}" ]; then
  old=$BENCH_OLD
  what="$BENCH_OLD (BENCH_OLD)"
else
  old=$(INTERLOCK_BENCH_BUILD_TYPE=$(cache CMAKE_BUILD_TYPE) \
    INTERLOCK_BENCH_MALLOC=$(cache INTERLOCK_MALLOC) \
    INTERLOCK_BENCH_UNITY=$(cache INTERLOCK_UNITY_BUILD) \
    INTERLOCK_BENCH_LAUNCHER=$(cache CMAKE_CXX_COMPILER_LAUNCHER) \
    "$root/tests/integration/upgrade/build-last-release.sh" "$root" "$build/last-release-bench" \
    "$commit" "$(cache CMAKE_CXX_COMPILER)" bench | tail -n 1)
  what="the last release, ${commit:0:7}"
fi
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores;" \
  "load $(cut -d' ' -f1-3 /proc/loadavg); old: $what"
start=$(date +%s)

work=$(mktemp -d /tmp/interlock-bench.XXXXXX)
pids=()
stop_daemons() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  stop_daemons
  rm -rf "$work"
}
trap cleanup EXIT
# Samples, one a line: MEASURE BUILD WALL CPU (decide: seconds; daemon, mcp: microseconds
# per request or call).
samples=$work/samples

# decide
. "$root/bench/decide/inputs.sh"
decide_lines "$lines" "$work/lines.jsonl"
raised_budgets "$root/examples/policies/support-agent-v2.yaml" "$work/raised.yaml"
for _ in $(seq "$rounds"); do
  for b in old new; do
    bin=$old
    [ $b = new ] && bin=$new
    /usr/bin/time -f "%e %U %S" -o "$work/t" \
      "$bin" decide --policy "$work/raised.yaml" <"$work/lines.jsonl" >/dev/null
    awk -v b=$b '{print "decide", b, $1, $2 + $3}' "$work/t" >>"$samples"
  done
done

# daemon: both started side by side, then wrk against each in turn.
daemon() {  # NAME BIN: starts it; writes $work/NAME.{port,token,runs,pid}
  local d=$work/$1
  mkdir -p "$d"
  "$2" token create --store "$d/bench.db" --agent bench-agent \
    --policy "$root/bench/daemon/policies" >"$d/token" 2>/dev/null
  echo "durability: normal" >"$d/interlock.yaml"
  "$2" serve --config "$d/interlock.yaml" --listen 127.0.0.1:0 \
    --policies "$root/bench/daemon/policies" --store "$d/bench.db" \
    --ready-file "$d/ready.json" >"$d/daemon.log" 2>&1 &
  pids+=($!)
  echo $! >"$d/pid"
}
daemon old "$old"
daemon new "$new"
for b in old new; do
  d=$work/$b
  for _ in $(seq 100); do [ -s "$d/ready.json" ] && break; sleep 0.1; done
  [ -s "$d/ready.json" ] || { echo "run-bench: the $b daemon did not start:" >&2; cat "$d/daemon.log" >&2; exit 1; }
  sed -E 's/.*"port":([0-9]+).*/\1/' "$d/ready.json" >"$d/port"
  for _ in $(seq 64); do
    curl -s -X POST -H "Authorization: Bearer $(cat "$d/token")" \
      "http://127.0.0.1:$(cat "$d/port")/v1/runs" | sed -E 's/.*"run_id":"([^"]+)".*/\1/'
    echo
  done | grep -v '^$' >"$d/runs"
done
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for _ in $(seq "$short"); do
  for b in old new; do
    d=$work/$b
    c0=$(cpu_ticks "$(cat "$d/pid")")
    KIND=allow INTERLOCK_TOKEN=$(cat "$d/token") RUNS_FILE="$d/runs" wrk -t2 -c16 -d"${secs}s" \
      -s "$root/bench/daemon/decide.lua" "http://127.0.0.1:$(cat "$d/port")" >"$work/wrk.txt"
    c1=$(cpu_ticks "$(cat "$d/pid")")
    n=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
    awk -v b=$b -v n="$n" -v s="$secs" -v c=$((c1 - c0)) -v t="$(getconf CLK_TCK)" \
      'BEGIN {print "daemon", b, s * 1e6 / n, c * 1e6 / t / n}' >>"$samples"
  done
done
stop_daemons

# mcp: the pinned npm packages (server-everything, the SDK), then alternating sessions.
node_dir=$root/tests/integration/mcp/node
"$root/scripts/setup-node-tests.sh" >"$work/npm.log" 2>&1 ||
  { echo "run-bench: npm packages for the MCP bench:" >&2; cat "$work/npm.log" >&2; exit 1; }
cp "$root/bench/mcp/latency.mjs" "$node_dir/.bench-latency.mjs"
cp "$root/bench/mcp/compare_gateway.mjs" "$node_dir/.bench-compare-gateway.mjs"
trap 'cleanup; rm -f "$node_dir/.bench-latency.mjs" "$node_dir/.bench-compare-gateway.mjs"' EXIT
node "$node_dir/.bench-compare-gateway.mjs" "$old" "$new" "$root/bench/mcp/policy.yaml" "$work" \
  "$calls" "$short" | awk '{print $1, $2, $3, $4}' >>"$samples"

# The table: medians and ratios new/old.
median() {  # MEASURE BUILD COLUMN
  awk -v m="$1" -v b="$2" -v c="$3" '$1 == m && $2 == b {print $c}' "$samples" | sort -g |
    awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}
printf '%-8s %-28s %12s %12s %9s\n' measure what old new new/old
row() {  # MEASURE COLUMN LABEL UNIT SCALE
  local o n
  o=$(median "$1" old "$2")
  n=$(median "$1" new "$2")
  awk -v m="$1" -v l="$3" -v u="$4" -v k="$5" -v o="$o" -v n="$n" \
    'BEGIN {f = u == "s" ? "%9.2f" : "%9.1f"
           printf "%-8s %-28s " f " %-2s " f " %-2s %8.2fx\n", m, l, o * k, u, n * k, u, n / o}'
}
row decide 4 "CPU, ${lines} lines" s 1
row decide 3 "wall, ${lines} lines" s 1
row daemon 4 "CPU per request, 16 conns" us 1
row daemon 3 "wall per request, 16 conns" us 1
row mcp 4 "gateway CPU per echo call" us 1
row mcp 3 "echo call p50" us 1
echo "pairs: decide $rounds, daemon $short x ${secs} s, mcp $short x $calls calls;" \
  "$(($(date +%s) - start)) s; load $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "${BENCH_MICRO:-0}" = 1 ]; then
  "$build/bench/engine/engine_benchmark" --benchmark_repetitions=5 \
    --benchmark_report_aggregates_only=true
  if [ -x "$build/bench/audit/audit_verify_benchmark" ]; then
    "$build/bench/audit/audit_verify_benchmark" 1000000
  fi
fi
