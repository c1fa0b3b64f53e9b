#!/bin/sh
# Link launcher of the `interlock` program (RULE_LAUNCH_LINK, src/cli/CMakeLists.txt).
# Usage: link-static-deps.sh NAME[:ARCHIVE]... -- LINK COMMAND...
# Each argument of the link command that is a shared library path .../libNAME.so[.*] for a
# listed NAME is replaced by .../libARCHIVE.a (ARCHIVE defaults to NAME) when that archive
# exists next to it; anything
# else (and a library without an archive) is passed through unchanged, so the worst case
# is the ordinary dynamic link. Why: each shared library costs the dynamic loader symbol
# lookups, relocations and page faults at every start (~10 ms of CPU for OpenSSL, ICU,
# SQLite, Boost.URL/JSON, RE2 and yaml-cpp), which a short `interlock decide` or hook run
# pays in full (docs/performance.md, "interlock decide over a batch").
set -eu
names=" "
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  names="$names$1 "
  shift
done
[ $# -gt 0 ] && shift
for arg do
  shift
  case $arg in
    /*/lib*.so | /*/lib*.so.[0-9]*)
      base=${arg%%.so*}
      name=${base##*/lib}
      archive=
      case $names in
        *" $name "*) archive=$name ;;
        *" $name:"*)
          archive=${names#*" $name:"}
          archive=${archive%%" "*}
          ;;
      esac
      if [ -n "$archive" ] && [ -f "${base%/*}/lib$archive.a" ]; then
        arg=${base%/*}/lib$archive.a
      fi
      ;;
  esac
  set -- "$@" "$arg"
done
exec "$@"
