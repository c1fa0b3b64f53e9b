// Added latency of the stdio MCP gateway: N sequential `echo` calls to server-everything,
// directly and through `interlock mcp`, with the official SDK client; prints p50/p99 (us).
// Also N `ping`s each way: the gateway relays ping untouched, so its added latency is the
// relay alone (two more pipe hops), and echo's minus ping's is the decision and its record.
// For each gateway run, also the gateway's own CPU per call, echo and ping (latency.mjs).
// Usage: [DURABILITY=full,normal] node echo_latency.mjs INTERLOCK_BINARY POLICY STORE [N]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { measureClient } from "./.bench-latency.mjs";

const [interlock, policy, store, nArg] = process.argv.slice(2);
const N = Number(nArg ?? 2000);
const require = createRequire(import.meta.url);
const server = join(dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")), "dist/index.js");

async function measure(command, args, { cpu = false } = {}) {
  const transport = new StdioClientTransport({ command, args, env: process.env, stderr: "ignore" });
  const client = new Client({ name: "interlock-bench", version: "1.0.0" });
  await client.connect(transport);
  const measured = await measureClient(client, N, cpu ? transport.pid : undefined);
  await client.close();
  return measured;
}

// DURABILITY: comma-separated `--durability` values to measure through the gateway
// ("default" passes no flag, for builds without it). Each gets its own fresh store.
const modes = (process.env.DURABILITY ?? "full,normal").split(",").filter(Boolean);
const direct = await measure("node", [server, "stdio"]);
const f = (x) => x.toFixed(0);
console.log(`calls each way: ${N}`);
console.log(`direct                    p50 ${f(direct.p50)} us  p99 ${f(direct.p99)} us  (ping p50 ${f(direct.ping.p50)} us)`);
for (const mode of modes) {
  const flag = mode === "default" ? [] : ["--durability", mode];
  const gated = await measure(interlock, ["mcp", "--policy", policy, "--store", `${store}.${mode}`, ...flag, "--", "node", server, "stdio"], { cpu: true });
  const label = `via interlock (${mode})`.padEnd(25);
  console.log(`${label} p50 ${f(gated.p50)} us  p99 ${f(gated.p99)} us  (ping p50 ${f(gated.ping.p50)} us)`);
  console.log(`${"added".padEnd(25)} p50 ${f(gated.p50 - direct.p50)} us  p99 ${f(gated.p99 - direct.p99)} us  (relay alone, ping: p50 ${f(gated.ping.p50 - direct.ping.p50)} us)`);
  console.log(`${"gateway CPU per call".padEnd(25)} echo ${f(gated.cpu.user)} user + ${f(gated.cpu.sys)} system us, ping ${f(gated.ping.cpu.user)} + ${f(gated.ping.cpu.sys)} us`);
}
