#!/usr/bin/env bash
# The console's Governance page over a large store (issue 17: "each page answers in under
# 200 ms with 1,000,000 audit records"), against a real `interlock serve`:
#   bench/governance/bench-governance-page.sh [BUILD_DIR] [RECORDS] [REQUESTS]
# Builds RECORDS decision records (what_if_benchmark --keep), serves them, then for each
# report (drift, trust, fatigue): the first ask (202 while computing), the time until the
# report is there, REQUESTS asks of the kept report (p50/p99/max), and REQUESTS asks while a
# forced recomputation runs (the page keeps answering from the last report). Each answer's
# time is curl's time_total on loopback (a new connection each time, as a browser's first).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
n=${2:-1000000}
reqs=${3:-100}
bin="$root/$build/interlock"
[ -x "$bin" ] || bin="$build/interlock"
gen="$root/$build/bench/governance/what_if_benchmark"
[ -x "$gen" ] || gen="$build/bench/governance/what_if_benchmark"

work=$(mktemp -d /tmp/interlock-govbench.XXXXXX)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

token=$("$bin" token create --store "$work/store.db" --admin bench)
"$gen" "$n" "$work/store.db" --keep
"$bin" serve --listen 127.0.0.1:0 --policies "$work/store.db.policy" --store "$work/store.db" \
  --ready-file "$work/ready.json" >"$work/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 600); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
[ -s "$work/ready.json" ] || { cat "$work/daemon.log"; exit 1; }
port=$(sed -E 's/.*"port":([0-9]+).*/\1/' "$work/ready.json")
base="http://127.0.0.1:$port/v1/governance"

ask() {  # ask PATH -> "status seconds"
  curl -s -o "$work/body.json" -w '%{http_code} %{time_total}\n' \
    -H "Authorization: Bearer $token" "$base/$1"
}
percentiles() {  # stdin: seconds, one a line -> "p50 p99 max" in ms
  sort -n | awk '{v[NR]=$1} END {
    p50=v[int(NR*0.50+0.5)]; p99=v[int(NR*0.99+0.5)]; if (p99=="") p99=v[NR];
    printf "p50 %.1f ms, p99 %.1f ms, max %.1f ms", p50*1000, p99*1000, v[NR]*1000 }'
}

echo "records: $n; requests per row: $reqs; $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s | %-22s | %-14s | %-40s | %s\n' report "first ask" "computed in" \
  "kept report, $reqs asks" "$reqs asks during a forced recompute"
for report in drift trust fatigue; do
  first=$(ask "$report")
  t0=$(date +%s.%N)
  for _ in $(seq 3000); do
    [ "$(ask "$report" | cut -d' ' -f1)" = 200 ] && break
    sleep 0.05
  done
  computed=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  kept=$(for _ in $(seq "$reqs"); do ask "$report"; done | awk '$1==200 {print $2}' | percentiles)
  ask "$report?refresh=1" >/dev/null
  during=$(for _ in $(seq "$reqs"); do ask "$report"; done | awk '$1==200 {print $2}' | percentiles)
  printf '%-8s | %-22s | %-14s | %-40s | %s\n' "$report" \
    "$(echo "$first" | awk '{printf "%s in %.1f ms", $1, $2*1000}')" "${computed} s" "$kept" "$during"
  # Let the forced recomputation finish before the next report's first ask.
  for _ in $(seq 3000); do
    ask "$report" >/dev/null
    grep -q '"refreshing":false' "$work/body.json" && break
    sleep 0.05
  done
done
