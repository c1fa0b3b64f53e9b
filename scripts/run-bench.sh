#!/usr/bin/env bash
# `make bench`: the in-process benchmarks (Google Benchmark). Load tests of the daemon and
# the MCP gateway have their own scripts (bench-daemon.sh, bench-mcp.sh) because they
# start servers. Figures and how to read them: docs/performance.md.
set -euo pipefail
build=${1:-build}
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores"
"$build/bench/engine/engine_benchmark" --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true
if [ -x "$build/bench/audit/audit_verify_benchmark" ]; then
  "$build/bench/audit/audit_verify_benchmark" 1000000
fi
