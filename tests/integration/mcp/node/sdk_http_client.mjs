// The official MCP SDK client over Streamable HTTP (the daemon's /mcp/{upstream}).
// Usage: node sdk_http_client.mjs URL CALLS.json [--token-env NAME] [--terminate]
// The bearer token is read from the environment variable NAME (default INTERLOCK_TOKEN).
// CALLS.json: [{"name": ..., "arguments": {...}, "progress": true?}, ...]; with "progress"
// the call asks for progress notifications and counts them.
// Prints {"protocolVersion","sessionId","tools":[sorted names],"results":[...],
//         "progress":[count per call],"terminated":bool}.
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = process.argv[2];
const calls = JSON.parse(readFileSync(process.argv[3], "utf8"));
const tokenEnvAt = process.argv.indexOf("--token-env");
const tokenEnv = tokenEnvAt > 0 ? process.argv[tokenEnvAt + 1] : "INTERLOCK_TOKEN";
const terminate = process.argv.includes("--terminate");
const token = process.env[tokenEnv] ?? "";

const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "interlock-http-it", version: "1.0.0" });
await client.connect(transport);
const listed = await client.listTools();
const results = [];
const progress = [];
for (const c of calls) {
  let n = 0;
  const options = { timeout: 120000 };
  if (c.progress) {
    options.onprogress = () => {
      n += 1;
    };
    options.resetTimeoutOnProgress = true;
  }
  try {
    results.push(await client.callTool({ name: c.name, arguments: c.arguments }, undefined, options));
  } catch (e) {
    results.push({ thrown: String(e.message ?? e) });
  }
  progress.push(n);
}
const sessionId = transport.sessionId ?? null;
let terminated = false;
if (terminate) {
  await transport.terminateSession();
  terminated = transport.sessionId === undefined;
}
process.stdout.write(
  JSON.stringify({
    protocolVersion: transport.protocolVersion ?? null,
    sessionId,
    tools: listed.tools.map((t) => t.name).sort(),
    results,
    progress,
    terminated,
  }) + "\n",
);
await client.close();
