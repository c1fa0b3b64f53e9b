#!/usr/bin/env bash
# CPU per request of each daemon thread (and of wrk), from /proc/PID/task/*/stat before and
# after one wrk run: what a decision costs where, independent of how long the disk's
# fsync makes it wait. Usage:
#   bench/daemon/cpu-per-decision.sh BUILD_DIR [CONNS] [SECONDS] [decide|healthz]
# `decide` drives POST /v1/runs/{run}/calls (bench/daemon/decide.lua, allow, 64 runs);
# `healthz` the empty GET /healthz (the floor). DURABILITY=normal|full (full). Resolution
# is the kernel's tick (10 ms): run long enough for tens of thousands of requests.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?build dir}
conns=${2:-64}
secs=${3:-6}
what=${4:-decide}
bin="$root/$build/interlock"
[ -x "$bin" ] || bin="$build/interlock"
work=$(mktemp -d /tmp/interlock-cpu.XXXXXX)
dpid=""
cleanup() {
  if [ -n "$dpid" ]; then kill "$dpid" 2>/dev/null || true; wait "$dpid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
tok=$("$bin" token create --store "$work/bench.db" --agent bench-agent \
  --policy "$root/bench/daemon/policies" 2>/dev/null)
echo "durability: ${DURABILITY:-full}" >"$work/interlock.yaml"
"$bin" serve --config "$work/interlock.yaml" --listen 127.0.0.1:0 \
  --policies "$root/bench/daemon/policies" --store "$work/bench.db" \
  --ready-file "$work/ready.json" >"$work/daemon.log" 2>&1 &
dpid=$!
for _ in $(seq 100); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
port=$(sed -E 's/.*"port":([0-9]+).*/\1/' "$work/ready.json")
for _ in $(seq 64); do
  curl -s -X POST -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/v1/runs" |
    sed -E 's/.*"run_id":"([^"]+)".*/\1/'
  echo
done | grep -v '^$' >"$work/runs.txt"
snap() {
  for t in /proc/"$dpid"/task/*; do echo "$(cat "$t/comm") $(awk '{print $14 + $15}' "$t/stat")"; done |
    awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' | sort
}
snap >"$work/c0"
# PERF_OUT=FILE: also `perf record` the writer thread (il-store-write) during the run, for
# `perf report -i FILE --no-children` (native cycles, where callgrind's instruction counts
# mislead: e.g. SHA-256 runs on SHA-NI natively, on AVX2 under valgrind).
ppid=""
if [ -n "${PERF_OUT:-}" ]; then
  wtid=$(grep -l '^il-store-write$' /proc/"$dpid"/task/*/comm | head -1 | cut -d/ -f5)
  perf record -q -g -t "$wtid" -o "$PERF_OUT" -- sleep "$secs" 2>/dev/null &
  ppid=$!
fi
if [ "$what" = healthz ]; then
  /usr/bin/time -f "%U %S" -o "$work/wrk.cpu" wrk -t2 -c"$conns" -d"${secs}s" \
    "http://127.0.0.1:$port/healthz" >"$work/wrk.txt"
else
  KIND=allow INTERLOCK_TOKEN=$tok RUNS_FILE="$work/runs.txt" /usr/bin/time -f "%U %S" \
    -o "$work/wrk.cpu" wrk -t2 -c"$conns" -d"${secs}s" -s "$root/bench/daemon/decide.lua" \
    "http://127.0.0.1:$port" >"$work/wrk.txt"
fi
snap >"$work/c1"
if [ -n "$ppid" ]; then wait "$ppid" || true; fi
n=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
tck=$(getconf CLK_TCK)
echo "$what, $conns connections, ${DURABILITY:-full}: $n requests, $(awk -v n="$n" -v s="$secs" 'BEGIN {printf "%.0f", n / s}')/s; load $(cut -d' ' -f1-3 /proc/loadavg)"
join "$work/c0" "$work/c1" | awk -v n="$n" -v t="$tck" '
  {d = $3 - $2; tot += d; if (d > 0) printf "  %-16s %6.1f us\n", $1, d * 1e6 / t / n}
  END {printf "  %-16s %6.1f us\n", "daemon total", tot * 1e6 / t / n}'
awk -v n="$n" '{printf "  %-16s %6.1f us\n", "wrk", ($1 + $2) * 1e6 / n}' "$work/wrk.cpu"
