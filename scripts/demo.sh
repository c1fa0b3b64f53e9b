#!/usr/bin/env bash
# The demo `make run` plays before it serves (scripts/run.sh): checks the example policies,
# then plays the seed's support agent's scripted run (examples/demo/support-run.jsonl)
# through `interlock decide`, printing each call's note above Interlock's answer.
# Usage: scripts/demo.sh INTERLOCK_BINARY
set -euo pipefail
bin=${1:?usage: demo.sh INTERLOCK_BINARY}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
echo "== interlock check examples/policies"
"$bin" check examples/policies
echo
echo "== interlock decide: the seed's support agent, one scripted run"
echo "   (examples/demo/support-run.jsonl; one decision per call)"
echo "   each call's note, then Interlock's answer (line 9 is not JSON on purpose)"
demo=examples/demo/support-run.jsonl
"$bin" decide --policy examples/policies --agent support-agent-v2 \
  --now 2026-11-22T09:00:00Z < "$demo" |
  awk -v demo="$demo" '{
    note = ""
    if ((getline line < demo) > 0 && match(line, /"note": "[^"]*"/)) {
      note = substr(line, RSTART + 9, RLENGTH - 10)
    }
    printf "%2d. %s\n    %s\n", NR, note, $0
  }'

