#!/usr/bin/env bash
# The package test (ctest label `package`; docs/operations.md#the-debian-package):
#   packaging/test-package.sh --prepare BUILD_DIR   (reaches Debian's mirror, once)
#   packaging/test-package.sh BUILD_DIR             (the test: loopback only)
# `--prepare` builds the .deb and makes a fresh Debian 12 root with mmdebstrap from
# Debian's packages (variant `essential` plus the package's Depends and Recommends and
# systemd), cached as a tarball in BUILD_DIR/package-test/ keyed by that package list; it is
# the only part that downloads, and `make test` runs it before the tests
# (scripts/prepare-tests.sh). The test itself never touches the network: it fails, saying
# so, when the root for this package list has not been prepared. It builds the .deb,
# installs it with dpkg into a copy of that root, then there:
#   - checks the user, the modes of /etc/interlock and /var/lib/interlock, the conffiles;
#   - runs `systemd-analyze verify` and `security` on the installed unit;
#   - starts the unit's ExecStart as its User= with its sandboxing rebuilt by hand (bwrap:
#     the root read-only but ReadWritePaths, a private /tmp, a minimal /dev; setpriv: no
#     new privileges, an empty capability bounding set; UMask 0077): systemd is not PID 1
#     here;
#   - checks /readyz and decides a call over the HTTP API, stops it with SIGTERM;
#   - runs `interlock doctor` (the sandbox check must pass there when bwrap works for an
#     unprivileged user on the host) and `interlock audit verify` as the service user;
#   - `dpkg -r` keeps /var/lib/interlock and the user, `dpkg -P` removes both.
# Needs root (chroot, mounts, dpkg in the root); without it, or without mmdebstrap, it
# exits 77 (skipped). Every phase prints its duration.
set -euo pipefail

prepare=0
if [ "${1:-}" = --prepare ]; then
  prepare=1
  shift
