#!/usr/bin/env bash
# The image test (ctest `image_test`, label `image`; docs/kubernetes.md#the-image):
#   packaging/image/test-image.sh BUILD_DIR
# Builds the image from the prepared root (packaging/image/build-image.sh; no network: it
# fails, naming the command, when `build-image.sh --prepare` has not run: `make test`
# runs it through scripts/prepare-tests.sh), checks the archive's OCI layout (every digest
# and size, the layer's diff_id, the runtime config; skopeo copies and reads it too),
# unpacks its layer (no set-user-ID file) and starts it the way a container runtime
# would, with bubblewrap over the unpacked root:
#   - the root read-only, a tmpfs /tmp, a writable state volume at /var/lib/interlock, a
#     minimal /dev, the host's loopback-only network (make test's namespace);
#   - as the image's user (uid and gid 10001, from the config's User), no new privileges,
#     no capabilities;
#   - the config's Entrypoint and Cmd: as they are, refused (plain HTTP on every
#     interface, no TLS configured: exit 2); with a free loopback port, served;
#   - the policies and the audit keys in directories laid out as Kubernetes lays out
#     ConfigMap and Secret volumes (files that are symlinks through `..data` to a
#     timestamped directory).
# Then: /healthz and /readyz answer, a call is denied and one allowed over the HTTP API
# with an agent token, the ConfigMap's `..data` symlink is swapped to a new version of the
# policy (as the kubelet does; of the old file's size and time) and the daemon decides by
# it within a bounded wait with no restart or signal, SIGTERM stops it with status 0,
# `audit verify` passes with the Secret's public key, and nothing was written to the root.
# Needs root (the image build, owners in the unpacked root); without it, or without
# mmdebstrap, bwrap or skopeo, it exits 77 (skipped). Every phase prints its duration.
set -euo pipefail

build=$(cd "${1:?usage: test-image.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$build/image

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: the image test needs root (the image build: chroot and dpkg in a Debian root)"
  exit 77
fi
for tool in mmdebstrap dpkg-deb unshare chroot bwrap python3 curl openssl skopeo; do
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
  echo "image-test: [$((now - phase_start)) s] $1"
  phase_start=$now
}
fail() {
  echo "image-test: FAIL: $*" >&2
  exit 1
}

archive=$("$src/packaging/image/build-image.sh" "$build") || fail "the image build failed"
phase "image $archive"

