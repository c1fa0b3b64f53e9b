#!/bin/sh
# Added latency of the stdio MCP gateway over calling server-everything's echo directly.
# Usage: [DURABILITY=full,normal] scripts/bench-mcp.sh [BUILD_DIR] [N]
#   (default build, 2000 calls each way; one gateway run per --durability value, each on
#   a fresh store; DURABILITY=default runs a build that has no --durability flag)
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
n="${2:-2000}"
"$root/scripts/setup-node-tests.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# The benchmark script resolves the SDK from the test package's node_modules.
cp "$root/bench/mcp/echo_latency.mjs" "$root/tests/integration/mcp/node/.bench-echo-latency.mjs"
cp "$root/bench/mcp/latency.mjs" "$root/tests/integration/mcp/node/.bench-latency.mjs"
trap 'rm -rf "$tmp" "$root/tests/integration/mcp/node/.bench-echo-latency.mjs" "$root/tests/integration/mcp/node/.bench-latency.mjs"' EXIT
node "$root/tests/integration/mcp/node/.bench-echo-latency.mjs" "$build/interlock" \
  "$root/bench/mcp/policy.yaml" "$tmp/interlock.db" "$n"
