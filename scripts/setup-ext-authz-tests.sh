#!/bin/sh
# Installs the pinned gRPC client the ext_authz integration tests drive
# (tests/integration/ext_authz/package-lock.json: @grpc/grpc-js 1.14.7 and
# @grpc/proto-loader 0.8.1) into tests/integration/ext_authz/node_modules. Idempotent and safe
# to run concurrently (see npm-ci-pinned.sh).
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
exec "$root/scripts/npm-ci-pinned.sh" "$root/tests/integration/ext_authz"
