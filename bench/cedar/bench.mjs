// Cedar peer for Interlock's engine benchmark (bench/engine/engine_benchmark.cc).
//
// Usage: node bench/cedar/bench.mjs [--reps 5] [--min-time 0.5] [--warmup 0.5] [--warmup-iters 10000]
// Install first: scripts/npm-ci-pinned.sh bench/cedar
//
// Same policy (bench/cedar/support-agent-v2.cedar = the seed's support agent) and the
// same tool-call JSON texts as the engine benchmark's BM_ParseAndDecide_Seed* cases. Each
// timed iteration parses the call's JSON text and decides it, as ParseToolCall + Evaluate
// do in the engine benchmark; the run state is a constant, as State() is there.
//
// Modes:
//   prepared   statefulIsAuthorized against a policy set parsed once (preparsePolicySet):
//              the fair, fastest way to use cedar-wasm.
//   per_call   isAuthorized with the policy text in every call: cedar-wasm's stateless
//              API parses the policy set again on every call (it has no cache).
//   decide_only (allow case only) prepared, with the request object built once: no JSON
//              parse of the call text, like BM_Decide_Seed.
// In every mode cedar-wasm itself serialises the request with JSON.stringify, parses it
// in Rust (serde), and returns the answer through JSON.parse: that is its only entry point.
//
// Output: one JSON line per (case, mode): {"peer":"cedar", "case", "mode", "wall_median_ns",
// "cpu_median_ns", "wall_ns":[...], "cpu_ns":[...], "iters"}: ns per decision, the median
// over --reps repetitions of `iters` decisions each; wall from process.hrtime.bigint, CPU
// from process.cpuUsage (the whole process: V8's compiler and GC threads count too). Before any timing, every case's outcome is asserted in every
// mode against the outcome Interlock's engine gives (allow/deny and the deciding rule).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const cedar = createRequire(import.meta.url)("@cedar-policy/cedar-wasm/nodejs");

const opts = { reps: 5, "min-time": 0.5, warmup: 0.5, "warmup-iters": 10000 };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, "");
  if (!(k in opts) || process.argv[i + 1] === undefined) {
    console.error("usage: bench.mjs [--reps N] [--min-time S] [--warmup S] [--warmup-iters N]");
    process.exit(2);
  }
  opts[k] = Number(process.argv[i + 1]);
}

// The policy set, keyed by each policy's @id (cedar-wasm numbers text policies policy0..N
// and ignores @id, so the ids are attached here to make the deciding rule readable).
const policyText = readFileSync(join(here, "support-agent-v2.cedar"), "utf8");
const parts = cedar.policySetTextToParts(policyText);
if (parts.type !== "success") throw new Error(JSON.stringify(parts.errors));
const staticPolicies = {};
for (const p of parts.policies) {
  const m = /@id\("((?:[^"\\]|\\.)*)"\)/.exec(p);
  if (!m) throw new Error(`policy without @id: ${p}`);
  staticPolicies[JSON.parse(`"${m[1]}"`)] = p;
}
const policies = { staticPolicies };
const PSET = "support-agent-v2";
const prep = cedar.preparsePolicySet(PSET, policies);
if (prep.type !== "success") throw new Error(JSON.stringify(prep.errors));

const AGENT = { type: "Agent", id: "support-agent-v2" };
const RESOURCE = { type: "Run", id: "run-1" };
// engine_benchmark.cc State(): steps 7, tokens 9000, $0.12, 30 s, 2 records of
// update_order_status already touched.
const RUN = {
  halted: false,
  steps: 7,
  tokens: 9000,
  cost_micros: 120000,
  elapsed_ms: 30000,
  records: { update_order_status: 2 },
};
const SCOPE_ARGUMENT = { read_customer_record: "fields" };

