// A small MCP stdio server (raw newline-delimited JSON-RPC, no SDK) for the rehearsal tests:
// one tool, `deploy {target, dry_run}`, whose dry runs fail on demand.
// Every tools/call it receives is appended as one JSON line to $REHEARSAL_LOG, so a test can
// prove which calls reached the server. Dry runs (dry_run: true) by target:
//   "fail-*"        an isError result ("dry run: would delete 14 resources ...")
//   "rpc-error"     a JSON-RPC error
//   "hang"          no answer at all (a timeout)
//   "die"           the server exits
//   anything else   a successful result ("dry run: would update 3 resources in ...")
// A real call (no dry_run) answers "deployed <target>".
import { appendFileSync } from "node:fs";
import { createInterface } from "node:readline";

const log = process.env.REHEARSAL_LOG;
const send = (m) => process.stdout.write(JSON.stringify(m) + "\n");
const text = (t, isError = false) => ({ content: [{ type: "text", text: t }], isError });

createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) return;
  const msg = JSON.parse(line);
  if (msg.id === undefined) return; // notifications
  if (msg.method === "initialize") {
    send({ jsonrpc: "2.0", id: msg.id, result: {
      protocolVersion: msg.params?.protocolVersion ?? "2025-06-18",
      capabilities: { tools: {} },
      serverInfo: { name: "rehearsal-test-server", version: "1.0.0" } } });
  } else if (msg.method === "tools/list") {
    send({ jsonrpc: "2.0", id: msg.id, result: { tools: [{
      name: "deploy",
      description: "Deploys to a target; dry_run only says what it would do.",
      inputSchema: { type: "object", properties: { target: { type: "string" },
                                                   dry_run: { type: "boolean" } },
                     required: ["target"], additionalProperties: false } }] } });
  } else if (msg.method === "tools/call") {
    const args = msg.params?.arguments ?? {};
    if (log) appendFileSync(log, JSON.stringify(args) + "\n");
    const target = String(args.target);
    if (args.dry_run === true) {
      if (target === "hang") return;
      if (target === "die") process.exit(3);
      if (target === "rpc-error") {
        send({ jsonrpc: "2.0", id: msg.id, error: { code: -32000, message: "staging is down" } });
      } else if (target.startsWith("fail")) {
        send({ jsonrpc: "2.0", id: msg.id,
               result: text(`dry run: would delete 14 resources in ${target}; refusing`, true) });
      } else {
        send({ jsonrpc: "2.0", id: msg.id,
               result: text(`dry run: would update 3 resources in ${target}`) });
      }
    } else {
      send({ jsonrpc: "2.0", id: msg.id, result: text(`deployed ${target}`) });
    }
  } else {
    send({ jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "Method not found" } });
  }
});
