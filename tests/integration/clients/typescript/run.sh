#!/bin/sh
# Usage: run.sh INTERLOCK_BIN TEST_FILE. Installs the pinned packages (once, shared by the
# suite), then runs one node:test file against the interlock binary. Exit 77: skipped.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
if ! command -v node >/dev/null 2>&1; then
  echo "typescript client tests: node not found (scripts/install-deps.sh); skipped"
  exit 77
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "typescript client tests: node $major < 20; skipped"
  exit 77
fi
"$root/scripts/npm-ci-pinned.sh" "$here"
cd "$here"
INTERLOCK_BIN="$1" exec node --test --test-timeout=120000 --test-reporter=spec "$2"