// The shape checks engine::ParseToolCall makes (JSON.parse is the parser, so duplicate
// keys and depth limits are not checked: the strict parser's extra work is Interlock's).
function parseCall(text) {
  const doc = JSON.parse(text);
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw new Error("not an object");
  const tool = doc.tool;
  if (typeof tool !== "string" || tool.length === 0 || tool.length > 256 || /[\x00-\x1f\x7f]/.test(tool)) {
    throw new Error("bad tool");
  }
  const args = doc.args ?? {};
  if (typeof args !== "object" || Array.isArray(args) || args === null) throw new Error("bad args");
  let tokens = 0;
  let costMicros = 0;
  if (doc.usage !== undefined) {
    const u = doc.usage;
    if (u === null || typeof u !== "object" || Array.isArray(u)) throw new Error("bad usage");
    if (u.tokens !== undefined) {
      if (!Number.isSafeInteger(u.tokens) || u.tokens < 0) throw new Error("bad tokens");
      tokens = u.tokens;
    }
    if (u.cost_usd !== undefined) {
      if (typeof u.cost_usd !== "number" || !Number.isFinite(u.cost_usd) || u.cost_usd < 0) {
        throw new Error("bad cost");
      }
      costMicros = Math.round(u.cost_usd * 1e6);
    }
  }
  return { tool, args, tokens, costMicros };
}

// engine::CountRecords: the item count of the longest top-level array argument (the
// tool's scope argument excluded), at least 1.
function countRecords(tool, args) {
  let n = 1;
  const skip = SCOPE_ARGUMENT[tool];
  for (const k in args) {
    const v = args[k];
    if (Array.isArray(v) && k !== skip && v.length > n) n = v.length;
  }
  return n;
}

function request(call) {
  return {
    principal: AGENT,
    action: { type: "Action", id: call.tool },
    resource: RESOURCE,
    context: { args: call.args, records: countRecords(call.tool, call.args), run: RUN },
    entities: [],
  };
}

function decidePrepared(text) {
  const req = request(parseCall(text));
  req.preparsedPolicySetId = PSET;
  return cedar.statefulIsAuthorized(req);
}

function decidePerCall(text) {
  const req = request(parseCall(text));
  req.policies = policies;
  return cedar.isAuthorized(req);
}

const USAGE = `"usage":{"tokens":412,"cost_usd":0.0031}}`;
// name, the engine benchmark it pairs with, the call text, the expected outcome: the
// decision and the deciding policies (Cedar's diagnostics.reason; [] = default deny).
const CASES = [
  {
    name: "allow_constraint",
    text: `{"tool":"update_order_status","args":{"order_id":"ord-1042","status":"refunded"},${USAGE}`,
    want: ["allow", ['tools.allowed["update_order_status"]']],
  },
  {
    name: "deny_constraint",
    text: `{"tool":"update_order_status","args":{"order_id":"ord-1042","status":"shipped"},${USAGE}`,
    want: ["deny", []],
  },
  {
    name: "deny_blocked",
    text: `{"tool":"delete_customer_record","args":{"customer_id":"C-1"},${USAGE}`,
    want: ["deny", ["tools.blocked"]],
  },
  {
    name: "deny_unknown_tool",
    text: `{"tool":"export_customer_list","args":{"segment":"all"},${USAGE}`,
    want: ["deny", []],
  },
];

function check(name, mode, ans, [decision, reasons]) {
  if (ans.type !== "success") throw new Error(`${name}/${mode}: ${JSON.stringify(ans)}`);
  const got = ans.response.decision;
  const why = [...ans.response.diagnostics.reason].sort();
  if (got !== decision || JSON.stringify(why) !== JSON.stringify([...reasons].sort()) ||
      ans.response.diagnostics.errors.length !== 0) {
    throw new Error(`${name}/${mode}: got ${got} ${JSON.stringify(why)}, want ${decision} ${JSON.stringify(reasons)}`);
  }
}

// Semantic spot checks beyond the timed cases (not timed): the budget, record-limit,
// scope and approval rules decide as Interlock's engine does for these inputs.
function spot(text, decision, reasons, run = RUN) {
  const call = parseCall(text);
  const req = request(call);
  req.context.run = run;
  req.preparsedPolicySetId = PSET;
  check(`spot ${text}`, "prepared", cedar.statefulIsAuthorized(req), [decision, reasons]);
}
spot(`{"tool":"update_order_status","args":{"status":"refunded"}}`, "deny",
     ["execution"], { ...RUN, steps: 25 });
