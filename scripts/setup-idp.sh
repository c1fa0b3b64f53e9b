#!/bin/sh
# Installs the pinned OpenID provider the identity tests start (tests/idp/idp.mjs, npm
# `oidc-provider` from tests/idp/package-lock.json) into tests/idp/node_modules.
# Idempotent and safe to run concurrently (see npm-ci-pinned.sh).
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
exec "$root/scripts/npm-ci-pinned.sh" "$root/tests/idp"
