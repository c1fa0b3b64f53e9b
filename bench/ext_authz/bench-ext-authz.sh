#!/usr/bin/env bash
# The ext_authz door's Check beside the HTTP API's decision, in one run on one daemon
# (issue 58: within noise of the HTTP API's decision cost; docs/performance.md):
#
#   bench/ext_authz/bench-ext-authz.sh BUILD [SECONDS] [ROUNDS] [CONNECTIONS...]
#
# BUILD holds `interlock` and bench/ext_authz/check_load (ninja interlock check_load);
# SECONDS per measurement (default 4), ROUNDS (default 2), CONNECTIONS (default 1 16 64).
# One daemon (SQLite, durability full) with its ext_authz listener, one agent allowed Read;
# per round and concurrency, alternating: wrk on POST /v1/runs/RUN/calls (the allowed Read
# through the plain API, bench/hook/hook.lua MODE=calls, in one run) and check_load on
# Check (the same Read as an MCP tools/call with its body, as Envoy sends it, in one
# session, so one run). Prints each RESULT line and Check/API ratios of p50 and rps, with
# the daemon's and the client's CPU seconds over each measurement (and per request). COMMITS=1 also counts the daemon's
# fsync/fdatasync calls over each measurement (perf's syscall tracepoints; root), so
# decisions per sync = the group commit's mean batch. THREADS=1 also prints the daemon's CPU
# per request by thread name (/proc/PID/task/*/stat: gRPC's threads, the store's writer and
# syncer, the door's finisher, the HTTP io threads), API beside Check. Not a test: the numbers depend on
# the machine and its load (printed).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: bench-ext-authz.sh BUILD [SECONDS] [ROUNDS] [CONNECTIONS...]}
secs=${2:-4}
rounds=${3:-2}
shift $(($# < 3 ? $# : 3))
conns=${*:-1 16 64}
bin="$build/interlock"
load="$build/bench/ext_authz/check_load"
[ -x "$bin" ] && [ -x "$load" ] || { echo "build interlock and check_load first" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/install-deps.sh)" >&2; exit 2; }
d=$(mktemp -d /tmp/interlock-ext-authz-bench.XXXXXX)
pid=""
cleanup() { [ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; } || true; rm -rf "$d"; }
trap cleanup EXIT
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
cat >"$d/agent.yaml" <<'YAML'
agent:
  id: "bench-gw"
tools:
  allowed:
    - name: "Read"
execution:
  max_steps: 100000000
YAML
printf 'ext_authz:\n  listen: 127.0.0.1:0\n' >"$d/interlock.yaml"
"$bin" serve --listen 127.0.0.1:0 --store "$d/bench.db" --policies "$d/agent.yaml" \
  --config "$d/interlock.yaml" --ready-file "$d/ready" >"$d/log" 2>&1 &
pid=$!
for _ in $(seq 200); do [ -s "$d/ready" ] && break; sleep 0.1; done
port=$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['port'])" "$d/ready")
gport=$(sed -n 's/.*ext_authz gRPC on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$d/log")
token=$("$bin" token create --store "$d/bench.db" --agent bench-gw --policy "$d/agent.yaml" 2>/dev/null)
run=$(curl -s -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/runs" |
  python3 -c "import json,sys;print(json.load(sys.stdin)['run_id'])")
# The daemon's CPU seconds so far (user + system).
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$pid/stat"; }
# THREADS=1: the daemon's CPU ticks by thread name, one "name ticks" a line.
snap() {
  for t in /proc/"$pid"/task/*; do
    echo "$(tr ' ' _ <"$t/comm") $(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0)"
  done | awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' | sort
}
threads_line() {  # FROM TO REQUESTS: "name=us_per_request ..." for threads that ran
  [ "${THREADS:-0}" = 1 ] || return 0
  join -a2 -e0 -o 0,1.2,2.2 "$1" "$2" | awk -v n="$3" -v hz="$(getconf CLK_TCK)" \
    '{d = ($3 - $2) * 1e6 / hz / (n > 0 ? n : 1); if (d >= 1) printf " %s=%.0f", $1, d}'
}
# COMMITS=1: the daemon's syncs over one measurement (" syncs=N" in $syncs), else nothing.
perf_pid=""
syncs_start() {
  [ "${COMMITS:-0}" = 1 ] || return 0
  perf stat -x, -o "$d/perf" -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync \
    -p "$pid" >/dev/null 2>&1 &
  perf_pid=$!
  sleep 0.2
}
syncs_end() {  # sets $syncs (run in this shell: it waits for perf)
  syncs=""
  [ "${COMMITS:-0}" = 1 ] || return 0
  kill -INT "$perf_pid"
  wait "$perf_pid" 2>/dev/null || true
  syncs=" syncs=$(awk -F, '/sys_enter_f/ {n += $1} END {print n + 0}' "$d/perf")"
}
# The Check's load: check_load (gRPC C++'s client), or with CLIENT=h2load nghttp2's h2load
# posting the same Check as a prepared gRPC message (check_load --dump), a client about as
# cheap per request as wrk, so the two paths get the same share of the two cores. h2load
# reads no gRPC status: every measurement's answers are checked from the daemon's own
# decision counter (GET /metrics), allow by allow. Prints one RESULT line like check_load's,
# the percentiles from h2load's per-request log (--log-file: each request's microseconds).
decided() {
  curl -s "http://127.0.0.1:$port/metrics" |
    awk '/^interlock_decisions_total\{agent="bench-gw",code="ALLOWED"/ {n += $2} END {print n + 0}'
}
check_client() {  # CONNECTIONS THREADS; the client's CPU seconds in $d/t
  if [ "${CLIENT:-check_load}" != h2load ]; then
    /usr/bin/time -f "%U %S" -o "$d/t" "$load" "$gport" "$token" "$1" "$secs"
    return
  fi
  local before after out ok
  before=$(decided)
  rm -f "$d/h2.log"
  out=$(/usr/bin/time -f "%U %S" -o "$d/t" h2load -c "$1" -t "$2" -m 1 -D "$secs" -d "$d/check.bin" \
    --log-file="$d/h2.log" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$gport/envoy.service.auth.v3.Authorization/Check")
  after=$(decided)
  ok=$(echo "$out" | sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p')
  if [ "$((after - before))" -lt "${ok:-0}" ]; then
    echo "h2load: $ok answers, $((after - before)) allows decided: the Check did not allow" >&2
    echo "$out" >&2
    exit 1
  fi
  awk -F'\t' '$2 == 200 {print $3}' "$d/h2.log" | sort -n | awk -v secs="$secs" -v ok="$ok" '
    {v[NR] = $1} END {
      if (NR == 0) { print "RESULT rps=0 p50_ms=0 p99_ms=0"; exit }
      printf "RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=0 wrong=0\n", ok / secs,
        v[int(NR * 0.50) + 1] / 1000, v[(int(NR * 0.99) + 1 > NR ? NR : int(NR * 0.99) + 1)] / 1000 }'
}
if [ "${CLIENT:-check_load}" = h2load ]; then
  command -v h2load >/dev/null || { echo "h2load is not installed (nghttp2-client)" >&2; exit 2; }
  "$load" --dump "$token" "$d/check.bin"
fi
# Warm up both paths (the run joined, the token cached, the gRPC threads started).
MODE=calls RUN_ID=$run INTERLOCK_TOKEN=$token wrk -t1 -c4 -d1s -s "$root/bench/hook/hook.lua" \
  "http://127.0.0.1:$port" >/dev/null
"$load" "$gport" "$token" 4 1 >/dev/null
for r in $(seq "$rounds"); do
  for c in $conns; do
    t=$((c < 2 ? 1 : 2))
    c0=$(cpu)
    snap >"$d/s0"
    syncs_start
    api=$(MODE=calls RUN_ID=$run INTERLOCK_TOKEN=$token /usr/bin/time -f "%U %S" -o "$d/t" \
      wrk -t"$t" -c"$c" -d"${secs}s" -s "$root/bench/hook/hook.lua" "http://127.0.0.1:$port" |
      grep RESULT)
    syncs_end
    api_syncs=$syncs
    api_client=$(awk '{print $1 + $2}' "$d/t")
    c1=$(cpu)
    snap >"$d/s1"
    syncs_start
    chk=$(check_client "$c" "$t" | grep RESULT)
    syncs_end
    chk_syncs=$syncs
    chk_client=$(awk '{print $1 + $2}' "$d/t")
    c2=$(cpu)
    snap >"$d/s2"
    api="$api daemon_cpu_s=$(echo "$c1 - $c0" | bc) client_cpu_s=$api_client$api_syncs"
    chk="$chk daemon_cpu_s=$(echo "$c2 - $c1" | bc) client_cpu_s=$chk_client$chk_syncs"
    echo "round $r c=$c api:   $api"
    echo "round $r c=$c check: $chk"
    if [ "${THREADS:-0}" = 1 ]; then
      n_api=$(echo "$api" | sed -n 's/.*rps=\([0-9.]*\).*/\1/p')
      n_chk=$(echo "$chk" | sed -n 's/.*rps=\([0-9.]*\).*/\1/p')
      echo "  api threads (us/request):  $(threads_line "$d/s0" "$d/s1" "$(echo "$n_api * $secs" | bc)")"
      echo "  check threads (us/request):$(threads_line "$d/s1" "$d/s2" "$(echo "$n_chk * $secs" | bc)")"
    fi
    python3 - "$api" "$chk" "$secs" <<'PY'
import re, sys
f = lambda s: {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", s)}
a, c, secs = f(sys.argv[1]), f(sys.argv[2]), float(sys.argv[3])
us = lambda x, k: 1e6 * x[k] / (x["rps"] * secs) if x["rps"] else 0
print("  check/api: p50 %.2fx, rps %.2fx; CPU per request (us) daemon %.0f / %.0f, client %.0f / %.0f"
      % (c["p50_ms"] / a["p50_ms"], c["rps"] / a["rps"], us(c, "daemon_cpu_s"),
         us(a, "daemon_cpu_s"), us(c, "client_cpu_s"), us(a, "client_cpu_s")))
for x, name in ((a, "api"), (c, "check")):
  if "syncs" in x and x["syncs"]:
    print("  %s: %.1f decisions per sync" % (name, x["rps"] * secs / x["syncs"]))
PY
  done
done
