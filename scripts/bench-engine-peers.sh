#!/usr/bin/env bash
# Interlock's decision engine against Cedar (npm @cedar-policy/cedar-wasm, Node.js build),
# side by side in one run: the same seed support-agent policy, the same tool-call JSON
# texts, parse + decide per iteration. Usage: scripts/bench-engine-peers.sh [BUILD_DIR]
# Env: REPS (repetitions, default 5), MIN_TIME (seconds per repetition, default 0.5).
# Needs BUILD_DIR/bench/engine/engine_benchmark (cmake --build BUILD_DIR --target
# engine_benchmark) and node + npm (installs bench/cedar/package-lock.json on first use).
# Prints one table for CPU time and one for wall time (median of REPS, ns per decision).
# Not a test: numbers depend on the machine; read CPU time on a busy machine.
set -euo pipefail
build=${1:-build}
reps=${REPS:-5}
min_time=${MIN_TIME:-0.5}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build/bench/engine/engine_benchmark"
[ -x "$bin" ] || bin="$build/bench/engine/engine_benchmark"
[ -x "$bin" ] || { echo "bench-engine-peers: no engine_benchmark under $build" >&2; exit 1; }
work=$(mktemp -d /tmp/interlock-engine-peers.XXXXXX)
trap 'rm -rf "$work"' EXIT

"$root/scripts/npm-ci-pinned.sh" "$root/bench/cedar" >&2

echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
echo "before: $(uptime)"
"$bin" --benchmark_filter='^BM_(ParseAndDecide_Seed|ParseAndDecide_SeedConstraintDeny|ParseAndDecide_SeedBlocked|ParseAndDecide_SeedUnknownTool|Decide_Seed)$' \
  --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_min_time="$min_time" --benchmark_format=json >"$work/interlock.json" 2>"$work/interlock.err"
node "$root/bench/cedar/bench.mjs" --reps "$reps" --min-time "$min_time" >"$work/cedar.jsonl"
echo "after:  $(uptime)"

node - "$work/interlock.json" "$work/cedar.jsonl" <<'EOF'
const fs = require("node:fs");
const [il, cj] = process.argv.slice(2);
const interlock = {};
for (const b of JSON.parse(fs.readFileSync(il, "utf8")).benchmarks) {
  // The median aggregate; a single repetition has no aggregates, only its run.
  const median = b.run_type === "aggregate" && b.aggregate_name === "median";
  if (!median && !(b.run_type === "iteration" && !(b.run_name in interlock))) continue;
  if (b.time_unit !== "ns") throw new Error(`unexpected time unit ${b.time_unit}`);
  interlock[b.run_name] = { cpu: b.cpu_time, wall: b.real_time };
}
const cedar = {};
let version = "";
for (const line of fs.readFileSync(cj, "utf8").split("\n")) {
  if (!line.trim()) continue;
  const r = JSON.parse(line);
  version = `cedar-wasm ${r.cedar}, node ${r.node}`;
  cedar[`${r.case}/${r.mode}`] = { cpu: r.cpu_median_ns, wall: r.wall_median_ns };
}
// case, Interlock benchmark, Cedar case (its prepared and per-call modes).
const rows = [
  ["allow_constraint (parse+decide)", "BM_ParseAndDecide_Seed", "allow_constraint"],
  ["deny_constraint (parse+decide)", "BM_ParseAndDecide_SeedConstraintDeny", "deny_constraint"],
  ["deny_blocked (parse+decide)", "BM_ParseAndDecide_SeedBlocked", "deny_blocked"],
  ["deny_unknown_tool (parse+decide)", "BM_ParseAndDecide_SeedUnknownTool", "deny_unknown_tool"],
  ["allow_constraint (decide only)", "BM_Decide_Seed", "allow_constraint", "decide_only"],
];
const n = (x) => (x === undefined ? "—" : Math.round(x).toLocaleString("en-US"));
const ratio = (c, i) => (c === undefined || i === undefined ? "—" : `${(c / i).toFixed(0)}×`);
console.log(`\n${version}; median of each side's repetitions, ns per decision`);
for (const clock of ["cpu", "wall"]) {
  console.log(`\n${clock} time:\n`);
  console.log("| case | interlock ns | cedar ns (prepared) | cedar / interlock | cedar ns (policies per call) | cedar / interlock |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const [label, bm, c, only] of rows) {
    const i = interlock[bm]?.[clock];
    const p = cedar[`${c}/${only ?? "prepared"}`]?.[clock];
    const q = only ? undefined : cedar[`${c}/per_call`]?.[clock];
    console.log(`| ${label} | ${n(i)} | ${n(p)} | ${ratio(p, i)} | ${n(q)} | ${ratio(q, i)} |`);
  }
}
EOF
