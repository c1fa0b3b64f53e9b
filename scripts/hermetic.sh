#!/bin/sh
# Usage: scripts/hermetic.sh COMMAND [ARG...]
# Runs COMMAND in a network namespace of its own whose only interface is loopback, so a
# test that tried to reach any address but 127.0.0.1 / ::1 would fail at once rather than
# send traffic (the tests' rule: loopback only; what they need from the network,
# scripts/prepare-tests.sh fetches first). Needs root for the namespace (unshare --net);
# otherwise, or with INTERLOCK_HERMETIC=0, COMMAND runs as it is, with a line saying so.
# Inside, INTERLOCK_HERMETIC_NETNS=1 tells the tests (tests/integration/hermetic) that
# the namespace is in force.
set -eu
if [ "${INTERLOCK_HERMETIC:-1}" != 0 ] && [ "$(id -u)" -eq 0 ] &&
  command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 &&
  unshare --net true 2>/dev/null; then
  # shellcheck disable=SC2016  # expanded by the inner shell
  exec unshare --net -- /bin/sh -c \
    'ip link set lo up && INTERLOCK_HERMETIC_NETNS=1 exec "$@"' hermetic "$@"
fi
if [ "${INTERLOCK_HERMETIC:-1}" = 0 ]; then
  echo "hermetic: INTERLOCK_HERMETIC=0: running with the host's network" >&2
else
  echo "hermetic: no network namespace (needs root and unshare --net): running with the" \
    "host's network; the tests still use loopback only" >&2
fi
exec "$@"
