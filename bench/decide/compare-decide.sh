#!/usr/bin/env bash
# Compares the wall time of `interlock decide` of two builds, side by side, over the
# 100,000 lines of bench-decide.sh: stdout /dev/null, stdout a file, and through pipes
# (`cat lines | decide | cat`), for the seed policy and a copy with its run budgets raised.
# Rounds alternate between the builds; prints the median of each and the ratio.
# Usage: bench/decide/compare-decide.sh OLD_BUILD_DIR NEW_BUILD_DIR [ROUNDS] [LINES]
# Figures: docs/performance.md ("interlock decide over a batch").
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
old="$1/interlock"
new="$2/interlock"
rounds=${3:-11}
n=${4:-100000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$root/bench/decide/inputs.sh"
decide_lines "$n" "$work/lines.jsonl"
seed="$root/examples/policies/support-agent-v2.yaml"
raised_budgets "$seed" "$work/raised.yaml"

run() {  # BIN POLICY FORM -> wall time in tenths of a millisecond
  local s e
  s=$(date +%s%N)
  case $3 in
    null) "$1" decide --policy "$2" < "$work/lines.jsonl" > /dev/null ;;
    file) "$1" decide --policy "$2" < "$work/lines.jsonl" > "$work/out.jsonl" ;;
    pipe) cat "$work/lines.jsonl" | "$1" decide --policy "$2" | cat > /dev/null ;;
  esac
  e=$(date +%s%N)
  echo $(((e - s) / 100000))
}
median() { sort -n | awk '{a[NR] = $1} END {printf "%.1f", a[int((NR + 1) / 2)] / 10}'; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; $n lines; $rounds rounds"
for policy in "$seed" "$work/raised.yaml"; do
  for form in null file pipe; do
    o=() m=()
    for _ in $(seq "$rounds"); do
      o+=("$(run "$old" "$policy" $form)")
      m+=("$(run "$new" "$policy" $form)")
    done
    mo=$(printf '%s\n' "${o[@]}" | median)
    mn=$(printf '%s\n' "${m[@]}" | median)
    awk -v p="$(basename "$policy")" -v f=$form -v a="$mo" -v b="$mn" \
      'BEGIN { printf "%-22s stdout=%-4s old %7.1f ms  new %7.1f ms  %.2fx\n", p, f, a, b, a / b }'
  done
done
