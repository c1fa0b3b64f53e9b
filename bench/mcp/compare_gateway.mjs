// The stdio MCP gateway of two builds, side by side (`make bench`, scripts/run-bench.sh):
// ROUNDS alternating pairs of gateway sessions (old, then new), each on a fresh store with
// --durability normal (no fsync: the disk's wait is not the program's speed), each
// measuring N sequential `echo` calls to server-everything through it (latency.mjs: p50
// and the gateway's CPU per call). Prints one line per session for the caller to reduce:
//   mcp BUILD P50_US CPU_US
// Usage: node compare_gateway.mjs OLD_INTERLOCK NEW_INTERLOCK POLICY DIR [N] [ROUNDS]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { measureClient } from "./.bench-latency.mjs";

const [oldBin, newBin, policy, dir, nArg, roundsArg] = process.argv.slice(2);
const N = Number(nArg ?? 1000);
const ROUNDS = Number(roundsArg ?? 3);
const require = createRequire(import.meta.url);
const server = join(dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")), "dist/index.js");

async function session(bin, store) {
  const args = ["mcp", "--policy", policy, "--store", store, "--durability", "normal", "--", "node", server, "stdio"];
  const transport = new StdioClientTransport({ command: bin, args, env: process.env, stderr: "ignore" });
  const client = new Client({ name: "interlock-bench", version: "1.0.0" });
  await client.connect(transport);
  const m = await measureClient(client, N, transport.pid, { ping: false });
  await client.close();
  return m;
}

for (let r = 0; r < ROUNDS; r++) {
  for (const [name, bin] of [["old", oldBin], ["new", newBin]]) {
    const m = await session(bin, join(dir, `${name}-${r}.db`));
    console.log(`mcp ${name} ${m.p50.toFixed(1)} ${(m.cpu.user + m.cpu.sys).toFixed(1)}`);
  }
}
