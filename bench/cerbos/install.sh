#!/usr/bin/env bash
# Installs the Cerbos PDP binary (npm package @cerbos/cerbos-linux-x64) into DIR
# (default $TMPDIR/interlock-cerbos, outside the repository) and prints the binary's path.
set -euo pipefail
dir=${1:-${TMPDIR:-/tmp}/interlock-cerbos}
mkdir -p "$dir"
if [ ! -d "$dir/node_modules/@cerbos/cerbos-linux-x64" ]; then
  (cd "$dir" && npm install --silent --no-audit --no-fund @cerbos/cerbos-linux-x64 >&2)
fi
bin=$(find "$dir/node_modules/@cerbos/cerbos-linux-x64" -type f -name "cerbos*" ! -name "*.md" ! -name "*.json" | head -1)
chmod +x "$bin"
echo "$bin"
