#!/usr/bin/env bash
# Added latency of the daemon's Streamable HTTP MCP gateway (/mcp/{upstream}) over calling
# server-everything's own Streamable HTTP endpoint directly, with the official SDK client
# (bench/mcp/http_latency.mjs): the same server as an HTTP upstream and as a stdio child.
# Loopback only; every process is stopped at the end.
# Usage: [DURABILITY=full|normal] [KEEP_ALIVE_MS=N] scripts/bench-mcp-http.sh [BUILD_DIR] [N]
# (KEEP_ALIVE_MS: the HTTP upstream's keep_alive_ms; 0 opens a connection per message).
# TLS=1 puts a TLS front (bench/mcp/tls_proxy.mjs, a certificate made for the run) before
# the server: the direct client and the daemon's `url:` upstream then speak https://.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
n="${2:-2000}"
bin="$build/interlock"
[ -x "$bin" ] || bin="$root/$build/interlock"
"$root/scripts/setup-node-tests.sh"
node_dir="$root/tests/integration/mcp/node"
server="$node_dir/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
work=$(mktemp -d /tmp/interlock-mcp-http.XXXXXX)
script="$node_dir/.bench-http-latency.mjs"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work" "$script" "$node_dir/.bench-latency.mjs"
}
trap cleanup EXIT

# server-everything listens on $PORT and does not say which port 0 chose: ask the kernel for
# a free loopback port first.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PORT=$port node "$server" streamableHttp >"$work/everything.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening" "$work/everything.log" && break; sleep 0.1; done
scheme=http
ca_line=""
if [ -n "${TLS:-}" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=bench-ca -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
    -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' >"$work/san.ext"
  openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -days 1 -extfile "$work/san.ext" -out "$work/tls.pem" 2>/dev/null
  node "$root/bench/mcp/tls_proxy.mjs" "$work/tls.pem" "$work/tls.key" "$port" >"$work/tls.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q "listening" "$work/tls.log" && break; sleep 0.1; done
  port=$(sed -n 's/^listening //p' "$work/tls.log")
  scheme=https
  ca_line="      ca_file: $work/ca.pem"
  export NODE_EXTRA_CA_CERTS="$work/ca.pem"
fi

mkdir -p "$work/policies"
cp "$root/bench/mcp/policy.yaml" "$work/policies/bench.yaml"
tok=$("$bin" token create --store "$work/bench.db" --agent bench-agent --policy "$work/policies")
cat >"$work/interlock.yaml" <<CONFIG
durability: ${DURABILITY:-full}
mcp:
  upstreams:
    http:
      url: $scheme://127.0.0.1:$port/mcp
${KEEP_ALIVE_MS:+      keep_alive_ms: $KEEP_ALIVE_MS}
$ca_line
    stdio:
      command: ["node", "$server", "stdio"]
CONFIG
"$bin" serve --config "$work/interlock.yaml" --listen 127.0.0.1:0 --policies "$work/policies" \
  --store "$work/bench.db" --ready-file "$work/ready.json" >"$work/daemon.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/ready.json" ] && break; sleep 0.1; done
daemon_port=$(sed -E 's/.*"port":([0-9]+).*/\1/' "$work/ready.json")

echo "durability: ${DURABILITY:-full}; upstream $scheme; keep_alive_ms: ${KEEP_ALIVE_MS:-default}; load: $(cut -d' ' -f1-3 /proc/loadavg)"
cp "$root/bench/mcp/http_latency.mjs" "$script"
cp "$root/bench/mcp/latency.mjs" "$node_dir/.bench-latency.mjs"
INTERLOCK_TOKEN=$tok node "$script" "$scheme://127.0.0.1:$port/mcp" \
  "http://127.0.0.1:$daemon_port/mcp" "$n" || { tail -20 "$work/daemon.log"; exit 1; }
