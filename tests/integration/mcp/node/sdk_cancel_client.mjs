// The official MCP SDK client gives up on a call Interlock holds for approval.
// Usage: node sdk_cancel_client.mjs abort|timeout TOOL (--url URL | -- COMMAND [ARGS...])
// abort: aborts the call (AbortSignal) when its first progress notification arrives;
// timeout: lets the SDK's request timeout (2 s) expire. Either way the SDK sends
// notifications/cancelled for it. With --url (Streamable HTTP) the bearer token comes from
// INTERLOCK_TOKEN; otherwise the command is started over stdio.
// Prints {"tools": [sorted names], "progress": "first progress message", "error": "..."}.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [mode, tool] = process.argv.slice(2, 4);
const urlAt = process.argv.indexOf("--url");
let transport;
if (urlAt > 0) {
  const token = process.env.INTERLOCK_TOKEN ?? "";
  transport = new StreamableHTTPClientTransport(new URL(process.argv[urlAt + 1]), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
} else {
  const [command, ...args] = process.argv.slice(process.argv.indexOf("--") + 1);
  transport = new StdioClientTransport({ command, args, env: process.env, stderr: "inherit" });
}
const client = new Client({ name: "interlock-cancel-it", version: "1.0.0" });
await client.connect(transport);
const listed = await client.listTools();
const controller = new AbortController();
let progress = "";
let error = "";
try {
  await client.callTool({ name: tool, arguments: { text: "held" } }, undefined, {
    signal: controller.signal,
    timeout: mode === "timeout" ? 2000 : 60000,
    onprogress: (p) => {
      if (!progress) progress = p.message ?? "";
      if (mode === "abort") controller.abort("the user gave up");
    },
  });
  error = "the call was answered";
} catch (e) {
  error = String(e?.message ?? e);
}
// Let notifications/cancelled reach Interlock before the transport closes (closing alone
// would also withdraw, with another reason).
await new Promise((resolve) => setTimeout(resolve, 1000));
process.stdout.write(
  JSON.stringify({ tools: listed.tools.map((t) => t.name).sort(), progress, error }) + "\n",
);
await client.close();
