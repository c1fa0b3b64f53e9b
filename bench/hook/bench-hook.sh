#!/usr/bin/env bash
# Claude Code's hook, per PreToolUse event (issue 34: <= 5 ms p50 through the command hook,
# <= 1 ms p50 added through the daemon's HTTP hook), with the same-run floors.
#
#   bench/hook/bench-hook.sh [BUILD_DIR|BINARY] [OLD_BINARY] [RUNS] [DURATION] [ROUNDS]
#
# (a) The command hook `interlock hook claude-code`, wall from the spawn to its answer
#     read to EOF and the process reaped (what Claude Code waits for), RUNS sequential
#     invocations per round (build/bench/hook/hook_spawn), each a new tool use (its own
#     tool_use_id, so a fresh decision, never a replay): standalone on
#     examples/policies/claude-code.yaml (a Read allowed), and --daemon against a daemon
#     this script starts; the floors of the same run: /bin/true, a static hello and a
#     static program that appends a page and fdatasyncs it (cc -static, when a static libc
#     is installed), and `interlock --version` (the program's own start-up). With OLD_BINARY (e.g. a copy of an older build) both binaries run,
#     alternating, ROUNDS rounds each.
# (b) The HTTP hook: wrk at 1 and 64 connections on one daemon (durability full), GET
#     /healthz (the floor), POST /v1/runs/RUN/calls (the same decision through the plain
#     API) and POST /v1/hooks/claude-code (a new tool use per request); added = hook p50 -
#     healthz p50, and hook p50 - calls p50. With OLD_BINARY, that daemon too.
# PARTS=a or PARTS=b runs one part only; DURABILITY=normal runs (b)'s daemon without the
# fsync per group commit (what the hook's own work adds, apart from the disk).
# Not a test: numbers depend on the machine and its load (printed).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
arg=${1:-build}
old=${2:-}
runs=${3:-200}
duration=${4:-5s}
rounds=${5:-3}
parts=${PARTS:-ab}
durability=${DURABILITY:-full}
if [ -x "$arg" ] && [ ! -d "$arg" ]; then bin=$(realpath "$arg"); build=$(dirname "$bin"); else
  build=$arg; [ -d "$build" ] || build="$root/$build"; bin="$build/interlock"
fi
spawn="$build/bench/hook/hook_spawn"
[ -x "$spawn" ] || spawn="$root/build/bench/hook/hook_spawn"
[ -x "$bin" ] || { echo "no interlock binary at $bin" >&2; exit 2; }
[ -x "$spawn" ] || { echo "no hook_spawn (cmake --build BUILD --target hook_spawn)" >&2; exit 2; }
[ -z "$old" ] || old=$(realpath "$old")

