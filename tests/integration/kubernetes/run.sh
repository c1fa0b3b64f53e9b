#!/bin/sh
# The Kubernetes manifests test (ctest `kubernetes_manifests_test`, docs/kubernetes.md):
#   tests/integration/kubernetes/run.sh SOURCE_DIR BUILD_DIR
# validate.mjs checks deploy/kubernetes against the Kubernetes API schemas of the pinned npm
# packages (scripts/setup-kubernetes-tests.sh; skipped, exit 77, when they are not installed
# and cannot be) and against what Interlock needs; `kubectl kustomize` renders the
# kustomization where kubectl is installed (offline: no cluster is asked); then the
# ConfigMaps' policies pass `interlock check` and their daemon config loads with the
# daemon's own reader (`interlock doctor`'s config line; its other checks need the cluster's
# Secrets and database and are not asked for here).
set -eu
src=$(cd "${1:?usage: run.sh SOURCE_DIR BUILD_DIR}" && pwd)
build=$(cd "${2:?usage: run.sh SOURCE_DIR BUILD_DIR}" && pwd)
dir=$src/tests/integration/kubernetes
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

if ! "$src/scripts/setup-kubernetes-tests.sh" >"$out/setup.log" 2>&1; then
  if [ ! -d "$dir/node_modules/kubernetes-models" ]; then
    cat "$out/setup.log"
    echo "SKIP: the pinned npm packages are not installed (scripts/setup-kubernetes-tests.sh)"
    exit 77
  fi
fi
rendered=""
if command -v kubectl >/dev/null 2>&1; then
  kubectl kustomize "$src/deploy/kubernetes" >"$out/rendered.yaml" ||
    { echo "FAIL: kubectl kustomize deploy/kubernetes"; exit 1; }
  rendered=$out/rendered.yaml
else
  echo "note: kubectl is not installed: the kustomize rendering is not checked"
fi
# shellcheck disable=SC2086  # $rendered is empty or one path
node "$dir/validate.mjs" "$src/deploy/kubernetes" "$out" $rendered
"$build/interlock" check "$out/policies" >"$out/check.log" 2>&1 ||
  { cat "$out/check.log"; echo "FAIL: interlock check on the ConfigMap's policies"; exit 1; }
echo "ok   interlock check: the ConfigMap's policies"
"$build/interlock" doctor --config "$out/config/interlock.yaml" --policies "$out/policies" \
  --store "$out/unused.db" --keys "$out/keys" >"$out/doctor.log" 2>&1 || true
grep -q "^ok   config .* loads" "$out/doctor.log" ||
  { cat "$out/doctor.log"; echo "FAIL: the ConfigMap's daemon config does not load"; exit 1; }
echo "ok   the ConfigMap's daemon config loads with the daemon's reader"
