#!/usr/bin/env bash
# The WAL a durable decision would write on PostgreSQL under other layouts of the audit log
# (issue 34: WAL bytes per decision <= 1 KB), measured before building one. Not a test.
#
# One `interlock serve` on a private cluster decides for a few seconds (wrk and
# bench/daemon/decide.lua, durability full), so the log holds real decision records. Then
# the same records are written again, batch by batch (one transaction a batch, as the
# store's writer commits them), into tables of each layout, and the WAL position's advance
# is divided by the records written:
#   rows      today's audit_log (one row a record, its five indexes), copied as stored;
#   rows-2ix  the same rows, the type index partial (WHERE type <> 'decision') and the
#             time index a BRIN: three b-tree entries a record instead of five;
#   batch     one row a batch: the batch's records as JSON lines (body and hash), which
#             PostgreSQL compresses when the row passes ~2 KB (pglz, or lz4 with -lz4);
#   batch+ix  batch, plus a logged row a record of what the reads look up (seq, time,
#             type, run, call, agent) with b-tree indexes on (run, seq), (agent, seq) and
#             the call id: what searching, replay and a call's lookup would need.
# The calls row (~310 bytes and its key today) is not in any of them.
# Usage: scripts/bench-pg-wal-floor.sh [BUILD_DIR] [SECONDS] [BATCHES...] (default build 5
# "1 16 128"). Everything is on 127.0.0.1 and in a temp dir; the cluster is stopped at exit.
set -euo pipefail
build=${1:-build}
seconds=${2:-5}
batches=(1 16 128)
[ $# -gt 2 ] && batches=("${@:3}")
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build/interlock"
[ -x "$bin" ] || bin="$build/interlock"
# shellcheck source=scripts/pg-cluster.sh
. "$root/scripts/pg-cluster.sh"
pg_bench_setup walfloor
pg_cluster_start "$work" 100
pgq() { psql -h 127.0.0.1 -p "$pgport" -U postgres -d interlock -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

pg_daemon_decide "$bin" "$seconds"
n=$(pgq "SELECT count(*) FROM audit_log")
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; PostgreSQL 15, defaults but shared_buffers 256MB"
echo "records: $n from ${seconds} s of decisions ($(pgq "SELECT count(*) FROM audit_log WHERE type = 'decision'") decisions);" \
  "a decision record's body $(pgq "SELECT round(avg(length(body))) FROM audit_records WHERE type = 'decision'") bytes," \
  "stored data $(pgq "SELECT round(avg(length(data))) FROM audit_log WHERE type = 'decision'") bytes"

# The layouts' tables (dropped and made again before each measurement).
setup() {
  case $1 in
  rows | rows-2ix)
    pgq "DROP TABLE IF EXISTS x_rows; CREATE TABLE x_rows (LIKE audit_log INCLUDING DEFAULTS);
         ALTER TABLE x_rows ADD PRIMARY KEY (seq);
         CREATE INDEX ON x_rows(run_id, seq); CREATE INDEX ON x_rows(agent_id, seq);"
    if [ "$1" = rows ]; then
      pgq "CREATE INDEX ON x_rows(time_ms); CREATE INDEX ON x_rows(type, seq);"
    else
      pgq "CREATE INDEX ON x_rows USING brin (time_ms);
           CREATE INDEX ON x_rows(type, seq) WHERE type <> 'decision';"
    fi
    ;;
  batch*)
    local comp=pglz
    [[ $1 == *-lz4 ]] && comp=lz4
    pgq "DROP TABLE IF EXISTS x_batch, x_ix;
         CREATE TABLE x_batch (first_seq BIGINT PRIMARY KEY, last_seq BIGINT NOT NULL,
                               lines TEXT COMPRESSION $comp NOT NULL);"
    if [[ $1 == batch+ix* ]]; then
      pgq "CREATE TABLE x_ix (seq BIGINT PRIMARY KEY, time_ms BIGINT NOT NULL, type TEXT NOT NULL,
                              run_id TEXT NOT NULL, call_id TEXT NOT NULL, agent_id TEXT NOT NULL);
           CREATE INDEX ON x_ix(run_id, seq); CREATE INDEX ON x_ix(agent_id, seq);
           CREATE INDEX ON x_ix(call_id) WHERE call_id <> '';"
    fi
    ;;
  esac
}
# One transaction a batch of $2 records, as a procedure (COMMIT after each batch).
write_sql() {
  local layout=$1 b=$2 body
  case $layout in
  rows*) body="INSERT INTO x_rows SELECT * FROM audit_log WHERE seq BETWEEN s AND s + $b - 1;" ;;
  batch*)
    body="INSERT INTO x_batch SELECT s, max(seq), string_agg(body || ' ' || hash, E'\n' ORDER BY seq)
          FROM audit_records WHERE seq BETWEEN s AND s + $b - 1;"
    [[ $layout == batch+ix* ]] && body+="
          INSERT INTO x_ix SELECT seq, time_ms, type, run_id, call_id, agent_id FROM audit_log
          WHERE seq BETWEEN s AND s + $b - 1;"
    ;;
  esac
  echo "DO \$\$ DECLARE s BIGINT := 1; BEGIN WHILE s <= $n LOOP $body COMMIT; s := s + $b; END LOOP; END \$\$;"
}
printf '%-12s %6s %16s\n' layout batch "WAL bytes/record"
for layout in rows rows-2ix batch batch-lz4 batch+ix batch+ix-lz4; do
  for b in "${batches[@]}"; do
    setup "$layout"
    pgq "CHECKPOINT"  # full-page images are not what is measured: the writes themselves
    lsn0=$(pgq "SELECT pg_current_wal_lsn()")
    pgq "$(write_sql "$layout" "$b")"
    lsn1=$(pgq "SELECT pg_current_wal_lsn()")
    printf '%-12s %6s %16s\n' "$layout" "$b" "$(pgq "SELECT (pg_wal_lsn_diff('$lsn1', '$lsn0') / $n)::bigint")"
  done
done
