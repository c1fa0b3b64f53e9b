#!/usr/bin/env bash
# Times `interlock decide` over a batch of JSON lines (default 100,000) made from the seed
# policy's tools: reads, out-of-scope reads, status updates, blocked and unknown tools.
# The seed's max_steps (25) halts the run early, so most lines take the halted path; a
# second pass uses a copy of the seed with the run budgets raised so every line is
# decided in full. Usage: bench/decide/bench-decide.sh [BUILD_DIR] [LINES]
# Figures and how to read them: docs/performance.md ("interlock decide over a batch").
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
n=${2:-100000}
bin="$build/interlock"
seed="$root/examples/policies/support-agent-v2.yaml"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

. "$root/bench/decide/inputs.sh"
decide_lines "$n" "$work/lines.jsonl"

raised_budgets "$seed" "$work/unbounded.yaml"

echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; $n lines"
# Wall time depends on how busy the machine is; the CPU time (user + sys, the decide
# process and its feeders) is the steadier figure to compare builds with.
TIMEFORMAT='%R %U %S'
for policy in "$seed" "$work/unbounded.yaml"; do
  for input in file pipe; do
    if [ "$input" = file ]; then
      t=$( { time "$bin" decide --policy "$policy" < "$work/lines.jsonl" > /dev/null; } 2>&1 )
    else
      t=$( { time (cat "$work/lines.jsonl" | "$bin" decide --policy "$policy" | cat > /dev/null); } 2>&1 )
    fi
    read -r real user sys <<< "$t"
    awk -v r="$real" -v u="$user" -v s="$sys" -v p="$(basename "$policy")" -v i="$input" \
      -v n="$n" 'BEGIN { printf "%-22s stdin=%-4s wall %6.2f s  cpu %6.2f s  %8.0f lines/s (wall)\n",
                          p, i, r, u + s, n / r }'
  done
done