spot(`{"tool":"update_order_status","args":{"status":"refunded","ids":[1,2,3,4,5,6,7,8,9]}}`, "deny",
     ['tools.allowed["update_order_status"].constraints.max_records_per_run']);
spot(`{"tool":"update_order_status","args":{"status":"refunded","ids":[1,2,3,4,5,6,7,8]}}`, "allow",
     ['tools.allowed["update_order_status"]']);
spot(`{"tool":"update_order_status","args":{"order_id":"ord-1"}}`, "deny", []);
spot(`{"tool":"read_customer_record","args":{"customer_id":"C-1","fields":["contact_info"]}}`, "allow",
     ['tools.allowed["read_customer_record"]']);
spot(`{"tool":"read_customer_record","args":{"customer_id":"C-1","fields":["payment_card"]}}`, "deny", []);
spot(`{"tool":"send_customer_email","args":{"customer_id":"C-1"}}`, "deny", []);

for (const c of CASES) {
  check(c.name, "prepared", decidePrepared(c.text), c.want);
  check(c.name, "per_call", decidePerCall(c.text), c.want);
}

let sink = 0;
// Runs fn for at least `seconds`; returns the iterations done.
function runFor(fn, seconds) {
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  let n = 0;
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 100; ++i) sink ^= fn().type.length;
    n += 100;
  }
  return n;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// V8 first runs wasm in its baseline compiler (Liftoff) and tiers hot functions up to
// TurboFan after a few thousand calls (the first ~4,000 decisions are 5-10x slower):
// warmUp() runs every case in every mode `warmup-iters` times (a tenth of that with the
// policy text per call, which is slower and tiers the parser up sooner) before anything
// is timed; steady state was checked against `node --no-liftoff` (TurboFan only), which
// gives the same figures. Then each timing warms up for `warmup` seconds and a short run
// sets the iterations per repetition (min-time seconds each).
function warmUp() {
  for (let i = 0; i < opts["warmup-iters"]; ++i) {
    for (const c of CASES) {
      sink ^= decidePrepared(c.text).type.length;
      if (i % 10 === 0) sink ^= decidePerCall(c.text).type.length;
    }
  }
}

function time(fn) {
  runFor(fn, opts.warmup);
  const t0 = process.hrtime.bigint();
  const n = runFor(fn, 0.1);
  const perOp = Number(process.hrtime.bigint() - t0) / n;
  const iters = Math.max(100, Math.ceil((opts["min-time"] * 1e9) / perOp));
  const wall = [];
  const cpu = [];
  for (let r = 0; r < opts.reps; ++r) {
    const c0 = process.cpuUsage();
    const w0 = process.hrtime.bigint();
    for (let i = 0; i < iters; ++i) sink ^= fn().type.length;
    wall.push(Number(process.hrtime.bigint() - w0) / iters);
    const c = process.cpuUsage(c0);
    cpu.push(((c.user + c.system) * 1000) / iters);
  }
  return { wall, cpu, iters };
}

function report(name, mode, t) {
  const r = (x) => Math.round(x * 10) / 10;
  console.log(JSON.stringify({
    peer: "cedar",
    cedar: cedar.getCedarVersion(),
    node: process.version,
    case: name,
    mode,
    wall_median_ns: r(median(t.wall)),
    cpu_median_ns: r(median(t.cpu)),
    wall_ns: t.wall.map(r),
    cpu_ns: t.cpu.map(r),
    iters: t.iters,
  }));
}

warmUp();
for (const c of CASES) {
  report(c.name, "prepared", time(() => decidePrepared(c.text)));
  report(c.name, "per_call", time(() => decidePerCall(c.text)));
}
{
  const req = request(parseCall(CASES[0].text));
  req.preparsedPolicySetId = PSET;
  report(CASES[0].name, "decide_only", time(() => cedar.statefulIsAuthorized(req)));
}
if (sink === 0.5) console.error(sink);  // keeps the results live