tmp=$(mktemp -d "$work/test.XXXXXX")
root=$tmp/root
state=$tmp/state
policies=$tmp/policies
keys=$tmp/keys
bwrap_pid=""
cleanup() {
  if [ -n "$bwrap_pid" ] && kill -0 "$bwrap_pid" 2>/dev/null; then
    kill -KILL "$bwrap_pid" 2>/dev/null || true  # --die-with-parent: the daemon goes too
    wait "$bwrap_pid" 2>/dev/null || true
  fi
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
mkdir -p "$root"
python3 "$src/packaging/image/oci.py" check "$archive" --unpack "$root" ||
  fail "the archive is not a valid OCI image"
# A real client reads it too: skopeo (Debian's package; podman's and buildah's image
# library) copies it, checking every digest on the way, and reads its config.
skopeo copy --quiet "oci-archive:$archive" "dir:$tmp/skopeo" >"$tmp/skopeo.log" 2>&1 ||
  { cat "$tmp/skopeo.log"; fail "skopeo cannot copy the archive"; }
skopeo inspect --config "oci-archive:$archive" >"$tmp/skopeo-config.json" 2>"$tmp/skopeo.log" ||
  { cat "$tmp/skopeo.log"; fail "skopeo cannot read the image's config"; }
grep -q '"User": "10001:10001"' "$tmp/skopeo-config.json" || fail "skopeo reads another user"
rm -rf "$tmp/skopeo"
phase "OCI layout verified (oci.py, skopeo), layer unpacked"

# The runtime config, as a runtime reads it.
config_json=$(python3 - "$archive" <<'EOF'
import json, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    index = json.load(t.extractfile("index.json"))
    m = json.load(t.extractfile("blobs/sha256/" + index["manifests"][0]["digest"][7:]))
    c = json.load(t.extractfile("blobs/sha256/" + m["config"]["digest"][7:]))["config"]
print(c["User"])
print("\n".join(c["Entrypoint"] + c["Cmd"]))
EOF
) || fail "cannot read the image's config"
user=$(sed -n 1p <<<"$config_json")
mapfile -t command_line < <(sed 1d <<<"$config_json")
uid=${user%%:*}
gid=${user##*:}
if [ "$uid" -eq 0 ] || [ "$gid" -eq 0 ]; then fail "the image runs as root ($user)"; fi
grep -q "^interlock:x:$uid:$gid:" "$root/etc/passwd" || fail "no interlock user $user in the image"
[ -x "$root${command_line[0]}" ] || fail "the entrypoint ${command_line[0]} is not in the image"
setid=$(find "$root" -xdev -type f -perm /6000 | head -3)
[ -z "$setid" ] || fail "set-user-ID or set-group-ID files in the image: $setid"
[ ! -e "$root/usr/share/man/man1" ] || [ -z "$(ls -A "$root/usr/share/man/man1")" ] ||
  fail "manual pages in the image"

# The state volume, as a runtime with fsGroup gives it: the user's, private.
install -d -o "$uid" -g "$gid" -m 0700 "$state"
# The policies and the audit keys as Kubernetes lays out ConfigMap and Secret volumes:
# each NAME a symlink to ..data/NAME, ..data a symlink to the current ..VERSION directory,
# swapped by rename(2), the old version removed last.
kube_volume() {  # kube_volume DIR VERSION MODE FILE...: writes and swaps in a version
  local dir=$1 version=..$2 mode=$3 file
  shift 3
  mkdir -p "$dir/$version"
  for file in "$@"; do
    install -p -m "$mode" -g "$gid" "$file" "$dir/$version/"
  done
  ln -sfn "$version" "$dir/..data_tmp"
  mv -T "$dir/..data_tmp" "$dir/..data"
  for file in "$@"; do
    ln -sfn "..data/$(basename "$file")" "$dir/$(basename "$file")"
  done
}
mkdir -p "$policies" "$keys" "$tmp/keygen" "$tmp/v2"
kube_volume "$policies" 2026_11_28_09_00_00.1 0644 \
  "$root/etc/interlock/policies/support-agent-v2.yaml"
# The fleet's audit keys, made as docs/kubernetes.md says (openssl, 32 random bytes).
openssl genpkey -algorithm ed25519 -out "$tmp/keygen/checkpoint-ed25519.pem" 2>/dev/null
openssl pkey -in "$tmp/keygen/checkpoint-ed25519.pem" -pubout \
  -out "$tmp/keygen/checkpoint-ed25519.pub.pem"
head -c 32 /dev/urandom >"$tmp/keygen/audit-hmac.key"
kube_volume "$keys" 2026_11_28_09_00_00.1 0440 "$tmp/keygen/"*

marker=$tmp/marker
touch "$marker"
sleep 1  # a file written to the root from now on is newer than the marker, whatever the clock
sandbox=(--ro-bind "$root" / --bind "$state" /var/lib/interlock
  --ro-bind "$policies" /etc/interlock/policies --ro-bind "$keys" /etc/interlock/keys
  --bind /proc /proc --dev /dev --perms 1777 --tmpfs /tmp --die-with-parent
  --unshare-ipc --unshare-uts --chdir /var/lib/interlock --clearenv
  --setenv PATH /usr/sbin:/usr/bin:/sbin:/bin --setenv HOME /var/lib/interlock)
as_user=(/usr/bin/setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs
  --bounding-set=-all --inh-caps=-all)
key_flags=(--keys /etc/interlock/keys --checkpoints /var/lib/interlock/checkpoints.jsonl)
in_image() { bwrap "${sandbox[@]}" -- "${as_user[@]}" "$@"; }

token=$(in_image /usr/bin/interlock token create --agent support-agent-v2 \
  --policy /etc/interlock/policies --store /var/lib/interlock/interlock.db "${key_flags[@]}" \
  2>"$tmp/token.log") ||
  { cat "$tmp/token.log"; fail "token create failed in the image"; }

# The image's own command line, as is: every interface without TLS is refused at start
# (exit 2, saying how to configure TLS), never served in clear.
rc=0
timeout 20 bwrap "${sandbox[@]}" -- "${as_user[@]}" "${command_line[@]}" >"$tmp/refused.log" 2>&1 ||
  rc=$?
if [ "$rc" -ne 2 ] || ! grep -q "refusing to serve plain HTTP on 0.0.0.0:8181" "$tmp/refused.log"
then
  cat "$tmp/refused.log"
  fail "the image's default command did not refuse plain HTTP (exit $rc)"
fi

ready=/var/lib/interlock/test.ready
bwrap "${sandbox[@]}" --info-fd 3 -- "${as_user[@]}" "${command_line[@]}" \
  "${key_flags[@]}" --listen 127.0.0.1:0 --ready-file "$ready" 3>"$tmp/bwrap-info.json" \
  >"$tmp/serve.log" 2>&1 &
bwrap_pid=$!
port=""
for _ in $(seq 1 300); do
  if [ -s "$state/test.ready" ]; then
    port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$state/test.ready")
    break
  fi
  kill -0 "$bwrap_pid" 2>/dev/null || { cat "$tmp/serve.log"; fail "interlock serve exited"; }
  sleep 0.1
done
[ -n "$port" ] || { cat "$tmp/serve.log"; fail "interlock serve not ready within 30 s"; }
daemon_pid=$(sed -n 's/.*"child-pid": *\([0-9]*\).*/\1/p' "$tmp/bwrap-info.json")
phase "as is: plain HTTP on 0.0.0.0 refused (exit 2); started as $user on a read-only \
root, port $port"

base=http://127.0.0.1:$port
curl -sf --max-time 5 "$base/healthz" >/dev/null || fail "/healthz does not answer"
curl -sf --max-time 5 "$base/readyz" | grep -q '"status":"ready"' || fail "/readyz is not ready"
run=$(curl -sf --max-time 5 -X POST -H "Authorization: Bearer $token" "$base/v1/runs" |
  sed -n 's/.*"run_id":"\([^"]*\)".*/\1/p')
[ -n "$run" ] || fail "POST /v1/runs failed"
decide() {  # decide TOOL: the decision's JSON
  curl -sf --max-time 5 -H "Authorization: Bearer $token" \
    -d "{\"tool\":\"$1\",\"args\":{\"customer_id\":\"C-1\"}}" "$base/v1/runs/$run/calls"
}
answer=$(decide delete_customer_record)
echo "$answer" | grep -q '"code":"TOOL_BLOCKED"' || fail "unexpected decision: $answer"
answer=$(decide read_customer_record)
echo "$answer" | grep -q '"decision":"allow"' || fail "unexpected decision: $answer"
phase "/healthz, /readyz; a call denied and one allowed over HTTP"

# A new ConfigMap version that no longer allows the tool just allowed, swapped in as the
# kubelet does; the daemon's poll (policy_poll_ms, 1 s) must follow it within 15 s. The
# new file has the old one's size and modification time: only the target of its name
# changed (the watcher once compared sizes and times alone, and missed such a swap).
sed 's/^    - name: "read_customer_record"$/    - name: "read_customer_recorX"/' \
  "$root/etc/interlock/policies/support-agent-v2.yaml" >"$tmp/v2/support-agent-v2.yaml"
grep -q 'read_customer_recorX' "$tmp/v2/support-agent-v2.yaml" ||
  fail "could not write the new policy"
touch -r "$root/etc/interlock/policies/support-agent-v2.yaml" "$tmp/v2/support-agent-v2.yaml"
kube_volume "$policies" 2026_11_28_09_05_00.2 0644 "$tmp/v2/support-agent-v2.yaml"
rm -rf "$policies/..2026_11_28_09_00_00.1"  # the kubelet removes the old version last
reloaded=0
for _ in $(seq 1 150); do
  answer=$(decide read_customer_record)
  if echo "$answer" | grep -q '"decision":"deny"'; then
    reloaded=1
    break
  fi
  sleep 0.1
done
[ "$reloaded" -eq 1 ] || { cat "$tmp/serve.log"; fail "the swapped ConfigMap was not loaded \
within 15 s: $answer"; }
curl -sf --max-time 5 "$base/readyz" | grep -q '"policy_reload_failed":true' &&
  fail "/readyz reports a failed reload"
phase "the ConfigMap's ..data swapped: the new policy decides, no restart"

[ -n "$daemon_pid" ] || fail "bwrap did not tell the daemon's pid"
kill -TERM "$daemon_pid"
rc=0
for _ in $(seq 1 300); do kill -0 "$bwrap_pid" 2>/dev/null || break; sleep 0.1; done
wait "$bwrap_pid" || rc=$?  # bwrap exits with its child's status
bwrap_pid=""
[ "$rc" -eq 0 ] || { cat "$tmp/serve.log"; fail "interlock serve exited $rc after SIGTERM"; }
written=$(find "$root" -xdev -newer "$marker" | head -5)
[ -z "$written" ] || fail "written to the image's root: $written"
[ -s "$state/interlock.db" ] || fail "no store in the state volume"
[ -s "$state/checkpoints.jsonl" ] || fail "no signed checkpoints in the state volume"
in_image /usr/bin/interlock audit verify --store /var/lib/interlock/interlock.db \
  --checkpoints /var/lib/interlock/checkpoints.jsonl \
  --pubkey /etc/interlock/keys/checkpoint-ed25519.pub.pem >"$tmp/verify.log" 2>&1 ||
  { cat "$tmp/verify.log"; fail "audit verify failed in the image"; }
phase "stopped by SIGTERM (status 0); the root unchanged; audit verify with the Secret's key"

echo "image-test: passed in $(($(date +%s) - t0)) s"
