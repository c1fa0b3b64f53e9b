#!/usr/bin/env bash
# Runs every fuzz target in BUILD_DIR for SECONDS each, from its corpus in fuzz/<name>/corpus.
# New inputs go to a scratch directory so the checked-in corpus stays reviewed.
set -euo pipefail
build=${1:-build-san}
seconds=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
artifacts=${FUZZ_ARTIFACTS:-$build/fuzz-artifacts}
mkdir -p "$artifacts"
status=0
failed=()
report=$(mktemp)
trap 'rm -f "$report"' EXIT
for dir in "$root"/fuzz/*/; do
  name=$(basename "$dir")
  bin="$build/fuzz/$name/fuzz_$name"
  [ -x "$bin" ] || { echo "fuzz: $bin missing" >&2; status=1; failed+=("$name (missing)"); continue; }
  scratch=$(mktemp -d)
  # fuzz/<name>/options: extra libFuzzer flags for that target, one per line ('#' comments).
  extra=()
  if [ -f "$dir/options" ]; then
    while IFS= read -r line; do
      case "$line" in ''|'#'*) ;; *) extra+=("$line") ;; esac
    done < "$dir/options"
  fi
  echo "fuzz: $name for ${seconds}s ${extra[*]:-}"
  # A crashing input is written to $artifacts/<name>-crash-<sha1> (kept after the run) and
  # printed in base64 at the end, so a failure in CI can be replayed from its log alone.
  rm -f "$artifacts/$name"-*
  if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$artifacts/$name-" ${extra[@]+"${extra[@]}"} "$scratch" "$dir/corpus" \
       > "$scratch.log" 2>&1; then
    echo "fuzz: $name FAILED (details at the end)"
    {
      echo "==== fuzz: $name failed; the end of its log:"
      tail -60 "$scratch.log"
      for input in "$artifacts/$name"-*; do
        [ -f "$input" ] || continue
        echo "fuzz: $name: input $input (base64): $(head -c 4096 "$input" | base64 -w0)"
      done
    } >> "$report"
    status=1
    failed+=("$name")
  else
    grep -E 'stat::number_of_executed_units' "$scratch.log" || true
  fi
  rm -rf "$scratch" "$scratch.log"
done
if [ $status -ne 0 ]; then
  # Last, so the end of a CI log shows what failed and the input that made it fail.
  cat "$report" >&2
  echo "fuzz: FAILED: ${failed[*]}; crashing inputs in $artifacts" >&2
fi
exit $status
