// The official MCP TypeScript SDK 2.x client (@modelcontextprotocol/client) answering a
// server's questions: elicitation (form and url), sampling and roots, declared as CAPS says,
// through its own multi round-trip driver (2026-07-28) or as 2025 server-to-client requests.
// Usage: node sdk2_asked_client.mjs MODE ANSWER CALLS.json (--url URL | -- CMD [ARGS...])
//   MODE: "pin" (2026-07-28 only) or "auto" (server/discover probe, 2025 fallback).
//   ANSWER: accept | decline | cancel (what the elicitation handler answers).
//   CAPS (env, JSON; default all): the capabilities the client declares.
//   HTTP: the bearer token comes from INTERLOCK_TOKEN.
// Prints {"protocolVersion", "asked": [{method, params}], "results": [...]}; a call that throws
// is {"thrown": message, "code": code}.
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/client";

import { transportFromArgv } from "./sdk2_transport.mjs";

const mode = process.argv[2];
const answer = process.argv[3];
const calls = JSON.parse(readFileSync(process.argv[4], "utf8"));
const transport = transportFromArgv();
const capabilities = process.env.CAPS
    ? JSON.parse(process.env.CAPS)
    : { elicitation: { form: {}, url: {} }, sampling: {}, roots: {} };
const options = { capabilities };
if (mode === "pin") options.versionNegotiation = { mode: { pin: "2026-07-28" } };
if (mode === "auto") options.versionNegotiation = { mode: "auto" };
const client = new Client({ name: "interlock-sdk2-asked", version: "1.0.0" }, options);
const asked = [];
if (capabilities.elicitation) {
  client.setRequestHandler("elicitation/create", async (request) => {
    asked.push({ method: "elicitation/create", params: request.params });
    if (answer !== "accept") return { action: answer };
    return request.params.mode === "url" ? { action: "accept" }
                                         : { action: "accept", content: { confirm: true } };
  });
}
if (capabilities.sampling) {
  client.setRequestHandler("sampling/createMessage", async (request) => {
    asked.push({ method: "sampling/createMessage", params: request.params });
    return { role: "assistant", content: { type: "text", text: "short" }, model: "test-model" };
  });
}
if (capabilities.roots) {
  client.setRequestHandler("roots/list", async () => {
    asked.push({ method: "roots/list" });
    return { roots: [{ uri: "file:///work/project", name: "project" }] };
  });
}
await client.connect(transport);
await client.listTools();
const results = [];
for (const c of calls) {
  try {
    results.push(await client.callTool({ name: c.name, arguments: c.arguments }, { timeout: 60000 }));
  } catch (e) {
    results.push({ thrown: String(e.message ?? e), code: e.code ?? null });
  }
}
process.stdout.write(JSON.stringify({
  protocolVersion: client.getNegotiatedProtocolVersion() ?? null, asked, results,
}) + "\n");
await client.close();
