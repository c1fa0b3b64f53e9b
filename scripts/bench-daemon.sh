#!/usr/bin/env bash
# Loopback load test: Interlock's daemon and Cerbos, same allow/deny checks, wrk at 1, 16,
# 64 and 256 connections. Usage: scripts/bench-daemon.sh [BUILD_DIR] [DURATION]
# Prints decisions/s and p50/p99 per case. Not a test: numbers depend on the machine.
set -euo pipefail
build=${1:-build}
duration=${2:-10s}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build/interlock"
[ -x "$bin" ] || bin="$build/interlock"
work=$(mktemp -d /tmp/interlock-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

store="$work/bench.db"
token=$("$bin" token create --store "$store" --agent bench-agent --policy "$root/bench/daemon/policies" 2>/dev/null)
# DURABILITY=normal skips the fsync per group commit (see docs/operations.md#store).
echo "durability: ${DURABILITY:-full}" >"$work/interlock.yaml"
"$bin" serve --config "$work/interlock.yaml" --listen 127.0.0.1:0 \
  --policies "$root/bench/daemon/policies" --store "$store" --ready-file "$work/ready.json" >"$work/daemon.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
port=$(sed -E 's/.*"port":([0-9]+).*/\1/' "$work/ready.json")
for _ in $(seq 64); do
  curl -s -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/runs" |
    sed -E 's/.*"run_id":"([^"]+)".*/\1/'
  echo
done | grep -v '^$' >"$work/runs.txt"

cerbos_port=""
if cerbos=$("$root/bench/cerbos/install.sh" 2>"$work/cerbos-install.log"); then
  (cd "$root/bench/cerbos" && CERBOS_NO_TELEMETRY=1 exec "$cerbos" server --config=conf.yaml \
    >"$work/cerbos.log" 2>&1) &
  pids+=($!)
  for _ in $(seq 100); do
    curl -sf http://127.0.0.1:3592/_cerbos/health >/dev/null 2>&1 && { cerbos_port=3592; break; }
    sleep 0.1
  done
fi
[ -n "$cerbos_port" ] || echo "cerbos: not available (see $work/cerbos-install.log); Interlock only"

echo "durability: ${DURABILITY:-full}"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; wrk -d $duration"
printf '%-10s %-6s %6s %12s %9s %9s %s\n' target check conns "decisions/s" p50_ms p99_ms errors
for conns in 1 16 64 256; do
  threads=$((conns < 2 ? 1 : 2))
  for kind in allow deny; do
    line=$(KIND=$kind INTERLOCK_TOKEN=$token RUNS_FILE="$work/runs.txt" \
      wrk -t$threads -c$conns -d"$duration" -s "$root/bench/daemon/decide.lua" \
      "http://127.0.0.1:$port" | grep RESULT)
    read -r rps p50_ms p99_ms errors non2xx < <(sed -E 's/.*rps=([^ ]+) p50_ms=([^ ]+) p99_ms=([^ ]+) errors=([^ ]+) non2xx=([^ ]+).*/\1 \2 \3 \4 \5/' <<<"$line")
    printf '%-10s %-6s %6s %12s %9s %9s %s\n' interlock "$kind" "$conns" "$rps" "$p50_ms" "$p99_ms" "$errors/$non2xx"
    if [ -n "$cerbos_port" ]; then
      line=$(KIND=$kind wrk -t$threads -c$conns -d"$duration" -s "$root/bench/cerbos/check.lua" \
        "http://127.0.0.1:$cerbos_port" | grep RESULT)
      read -r rps p50_ms p99_ms errors non2xx < <(sed -E 's/.*rps=([^ ]+) p50_ms=([^ ]+) p99_ms=([^ ]+) errors=([^ ]+) non2xx=([^ ]+).*/\1 \2 \3 \4 \5/' <<<"$line")
      printf '%-10s %-6s %6s %12s %9s %9s %s\n' cerbos "$kind" "$conns" "$rps" "$p50_ms" "$p99_ms" "$errors/$non2xx"
    fi
  done
done
