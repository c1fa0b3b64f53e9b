// Start overhead of `interlock mcp --sandbox`: time from spawning the gateway to the
// server's answer to `initialize`, with and without --sandbox, alternating, N rounds.
// Usage: node sandbox_start.mjs INTERLOCK POLICY STORE N -- SERVER [ARGS...]
// Prints p50 and p90 of each and the p50 difference (ms). A trivial server isolates the
// sandbox's own cost: bench/egress/tiny_mcp_server.sh answers initialize in ~1 ms.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

const sep = process.argv.indexOf("--");
const [interlock, policy, store, n] = process.argv.slice(2, sep);
const server = process.argv.slice(sep + 1);
const init = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: {
  protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } } });

function once(sandbox) {
  return new Promise((resolve) => {
    const args = ["mcp", ...(sandbox ? ["--sandbox"] : []), "--durability", "normal",
      "--policy", policy, "--store", store, "--", ...server];
    const t0 = process.hrtime.bigint();
    const child = spawn(interlock, args, { stdio: ["pipe", "pipe", "ignore"] });
    createInterface({ input: child.stdout }).once("line", () => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      child.stdin.end();
      child.on("exit", () => resolve(ms));
    });
    child.stdin.write(init + "\n");
  });
}
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };
const median = (a) => pct(a, 0.5);
const plain = [], boxed = [];
for (let i = 0; i < Number(n); ++i) {
  plain.push(await once(false));
  boxed.push(await once(true));
}
console.log(JSON.stringify({ rounds: Number(n), plain_p50_ms: median(plain).toFixed(1),
  plain_p90_ms: pct(plain, 0.9).toFixed(1), sandbox_p50_ms: median(boxed).toFixed(1),
  sandbox_p90_ms: pct(boxed, 0.9).toFixed(1),
  overhead_p50_ms: (median(boxed) - median(plain)).toFixed(1) }));
