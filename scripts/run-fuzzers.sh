#!/usr/bin/env bash
# Runs every fuzz target in BUILD_DIR for SECONDS each, from its corpus in fuzz/<name>/corpus.
# New inputs go to a scratch directory so the checked-in corpus stays reviewed.
set -euo pipefail
build=${1:-build-san}
seconds=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
for dir in "$root"/fuzz/*/; do
  name=$(basename "$dir")
  bin="$build/fuzz/$name/fuzz_$name"
  [ -x "$bin" ] || { echo "fuzz: $bin missing" >&2; status=1; continue; }
  scratch=$(mktemp -d)
  # fuzz/<name>/options: extra libFuzzer flags for that target, one per line ('#' comments).
  extra=()
  if [ -f "$dir/options" ]; then
    while IFS= read -r line; do
      case "$line" in ''|'#'*) ;; *) extra+=("$line") ;; esac
    done < "$dir/options"
  fi
  echo "fuzz: $name for ${seconds}s ${extra[*]:-}"
  if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       ${extra[@]+"${extra[@]}"} "$scratch" "$dir/corpus" > "$scratch.log" 2>&1; then
    tail -50 "$scratch.log" >&2
    status=1
  else
    grep -E 'stat::number_of_executed_units' "$scratch.log" || true
  fi
  rm -rf "$scratch" "$scratch.log"
done
exit $status
