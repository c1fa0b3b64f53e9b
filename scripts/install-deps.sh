#!/usr/bin/env bash
# Installs Interlock's build and test dependencies from Debian 12 packages.
# Idempotent: installs only what is missing; safe to run on every `make`.
set -euo pipefail

PACKAGES=(
  build-essential cmake g++ make pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libyaml-cpp-dev libre2-dev libsqlite3-dev sqlite3 libssl-dev libcli11-dev
  libpq-dev postgresql-15
  libgtest-dev libgmock-dev libbenchmark-dev libjemalloc-dev libicu-dev
  clang-14 libclang-rt-14-dev lld-14 clang-format
  curl openssl wrk python3 python3-setuptools python3-wheel python3-pip ninja-build chromium
  bubblewrap iproute2
  mmdebstrap dpkg-dev skopeo
  # The ext_authz door (src/doors/ext_authz): nghttp2 (its HTTP/2 server), protobuf and
  # protoc; gRPC C++ and protoc's gRPC plugin for the bench's client (check_load).
  libnghttp2-dev libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm run the MCP and browser integration tests. Some images ship
# Node from another packaging whose npm conflicts with Debian's: keep theirs.
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
