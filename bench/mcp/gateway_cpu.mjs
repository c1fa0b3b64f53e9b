// The stdio gateway's own CPU per call, echo against ping: N `echo` calls, then N `ping`s,
// through `interlock mcp`, reading the gateway's utime and stime (/proc/PID/stat) around
// each phase. Both phases cross the same two relay hops; echo adds the decision, its
// record and the result's handling. Prints microseconds of gateway CPU per call.
// Usage: [DURABILITY=normal] node gateway_cpu.mjs INTERLOCK_BINARY POLICY STORE [N]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

const [interlock, policy, store, nArg] = process.argv.slice(2);
const N = Number(nArg ?? 20000);
const require = createRequire(import.meta.url);
const server = join(dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")), "dist/index.js");
const durability = process.env.DURABILITY ?? "normal";
const transport = new StdioClientTransport({
  command: interlock,
  args: ["mcp", "--policy", policy, "--store", store, "--durability", durability, "--", "node", server, "stdio"],
  env: process.env,
  stderr: "ignore",
});
const client = new Client({ name: "interlock-bench", version: "1.0.0" });
await client.connect(transport);
const ticks = Number(process.env.CLK_TCK ?? 100);
const cpu = () => {
  // Fields after the command name: utime is the 14th field, stime the 15th.
  const stat = readFileSync(`/proc/${transport.pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(f[11]) / ticks, sys: Number(f[12]) / ticks };
};
for (let i = 0; i < 200; i++) await client.callTool({ name: "echo", arguments: { message: "warm" } });
const phase = async (label, fn) => {
  const a = cpu();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await fn(i);
  const wall = Number(process.hrtime.bigint() - t0) / 1e3 / N;
  const b = cpu();
  const us = (x) => ((x * 1e6) / N).toFixed(1);
  console.log(`${label.padEnd(5)} gateway CPU per call: user ${us(b.user - a.user)} us, system ${us(b.sys - a.sys)} us; wall per call ${wall.toFixed(0)} us`);
};
await phase("echo", (i) => client.callTool({ name: "echo", arguments: { message: `m${i}` } }));
await phase("ping", () => client.ping());
await client.close();
