#!/bin/sh
# Usage: scripts/at-idle.sh COMMAND [ARG...]
# Runs COMMAND at idle priority: it gets only the CPU that nothing else wants, so a build
# started beside the tests (the last release's for the upgrade tests, CI's sanitizer build)
# fills their gaps instead of slowing them. SCHED_IDLE where the kernel allows it, else nice
# 19. Start it in a session of its own (setsid): a new session is also a new autogroup where
# the kernel has them (/proc/sys/kernel/sched_autogroup_enabled), which the scheduler shares
# the CPUs with as with the build's whole group whatever its tasks' policy, so the group is
# lowered to nice 19 first.
set -eu
[ "$#" -gt 0 ] || { echo "usage: at-idle.sh COMMAND [ARG...]" >&2; exit 2; }
echo 19 >/proc/self/autogroup 2>/dev/null || true
if command -v chrt >/dev/null 2>&1 && chrt --idle 0 true 2>/dev/null; then
  exec chrt --idle 0 "$@"
fi
exec nice -n 19 "$@"
