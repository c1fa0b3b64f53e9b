// Drives a newline-delimited JSON-RPC (MCP stdio) server with raw messages, one at a
// time: requests wait for their response (bounded), notifications are sent as they come.
// Usage: node raw_client.mjs MESSAGES.jsonl -- COMMAND [ARGS...]
// Prints {"exit": code, "messages": [every message received]} on stdout (raw_stdio.mjs).
import { readFileSync } from "node:fs";
import { startServer, within } from "./raw_stdio.mjs";

const messages = readFileSync(process.argv[2], "utf8").split("\n").filter((l) => l.trim());
const server = startServer();
for (const line of messages) {
  const msg = JSON.parse(line);
  const done = msg.id !== undefined && msg.method ? server.response(msg.id) : Promise.resolve();
  server.sendLine(line);
  await within(Promise.race([done, server.exited]), 20000);
}
await server.finish();
