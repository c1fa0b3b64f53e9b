#!/bin/sh
# Usage: scripts/make-test.sh BUILD_DIR JOBS   (what `make test` runs, configured first)
# Builds everything, fetches what the tests need from the network while the CPUs compile
# (scripts/prepare-tests.sh: the npm packages from the start, the package test's Debian
# root once the two programs it packages are built), then runs every test, loopback only
# (scripts/hermetic.sh: in a network namespace whose only interface is lo).
set -eu
build="${1:?usage: make-test.sh BUILD_DIR JOBS}"
jobs="${2:?usage: make-test.sh BUILD_DIR JOBS}"
root="$(cd "$(dirname "$0")/.." && pwd)"
npm_pid=""
pkg_pid=""
# Each fetch runs in a process group of its own (setsid), so that a failed build stops it
# with its npm or mmdebstrap.
cleanup() {
  for p in $npm_pid $pkg_pid; do kill -- "-$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setsid "$root/scripts/prepare-tests.sh" --npm "$build" >"$build/prepare-npm.log" 2>&1 &
npm_pid=$!
cmake --build "$build" -j "$jobs" --target interlock interlock-sandbox-bridge
setsid "$root/scripts/prepare-tests.sh" --package "$build" >"$build/prepare-package.log" 2>&1 &
pkg_pid=$!
cmake --build "$build" -j "$jobs"

rc=0
for step in npm package; do
  if [ "$step" = npm ]; then pid=$npm_pid; else pid=$pkg_pid; fi
  if wait "$pid"; then
    tail -n 1 "$build/prepare-$step.log"
  else
    cat "$build/prepare-$step.log" >&2
    rc=1
  fi
done
npm_pid=""
pkg_pid=""
[ "$rc" -eq 0 ] || { echo "make-test: what the tests need could not be fetched" >&2; exit 1; }
exec "$root/scripts/hermetic.sh" ctest --test-dir "$build" --output-on-failure -j "$jobs" \
  --timeout 600
