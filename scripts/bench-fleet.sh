#!/usr/bin/env bash
# Fleet load test (issue 14, section 5): in ONE run, with the same load generator (wrk and
# bench/daemon/decide.lua, the same policy and run mix):
#   1. pgbench on the private cluster (the reference: what the database itself commits);
#   2. one `interlock serve` on SQLite (durability: full);
#   3. two `interlock serve` on one PostgreSQL database (synchronous_commit on), the load
#      split evenly over both (two wrk processes at the same time, half the connections each).
# Usage: scripts/bench-fleet.sh [BUILD_DIR] [DURATION] [CONNS...]   (default: build 10s 64 256)
# ONLY=pgbench|sqlite|fleet runs one of the three (for profiling one of them); ONLY="sqlite
# fleet" two of them.
# Each daemon row also prints the bytes written per durable decision: on PostgreSQL the
# cluster's WAL over the decisions the calls table gained (the WAL position's advance, and
# pg_stat_wal.wal_bytes' delta, which lags by the backends' stats flush, with the full-page
# images among it), on SQLite the daemon's write() bytes (WAL frames plus the
# checkpoints' copies, /proc/PID/io wchar) over its decisions. WALSTATS=1 also prints
# pg_waldump --stats=record over the fleet's last run (which records the bytes are).
# Everything is on 127.0.0.1 and in a temp dir; the cluster is private and stopped at exit.
# Not a test: the numbers depend on the machine. See docs/performance.md ("The fleet").
set -euo pipefail
build=${1:-build}
duration=${2:-10s}
conns_list=(64 256)
[ $# -gt 2 ] && conns_list=("${@:3}")
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build/interlock"
[ -x "$bin" ] || bin="$build/interlock"
# shellcheck source=scripts/pg-cluster.sh
. "$root/scripts/pg-cluster.sh"
pg_bench_setup fleet

# The private cluster: durable settings (fsync, synchronous_commit on), loopback only.
pg_cluster_start "$work" 400
"$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U postgres pgbench
pgq() { psql -h 127.0.0.1 -p "$pgport" -U postgres -d interlock -XAtq -F ' ' -c "$1"; }
# "lsn wal_bytes wal_fpi calls" (the calls table's rows: one per decision).
walmark() { pgq "SELECT pg_current_wal_lsn(), w.wal_bytes, w.wal_fpi, (SELECT count(*) FROM calls) FROM pg_stat_wal w"; }
sqlcalls() { sqlite3 "file:$sqlite_store?mode=ro" "SELECT count(*) FROM calls" 2>/dev/null || echo 0; }
wchar() { sed -n 's/^wchar: //p' "/proc/$1/io"; }
# CPU accounting (clock ticks): what each part of a measurement costs per decision, and how
# busy the machine was. The machine's busy ticks over all CPUs (/proc/stat: all but idle and
# iowait); a set of processes' user + system ticks, their threads included.
machine_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
machine_all() { awk '/^cpu /{print $2+$3+$4+$5+$6+$7+$8+$9; exit}' /proc/stat; }
proc_ticks() { local t=0 p; for p in "$@"; do
  [ -r "/proc/$p/stat" ] && t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12+$13}'))); done; echo "$t"; }
pg_pids() { local pm; pm=$(head -1 "$work/pg/postmaster.pid"); echo "$pm $(pgrep -P "$pm" | tr '\n' ' ')"; }
# "busy daemon postgres" ticks now (postgres: the postmaster and its children, pgbench's
# backends included while they run).
# shellcheck disable=SC2046,SC2086 # word splitting wanted: lists of pids
cpumark() { echo "$(machine_busy) $(machine_all) $(proc_ticks $1) $(proc_ticks $(pg_pids))"; }
# Per decision, from two marks and a count: "cpu µs: daemon D, postgres P, rest R (wrk,
# kernel); machine busy B%".
cpureport() {  # mark0 mark1 decisions
  local b0 a0 d0 g0 b1 a1 d1 g1 n=$3 us
  read -r b0 a0 d0 g0 <<<"$1"
  read -r b1 a1 d1 g1 <<<"$2"
  us=$((1000000 / $(getconf CLK_TCK)))
  echo "cpu µs/decision: daemon $(((d1 - d0) * us / n)), postgres $(((g1 - g0) * us / n)), rest $((((b1 - b0) - (d1 - d0) - (g1 - g0)) * us / n)); machine busy $((100 * (b1 - b0) / (a1 - a0 > 0 ? a1 - a0 : 1)))%"
}

policies="$root/bench/daemon/policies"
mkdir -p "$work/keys"
start_daemon() {  # name store; sets $port (not in a subshell: the pid must reach cleanup)
  local name=$1 store=$2 keys=()
  [[ $store == postgresql://* ]] && keys=(--keys "$work/keys")
  echo "durability: full" >"$work/$name.yaml"
  "$bin" serve --config "$work/$name.yaml" --listen 127.0.0.1:0 --policies "$policies" \
    --store "$store" "${keys[@]}" --ready-file "$work/$name.ready" >"$work/$name.log" 2>&1 &
  pids+=($!)
  daemon_pid=$!
  for _ in $(seq 200); do [ -s "$work/$name.ready" ] && break; sleep 0.1; done
  [ -s "$work/$name.ready" ] || { echo "$name did not start:" >&2; cat "$work/$name.log" >&2; exit 1; }
  port=$(sed -E 's/.*"port":([0-9]+).*/\1/' "$work/$name.ready")
}
make_runs() {  # port token file
  for _ in $(seq 64); do
    curl -s -X POST -H "Authorization: Bearer $2" "http://127.0.0.1:$1/v1/runs" |
      sed -E 's/.*"run_id":"([^"]+)".*/\1/'
    echo
  done | grep -v '^$' >"$3"
}
# wrk on one target; prints "rps p50 p99 errors".
load() {  # port token runs conns
  local threads=$(($4 < 2 ? 1 : 2)) line rps p50_ms p99_ms errors non2xx
  line=$(KIND=allow INTERLOCK_TOKEN=$2 RUNS_FILE=$3 wrk -t$threads -c"$4" -d"$duration" \
    -s "$root/bench/daemon/decide.lua" "http://127.0.0.1:$1" | grep RESULT)
  read -r rps p50_ms p99_ms errors non2xx < <(sed -E 's/.*rps=([^ ]+) p50_ms=([^ ]+) p99_ms=([^ ]+) errors=([^ ]+) non2xx=([^ ]+).*/\1 \2 \3 \4 \5/' <<<"$line")
  echo "$rps $p50_ms $p99_ms $((errors + non2xx))"
}

sqlite_store="$work/sqlite.db"
sqlite_token=$("$bin" token create --store "$sqlite_store" --agent bench-agent --policy "$policies" 2>/dev/null)
start_daemon sqlite "$sqlite_store"
sport=$port
spid=$daemon_pid
make_runs "$sport" "$sqlite_token" "$work/sqlite.runs"

# The first daemon migrates the schema; the token is created store-direct on PostgreSQL.
start_daemon pg1 "$uri"
p1=$port
pid1=$daemon_pid
start_daemon pg2 "$uri"
p2=$port
pid2=$daemon_pid
pg_token=$("$bin" token create --store "$uri" --keys "$work/keys" --agent bench-agent --policy "$policies" 2>/dev/null)
make_runs "$p1" "$pg_token" "$work/pg.runs"

"$pgbin/pgbench" -h 127.0.0.1 -p "$pgport" -U postgres -i -q -s 10 pgbench >/dev/null 2>&1

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -d $duration, bench/daemon/decide.lua (allow), 64 runs; durability full; PostgreSQL 15, fsync + synchronous_commit on"
printf '%-28s %6s %12s %9s %9s %6s %s\n' target conns "per second" p50_ms p99_ms errors "bytes/decision (FPI)"
# Before each measurement: the page cache's dirty pages (the previous measurement's writes:
# the SQLite daemon writes ~6 KB per decision, ~2.5 GB in a 10 s run) written back, and a
# pause, so a measurement does not share the disk with the previous one's writeback. Without
# it the fleet, measured right after the SQLite daemon, did 17,101-17,354/s (p99 63-67 ms)
# where alone it did 21,703-22,017/s (p99 23-24 ms) on the same build; with a 3 s pause
# 19,896-20,310/s (p99 41-54 ms), with 10 s 20,400/s (p99 25 ms) (session 25).
# SETTLE_SECONDS sets the pause.
settle() { sync; sleep "${SETTLE_SECONDS:-10}"; }
for conns in "${conns_list[@]}"; do
  only=${ONLY:-}
  if [ -z "$only" ] || [[ " $only " == *" pgbench "* ]]; then
  settle
  line=$({ "$pgbin/pgbench" -h 127.0.0.1 -p "$pgport" -U postgres -c "$conns" -j 2 \
    -T "${duration%s}" -n -b simple-update pgbench 2>"$work/pgbench.err" || true; } | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  printf '%-28s %6s %12.0f %9s %9s %s\n' "pgbench simple-update (tps)" "$conns" "${line:-0}" - - -
  fi
  if [ -z "$only" ] || [[ " $only " == *" sqlite "* ]]; then
  settle
  c0=$(sqlcalls)
  w0=$(wchar "$spid")
  m0=$(cpumark "$spid")
  read -r rps p50 p99 err < <(load "$sport" "$sqlite_token" "$work/sqlite.runs" "$conns")
  m1=$(cpumark "$spid")
  w1=$(wchar "$spid")
  c1=$(sqlcalls)
  printf '%-28s %6s %12s %9s %9s %6s %s\n' "interlock 1x SQLite" "$conns" "$rps" "$p50" "$p99" "$err" \
    "$(((w1 - w0) / (c1 > c0 ? c1 - c0 : 1)))"
  echo "  $(cpureport "$m0" "$m1" $((c1 > c0 ? c1 - c0 : 1)))"
  fi
  [ -z "$only" ] || [[ " $only " == *" fleet "* ]] || continue
  half=$((conns / 2))
  settle
  read -r lsn0 wb0 fpi0 pc0 < <(walmark)
  m0=$(cpumark "$pid1 $pid2")
  load "$p1" "$pg_token" "$work/pg.runs" "$half" >"$work/a.out" &
  a=$!
  load "$p2" "$pg_token" "$work/pg.runs" "$half" >"$work/b.out" &
  b=$!
  wait $a $b
  m1=$(cpumark "$pid1 $pid2")
  read -r lsn1 wb1 fpi1 pc1 < <(walmark)
  read -r r1 p50a p99a e1 <"$work/a.out"
  read -r r2 p50b p99b e2 <"$work/b.out"
  n=$((pc1 > pc0 ? pc1 - pc0 : 1))
  lsn_bytes=$(pgq "SELECT pg_wal_lsn_diff('$lsn1', '$lsn0')::bigint")
  printf '%-28s %6s %12s %9s %9s %6s %s\n' "interlock 2x PostgreSQL" "$conns" "$((r1 + r2))" \
    "$p50a/$p50b" "$p99a/$p99b" "$((e1 + e2))" \
    "$((lsn_bytes / n)) (pg_stat_wal $(((wb1 - wb0) / n)), $((fpi1 - fpi0)) FPI, $n decisions)"
  echo "  $(cpureport "$m0" "$m1" "$n")"
  if [ -n "${WALSTATS:-}" ]; then
    echo "pg_waldump --stats=record $lsn0..$lsn1 ($n decisions):"
    "${as_pg[@]}" "$pgbin/pg_waldump" -p "$work/pg/pg_wal" -s "$lsn0" -e "$lsn1" --stats=record 2>&1 |
      sort -t'(' -k4 -rn | head -30
  fi
done
