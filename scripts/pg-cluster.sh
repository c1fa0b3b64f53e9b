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
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/pg" -w -t 60 -l "$dir/sock/pg.log" \
    -o "-c listen_addresses=127.0.0.1 -p $pgport -c unix_socket_directories=$dir/sock -c fsync=on -c synchronous_commit=on -c max_connections=$2 -c shared_buffers=256MB" \
    start >/dev/null
  "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U postgres interlock
  # shellcheck disable=SC2034 # for the sourcing script
  uri="postgresql://postgres@127.0.0.1:$pgport/interlock"
}

pg_cluster_stop() {  # DIR
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$1/pg" -m immediate stop >/dev/null 2>&1 || true
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
