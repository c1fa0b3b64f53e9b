#!/usr/bin/env bash
# `make run`: the main job on the embedded default. Checks the example policies, then
# plays the seed support agent's scripted run through `interlock decide`.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$(cd "$build" && pwd)/interlock"
echo "== interlock check examples/policies"
cd "$root"
"$bin" check examples/policies
echo
echo "== interlock decide: the seed's support agent, one scripted run"
echo "   (examples/demo/support-run.jsonl; one decision per call)"
"$bin" decide --policy examples/policies --agent support-agent-v2 \
  --now 2026-11-22T09:00:00Z < examples/demo/support-run.jsonl
