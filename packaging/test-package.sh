#!/usr/bin/env bash
# The package test (ctest label `package`; docs/operations.md#the-debian-package):
#   packaging/test-package.sh BUILD_DIR
# Builds the .deb, installs it with dpkg into a fresh Debian 12 root made by mmdebstrap
# from Debian's packages (variant `essential` plus the package's Depends and Recommends
# and systemd;
# the root's tarball is cached in BUILD_DIR/package-test/, keyed by that package list, so
# only the first run downloads), then in that root:
#   - checks the user, the modes of /etc/interlock and /var/lib/interlock, the conffiles;
#   - runs `systemd-analyze verify` on the installed unit;
#   - starts the unit's ExecStart as its User= with its sandboxing rebuilt by hand (a mount
#     namespace: the root read-only but ReadWritePaths, a private /tmp, no new privileges,
#     an empty capability bounding set, UMask 0077): systemd is not PID 1 here;
#   - checks /readyz and decides a call over the HTTP API, stops it with SIGTERM;
#   - runs `interlock doctor` and `interlock audit verify` as the service user;
#   - `dpkg -r` keeps /var/lib/interlock and the user, `dpkg -P` removes both.
# Needs root (chroot, mounts, dpkg in the root); without it, or without mmdebstrap, it
# exits 77 (skipped). Every phase prints its duration.
set -euo pipefail

