// An MCP client (raw newline-delimited JSON-RPC over stdio) that behaves like a person who
// says yes to a server's harmless question and takes a moment over Interlock's approval
// question, which it declines. Declares elicitation.
// Usage: node raw_user_client.mjs SCENARIO -- COMMAND [ARGS...]
// SCENARIO:
//   user   calls wipe_database (id 2); answers every elicitation/create whose message does
//          not begin with "Interlock:" with accept {approve: true} at once, and Interlock's
//          own question with decline after 1.5 s.
//   bigid  sends a tools/call of run_tests with id 9007199254740993 (2^53 + 1, written as
//          text: a JavaScript number cannot hold it), then one with id 2.
// Prints {"exit": code, "messages": [every message received]} on stdout (raw_stdio.mjs).
import { sleep, startServer, within } from "./raw_stdio.mjs";

const scenario = process.argv[2];
const server = startServer(async (msg) => {
  if (msg.method !== "elicitation/create") return;
  if (String(msg.params?.message ?? "").startsWith("Interlock:")) {
    await sleep(1500);
    server.send({ jsonrpc: "2.0", id: msg.id, result: { action: "decline" } });
  } else {
    server.send({
      jsonrpc: "2.0",
      id: msg.id,
      result: { action: "accept", content: { approve: true } },
    });
  }
});
await server.initialize("user");
const called = server.response(2);
if (scenario === "bigid") {
  server.sendLine('{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{"name":"run_tests","arguments":{}}}');
  await sleep(300);
  server.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "run_tests", arguments: {} } });
} else {
  server.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "wipe_database", arguments: {} } });
}
await within(Promise.race([called, server.exited]), 30000);
await sleep(500);
await server.finish();
