#!/bin/sh
# Installs the pinned npm packages the MCP integration tests and benchmark run against
# (tests/integration/mcp/node/package-lock.json) into tests/integration/mcp/node/node_modules.
# Idempotent: does nothing when node_modules matches the lock file already.
set -eu
dir="$(cd "$(dirname "$0")/.." && pwd)/tests/integration/mcp/node"
cd "$dir"
stamp=node_modules/.interlock-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "setup-node-tests: npm not found (install nodejs)" >&2; exit 1; }
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
