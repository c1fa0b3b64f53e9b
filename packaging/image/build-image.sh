#!/usr/bin/env bash
# The container image (docs/kubernetes.md#the-image): `make image`, or
#   packaging/image/build-image.sh --prepare BUILD_DIR   (reaches Debian's mirror, once)
#   packaging/image/build-image.sh BUILD_DIR             (no network: prints the archive)
# Built from Debian's packages only, nothing pulled from another registry: a Debian 12
# root made by mmdebstrap (packaging/debian-root.sh, as the package test makes its own:
# variant `essential` plus the .deb's Pre-Depends and Depends, no documentation, no perl), cached
# as a tarball in BUILD_DIR/image/ keyed by that list; the built .deb installed into it
# with dpkg over a user `interlock` of fixed uid and gid 10001 (so that the package's
# postinst keeps it); the image's config (packaging/image/config.yaml) as
# /etc/interlock/config.yaml; then packed by oci.py into BUILD_DIR/image/interlock-oci.tar,
# an OCI image layout in a tar archive (`podman load -i`, `docker load -i`, `skopeo copy
# oci-archive:...`), rebuilt each time (~30 s) and reproducible: the same programs, root
# and commit give the same digests (times clamped to the commit's, SOURCE_DATE_EPOCH).
# Needs root (mmdebstrap, chroot, dpkg in the root, owners kept in the layer).
set -euo pipefail

prepare=0
if [ "${1:-}" = --prepare ]; then
  prepare=1
  shift
fi
build=$(cd "${1:?usage: build-image.sh [--prepare] BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$build/image
out=$work/interlock-oci.tar
uid=10001
# shellcheck source=packaging/debian-root.sh
. "$src/packaging/debian-root.sh"

fail() {
  echo "build-image: $*" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || fail "needs root (mmdebstrap, chroot and dpkg in the image's root)"
for tool in mmdebstrap dpkg-deb unshare chroot python3; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed (scripts/install-deps.sh)"
done
mkdir -p "$work"
t0=$(date +%s)

deb=$("$src/packaging/build-deb.sh" "$build" "$work")
version=$(dpkg-deb -f "$deb" Version)
# No manual pages, info pages, locales or documentation but the copyright files: dpkg
# leaves them out of every package, the interlock .deb's included (--dpkgopt stays in the
# root's /etc/dpkg/dpkg.cfg.d/).
opts=(--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/lintian/*')
# usr-is-merged: so that usrmerge can be purged below.
pkgs=$(debian_root_packages "$deb" usr-is-merged)
tarball=$(debian_root_tarball "$work" "$pkgs" "${opts[@]}")
if [ "$prepare" -eq 1 ]; then
  if [ ! -s "$tarball" ]; then
    echo "build-image: making a Debian 12 root with $pkgs (cached in $tarball)" >&2
    debian_root_make "$work" "$pkgs" "${opts[@]}" || fail "mmdebstrap could not make the root"
  fi
  echo "build-image: the image's Debian 12 root is ready ($tarball, $(($(date +%s) - t0)) s)" >&2
  exit 0
fi
[ -s "$tarball" ] || fail "no Debian 12 root for this package list ($tarball): the image build \
does not download; make it first with: packaging/image/build-image.sh --prepare $build \
(make image and make test do)"

root=$(mktemp -d "$work/root.XXXXXX")
trap 'rm -rf --one-file-system "$root"' EXIT
tar -C "$root" -xf "$tarball"
# The user first, with the numbers the image promises (oci.py USER, the manifests'
# runAsUser): postinst finds it and does not make one of its own.
in_root "$root" groupadd --gid "$uid" interlock
in_root "$root" useradd --uid "$uid" --gid "$uid" --home-dir /var/lib/interlock \
  --no-create-home --shell /usr/sbin/nologin --comment "Interlock daemon" interlock
cp "$deb" "$root/tmp/interlock.deb"
in_root "$root" dpkg -i /tmp/interlock.deb >"$work/dpkg-install.log" 2>&1 ||
  { cat "$work/dpkg-install.log" >&2; fail "dpkg -i failed"; }
install -m 0640 -g "$uid" "$src/packaging/image/config.yaml" "$root/etc/interlock/config.yaml"
# Empty mount points for what a deployment mounts read-only (deploy/kubernetes): a
# runtime on a read-only root cannot make them itself everywhere (bubblewrap cannot).
install -d -m 0750 -g "$uid" "$root/etc/interlock/config" "$root/etc/interlock/keys" \
  "$root/etc/interlock/tls" "$root/etc/interlock/postgres"
# usrmerge, which mmdebstrap's essential set takes for init-system-helpers' "usrmerge |
# usr-is-merged", and the perl it pulls in (35 MB the daemon never runs): usr-is-merged,
# in the package list, stands in for it.
in_root "$root" dpkg --purge usrmerge libfile-find-rule-perl libnumber-compare-perl \
  libtext-glob-perl perl perl-modules-5.36 libperl5.36 libgdbm-compat4 libgdbm6 \
  >"$work/dpkg-purge.log" 2>&1 || { cat "$work/dpkg-purge.log" >&2; fail "dpkg --purge failed"; }
# No set-user-ID or set-group-ID programs (su, mount, passwd...): the daemon's user has
# no use for them, and a pod without allowPrivilegeEscalation: false would let them work.
find "$root" -xdev -type f -perm /6000 -exec chmod ug-s {} +
# What a running container never needs, and what would make two builds differ.
rm -rf "$root/tmp/"* "$root/var/cache/apt/"* "$root/var/lib/apt/lists/"* "$root/var/log/"* \
  "$root/var/cache/ldconfig/aux-cache" "$root/etc/machine-id"
rm -rf "${root:?}/dev/"*

epoch=${SOURCE_DATE_EPOCH:-$(git -C "$src" log -1 --format=%ct 2>/dev/null || date +%s)}
SOURCE_DATE_EPOCH=$epoch python3 "$src/packaging/image/oci.py" build --root "$root" --out "$out" \
  --ref "interlock:$version" --version "$version" --arch "$(dpkg --print-architecture)" >&2
echo "build-image: built in $(($(date +%s) - t0)) s" >&2
echo "$out"
