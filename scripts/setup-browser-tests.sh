#!/bin/sh
# Installs the pinned playwright-core (tests/browser/package-lock.json) into
# tests/browser/node_modules for the reviewer-page test. Idempotent: does nothing when
# node_modules matches the lock file already. The browser is Debian's chromium
# (scripts/install-deps.sh); playwright never downloads one.
set -eu
dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
cd "$dir"
stamp=node_modules/.interlock-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "setup-browser-tests: npm not found (install nodejs)" >&2; exit 1; }
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
