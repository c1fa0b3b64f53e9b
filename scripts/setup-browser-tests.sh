#!/bin/sh
# Installs the pinned playwright-core (tests/browser/package-lock.json) into
# tests/browser/node_modules for the reviewer-page test. Idempotent and safe to run
# concurrently (see npm-ci-pinned.sh). The browser is Debian's chromium
# (scripts/install-deps.sh); playwright never downloads one.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 exec "$root/scripts/npm-ci-pinned.sh" "$root/tests/browser"
