// Raw newline-delimited JSON-RPC clients for the 2026-07-28 revision and for stopping
// `interlock mcp` by a signal. Usage: node raw_modern_client.mjs SCENARIO -- COMMAND [ARGS...]
// SCENARIO:
//   versions  server/discover (id 1), tools/list naming version 2099-01-01 in _meta (id 2),
//             tools/call of "trigger-sampling-request" under 2026-07-28 (id 3), then EOF.
//   sigterm   initialize declaring elicitation (legacy), tools/call of "echo" (id 2); once
//             Interlock asks its approval question (elicitation/create), SIGTERM to the
//             gateway; reports how it exited.
//   sigint    the same, with SIGINT (a terminal's Ctrl-C).
// Prints {"exit": code, "signal": name|null, "messages": [every message received]}.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { within } from "./raw_stdio.mjs";

const scenario = process.argv[2];
const [cmd, ...args] = process.argv.slice(process.argv.indexOf("--") + 1);
const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
const received = [];
const waiters = new Map();
let onMessage = () => {};
createInterface({ input: child.stdout }).on("line", (line) => {
  const msg = JSON.parse(line);
  received.push(msg);
  if (msg.id !== undefined && !msg.method) waiters.get(JSON.stringify(msg.id))?.();
  onMessage(msg);
});
const exited = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
const send = (m) => child.stdin.write(JSON.stringify(m) + "\n");
const response = (id) => new Promise((r) => waiters.set(JSON.stringify(id), r));
const meta = (version) => ({
  "io.modelcontextprotocol/protocolVersion": version,
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "raw-modern", version: "1" },
});

if (scenario === "versions") {
  let answered = response(1);
  send({ jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta: meta("2026-07-28") } });
  await within(answered, 20000);
  answered = response(2);
  send({ jsonrpc: "2.0", id: 2, method: "tools/list", params: { _meta: meta("2099-01-01") } });
  await within(answered, 20000);
  answered = response(3);
  send({
    jsonrpc: "2.0",
    id: 3,
    method: "tools/call",
    params: {
      name: "trigger-sampling-request",
      arguments: { prompt: "x", maxTokens: 5 },
      _meta: meta("2026-07-28"),
    },
  });
  await within(answered, 30000);
  child.stdin.end();
} else if (scenario === "sigterm" || scenario === "sigint") {
  const asked = new Promise((r) => {
    onMessage = (m) => {
      if (m.method === "elicitation/create") r();
    };
  });
  const initialized = response(1);
  send({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-11-25",
      capabilities: { elicitation: {} },
      clientInfo: { name: "raw-sigterm", version: "1" },
    },
  });
  await within(initialized, 20000);
  send({ jsonrpc: "2.0", method: "notifications/initialized" });
  send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { message: "hi" } } });
  await within(asked, 20000);
  child.kill(scenario === "sigint" ? "SIGINT" : "SIGTERM");
}
const result = await within(exited, 10000, { code: "timeout", signal: null });
if (result.code === "timeout") child.kill("SIGKILL");
process.stdout.write(
  JSON.stringify({ exit: result.code, signal: result.signal, messages: received }) + "\n",
  () => process.exit(0),
);