fi
build=$(cd "${1:?usage: test-package.sh [--prepare] BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
work=$build/package-test
# shellcheck source=packaging/debian-root.sh
. "$src/packaging/debian-root.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: the package test needs root (chroot, mount namespaces, dpkg in a Debian root)"
  exit 77
fi
for tool in mmdebstrap dpkg-deb unshare chroot bwrap setpriv curl systemd-analyze; do
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
# The .deb is built once for its inputs: --prepare builds it, and the test takes that one
# when neither the programs (size and time as built) nor a file packed changed since.
deb_inputs() {
  {
    stat -c '%n %s %.9Y' "$build/interlock" "$build/interlock-sandbox-bridge"
    echo "version ${INTERLOCK_DEB_VERSION:-}"
    cat "$src/CMakeLists.txt" "$src/README.md" "$src/packaging/build-deb.sh" \
      "$src/packaging/interlock.yaml" "$src/packaging/debian/"* "$src/examples/policies/"*.yaml \
      "$src/examples/config/interlock.yaml" "$src/docs/"*.md "$src/docs/openapi.yaml" \
      "$src/docs/policy.schema.json"
  } | sha256sum | cut -d' ' -f1
}
inputs=$(deb_inputs)
deb=$(find "$work" -maxdepth 1 -name 'interlock_*.deb' | head -1)
if [ -n "$deb" ] && [ "$(cat "$work/deb.inputs" 2>/dev/null)" = "$inputs" ]; then
  phase "took $(basename "$deb"), built for the same inputs"
else
  rm -f "$work"/interlock_*.deb "$work/deb.inputs"
  deb=$("$src/packaging/build-deb.sh" "$build" "$work")
  echo "$inputs" >"$work/deb.inputs"
  phase "built $(basename "$deb")"
fi

# The root: Debian's essential set plus what the package names, and systemd, whose units
# `systemd-analyze verify --root` resolves the unit against (packaging/debian-root.sh).
pkgs=$(debian_root_packages --recommends "$deb" systemd)
tarball=$(debian_root_tarball "$work" "$pkgs")
if [ "$prepare" -eq 1 ]; then
  if [ ! -s "$tarball" ]; then
    echo "package-test: making a Debian 12 root with $pkgs (cached in $tarball)"
    debian_root_make "$work" "$pkgs" || fail "mmdebstrap could not make the root"
    phase "made the root tarball"
  fi
  echo "package-test: the Debian 12 root is ready ($tarball)"
  exit 0
fi
[ -s "$tarball" ] || fail "no Debian 12 root for this package list ($tarball): the test does not \
download; make it first with: packaging/test-package.sh --prepare $build (make test does)"

root=$(mktemp -d "$work/root.XXXXXX")
bwrap_pid=""
cleanup() {
  if [ -n "$bwrap_pid" ] && kill -0 "$bwrap_pid" 2>/dev/null; then
    kill -KILL "$bwrap_pid" 2>/dev/null || true  # --die-with-parent: the daemon goes too
    wait "$bwrap_pid" 2>/dev/null || true
  fi
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT
tar -C "$root" -xf "$tarball"
phase "unpacked the root"

# Runs "$@" chrooted in the root (dpkg, its scripts, checks): packaging/debian-root.sh.
in_root_here() { in_root "$root" "$@"; }
# As the service user under the unit's sandboxing, rebuilt with bubblewrap (pivot_root,
# so that user namespaces still work inside, which a chroot forbids): the root read-only
# but ReadWritePaths=/var/lib/interlock, a private /tmp, a minimal /dev, no new
# privileges, no capabilities, UMask=0077, the unit's WorkingDirectory and Environment.
sandbox=(--ro-bind "$root" / --bind "$root/var/lib/interlock" /var/lib/interlock
  --bind /proc /proc --dev /dev --perms 1777 --tmpfs /tmp --die-with-parent
  --chdir /var/lib/interlock --setenv INTERLOCK_STORE /var/lib/interlock/interlock.db)
as_user=(/usr/bin/setpriv --reuid=interlock --regid=interlock --init-groups --no-new-privs
  --bounding-set=-all --inh-caps=-all)
as_service() { (umask 077 && exec bwrap "${sandbox[@]}" -- "${as_user[@]}" "$@"); }
mode_of() { in_root_here stat -c "%a %U:%G" "$1"; }
expect_mode() {
  local got
  got=$(mode_of "$1")
  [ "$got" = "$2" ] || fail "$1 is $got, expected $2"
}

cp "$deb" "$root/tmp/interlock.deb"
in_root_here dpkg -i /tmp/interlock.deb >"$work/dpkg-install.log" 2>&1 ||
  { cat "$work/dpkg-install.log"; fail "dpkg -i failed"; }
phase "installed the package"

in_root_here getent passwd interlock >/dev/null || fail "no interlock user"
expect_mode /etc/interlock "750 root:interlock"
expect_mode /etc/interlock/policies "750 root:interlock"
expect_mode /etc/interlock/interlock.yaml "640 root:interlock"
expect_mode /etc/interlock/policies/support-agent-v2.yaml "640 root:interlock"
expect_mode /etc/interlock/policies/support-agent-v2.test.yaml "640 root:interlock"
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
# The starter policy's tests, shipped beside it, pass as installed (attacker's variants too).
as_service /usr/bin/interlock test --adversarial /etc/interlock/policies >"$work/policy-tests.log" \
  2>&1 || { cat "$work/policy-tests.log"; fail "the packaged policy's tests failed"; }

# The unit's ExecStart under its sandboxing (as_service), listening on a free loopback port
# instead of the config's (flags override the config file). bwrap tells the daemon's pid.
read -r -a exec_start <<<"$(sed -n 's/^ExecStart=//p' "$unit")"
ready=/var/lib/interlock/test.ready
(umask 077 && exec bwrap "${sandbox[@]}" --info-fd 3 -- "${as_user[@]}" "${exec_start[@]}" \
  --listen 127.0.0.1:0 --ready-file "$ready") 3>"$work/bwrap-info.json" >"$work/serve.log" 2>&1 &
bwrap_pid=$!
port=""
for _ in $(seq 1 300); do
  if [ -s "$root$ready" ]; then
    port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$root$ready")
    break
  fi
  kill -0 "$bwrap_pid" 2>/dev/null || { cat "$work/serve.log"; fail "interlock serve exited"; }
  sleep 0.1
done
daemon_pid=$(sed -n 's/.*"child-pid": *\([0-9]*\).*/\1/p' "$work/bwrap-info.json")
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
[ -n "$daemon_pid" ] || fail "bwrap did not tell the daemon's pid"
kill -TERM "$daemon_pid"
rc=0
for _ in $(seq 1 300); do kill -0 "$bwrap_pid" 2>/dev/null || break; sleep 0.1; done
wait "$bwrap_pid" || rc=$?  # bwrap exits with its child's status
bwrap_pid=""
[ "$rc" -eq 0 ] || { cat "$work/serve.log"; fail "interlock serve exited $rc after SIGTERM"; }
rm -f "$root$ready"
phase "served: /readyz ready, a call denied and one allowed over HTTP, clean stop"

keys=/var/lib/interlock/interlock.db.keys
as_service /usr/bin/interlock audit verify --store /var/lib/interlock/interlock.db \
  --checkpoints $keys/checkpoints.jsonl --pubkey $keys/checkpoint-ed25519.pub.pem ||
  fail "audit verify failed"
# doctor as the service user, and as root for it (it then checks as that user).
as_service /usr/bin/interlock doctor --config /etc/interlock/interlock.yaml \
  >"$work/doctor.log" || { cat "$work/doctor.log"; fail "interlock doctor found a problem"; }
cat "$work/doctor.log"
# The sandbox works inside the service's sandboxing wherever it works for an unprivileged
# user on this host (bwrap as nobody).
if setpriv --reuid=nobody --regid=nogroup --clear-groups bwrap --unshare-user --unshare-pid \
  --unshare-net --ro-bind / / --proc /proc --dev /dev true 2>/dev/null; then
  grep -q '^ok   sandbox' "$work/doctor.log" || fail "the sandbox does not work in the service"
fi
in_root_here /usr/bin/interlock doctor --config /etc/interlock/interlock.yaml --user interlock \
  >"$work/doctor-root.log" || { cat "$work/doctor-root.log"; fail "doctor --user interlock failed"; }
# An upgrade (the same version installed over itself takes postinst's upgrade path):
# the state and its modes stay, the trail still verifies.
in_root_here dpkg -i /tmp/interlock.deb >"$work/dpkg-upgrade.log" 2>&1 ||
  { cat "$work/dpkg-upgrade.log"; fail "dpkg -i over the installed package failed"; }
as_service /usr/bin/interlock audit verify --store /var/lib/interlock/interlock.db \
  --checkpoints $keys/checkpoints.jsonl --pubkey $keys/checkpoint-ed25519.pub.pem ||
  fail "audit verify failed after the upgrade"
expect_mode /var/lib/interlock "700 interlock:interlock"
expect_mode $keys "700 interlock:interlock"
expect_mode /var/lib/interlock/interlock.db "600 interlock:interlock"
phase "audit verify and doctor as the service user; reinstalled over itself"

in_root_here dpkg -r interlock >"$work/dpkg-remove.log" 2>&1 ||
  { cat "$work/dpkg-remove.log"; fail "dpkg -r failed"; }
[ ! -e "$root/usr/bin/interlock" ] || fail "dpkg -r left the program"
[ -s "$root/var/lib/interlock/interlock.db" ] || fail "dpkg -r removed the store"
[ -s "$root$keys/checkpoint-ed25519.pem" ] || fail "dpkg -r removed the audit keys"
in_root_here getent passwd interlock >/dev/null || fail "dpkg -r removed the user"
[ -f "$root/etc/interlock/interlock.yaml" ] || fail "dpkg -r removed the config"
in_root_here dpkg -P interlock >"$work/dpkg-purge.log" 2>&1 ||
  { cat "$work/dpkg-purge.log"; fail "dpkg -P failed"; }
[ ! -e "$root/var/lib/interlock" ] || fail "dpkg -P left /var/lib/interlock"
[ ! -e "$root/etc/interlock" ] || fail "dpkg -P left /etc/interlock"
! in_root_here getent passwd interlock >/dev/null || fail "dpkg -P left the user"
! in_root_here getent group interlock >/dev/null || fail "dpkg -P left the group"
phase "dpkg -r kept the state, dpkg -P removed it"

echo "package-test: passed in $(($(date +%s) - t0)) s"
