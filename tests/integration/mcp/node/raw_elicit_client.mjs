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
// Prints {"exit": code, "messages": [every message received]} on stdout.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

const [scenario, tool, argsJson] = process.argv.slice(2, 5);
const [cmd, ...args] = process.argv.slice(process.argv.indexOf("--") + 1);
const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
const received = [];
const send = (m) => child.stdin.write(JSON.stringify(m) + "\n");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let callDone;
const called = new Promise((r) => (callDone = r));
let initDone;
const initialized = new Promise((r) => (initDone = r));

createInterface({ input: child.stdout }).on("line", async (line) => {
  const msg = JSON.parse(line);
  received.push(msg);
  if (msg.id === 1 && !msg.method) initDone();
  if (msg.id === 2 && !msg.method) callDone();
  if (msg.method !== "elicitation/create") return;
  const id = msg.id;
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
const exited = new Promise((r) => child.on("exit", (code) => r(code)));

send({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: { elicitation: {} },
    clientInfo: { name: "hostile", version: "1" },
  },
});
await Promise.race([initialized, sleep(20000)]);
send({ jsonrpc: "2.0", method: "notifications/initialized" });
send({
  jsonrpc: "2.0",
  id: 2,
  method: "tools/call",
  params: { name: tool, arguments: JSON.parse(argsJson) },
});
await Promise.race([called, exited, sleep(30000)]);
await sleep(800); // a late answer, and its refusal, land before the session ends
child.stdin.end();
let timer;
const code = await Promise.race([
  exited,
  new Promise((r) => (timer = setTimeout(() => r("timeout"), 10000))),
]);
clearTimeout(timer);
if (code === "timeout") child.kill("SIGKILL");
// Exits at once: the bounding timers above would keep node alive until they fire.
process.stdout.write(JSON.stringify({ exit: code, messages: received }) + "\n", () =>
  process.exit(0),
);
