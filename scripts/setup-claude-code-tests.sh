#!/bin/sh
# Installs the pinned Claude Code the Claude Code integration tests drive
# (tests/integration/claude_code/package-lock.json: `@anthropic-ai/claude-code` and, through
# its optionalDependencies, the native binary of this platform, e.g.
# `@anthropic-ai/claude-code-linux-x64`) into tests/integration/claude_code/node_modules.
# The package's postinstall (run by npm under the machine's Node; the package declares
# Node 22, and the native binary needs no Node at all) puts that binary at
# node_modules/.bin/claude. Idempotent and safe to run concurrently (see npm-ci-pinned.sh).
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
exec "$root/scripts/npm-ci-pinned.sh" "$root/tests/integration/claude_code"
