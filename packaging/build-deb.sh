#!/usr/bin/env bash
# Builds interlock_<version>_<arch>.deb from a build directory: `make package`, or
#   packaging/build-deb.sh BUILD_DIR [OUT_DIR]
# A staged tree packed with dpkg-deb (no debhelper): the programs, the service unit, the
# config and a starter policy (conffiles), examples and docs. Depends are computed with
# dpkg-shlibdeps from the programs' ELF dependencies, plus what the package uses at run
# time without linking it (libpq5: loaded with dlopen for a PostgreSQL store). Prints the
# path of the .deb on stdout.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: build-deb.sh BUILD_DIR [OUT_DIR]}" && pwd)
out=$(mkdir -p "${2:-$build}" && cd "${2:-$build}" && pwd)

for prog in interlock interlock-sandbox-bridge; do
  [ -x "$build/$prog" ] || { echo "build-deb: $build/$prog is missing: build first" >&2; exit 2; }
done
version=${INTERLOCK_DEB_VERSION:-$(sed -n 's/^project(interlock VERSION \([0-9.]*\).*/\1/p' \
  "$src/CMakeLists.txt")}
[ -n "$version" ] || { echo "build-deb: no version in CMakeLists.txt" >&2; exit 2; }
arch=$(dpkg --print-architecture)

stage=$(mktemp -d "$build/deb-stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
doc=$root/usr/share/doc/interlock

install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" \
  "$root/etc/interlock/policies" "$doc/examples/policies" "$doc/examples/config"
# The bridge sits beside the program: `interlock mcp --sandbox` looks for it there.
install -m 0755 -s "$build/interlock" "$build/interlock-sandbox-bridge" "$root/usr/bin/"
install -m 0644 "$src/packaging/debian/interlock.service" "$root/lib/systemd/system/"
install -m 0644 "$src/packaging/interlock.yaml" "$root/etc/interlock/interlock.yaml"
# A starter policy so that the service starts; it allows nothing until a token exists for
# its agent (`interlock token create`). Replace it with your agents' policies.
install -m 0644 "$src/examples/policies/support-agent-v2.yaml" "$root/etc/interlock/policies/"
# Its tests beside it (`interlock test /etc/interlock/policies`; the daemon skips *.test.yaml).
install -m 0644 "$src/examples/policies/support-agent-v2.test.yaml" "$root/etc/interlock/policies/"
install -m 0644 "$src/examples/policies/"*.yaml "$doc/examples/policies/"
install -m 0644 "$src/examples/config/interlock.yaml" "$doc/examples/config/"
# The same layout as the source tree, so the pages' relative links work.
install -d "$doc/docs"
install -m 0644 "$src/README.md" "$doc/"
install -m 0644 "$src/docs/"*.md "$src/docs/openapi.yaml" "$src/docs/policy.schema.json" "$doc/docs/"

(cd "$root" && find etc -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"
install -m 0755 "$src/packaging/debian/postinst" "$src/packaging/debian/prerm" \
  "$src/packaging/debian/postrm" "$root/DEBIAN/"

# dpkg-shlibdeps wants a debian/control of a source package to work in.
shlib=$stage/shlib
install -d "$shlib/debian"
printf 'Source: interlock\n\nPackage: interlock\nArchitecture: any\n' >"$shlib/debian/control"
shlibs=$(cd "$shlib" && dpkg-shlibdeps -O "$root/usr/bin/interlock" \
  "$root/usr/bin/interlock-sandbox-bridge" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
depends="$shlibs, libpq5, ca-certificates"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
  -e "s/@DEPENDS@/$depends/" "$src/packaging/debian/control.in" >"$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
  xargs -0 md5sum) >"$root/DEBIAN/md5sums"

deb=$out/interlock_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zgzip --build "$root" "$deb" >/dev/null
echo "$deb"
