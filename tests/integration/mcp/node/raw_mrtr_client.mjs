// A raw MCP client that speaks approvals over MRTR (MCP 2026-07-28 multi round-trip
// requests; docs/mcp.md#approvals-over-mrtr) to a standalone `interlock mcp`: its tools/call
// carries the 2026-07-28 _meta, is answered input_required with Interlock's form question
// and a requestState, and is retried the way SCENARIO says. Raw newline-delimited JSON-RPC
// over stdio.
// Usage: node raw_mrtr_client.mjs SCENARIO TOOL ARGS_JSON -- COMMAND [ARGS...]
// SCENARIO:
//   approve  retries without an answer (asked again), then with accept + approve: true,
//            then replays that last retry once more (id 5)
//   swap     retries with the state but other arguments, then forges the state
// Prints {"exit": code, "messages": [every message received]} on stdout (raw_stdio.mjs).
import { sleep, startServer, within } from "./raw_stdio.mjs";

const [scenario, tool, argsJson] = process.argv.slice(2, 5);
const args = JSON.parse(argsJson);
const meta = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": { elicitation: { form: {} } },
};
const server = startServer();
await server.initialize("mrtr");

// Sends tools/call `id` and resolves with its result (or null after 20 s).
async function call(id, extra = {}, callArgs = args) {
  const answered = server.response(id);
  server.send({
    jsonrpc: "2.0",
    id,
    method: "tools/call",
    params: { name: tool, arguments: callArgs, _meta: meta, ...extra },
  });
  await within(answered, 20000);
  const msg = server.received.find((m) => !m.method && m.id === id);
  return msg ? msg.result : null;
}

const first = await call(2);
const state = first?.requestState;
if (state) {
  if (scenario === "approve") {
    const again = await call(3, { requestState: state });
    const approve = {
      requestState: again?.requestState,
      inputResponses: {
        interlock_approval: { action: "accept", content: { approve: true, comment: "mrtr ok" } },
      },
    };
    await call(4, approve);
    await call(5, approve);
  } else if (scenario === "swap") {
    await call(3, { requestState: state }, { ...args, message: "swapped" });
    const forged = state.slice(0, 10) + (state[10] === "A" ? "B" : "A") + state.slice(11);
    await call(4, { requestState: forged });
  }
}
await sleep(300);
await server.finish();
