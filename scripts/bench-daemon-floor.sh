#!/usr/bin/env bash
# The daemon against its own floor, builds side by side: for each build, `interlock serve`
# on SQLite (durability from $DURABILITY, default full) with the bench policies and 64 runs;
# then, rounds alternating over the builds, wrk on the empty GET /healthz (the floor: HTTP
# alone, no auth, no body) and on POST /v1/runs/{run}/calls (bench/daemon/decide.lua) at
# each connection count. Prints req/s, p50/p99 and the share decisions/floor of the same
# build in the same round. Usage:
#   scripts/bench-daemon-floor.sh DURATION ROUNDS CONNS BUILD_DIR...
#   e.g. scripts/bench-daemon-floor.sh 4s 3 "64 256" /work/base build
# A BUILD_DIR holds `interlock` (or is relative to the repository). KIND=allow|deny (allow).
# Not a test: numbers depend on the machine; read the shares and ratios of one run.
set -euo pipefail
duration=${1:?duration}
rounds=${2:?rounds}
conns_list=${3:?connection counts}
shift 3
root=$(cd "$(dirname "$0")/.." && pwd)
kind=${KIND:-allow}
work=$(mktemp -d /tmp/interlock-floor.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

ports=()
tokens=()
names=()
n=0
for build in "$@"; do
  bin="$root/$build/interlock"
  [ -x "$bin" ] || bin="$build/interlock"
  d="$work/$n"
  mkdir -p "$d"
  # (A build from before `token create --policy`, 3bc0ec7 say, makes its token without.)
  tok=$("$bin" token create --store "$d/bench.db" --agent bench-agent \
    --policy "$root/bench/daemon/policies" 2>/dev/null) ||
    tok=$("$bin" token create --store "$d/bench.db" --agent bench-agent 2>/dev/null)
  echo "durability: ${DURABILITY:-full}" >"$d/interlock.yaml"
  "$bin" serve --config "$d/interlock.yaml" --listen 127.0.0.1:0 \
    --policies "$root/bench/daemon/policies" --store "$d/bench.db" \
    --ready-file "$d/ready.json" >"$d/daemon.log" 2>&1 &
  pids+=($!)
  echo "$!" >"$d/pid"
  for _ in $(seq 100); do [ -s "$d/ready.json" ] && break; sleep 0.1; done
  port=$(sed -E 's/.*"port":([0-9]+).*/\1/' "$d/ready.json")
  for _ in $(seq 64); do
    curl -s -X POST -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/v1/runs" |
      sed -E 's/.*"run_id":"([^"]+)".*/\1/'
    echo
  done | grep -v '^$' >"$d/runs.txt"
  ports+=("$port")
  tokens+=("$tok")
  names+=("$build")
  n=$((n + 1))
done

echo "durability: ${DURABILITY:-full}; check: $kind; wrk -t2 -d$duration; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-5s %-40s %5s %10s %8s %8s %10s %8s %8s %6s\n' round build conns floor/s p50_ms \
  p99_ms decide/s p50_ms p99_ms share
for r in $(seq "$rounds"); do
  for conns in $conns_list; do
    for i in $(seq 0 $((n - 1))); do
      port=${ports[$i]}
      floor=$(wrk -t2 -c"$conns" -d"$duration" --latency "http://127.0.0.1:$port/healthz" |
        awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
             function ms(s) { if (s ~ /us$/) return s/1000; if (s ~ /ms$/) return s+0; return s*1000 }
             END {printf "%.0f %.3f %.3f", rps, ms(p50), ms(p99)}')
      line=$(KIND=$kind INTERLOCK_TOKEN=${tokens[$i]} RUNS_FILE="$work/$i/runs.txt" \
        wrk -t2 -c"$conns" -d"$duration" -s "$root/bench/daemon/decide.lua" \
        "http://127.0.0.1:$port" | grep RESULT)
      read -r rps p50_ms p99_ms errors non2xx < <(sed -E 's/.*rps=([^ ]+) p50_ms=([^ ]+) p99_ms=([^ ]+) errors=([^ ]+) non2xx=([^ ]+).*/\1 \2 \3 \4 \5/' <<<"$line")
      read -r frps fp50 fp99 <<<"$floor"
      share=$(awk -v a="$rps" -v b="$frps" 'BEGIN {printf "%.2f", a / b}')
      printf '%-5s %-40s %5s %10s %8s %8s %10s %8s %8s %6s %s\n' "$r" "${names[$i]}" "$conns" \
        "$frps" "$fp50" "$fp99" "$rps" "$p50_ms" "$p99_ms" "$share" \
        "$([ "$errors/$non2xx" = 0/0 ] || echo "errors $errors/$non2xx")"
    done
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