build=$(cd "${1:?usage: test-package.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
work=$build/package-test
suite=bookworm
mirror=${INTERLOCK_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: the package test needs root (chroot, mount namespaces, dpkg in a Debian root)"
  exit 77
fi
for tool in mmdebstrap dpkg-deb unshare chroot curl systemd-analyze; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed (scripts/install-deps.sh installs it)"
    exit 77
  fi
done

t0=$(date +%s)
phase_start=$t0
phase() {  # phase NAME: prints how long the previous phase took
  local now
  now=$(date +%s)
  echo "package-test: [$((now - phase_start)) s] $1"
  phase_start=$now
}
fail() {
  echo "package-test: FAIL: $*" >&2
  exit 1
}

mkdir -p "$work"
deb=$("$src/packaging/build-deb.sh" "$build" "$work")
phase "built $(basename "$deb")"

# The root: Debian's essential set plus what the package names (versions and alternatives
# dropped: the first alternative is taken), and systemd, whose units `systemd-analyze
# verify --root` resolves the unit against.
pkgs=$( (dpkg-deb -f "$deb" Pre-Depends; dpkg-deb -f "$deb" Depends; dpkg-deb -f "$deb" Recommends
  echo systemd) |
  tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' | grep -v '^$' | sort -u |
  paste -sd, -)
key=$(printf '%s %s %s' "$suite" "$mirror" "$pkgs" | sha256sum | cut -c1-16)
tarball=$work/debian12-$key.tar
if [ ! -s "$tarball" ]; then
  echo "package-test: making a Debian 12 root with $pkgs (cached in $tarball)"
  rm -f "$work"/debian12-*.tar
  mmdebstrap --quiet --mode=root --variant=essential --include="$pkgs" --format=tar \
    "$suite" "$tarball.tmp" "$mirror" || fail "mmdebstrap could not make the root"
  mv "$tarball.tmp" "$tarball"
  phase "made the root tarball"
fi

root=$(mktemp -d "$work/root.XXXXXX")
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -KILL "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT
tar -C "$root" -xf "$tarball"
phase "unpacked the root"

# Runs "$@" chrooted in the root inside a private mount namespace, with /proc and a /dev of
# the usual device nodes bound from the host (as PrivateDevices=yes gives; it also works
# for a root unpacked on a nodev file system). With 1 as the first argument, the unit's
# file-system sandboxing too: the root read-only but /var/lib/interlock, a private /tmp.
# shellcheck disable=SC2016  # expanded by the inner shell
enter_script='
set -e
root=$1; sandbox=$2; shift 2
  if [ "$sandbox" = 1 ]; then
    mount --rbind "$root" "$root"
    mount --bind "$root/var/lib/interlock" "$root/var/lib/interlock"
    mount -o remount,bind,ro "$root"
    mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
  fi
  mount -t proc proc "$root/proc"
  mount -t tmpfs -o mode=0755 tmpfs "$root/dev"
  for node in null zero full random urandom; do
    touch "$root/dev/$node"
    mount --bind "/dev/$node" "$root/dev/$node"
  done
  ln -s /proc/self/fd "$root/dev/fd"
  ln -s /proc/self/fd/0 "$root/dev/stdin"
  ln -s /proc/self/fd/1 "$root/dev/stdout"
  ln -s /proc/self/fd/2 "$root/dev/stderr"
  exec chroot "$root" "$@"
'
enter() { unshare --mount --propagation private /bin/sh -c "$enter_script" sh "$root" "$@"; }
in_root() { enter 0 "$@"; }
# As the service user, the way the unit runs it (no new privileges, no capabilities).
# shellcheck disable=SC2016  # expanded in the root
run_as_service='cd /var/lib/interlock && umask 077 &&
  exec setpriv --reuid=interlock --regid=interlock --init-groups --no-new-privs \
    --bounding-set=-all --inh-caps=-all env INTERLOCK_STORE=/var/lib/interlock/interlock.db "$@"'
as_service() { enter 0 /bin/sh -c "$run_as_service" sh "$@"; }
mode_of() { in_root stat -c "%a %U:%G" "$1"; }
expect_mode() {
  local got
  got=$(mode_of "$1")
  [ "$got" = "$2" ] || fail "$1 is $got, expected $2"
}

cp "$deb" "$root/tmp/interlock.deb"
in_root dpkg -i /tmp/interlock.deb >"$work/dpkg-install.log" 2>&1 ||
  { cat "$work/dpkg-install.log"; fail "dpkg -i failed"; }
phase "installed the package"

in_root getent passwd interlock >/dev/null || fail "no interlock user"
expect_mode /etc/interlock "750 root:interlock"
expect_mode /etc/interlock/policies "750 root:interlock"
expect_mode /etc/interlock/interlock.yaml "640 root:interlock"
expect_mode /etc/interlock/policies/support-agent-v2.yaml "640 root:interlock"
expect_mode /var/lib/interlock "700 interlock:interlock"
[ -x "$root/usr/bin/interlock-sandbox-bridge" ] || fail "no sandbox bridge beside the program"
grep -qx /etc/interlock/interlock.yaml "$root/var/lib/dpkg/info/interlock.conffiles" ||
  fail "the config is not a conffile"

unit=$root/lib/systemd/system/interlock.service
systemd-analyze verify --root="$root" interlock.service >"$work/verify.log" 2>&1 ||
  { cat "$work/verify.log"; fail "systemd-analyze verify failed"; }
if grep -v '^$' "$work/verify.log" | grep -q .; then
  cat "$work/verify.log"
  fail "systemd-analyze verify warned"
fi
for want in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes \
  ReadWritePaths=/var/lib/interlock CapabilityBoundingSet= Restart=on-failure \
  "ExecReload=/bin/sh -c 'kill -HUP \$MAINPID'" User=interlock; do
  grep -qxF "$want" "$unit" || fail "the unit lacks $want"
done
# systemd's own exposure score of the unit (0 best, 10 worst; 4.0 when written): a
# change that loosens the sandboxing past "OK" fails here.
systemd-analyze security --offline=yes --root="$root" --threshold=45 interlock.service \
  >"$work/security.log" 2>&1 || { cat "$work/security.log"; fail "the unit's exposure rose"; }
tail -1 "$work/security.log"
phase "systemd-analyze verify and security"

# A token for the starter policy's agent, made as the service user (its store, its keys).
token=$(as_service /usr/bin/interlock token create --agent support-agent-v2 \
  --policy /etc/interlock/policies 2>/dev/null) || fail "token create failed"

# The unit's ExecStart under its sandboxing, rebuilt with a mount namespace (enter 1).
# Listening on a free loopback port instead of the config's (flags override the config).
read -r -a exec_start <<<"$(sed -n 's/^ExecStart=//p' "$unit")"
ready=/var/lib/interlock/test.ready
# unshare execs down to the daemon: $! is its pid.
unshare --mount --propagation private /bin/sh -c "$enter_script" sh "$root" 1 \
  /bin/sh -c "$run_as_service" sh "${exec_start[@]}" --listen 127.0.0.1:0 \
  --ready-file "$ready" >"$work/serve.log" 2>&1 &
daemon_pid=$!
port=""
for _ in $(seq 1 300); do
  if [ -s "$root$ready" ]; then
    port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$root$ready")
    break
  fi
  kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/serve.log"; fail "interlock serve exited"; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/serve.log"; fail "interlock serve not ready within 30 s"; }
base=http://127.0.0.1:$port
curl -sf --max-time 5 "$base/readyz" | grep -q '"status":"ready"' || fail "/readyz is not ready"
run=$(curl -sf --max-time 5 -X POST -H "Authorization: Bearer $token" "$base/v1/runs" |
  sed -n 's/.*"run_id":"\([^"]*\)".*/\1/p')
[ -n "$run" ] || fail "POST /v1/runs failed"
answer=$(curl -sf --max-time 5 -H "Authorization: Bearer $token" \
  -d '{"tool":"delete_customer_record","args":{"customer_id":"C-1"}}' "$base/v1/runs/$run/calls")
echo "$answer" | grep -q '"code":"TOOL_BLOCKED"' || fail "unexpected decision: $answer"
answer=$(curl -sf --max-time 5 -H "Authorization: Bearer $token" \
  -d '{"tool":"read_customer_record","args":{"customer_id":"C-1"}}' "$base/v1/runs/$run/calls")
echo "$answer" | grep -q '"decision":"allow"' || fail "unexpected decision: $answer"
kill -TERM "$daemon_pid"
rc=0
for _ in $(seq 1 300); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
wait "$daemon_pid" || rc=$?
daemon_pid=""
[ "$rc" -eq 0 ] || { cat "$work/serve.log"; fail "interlock serve exited $rc after SIGTERM"; }
rm -f "$root$ready"
phase "served: /readyz ready, a call denied and one allowed over HTTP, clean stop"

keys=/var/lib/interlock/interlock.db.keys
as_service /usr/bin/interlock audit verify --store /var/lib/interlock/interlock.db \
  --checkpoints $keys/checkpoints.jsonl --pubkey $keys/checkpoint-ed25519.pub.pem ||
  fail "audit verify failed"
# doctor as the service user, and as root for it (it then checks as that user).
as_service /usr/bin/interlock doctor --config /etc/interlock/interlock.yaml ||
  fail "interlock doctor found a problem in the fresh installation"
in_root /usr/bin/interlock doctor --config /etc/interlock/interlock.yaml --user interlock \
  >"$work/doctor-root.log" || { cat "$work/doctor-root.log"; fail "doctor --user interlock failed"; }
# An upgrade (the same version installed over itself takes postinst's upgrade path):
# the state and its modes stay, the trail still verifies.
in_root dpkg -i /tmp/interlock.deb >"$work/dpkg-upgrade.log" 2>&1 ||
  { cat "$work/dpkg-upgrade.log"; fail "dpkg -i over the installed package failed"; }
as_service /usr/bin/interlock audit verify --store /var/lib/interlock/interlock.db \
  --checkpoints $keys/checkpoints.jsonl --pubkey $keys/checkpoint-ed25519.pub.pem ||
  fail "audit verify failed after the upgrade"
expect_mode /var/lib/interlock "700 interlock:interlock"
expect_mode $keys "700 interlock:interlock"
expect_mode /var/lib/interlock/interlock.db "600 interlock:interlock"
phase "audit verify and doctor as the service user; reinstalled over itself"

in_root dpkg -r interlock >"$work/dpkg-remove.log" 2>&1 ||
  { cat "$work/dpkg-remove.log"; fail "dpkg -r failed"; }
[ ! -e "$root/usr/bin/interlock" ] || fail "dpkg -r left the program"
[ -s "$root/var/lib/interlock/interlock.db" ] || fail "dpkg -r removed the store"
[ -s "$root$keys/checkpoint-ed25519.pem" ] || fail "dpkg -r removed the audit keys"
in_root getent passwd interlock >/dev/null || fail "dpkg -r removed the user"
[ -f "$root/etc/interlock/interlock.yaml" ] || fail "dpkg -r removed the config"
in_root dpkg -P interlock >"$work/dpkg-purge.log" 2>&1 ||
  { cat "$work/dpkg-purge.log"; fail "dpkg -P failed"; }
[ ! -e "$root/var/lib/interlock" ] || fail "dpkg -P left /var/lib/interlock"
[ ! -e "$root/etc/interlock" ] || fail "dpkg -P left /etc/interlock"
! in_root getent passwd interlock >/dev/null || fail "dpkg -P left the user"
! in_root getent group interlock >/dev/null || fail "dpkg -P left the group"
phase "dpkg -r kept the state, dpkg -P removed it"

echo "package-test: passed in $(($(date +%s) - t0)) s"
