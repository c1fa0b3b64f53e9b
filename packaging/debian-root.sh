# shellcheck shell=bash
# Sourced by packaging/test-package.sh and packaging/image/build-image.sh: the one way
# this tree makes a Debian 12 root and runs commands in it.
#   debian_root_packages DEB [EXTRA...]   the package's Pre-Depends and Depends (and with
#                                         --recommends first, its Recommends) plus EXTRA,
#                                         comma-separated: versions dropped, the first
#                                         alternative taken
#   debian_root_tarball DIR PKGS [OPT...] the cached root tarball's path for that package
#                                         list and those mmdebstrap options
#   debian_root_make DIR PKGS [OPT...]    makes it with mmdebstrap (variant `essential`,
#                                         Debian's mirror: the only step that downloads),
#                                         unless it is there; other lists' tarballs in DIR
#                                         are removed
#   in_root ROOT CMD...                   runs CMD chrooted in ROOT in a private mount
#                                         namespace, with /proc and the usual /dev nodes
# Needs root (mmdebstrap --mode=root, chroot, mounts).

debian_root_suite=bookworm
debian_root_mirror=${INTERLOCK_DEBIAN_MIRROR:-http://deb.debian.org/debian}

debian_root_packages() {
  local recommends=0
  if [ "$1" = --recommends ]; then
    recommends=1
    shift
  fi
  local deb=$1
  shift
  (dpkg-deb -f "$deb" Pre-Depends; dpkg-deb -f "$deb" Depends
    [ "$recommends" -eq 0 ] || dpkg-deb -f "$deb" Recommends
    for extra in "$@"; do echo "$extra"; done) |
    tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' | grep -v '^$' | sort -u |
    paste -sd, -
}

debian_root_tarball() {
  local dir=$1 pkgs=$2 key
  shift 2
  # The key of a list without options is the one the package test always used, so that its
  # cached root stays valid.
  if [ $# -eq 0 ]; then
    key=$(printf '%s %s %s' "$debian_root_suite" "$debian_root_mirror" "$pkgs" | sha256sum)
  else
    key=$(printf '%s %s %s %s' "$debian_root_suite" "$debian_root_mirror" "$pkgs" "$*" |
      sha256sum)
  fi
  echo "$dir/debian12-${key:0:16}.tar"
}

debian_root_make() {
  local dir=$1 pkgs=$2 tarball
  shift 2
  tarball=$(debian_root_tarball "$dir" "$pkgs" "$@")
  [ -s "$tarball" ] && return 0
  mkdir -p "$dir"
  rm -f "$dir"/debian12-*.tar "$dir"/debian12-*.tar.tmp
  mmdebstrap --quiet --mode=root --variant=essential --include="$pkgs" --format=tar "$@" \
    "$debian_root_suite" "$tarball.tmp" "$debian_root_mirror" || return 1
  mv "$tarball.tmp" "$tarball"
}

# shellcheck disable=SC2016  # expanded by the inner shell
debian_root_enter='
set -e
root=$1; shift
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
# A root unpacked on a nodev file system still gets a usable /dev/null: the host's nodes
# are bound over a tmpfs that only this namespace sees.
in_root() {
  local root=$1
  shift
  unshare --mount --propagation private /bin/sh -c "$debian_root_enter" sh "$root" "$@"
}
