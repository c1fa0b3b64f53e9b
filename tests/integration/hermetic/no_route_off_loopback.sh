#!/bin/bash
# An attacker's test of the test network: from inside scripts/hermetic.sh's namespace, the
# only interface is `lo`, there is no route, and a connection to a documentation address
# (192.0.2.1, RFC 5737) or a public resolver's fails at once with "Network is unreachable"
# (no packet leaves: there is no interface to send it on), while loopback still works.
set -euo pipefail
if [ "${INTERLOCK_HERMETIC_NETNS:-}" != 1 ]; then
  echo "SKIP: not in scripts/hermetic.sh's network namespace (make test runs ctest there)"
  exit 77
fi
fail() {
  echo "hermetic: FAIL: $*" >&2
  exit 1
}
# (`ip`, not /sys/class/net: sysfs shows the namespace of whoever mounted it.)
ifaces=$(ip -o link show | awk -F': ' '{print $2}')
[ "$ifaces" = lo ] || fail "interfaces other than lo: $ifaces"
[ -z "$(ip route show)" ] || fail "an IPv4 route exists: $(ip route show)"
! ip -6 route show | grep -qv '^::1 \|^fe80' || fail "an IPv6 route exists: $(ip -6 route show)"
for addr in 192.0.2.1 1.1.1.1; do
  if err=$(timeout 5 bash -c "exec 3<>/dev/tcp/$addr/80" 2>&1); then
    fail "connected to $addr"
  fi
  [[ "$err" == *"Network is unreachable"* ]] || fail "connect to $addr: $err"
done
# Loopback works: a listener on port 0 and a connection to it.
port_file=$(mktemp)
trap 'rm -f "$port_file"; kill "$server" 2>/dev/null || true' EXIT
python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
open(sys.argv[1], "w").write(str(s.getsockname()[1])); c, _ = s.accept(); c.sendall(b"ok")
' "$port_file" &
server=$!
for _ in $(seq 1 50); do [ -s "$port_file" ] && break; sleep 0.1; done
exec 3<>"/dev/tcp/127.0.0.1/$(cat "$port_file")"
read -r -t 5 answer <&3 || true
[ "$answer" = ok ] || fail "loopback: no answer"
echo "hermetic: only lo, no route; 192.0.2.1 and 1.1.1.1 unreachable; loopback works"
