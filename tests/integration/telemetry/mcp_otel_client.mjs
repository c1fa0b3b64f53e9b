// A raw MCP stdio client for the `interlock mcp` telemetry tests (mcp_telemetry_test.cc):
// initializes declaring form elicitation, sends the requests of MESSAGES.jsonl one at a
// time (each waits for its response, bounded), approves every elicitation/create
// Interlock sends (the person at the client saying yes), and records how long each
// request took to be answered. A line {"sleep_ms": N} is not sent: the client pauses N ms.
// Usage: node mcp_otel_client.mjs MESSAGES.jsonl -- COMMAND [ARGS...]
// Prints {"elapsed_ms": {id: ms}}, then {"exit": code, "messages": [every message received]}.
import { readFileSync } from "node:fs";
import { startServer, within } from "../mcp/node/raw_stdio.mjs";

const messages = readFileSync(process.argv[2], "utf8").split("\n").filter((l) => l.trim());
const server = startServer((msg) => {
  if (msg.method === "elicitation/create") {
    server.send({ jsonrpc: "2.0", id: msg.id, result: { action: "accept", content: { approve: true } } });
  }
});
await server.initialize("otel-client");
const elapsed = {};
for (const line of messages) {
  const msg = JSON.parse(line);
  if (msg.sleep_ms !== undefined) {
    await new Promise((r) => setTimeout(r, msg.sleep_ms));
    continue;
  }
  const done = msg.id !== undefined && msg.method ? server.response(msg.id) : Promise.resolve();
  const t0 = process.hrtime.bigint();
  server.sendLine(line);
  await within(Promise.race([done, server.exited]), 20000);
  if (msg.id !== undefined) elapsed[msg.id] = Number(process.hrtime.bigint() - t0) / 1e6;
}
// finish() prints {"exit", "messages"}; the timings go on a line of their own before it.
process.stdout.write(JSON.stringify({ elapsed_ms: elapsed }) + "\n");
await server.finish();