work=$(mktemp -d /tmp/interlock-hook-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "new: $bin${old:+; old: $old}; $runs spawns x $rounds rounds; wrk -d $duration"

# ---- (a) the command hook ------------------------------------------------------------
mkdir -p "$work/project"
policy="$root/examples/policies/claude-code.yaml"
# The recorded PreToolUse of a Read inside the project (cwd: the workspace).
input() {  # session
  sed -e "s#/home/dev/shop#$work/project#g" -e "s#\"session_id\":\"[^\"]*\"#\"session_id\":\"$1\"#" \
    "$root/tests/integration/mcp/fixtures/claude_code_hook/read.json"
}
printf 'int main(void){static const char m[]="{}\\n";return write(1,m,3)!=3;}\n' |
  sed '1i #include <unistd.h>' >"$work/hello.c"
hello=""
if cc -O2 -static -o "$work/hello" "$work/hello.c" 2>/dev/null; then hello="$work/hello"; fi
# The durability floor: a static program that appends a page to a file beside the hook's
# store and fdatasyncs it (the one fsync a durable decision needs), then answers.
cat >"$work/fsync.c" <<'EOF_C'
#include <fcntl.h>
#include <unistd.h>
int main(int argc, char** argv) {
  static char page[4096];
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (argc < 2 || fd < 0 || write(fd, page, sizeof page) != sizeof page || fdatasync(fd) != 0) return 1;
  return write(1, "{}\n", 3) != 3;
}
EOF_C
fsync_floor=""
if cc -O2 -static -o "$work/fsync" "$work/fsync.c" 2>/dev/null; then fsync_floor="$work/fsync"; fi

spawn_line() {  # label input -- command...
  local label=$1 in=$2
  shift 3
  "$spawn" --label "$label" "$runs" "$in" -- "$@" | sed 's/^RESULT //'
}

# The daemon the --daemon hook asks (and (b) measures): its own store, an agent token.
start_daemon() {  # binary dir [durability] -> sets port, token
  local b=$1 d=$2
  mkdir -p "$d"
  echo "durability: ${3:-full}" >"$d/interlock.yaml"
  token=$("$b" token create --store "$d/bench.db" --agent bench-cc --policy "$root/bench/hook/policies" 2>/dev/null)
  "$b" serve --config "$d/interlock.yaml" --listen 127.0.0.1:0 --policies "$root/bench/hook/policies" \
    --store "$d/bench.db" --ready-file "$d/ready.json" >"$d/daemon.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do [ -s "$d/ready.json" ] && break; sleep 0.05; done
  [ -s "$d/ready.json" ] || { echo "daemon did not start: $(cat "$d/daemon.log")" >&2; exit 1; }
  port=$(sed -E 's/.*"port":([0-9]+).*/\1/' "$d/ready.json")
}
stop_daemon() {
  local p=${pids[-1]}
  kill "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  unset 'pids[-1]'
}

builds=(new)
[ -z "$old" ] || builds=(old new)
binary_of() { if [ "$1" = old ]; then echo "$old"; else echo "$bin"; fi; }

if [[ $parts == *a* ]]; then
echo
echo "(a) command hook, per PreToolUse (wall, spawn to answer and exit, ms)"
for r in $(seq "$rounds"); do
  spawn_line "floor:/bin/true" "$root/tests/fixtures/claude_code_http/pre_tool_use_read.json" -- /bin/true
  [ -z "$hello" ] || spawn_line "floor:static-hello" "$root/tests/fixtures/claude_code_http/pre_tool_use_read.json" -- "$hello"
  [ -z "$fsync_floor" ] || spawn_line "floor:static-fdatasync" "$root/tests/fixtures/claude_code_http/pre_tool_use_read.json" -- "$fsync_floor" "$work/fsync.bin"
  for b in "${builds[@]}"; do
    exe=$(binary_of "$b")
    input "s-$b-$r" >"$work/in-$b-$r.json"
    spawn_line "$b:--version" "$work/in-$b-$r.json" -- "$exe" --version
    spawn_line "$b:hook-standalone" "$work/in-$b-$r.json" -- "$exe" hook claude-code \
      --policy "$policy" --store "$work/hook-$b.db"
  done
done
# --daemon: the session's run is started once, then every call is one daemon decision.
sed -e 's#"cwd":"[^"]*"#"cwd":"/home/dev/shop"#' \
  "$root/tests/fixtures/claude_code_http/pre_tool_use_read.json" >"$work/in-daemon.json"
for b in "${builds[@]}"; do
  exe=$(binary_of "$b")
  start_daemon "$exe" "$work/d-$b"
  export XDG_STATE_HOME="$work/state-$b" INTERLOCK_TOKEN="$token"
  for r in $(seq "$rounds"); do
    spawn_line "$b:hook--daemon" "$work/in-daemon.json" -- "$exe" hook claude-code \
      --daemon "http://127.0.0.1:$port" --token-env INTERLOCK_TOKEN
  done
  stop_daemon
done
fi

# ---- (b) the HTTP hook ---------------------------------------------------------------
if [[ $parts == *b* ]]; then
echo
echo "(b) HTTP hook on one daemon (durability $durability): p50/p99 ms; added = hook - floor"
wrk_line() {  # mode conns
  local threads=$(($2 < 2 ? 1 : 2))
  MODE=$1 INTERLOCK_TOKEN=$token RUN_ID=${run:-} wrk -t$threads -c"$2" -d"$duration" \
    -s "$root/bench/hook/hook.lua" "http://127.0.0.1:$port" | sed -n 's/^RESULT //p'
}
field() { sed -E "s/.*$1=([^ ]+).*/\\1/" <<<"$2"; }
for b in "${builds[@]}"; do
  exe=$(binary_of "$b")
  start_daemon "$exe" "$work/h-$b" "$durability"
  run=$(curl -s -X POST -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/runs" |
    sed -E 's/.*"run_id":"([^"]+)".*/\1/')
  for conns in 1 64; do
    for r in $(seq "$rounds"); do
      h=$(wrk_line healthz "$conns")
      c=$(wrk_line calls "$conns")
      k=$(wrk_line hook "$conns")
      hp=$(field p50_ms "$h")
      cp=$(field p50_ms "$c")
      kp=$(field p50_ms "$k")
      printf '%-4s conns=%-3s healthz: %s\n%-4s conns=%-3s calls:   %s\n%-4s conns=%-3s hook:    %s\n' \
        "$b" "$conns" "$h" "$b" "$conns" "$c" "$b" "$conns" "$k"
      printf '%-4s conns=%-3s added p50: hook-healthz %.3f ms, hook-calls %.3f ms\n' "$b" "$conns" \
        "$(echo "$kp - $hp" | bc -l)" "$(echo "$kp - $cp" | bc -l)"
    done
  done
  stop_daemon
done
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
