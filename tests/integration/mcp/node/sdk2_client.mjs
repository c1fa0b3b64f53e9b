// The official MCP TypeScript SDK 2.x client (@modelcontextprotocol/client), through
// stdio or Streamable HTTP, in a chosen version negotiation mode.
// Usage: node sdk2_client.mjs MODE CALLS.json (--url URL | -- CMD [ARGS...])
//   MODE: "pin" (2026-07-28 only), "auto" (server/discover probe, 2025 fallback) or
//   "default" (the SDK's default negotiation).
//   HTTP: the bearer token comes from INTERLOCK_TOKEN.
// CALLS.json: [{"name": ..., "arguments": {...}, "traceparent"?: ..., "tracestate"?: ...}]
// Prints {"protocolVersion","tools":[names as listed],"results":[...],"server":serverInfo}.
// A call that throws is reported as {"thrown": message, "code": code}.
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/client";

import { transportFromArgv } from "./sdk2_transport.mjs";

const mode = process.argv[2];
const calls = JSON.parse(readFileSync(process.argv[3], "utf8"));
const transport = transportFromArgv();
const options = {};
if (mode === "pin") options.versionNegotiation = { mode: { pin: "2026-07-28" } };
if (mode === "auto") options.versionNegotiation = { mode: "auto" };
const client = new Client({ name: "interlock-sdk2-it", version: "1.0.0" }, options);
await client.connect(transport);
const listed = await client.listTools();
const results = [];
for (const c of calls) {
  const meta = {};
  if (c.traceparent) meta.traceparent = c.traceparent;
  if (c.tracestate) meta.tracestate = c.tracestate;
  const params = { name: c.name, arguments: c.arguments };
  if (Object.keys(meta).length > 0) params._meta = meta;
  try {
    results.push(await client.callTool(params, { timeout: 60000 }));
  } catch (e) {
    results.push({ thrown: String(e.message ?? e), code: e.code ?? null });
  }
}
process.stdout.write(
  JSON.stringify({
    protocolVersion: client.getNegotiatedProtocolVersion() ?? null,
    tools: listed.tools.map((t) => t.name),
    results,
    server: client.getServerVersion() ?? null,
  }) + "\n",
);
await client.close();
