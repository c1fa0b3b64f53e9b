#!/usr/bin/env bash
# Runs every fuzz target in BUILD_DIR for SECONDS each, from its corpus in fuzz/<name>/corpus.
# New inputs go to a scratch directory so the checked-in corpus stays reviewed.
# FUZZ_JOBS targets run at once (default: the CPUs, as many as CI's two cores): each target
# still fuzzes SECONDS on a core of its own, and the whole run takes SECONDS x targets / jobs.
set -euo pipefail
build=${1:-build-san}
seconds=${2:-20}
jobs=${FUZZ_JOBS:-$(nproc)}
root=$(cd "$(dirname "$0")/.." && pwd)
artifacts=${FUZZ_ARTIFACTS:-$build/fuzz-artifacts}
mkdir -p "$artifacts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One target: its summary line on stdout when it ends; on failure, the end of its log and
# its crashing inputs in $work/<name>.report.
fuzz_one() {
  local name=$1 dir=$2
  local bin="$build/fuzz/$name/fuzz_$name"
  if [ ! -x "$bin" ]; then
    echo "fuzz: $bin missing" >&2
    echo "$name (missing)" > "$work/$name.failed"
    return
  fi
  local scratch
  scratch=$(mktemp -d)
  # fuzz/<name>/options: extra libFuzzer flags for that target, one per line ('#' comments).
  local extra=() line
  if [ -f "$dir/options" ]; then
    while IFS= read -r line; do
      case "$line" in ''|'#'*) ;; *) extra+=("$line") ;; esac
    done < "$dir/options"
  fi
  # A crashing input is written to $artifacts/<name>-crash-<sha1> (kept after the run) and
  # printed in base64 at the end, so a failure in CI can be replayed from its log alone.
  rm -f "$artifacts/$name"-*
  if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$artifacts/$name-" ${extra[@]+"${extra[@]}"} "$scratch" "$dir/corpus" \
       > "$scratch.log" 2>&1; then
    echo "fuzz: $name for ${seconds}s ${extra[*]:-}: FAILED (details at the end)"
    {
      echo "==== fuzz: $name failed; the end of its log:"
      tail -60 "$scratch.log"
      local input
      for input in "$artifacts/$name"-*; do
        [ -f "$input" ] || continue
        echo "fuzz: $name: input $input (base64): $(head -c 4096 "$input" | base64 -w0)"
      done
    } > "$work/$name.report"
    echo "$name" > "$work/$name.failed"
  else
    echo "fuzz: $name for ${seconds}s ${extra[*]:-}: $(grep -E 'stat::number_of_executed_units' \
      "$scratch.log" || echo 'no stats')"
  fi
  rm -rf "$scratch" "$scratch.log"
}

running=0
for dir in "$root"/fuzz/*/; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  fuzz_one "$(basename "$dir")" "$dir" &
  running=$((running + 1))
done
wait
failed=()
for f in "$work"/*.failed; do
  [ -f "$f" ] || continue
  failed+=("$(cat "$f")")
done
if [ ${#failed[@]} -ne 0 ]; then
  # Last, so the end of a CI log shows what failed and the input that made it fail.
  cat "$work"/*.report >&2 2>/dev/null || true
  echo "fuzz: FAILED: ${failed[*]}; crashing inputs in $artifacts" >&2
  exit 1
fi
