// The official MCP SDK client, declaring the elicitation capability, answers the approval
// question standalone `interlock mcp` asks (elicitation/create) for a call needing approval.
// Usage: node sdk_elicit_client.mjs accept|reject|decline|cancel|silent CALLS.json -- COMMAND [ARGS...]
// accept: {action: "accept", content: {approve: true, comment: "ok by me"}};
// reject: {action: "accept", content: {approve: false, comment: "wrong file"}};
// decline / cancel: that action; silent: never answers (the approval times out).
// Prints {"elicitations": [{message, requestedSchema}], "results": [callTool results]}.
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const mode = process.argv[2];
const calls = JSON.parse(readFileSync(process.argv[3], "utf8"));
const [command, ...args] = process.argv.slice(process.argv.indexOf("--") + 1);
const transport = new StdioClientTransport({ command, args, env: process.env, stderr: "inherit" });
const client = new Client(
  { name: "interlock-elicit-it", version: "1.0.0" },
  { capabilities: { elicitation: {} } },
);
const elicitations = [];
client.setRequestHandler(ElicitRequestSchema, async (request) => {
  elicitations.push({
    message: request.params.message,
    requestedSchema: request.params.requestedSchema,
  });
  switch (mode) {
    case "accept":
      return { action: "accept", content: { approve: true, comment: "ok by me" } };
    case "reject":
      return { action: "accept", content: { approve: false, comment: "wrong file" } };
    case "decline":
      return { action: "decline" };
    case "cancel":
      return { action: "cancel" };
    default:
      return new Promise(() => {}); // silent: the person never answers
  }
});
await client.connect(transport);
await client.listTools();
const results = [];
for (const c of calls) {
  try {
    results.push(await client.callTool(c, undefined, { timeout: 30000 }));
  } catch (e) {
    results.push({ thrown: String(e.message ?? e) });
  }
}
process.stdout.write(JSON.stringify({ elicitations, results }) + "\n");
await client.close();
