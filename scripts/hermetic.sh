#!/bin/sh
# shellcheck disable=SC2016  # the single-quoted scripts are expanded by the inner shells
# Usage: scripts/hermetic.sh COMMAND [ARG...]
# Runs COMMAND in a network namespace of its own whose only interface is loopback, so a
# test that tried to reach any address but 127.0.0.1 / ::1 would fail at once rather than
# send traffic (the tests' rule: loopback only; what they need from the network,
# scripts/prepare-tests.sh fetches first).
#   root:      unshare --net, lo brought up, COMMAND as root.
#   otherwise: a user namespace mapping the user to root only to bring lo up, then a
#              nested one mapping them back to their own uid and gid, so COMMAND runs as
#              the same unprivileged user (files keep their owner; other users' files read
#              as nobody inside). Needs unprivileged user namespaces (as bwrap does).
# Where neither works, or with INTERLOCK_HERMETIC=0, COMMAND runs as it is, with a line
# saying so. Inside, INTERLOCK_HERMETIC_NETNS=1 tells the tests (tests/integration/hermetic)
# that the namespace is in force.
set -eu
up_lo='ip link set lo up && INTERLOCK_HERMETIC_NETNS=1 && export INTERLOCK_HERMETIC_NETNS'
if [ "${INTERLOCK_HERMETIC:-1}" != 0 ] && command -v unshare >/dev/null 2>&1 &&
  command -v ip >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    if unshare --net true 2>/dev/null; then
      exec unshare --net -- /bin/sh -c "$up_lo"' && exec "$@"' hermetic "$@"
    fi
  elif unshare --user --map-root-user --net -- /bin/sh -c \
    'ip link set lo up && exec unshare --user --map-user="$1" --map-group="$2" true' \
    hermetic "$(id -u)" "$(id -g)" 2>/dev/null; then
    exec unshare --user --map-root-user --net -- /bin/sh -c "$up_lo"' && uid=$1 gid=$2 &&
      shift 2 && exec unshare --user --map-user="$uid" --map-group="$gid" -- "$@"' \
      hermetic "$(id -u)" "$(id -g)" "$@"
  fi
fi
if [ "${INTERLOCK_HERMETIC:-1}" = 0 ]; then
  echo "hermetic: INTERLOCK_HERMETIC=0: running with the host's network" >&2
else
  echo "hermetic: no network namespace (needs unshare and ip, and root or unprivileged user" \
    "namespaces): running with the host's network; the tests still use loopback only" >&2
fi
exec "$@"
