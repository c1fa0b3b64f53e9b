#!/bin/sh
# Usage: scripts/make-test.sh BUILD_DIR JOBS   (what `make test` runs, configured first)
# Builds everything, fetches what the tests need from the network while the CPUs compile
# (scripts/prepare-tests.sh: the npm packages from the start, the Debian roots of the
# package test and the container image once the two programs they package are built), then runs every test, loopback only
# (scripts/hermetic.sh: in a network namespace whose only interface is lo).
# The upgrade tests' old program (the last landed release, a ~4-minute compile of its
# own; tests/integration/upgrade) is built from the start at idle priority (SCHED_IDLE:
# it gets only the CPU that nothing else wants), so it fills the gaps of the build and
# of the other tests instead of running alone; the upgrade tests (named Upgrade*: the
# fixture UpgradeLastReleaseBuild, UpgradeTest.*, UpgradePgTest.*) run last, once it is
# there. ctest alone still builds it in the UpgradeLastReleaseBuild fixture.
set -eu
started=$(date +%s)
build="${1:?usage: make-test.sh BUILD_DIR JOBS}"
jobs="${2:?usage: make-test.sh BUILD_DIR JOBS}"
root="$(cd "$(dirname "$0")/.." && pwd)"
npm_pid=""
pkg_pid=""
old_pid=""
# Each fetch, and the old program's build, runs in a process group of its own (setsid), so
# that a failed build stops it with its npm, mmdebstrap or compiler.
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
  for p in $npm_pid $pkg_pid $old_pid; do kill -- "-$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setsid "$root/scripts/prepare-tests.sh" --npm "$build" >"$build/prepare-npm.log" 2>&1 &
npm_pid=$!
prebuild="$build/prebuild-last-release.sh"  # written by the configure, with the fixture
if [ -x "$prebuild" ]; then
  setsid "$root/scripts/at-idle.sh" "$prebuild" >"$build/prebuild-last-release.log" 2>&1 &
  old_pid=$!
fi
cmake --build "$build" -j "$jobs" --target interlock interlock-sandbox-bridge
setsid "$root/scripts/prepare-tests.sh" --package "$build" >"$build/prepare-package.log" 2>&1 &
pkg_pid=$!
cmake --build "$build" -j "$jobs"
echo "make-test: built at $(($(date +%s) - started))s"

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
tests() { # ctest's selection arguments
  "$root/scripts/hermetic.sh" ctest --test-dir "$build" --output-on-failure -j "$jobs" \
    --timeout 600 "$@"
}
if [ -z "$old_pid" ]; then
  tests
  exit
fi
rc=0
tests -E '^Upgrade' || rc=$?
echo "make-test: the tests but the upgrade tests done at $(($(date +%s) - started))s"
# A failed or killed build is not an error here: the fixture builds it again, or fails
# saying why (a shallow clone, say).
wait "$old_pid" || true
old_pid=""
grep "^build-last-release:" "$build/prebuild-last-release.log" | tail -n 1 || true
echo "make-test: the upgrade tests, after the others"
tests -R '^Upgrade' || rc=$?
exit "$rc"
