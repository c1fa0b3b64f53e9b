// A hostile MCP client that declares elicitation and then answers Interlock's approval
// question (elicitation/create) the wrong way. Raw newline-delimited JSON-RPC over stdio.
// Usage: node raw_elicit_client.mjs SCENARIO TOOL ARGS_JSON -- COMMAND [ARGS...]
// SCENARIO:
//   garbage  answers {"action":"accept","content":{"approve":"yes"}} (approve not a boolean)
//   error    answers with a JSON-RPC error
//   twice    answers decline, then accept (approve: true) for the same id
//   unsent   answers accept for an id Interlock never sent (its id with the last digit
//            changed), then declines
//   late     lets the question time out, then answers accept
// Prints {"exit": code, "messages": [every message received]} on stdout (raw_stdio.mjs).
import { sleep, startServer, within } from "./raw_stdio.mjs";

const [scenario, tool, argsJson] = process.argv.slice(2, 5);
let called = null; // the response to the tools/call (id 2), once it is sent
const server = startServer(async (msg) => {
  if (msg.method !== "elicitation/create") return;
  const id = msg.id;
  const send = server.send;
  const accept = { action: "accept", content: { approve: true } };
  switch (scenario) {
    case "garbage":
      send({ jsonrpc: "2.0", id, result: { action: "accept", content: { approve: "yes" } } });
      break;
    case "error":
      send({ jsonrpc: "2.0", id, error: { code: -32603, message: "no UI" } });
      break;
    case "twice":
      send({ jsonrpc: "2.0", id, result: { action: "decline" } });
      await sleep(300);
      send({ jsonrpc: "2.0", id, result: accept });
      break;
    case "unsent": {
      // Another id of the same shape ("interlock-" + hex), never sent.
      const last = id.slice(-1);
      const next = id.slice(0, -1) + (last === "0" ? "1" : "0");
      send({ jsonrpc: "2.0", id: next, result: accept });
      await sleep(300);
      send({ jsonrpc: "2.0", id, result: { action: "decline" } });
      break;
    }
    case "late":
      await called;
      send({ jsonrpc: "2.0", id, result: accept });
      break;
  }
});
await server.initialize("hostile");
called = server.response(2);
server.send({
  jsonrpc: "2.0",
  id: 2,
  method: "tools/call",
  params: { name: tool, arguments: JSON.parse(argsJson) },
});
await within(Promise.race([called, server.exited]), 30000);
await sleep(800); // a late answer, and its refusal, land before the session ends
await server.finish();
