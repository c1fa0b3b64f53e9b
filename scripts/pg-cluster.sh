# shellcheck shell=bash
# A private PostgreSQL cluster on 127.0.0.1 for the benchmark scripts (sourced, bash):
#   pg_bench_setup NAME                    a work directory /tmp/interlock-NAME.XXXXXX (sets
#                                          work) and pids=(): at exit the pids are killed,
#                                          the cluster stopped, the directory removed
#   pg_cluster_start DIR MAX_CONNECTIONS   initdb in DIR/pg, start it (fsync and
#                                          synchronous_commit on, shared_buffers 256MB, a free
#                                          port, sockets in DIR/sock), create the database
#                                          `interlock`; sets pgport, uri and pgbin
#   pg_cluster_stop DIR                    stop it at once (for an EXIT trap)
#   pg_cluster_crash DIR                   stop it at once and start it again, same port
#                                          (what a crash does: unlogged tables come back empty)
#   pg_daemon_decide BIN SECONDS           one `interlock serve` on $uri (durability full)
#                                          decides for SECONDS under wrk (64 connections,
#                                          bench/daemon/decide.lua, 64 runs), then stops
#   free_port                              a free loopback port
# As root the cluster runs as nobody (PostgreSQL refuses root): `"${as_pg[@]}" CMD` runs a
# server program as that user. INTERLOCK_PG_BIN overrides the programs' directory.
pgbin=${INTERLOCK_PG_BIN:-/usr/lib/postgresql/15/bin}
as_pg=()
[ "$(id -u)" = 0 ] && as_pg=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pg_cluster_start() {  # DIR MAX_CONNECTIONS
  local dir=$1
  mkdir -p "$dir/pg" "$dir/sock"
  [ "$(id -u)" = 0 ] && chown nobody:nogroup "$dir/pg" "$dir/sock"
  "${as_pg[@]}" "$pgbin/initdb" -D "$dir/pg" -U postgres -A trust -E UTF8 --no-instructions >/dev/null
  pgport=$(free_port)
  pg_max_connections=$2
  pg_server_start "$dir"
  "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U postgres interlock
  # shellcheck disable=SC2034 # for the sourcing script
  uri="postgresql://postgres@127.0.0.1:$pgport/interlock"
}

pg_server_start() {  # DIR (pgport and pg_max_connections set)
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$1/pg" -w -t 60 -l "$1/sock/pg.log" \
    -o "-c listen_addresses=127.0.0.1 -p $pgport -c unix_socket_directories=$1/sock -c fsync=on -c synchronous_commit=on -c max_connections=$pg_max_connections -c shared_buffers=256MB" \
    start >/dev/null
}

pg_cluster_stop() {  # DIR
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$1/pg" -m immediate stop >/dev/null 2>&1 || true
}

pg_cluster_crash() {  # DIR
  pg_cluster_stop "$1"
  pg_server_start "$1"
}

pg_daemon_decide() {  # BIN SECONDS
  local bin=$1 policies dir=$work/decide port token
  policies="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/bench/daemon"
  mkdir -p "$dir/keys"
  echo "durability: full" >"$dir/d.yaml"
  "$bin" serve --config "$dir/d.yaml" --listen 127.0.0.1:0 --policies "$policies/policies" \
    --store "$uri" --keys "$dir/keys" --ready-file "$dir/d.ready" >"$dir/d.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do [ -s "$dir/d.ready" ] && break; sleep 0.1; done
  [ -s "$dir/d.ready" ] || { echo "the daemon did not start:" >&2; cat "$dir/d.log" >&2; return 1; }
  port=$(sed -E 's/.*"port":([0-9]+).*/\1/' "$dir/d.ready")
  token=$("$bin" token create --store "$uri" --keys "$dir/keys" --agent bench-agent \
    --policy "$policies/policies" 2>/dev/null)
  for _ in $(seq 64); do
    curl -s -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/runs" |
      sed -E 's/.*"run_id":"([^"]+)".*/\1/'
    echo
  done | grep -v '^$' >"$dir/runs"
  KIND=allow INTERLOCK_TOKEN=$token RUNS_FILE=$dir/runs wrk -t2 -c64 -d"$2s" \
    -s "$policies/decide.lua" "http://127.0.0.1:$port" >/dev/null
  kill "${pids[@]}"
  wait 2>/dev/null || true
  pids=()
}

pg_bench_setup() {  # NAME
  work=$(mktemp -d "/tmp/interlock-$1.XXXXXX")
  chmod 755 "$work"
  pids=()
  trap pg_bench_cleanup EXIT
}

pg_bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pg_cluster_stop "$work"
  rm -rf "$work"
}
