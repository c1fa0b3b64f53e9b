#!/bin/sh
# Installs the pinned npm packages the MCP integration tests and benchmark run against
# (tests/integration/mcp/node/package-lock.json) into tests/integration/mcp/node/node_modules.
# Idempotent and safe to run concurrently (see npm-ci-pinned.sh).
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
exec "$root/scripts/npm-ci-pinned.sh" "$root/tests/integration/mcp/node"
