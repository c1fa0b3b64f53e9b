// Drives a newline-delimited JSON-RPC (MCP stdio) server with raw messages, one at a
// time: requests wait for their response (bounded), notifications are sent as they come.
// Usage: node raw_client.mjs MESSAGES.jsonl -- COMMAND [ARGS...]
// Prints every message received from the server as one JSON array on stdout.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

const sep = process.argv.indexOf("--");
const messages = readFileSync(process.argv[2], "utf8").split("\n").filter((l) => l.trim());
const [cmd, ...args] = process.argv.slice(sep + 1);
const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
const received = [];
const waiters = new Map();
createInterface({ input: child.stdout }).on("line", (line) => {
  const msg = JSON.parse(line);
  received.push(msg);
  if (msg.id !== undefined && waiters.has(JSON.stringify(msg.id)) && !msg.method) {
    waiters.get(JSON.stringify(msg.id))();
  }
});
const exited = new Promise((r) => child.on("exit", (code) => r(code)));
for (const line of messages) {
  const msg = JSON.parse(line);
  const done = msg.id !== undefined && msg.method
    ? new Promise((resolve) => waiters.set(JSON.stringify(msg.id), resolve))
    : Promise.resolve();
  child.stdin.write(line + "\n");
  let timer;
  await Promise.race([done, exited, new Promise((r) => (timer = setTimeout(r, 20000)))]);
  clearTimeout(timer); // a pending timer would keep node alive for 20 s after the last reply
}
child.stdin.end();
let exitTimer;
const code = await Promise.race([
  exited,
  new Promise((r) => (exitTimer = setTimeout(() => r("timeout"), 10000))),
]);
clearTimeout(exitTimer);
if (code === "timeout") child.kill("SIGKILL");
process.stdout.write(JSON.stringify({ exit: code, messages: received }) + "\n");
