// The official MCP SDK client against a stdio server: lists tools and makes calls.
// Usage: node sdk_client.mjs CALLS.json -- COMMAND [ARGS...]
// CALLS.json: [{"name": ..., "arguments": {...}}, ...]
// Prints {"protocolVersion", "tools": [sorted names], "results": [callTool results]}.
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const sep = process.argv.indexOf("--");
const calls = JSON.parse(readFileSync(process.argv[2], "utf8"));
const [command, ...args] = process.argv.slice(sep + 1);
const transport = new StdioClientTransport({ command, args, env: process.env, stderr: "inherit" });
const client = new Client({ name: "interlock-it", version: "1.0.0" });
await client.connect(transport);
const listed = await client.listTools();
const results = [];
for (const c of calls) {
  try {
    results.push(await client.callTool(c));
  } catch (e) {
    results.push({ thrown: String(e.message ?? e) });
  }
}
process.stdout.write(
  JSON.stringify({
    protocolVersion: transport._protocolVersion ?? null,
    tools: listed.tools.map((t) => t.name).sort(),
    results,
  }) + "\n",
);
await client.close();
