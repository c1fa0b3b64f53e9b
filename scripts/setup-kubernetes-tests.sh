#!/bin/sh
# Installs the pinned npm packages the Kubernetes manifests test checks deploy/kubernetes
# with (tests/integration/kubernetes/package-lock.json: kubernetes-models, the API's
# OpenAPI schemas compiled for ajv; @kubernetes/client-node, the API's field lists; yaml)
# into tests/integration/kubernetes/node_modules. Idempotent and safe to run concurrently
# (see npm-ci-pinned.sh).
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
exec "$root/scripts/npm-ci-pinned.sh" "$root/tests/integration/kubernetes"
