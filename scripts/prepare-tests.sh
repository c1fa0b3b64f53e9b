#!/bin/sh
# Usage: scripts/prepare-tests.sh [--npm|--package] BUILD_DIR
# Everything the tests need from outside this machine, fetched before they run, so that
# the tests themselves are loopback only (`make test` then runs them in a network namespace
# of their own, scripts/hermetic.sh):
#   --npm      the pinned npm packages of every suite that runs Node (each suite's
#              scripts/setup-*.sh, side by side: npm-ci-pinned.sh from its package-lock.json;
#              nothing happens when node_modules already matches); needs no build;
#   --package  as root, the Debian 12 roots the package test installs into
#              (packaging/test-package.sh --prepare, cached in BUILD_DIR/package-test/) and
#              the container image is built from (packaging/image/build-image.sh --prepare,
#              cached in BUILD_DIR/image/), side by side; needs the built `interlock` and
#              `interlock-sandbox-bridge`;
#   neither    both, side by side.
# scripts/make-test.sh runs the two while the build compiles. Idempotent; fails, with the
# failing step's output, when something cannot be fetched.
set -eu
what=all
case "${1:-}" in
  --npm) what=npm; shift ;;
  --package) what=package; shift ;;
esac
build="${1:?usage: prepare-tests.sh [--npm|--package] BUILD_DIR}"
root="$(cd "$(dirname "$0")/.." && pwd)"
start=$(date +%s)

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
pids=""
if [ "$what" != package ]; then
  # Each suite's own setup script (what its tests call too); the TypeScript client suite
  # has none beside its run.sh.
  for setup in setup-node-tests setup-conformance setup-browser-tests setup-idp \
    setup-claude-code-tests setup-kubernetes-tests setup-ext-authz-tests; do
    "$root/scripts/$setup.sh" >"$logs/$setup.log" 2>&1 &
    pids="$pids $!:$setup"
  done
  "$root/scripts/npm-ci-pinned.sh" "$root/tests/integration/clients/typescript" \
    >"$logs/clients-typescript.log" 2>&1 &
  pids="$pids $!:clients-typescript"
fi

rc=0
if [ "$what" != npm ] && [ "$(id -u)" -eq 0 ]; then
  "$root/packaging/image/build-image.sh" --prepare "$build" >"$logs/image.log" 2>&1 &
  image_pid=$!
  "$root/packaging/test-package.sh" --prepare "$build" >"$logs/package.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    cat "$logs/package.log" >&2
    echo "prepare-tests: the package test's Debian root could not be made" >&2
  else
    rc=0
  fi
  if ! wait "$image_pid"; then
    cat "$logs/image.log" >&2
    echo "prepare-tests: the container image's Debian root could not be made" >&2
    rc=1
  fi
fi

for entry in $pids; do
  if ! wait "${entry%%:*}"; then
    cat "$logs/${entry#*:}.log" >&2
    echo "prepare-tests: npm ci failed (${entry#*:})" >&2
    rc=1
  fi
done
[ "$rc" -eq 0 ] && echo "prepare-tests ($what): ready in $(($(date +%s) - start)) s"
exit "$rc"
