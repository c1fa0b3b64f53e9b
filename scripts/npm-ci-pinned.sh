#!/bin/sh
# Usage: scripts/npm-ci-pinned.sh DIR
# Installs DIR/package-lock.json into DIR/node_modules with `npm ci`, once: does nothing
# when node_modules already matches the lock file. Safe to call from many processes at
# once (ctest -j runs each test of a suite as its own process, and every one of them
# calls this first): an exclusive lock on DIR/.npm-ci.lock serialises the installs, and
# the stamp is re-checked under the lock, so a second caller never deletes node_modules
# under a test that is already using it.
set -eu
dir="$1"
cd "$dir"
stamp=node_modules/.interlock-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
fresh() { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; }
fresh && exit 0
command -v npm >/dev/null || { echo "npm-ci-pinned: npm not found (install nodejs)" >&2; exit 1; }
exec 9>.npm-ci.lock
flock -w 600 9 || { echo "npm-ci-pinned: timed out waiting for $dir/.npm-ci.lock" >&2; exit 1; }
fresh && exit 0
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
