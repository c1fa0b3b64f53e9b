// The raw MCP stdio clients' common part (raw_client.mjs, raw_elicit_client.mjs,
// raw_user_client.mjs): spawn the server named after "--" on the command line, exchange
// newline-delimited JSON-RPC with it, and end by printing
// {"exit": code, "messages": [every message received]} on stdout. Every wait is bounded.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A promise that settles with `promise` or with `value` after `ms`, whichever is first,
// leaving no timer behind (a pending timer keeps node alive).
export async function within(promise, ms, value = undefined) {
  let timer;
  const result = await Promise.race([
    promise,
    new Promise((r) => (timer = setTimeout(() => r(value), ms))),
  ]);
  clearTimeout(timer);
  return result;
}

// Starts COMMAND [ARGS...] (the arguments after "--"). `onMessage(msg)` sees every message
// the server sends, after it is recorded.
export function startServer(onMessage = () => {}) {
  const [cmd, ...args] = process.argv.slice(process.argv.indexOf("--") + 1);
  const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
  const received = [];
  const waiters = new Map(); // JSON id -> resolve, for responses awaited
  createInterface({ input: child.stdout }).on("line", (line) => {
    const msg = JSON.parse(line);
    received.push(msg);
    if (msg.id !== undefined && !msg.method) waiters.get(JSON.stringify(msg.id))?.();
    onMessage(msg);
  });
  const exited = new Promise((r) => child.on("exit", (code) => r(code)));
  const server = {
    received,
    exited,
    sendLine: (line) => child.stdin.write(line + "\n"),
    send: (msg) => server.sendLine(JSON.stringify(msg)),
    // Resolves when a response with `id` arrives after this call: ask before sending.
    response: (id) => new Promise((r) => waiters.set(JSON.stringify(id), r)),
    // initialize (id 1) as `clientName` declaring elicitation, then notifications/initialized.
    initialize: async (clientName) => {
      const initialized = server.response(1);
      server.send({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: { elicitation: {} },
          clientInfo: { name: clientName, version: "1" },
        },
      });
      await within(initialized, 20000);
      server.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    },
    // Closes the server's input, waits (10 s at most, then kills it) for it to exit,
    // prints the result and exits at once.
    finish: async () => {
      child.stdin.end();
      const code = await within(exited, 10000, "timeout");
      if (code === "timeout") child.kill("SIGKILL");
      process.stdout.write(JSON.stringify({ exit: code, messages: received }) + "\n", () =>
        process.exit(0),
      );
    },
  };
  return server;
}
