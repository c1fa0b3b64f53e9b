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
// Prints {"exit": code, "messages": [every message received]} on stdout.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

const scenario = process.argv[2];
const [cmd, ...args] = process.argv.slice(process.argv.indexOf("--") + 1);
const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
const received = [];
const sendLine = (l) => child.stdin.write(l + "\n");
const send = (m) => sendLine(JSON.stringify(m));
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
  if (String(msg.params?.message ?? "").startsWith("Interlock:")) {
    await sleep(1500);
    send({ jsonrpc: "2.0", id: msg.id, result: { action: "decline" } });
  } else {
    send({ jsonrpc: "2.0", id: msg.id, result: { action: "accept", content: { approve: true } } });
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
    clientInfo: { name: "user", version: "1" },
  },
});
await Promise.race([initialized, sleep(20000)]);
send({ jsonrpc: "2.0", method: "notifications/initialized" });
if (scenario === "bigid") {
  sendLine('{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{"name":"run_tests","arguments":{}}}');
  await sleep(300);
  send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "run_tests", arguments: {} } });
} else {
  send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "wipe_database", arguments: {} } });
}
await Promise.race([called, exited, sleep(30000)]);
await sleep(500);
child.stdin.end();
let timer;
const code = await Promise.race([
  exited,
  new Promise((r) => (timer = setTimeout(() => r("timeout"), 10000))),
]);
clearTimeout(timer);
if (code === "timeout") child.kill("SIGKILL");
process.stdout.write(JSON.stringify({ exit: code, messages: received }) + "\n", () =>
  process.exit(0),
);
