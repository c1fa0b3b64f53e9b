#!/bin/sh
# The ext_authz door's Check beside the HTTP API's decision (POST /v1/runs/{id}/calls) in one
# run against one daemon (docs/performance.md): bench/ext_authz/bench-ext-authz.sh BUILD [N].
# Starts `BUILD/interlock serve` on ports 0 in a temp dir (store durability `full`), one agent,
# and runs bench.mjs with the ext_authz suite's pinned gRPC client.
set -eu
build="${1:?usage: bench-ext-authz.sh BUILD [N]}"
n="${2:-2000}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
"$root/scripts/setup-ext-authz-tests.sh" >/dev/null
d=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$d"' EXIT
cat >"$d/agent.yaml" <<'YAML'
agent:
  id: "bench-gw"
tools:
  allowed:
    - name: "read_file"
execution:
  max_steps: 100000000
YAML
printf 'ext_authz:\n  listen: 127.0.0.1:0\n' >"$d/interlock.yaml"
"$build/interlock" serve --listen 127.0.0.1:0 --store "$d/bench.db" --policies "$d/agent.yaml" \
  --config "$d/interlock.yaml" --ready-file "$d/ready" >"$d/log" 2>&1 &
pid=$!
i=0
while [ ! -s "$d/ready" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
http_port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$d/ready")
grpc_port=$(sed -n 's/.*ext_authz gRPC on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$d/log")
token=$("$build/interlock" token create --store "$d/bench.db" --agent bench-gw \
  --policy "$d/agent.yaml" 2>/dev/null)
node "$root/bench/ext_authz/bench.mjs" "$grpc_port" "$http_port" "$token" "$n"
