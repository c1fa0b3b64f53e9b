#!/usr/bin/env bash
# What the PostgreSQL layout of schema 11 costs after a crash (docs/audit.md, "The
# PostgreSQL layout"): audit_log is UNLOGGED and comes back empty; the store's first
# connection rebuilds it from audit_batches. Not a test.
#
# One `interlock serve` on a private cluster decides for SECONDS (wrk, durability full);
# then the script prints the log's size (records, batches, bytes of the batches and of the
# unlogged table with its indexes), crashes the server (pg_ctl stop -m immediate, start
# again), and times `interlock audit verify --store` twice: the first run rebuilds the
# table, then verifies; the second only verifies. Then three rounds of crash and rebuild
# alone, each batch read as jsonb (the default) and as json (schema 11's reading).
# RANGES="1 2 3 4" then times, for each K, K psql sessions at once each rebuilding a K-th
# of the seqs after a crash (the parallel rebuild measured and dropped in session 36).
# Usage: scripts/bench-pg-rebuild.sh [BUILD_DIR] [SECONDS] (default build 10).
# Everything is on 127.0.0.1 and in a temp dir; the cluster is stopped at exit.
set -euo pipefail
build=${1:-build}
seconds=${2:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build/interlock"
[ -x "$bin" ] || bin="$build/interlock"
# shellcheck source=scripts/pg-cluster.sh
. "$root/scripts/pg-cluster.sh"
pg_bench_setup rebuild
pg_cluster_start "$work" 100
pgq() { psql -h 127.0.0.1 -p "$pgport" -U postgres -d interlock -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
pg_daemon_decide "$bin" "$seconds"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; PostgreSQL 15, shared_buffers 256MB"
echo "records $(pgq "SELECT count(*) FROM audit_log"), batches $(pgq "SELECT count(*) FROM audit_batches")," \
  "batches $(pgq "SELECT pg_size_pretty(pg_total_relation_size('audit_batches'))")," \
  "audit_log and its indexes $(pgq "SELECT pg_size_pretty(pg_total_relation_size('audit_log'))")"
pg_cluster_crash "$work"
echo "after the crash: audit_log holds $(pgq "SELECT count(*) FROM audit_log") records"
for run in "rebuild + verify" "verify"; do
  t0=$(date +%s%N)
  "$bin" audit verify --store "$uri" >/dev/null 2>"$work/verify.err" ||
    { cat "$work/verify.err" >&2; exit 1; }
  printf '%-17s %8.2f s\n' "$run" "$(echo "($(date +%s%N) - $t0) / 1000000000" | bc -l)"
done
echo "after: audit_log holds $(pgq "SELECT count(*) FROM audit_log") records"
# The rebuild alone, its two readings of a batch alternating on the same batches: as jsonb
# (schema 12, each batch parsed once) and as json (schema 11's, every column parsed anew).
for round in 1 2 3; do
  for reading in "jsonb:1, 134217728" "json:1, 0"; do
    pg_cluster_crash "$work"
    t0=$(date +%s%N)
    n=$(pgq "SET interlock.audit_batches = on; SET statement_timeout = 0;
             SELECT interlock_rebuild_audit_log(${reading#*:})")
    printf 'round %d, rebuild as %-5s %8.2f s (%s records)\n' "$round" "${reading%%:*}" \
      "$(echo "($(date +%s%N) - $t0) / 1000000000" | bc -l)" "$n"
  done
done
# K sessions at once, each one range of the batches (the same INSERT as the rebuild's).
for k in ${RANGES:-}; do
  pg_cluster_crash "$work"
  read -r lo hi <<<"$(pgq "SELECT min(first_seq), max(first_seq) + 1 FROM audit_batches" | tr '|' ' ')"
  t0=$(date +%s%N)
  for ((i = 0; i < k; i++)); do
    pgq "SET interlock.audit_batches = on; SET statement_timeout = 0;
         INSERT INTO audit_log(seq, time_ms, type, run_id, call_id, agent_id, principal, body,
           data, prev_hash, hash)
         SELECT (r->>0)::bigint, (r->>1)::bigint, r->>2, r->>3, r->>4, r->>5, r->>6, r->>7,
           r->>8, r->>9, r->>10
         FROM audit_batches b CROSS JOIN LATERAL jsonb_array_elements(b.records::jsonb) r
         WHERE b.first_seq >= $((lo + (hi - lo) * i / k))
           AND b.first_seq < $((lo + (hi - lo) * (i + 1) / k))" >/dev/null &
  done
  wait
  printf '%d sessions at once %8.2f s (%s records)\n' "$k" \
    "$(echo "($(date +%s%N) - $t0) / 1000000000" | bc -l)" "$(pgq "SELECT count(*) FROM audit_log")"
done
