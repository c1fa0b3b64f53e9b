// The official MCP TypeScript SDK 2.x client (@modelcontextprotocol/client) pinned to
// 2026-07-28, declaring form- and URL-mode elicitation, with the SDK's own multi round-trip
// driver (inputRequired auto-fulfilment) answering Interlock's approvals over MRTR
// (docs/mcp.md#approvals-over-mrtr). Its elicitation handler acts as SCENARIO says; the SDK
// retries the call by itself.
// Usage: node sdk2_mrtr_client.mjs SCENARIO CALLS.json (--url URL | -- CMD [ARGS...])
//   HTTP: the agent's bearer token comes from INTERLOCK_TOKEN.
//   INTERLOCK_REVIEWER_TOKEN: the reviewer token the review-* scenarios vote with (POST
//   /v1/approvals/{id} on the origin of the elicitation's URL).
//   MRTR_MAX_ROUNDS: the SDK's inputRequired.maxRounds (default: the SDK's own).
// SCENARIO (what the handler does each time the SDK dispatches an input request to it):
//   accept        form: accept, approve true, comment "sdk2 ok"
//   reject        form: accept, approve false, comment "not this one"
//   decline       decline
//   review-approve  URL: a reviewer approves, then the handler returns accept
//   review-deny     URL: a reviewer denies ("wrong recipient"), then the handler returns accept
//   review-late     URL: returns accept at once the first time (nobody decided yet); the
//                   second time a reviewer approves, then it returns accept
//   review-never    URL: returns accept at once, nobody ever decides
// CALLS.json: [{"name": ..., "arguments": {...}}]
// Prints {"protocolVersion", "elicitations": [{mode, message, url?, requestedSchema?}],
//         "votes": [{status, body}], "rounds": [driver round messages], "results": [...]};
// a call that throws is {"thrown": message, "code": code, "data": data}.
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/client";

import { transportFromArgv } from "./sdk2_transport.mjs";

const scenario = process.argv[2];
const calls = JSON.parse(readFileSync(process.argv[3], "utf8"));
const transport = transportFromArgv();
const options = {
  capabilities: { elicitation: { form: {}, url: {} } },
  versionNegotiation: { mode: { pin: "2026-07-28" } },
};
if (process.env.MRTR_MAX_ROUNDS) {
  options.inputRequired = { maxRounds: Number(process.env.MRTR_MAX_ROUNDS) };
}
const client = new Client({ name: "interlock-sdk2-mrtr", version: "1.0.0" }, options);

const elicitations = [];
const votes = [];
// The reviewer's vote on the approval the URL names (…/ui/#/approvals/ID).
async function vote(url, verdict, comment) {
  const u = new URL(url);
  const id = decodeURIComponent(u.hash.replace(/^#\/approvals\//, ""));
  const r = await fetch(`${u.origin}/v1/approvals/${encodeURIComponent(id)}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${process.env.INTERLOCK_REVIEWER_TOKEN ?? ""}`,
               "Content-Type": "application/json" },
    body: JSON.stringify({ verdict, comment }),
  });
  votes.push({ status: r.status, body: await r.text() });
}

client.setRequestHandler("elicitation/create", async (request) => {
  const p = request.params;
  elicitations.push({ mode: p.mode ?? "form", message: p.message, url: p.url,
                      requestedSchema: p.requestedSchema });
  const asked = elicitations.length;
  switch (scenario) {
    case "accept":
      return { action: "accept", content: { approve: true, comment: "sdk2 ok" } };
    case "reject":
      return { action: "accept", content: { approve: false, comment: "not this one" } };
    case "decline":
      return { action: "decline" };
    case "review-approve":
      await vote(p.url, "approve", "ok from the page");
      return { action: "accept" };
    case "review-deny":
      await vote(p.url, "deny", "wrong recipient");
      return { action: "accept" };
    case "review-late":
      if (asked >= 2) await vote(p.url, "approve", "late but ok");
      return { action: "accept" };
    default:  // review-never
      return { action: "accept" };
  }
});

await client.connect(transport);
await client.listTools();
const rounds = [];
const results = [];
for (const c of calls) {
  try {
    results.push(await client.callTool({ name: c.name, arguments: c.arguments }, {
      timeout: 60000,
      onprogress: (p) => { if (String(p.message ?? "").startsWith("Fulfilling")) rounds.push(p.message); },
    }));
  } catch (e) {
    results.push({ thrown: String(e.message ?? e), code: e.code ?? null, data: e.data ?? null });
  }
}
process.stdout.write(JSON.stringify({
  protocolVersion: client.getNegotiatedProtocolVersion() ?? null,
  elicitations, votes, rounds, results,
}) + "\n");
await client.close();
