#!/usr/bin/env bash
# Instructions per decision in each daemon thread, under callgrind (independent of the
# host's load): `interlock serve` (durability full) runs under valgrind with
# instrumentation off, 200 warm-up decisions, then N decisions over 16 keep-alive
# connections with instrumentation on. Prints each thread's instructions per decision;
# the callgrind files stay in OUT_DIR for callgrind_annotate --inclusive=yes. Usage:
#   bench/daemon/callgrind-decide.sh BUILD_DIR OUT_DIR [N]
# Batches are smaller under valgrind than at full speed, so the writer's per-decision
# count is an upper bound; the io threads' count does not depend on batching.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?build dir}
out=${2:?output dir}
n=${3:-2000}
bin="$root/$build/interlock"
[ -x "$bin" ] || bin="$build/interlock"
rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d /tmp/interlock-cg.XXXXXX)
dpid=""
cleanup() {
  if [ -n "$dpid" ]; then kill "$dpid" 2>/dev/null || true; wait "$dpid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
tok=$("$bin" token create --store "$work/bench.db" --agent bench-agent \
  --policy "$root/bench/daemon/policies" 2>/dev/null)
echo "durability: full" >"$work/interlock.yaml"
valgrind --tool=callgrind --separate-threads=yes --instr-atstart=no \
  --callgrind-out-file="$out/cg.out" "$bin" serve --config "$work/interlock.yaml" \
  --listen 127.0.0.1:0 --policies "$root/bench/daemon/policies" --store "$work/bench.db" \
  --ready-file "$work/ready.json" >"$work/daemon.log" 2>&1 &
dpid=$!
for _ in $(seq 600); do [ -s "$work/ready.json" ] && break; sleep 0.2; done
port=$(sed -E 's/.*"port":([0-9]+).*/\1/' "$work/ready.json")
for _ in $(seq 64); do
  curl -s -X POST -H "Authorization: Bearer $tok" "http://127.0.0.1:$port/v1/runs" |
    sed -E 's/.*"run_id":"([^"]+)".*/\1/'
  echo
done | grep -v '^$' >"$work/runs.txt"
python3 "$root/bench/daemon/fixed_load.py" "$port" "$tok" "$work/runs.txt" 200 16 >/dev/null
callgrind_control -i on "$dpid" >/dev/null
python3 "$root/bench/daemon/fixed_load.py" "$port" "$tok" "$work/runs.txt" "$n" 16
callgrind_control -i off "$dpid" >/dev/null
kill "$dpid"
wait "$dpid" 2>/dev/null || true
dpid=""
total=0
for f in "$out"/cg.out-*; do
  ir=$(grep -m1 '^totals:' "$f" | cut -d' ' -f2)
  [ "${ir:-0}" -gt 0 ] || continue
  name=other
  grep -q 'WriterLoop' "$f" && name=writer
  grep -q 'SyncLoop' "$f" && name=syncer
  grep -q 'CheckpointLoop' "$f" && name=checkpoint
  grep -q 'Api::Handle' "$f" && name=io
  total=$((total + ir))
  printf '  %-10s %-14s %9d instructions per decision\n' "$name" "$(basename "$f")" $((ir / n))
done
printf '  %-25s %9d instructions per decision\n' total $((total / n))
