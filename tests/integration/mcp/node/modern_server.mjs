// An MCP server on the 2026-07-28 revision, built on the official v2 SDK
// (@modelcontextprotocol/server), for the gateway's upstream tests (H2: a modern server behind
// Interlock). Modern only by default: an `initialize` (2025 era) is answered with the SDK's
// UnsupportedProtocolVersionError (-32022), as a server that dropped the old handshake does.
// Tools:
//   echo {text}        -> "echo: TEXT"
//   delete_file {path} -> "deleted PATH" (tests deny it; reaching the server is the failure)
//   confirm {what}     -> input_required (an elicitation) until the retry carries the answer,
//                         then "confirmed WHAT: yes|no" (multi round-trip, MRTR)
// Every tools/call it receives is appended to LOG_FILE (one line: the tool name, a tab, the
// arguments as JSON), so a test can prove a call was (not) forwarded.
// Usage: node modern_server.mjs stdio LOG_FILE [dual]
//        node modern_server.mjs http LOG_FILE PORT_FILE [dual]   (127.0.0.1, port 0)
import { appendFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { McpServer, createMcpHandler, fromJsonSchema, inputRequired, acceptedContent }
  from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";

const [mode, logFile, third, fourth] = process.argv.slice(2);
const dual = (mode === "http" ? fourth : third) === "dual";

function logCall(name, args) {
  appendFileSync(logFile, name + "\t" + JSON.stringify(args ?? {}) + "\n");
}

function factory() {
  const server = new McpServer({ name: "modern-test-server", version: "2.0.0" },
                               { capabilities: { tools: {} } });
  const obj = (props) => fromJsonSchema({ type: "object", properties: props });
  server.registerTool("echo", { description: "Echoes its text.",
                                inputSchema: obj({ text: { type: "string" } }) },
                      async (args) => {
                        logCall("echo", args);
                        return { content: [{ type: "text", text: "echo: " + String(args.text ?? "") }] };
                      });
  server.registerTool("delete_file", { description: "Deletes a file.",
                                       inputSchema: obj({ path: { type: "string" } }) },
                      async (args) => {
                        logCall("delete_file", args);
                        return { content: [{ type: "text", text: "deleted " + String(args.path) }] };
                      });
  server.registerTool("confirm", { description: "Asks the user before doing WHAT.",
                                   inputSchema: obj({ what: { type: "string" } }) },
                      async (args, ctx) => {
                        logCall("confirm", args);
                        const answer = acceptedContent(ctx.mcpReq.inputResponses, "ok");
                        if (answer === undefined) {
                          return inputRequired({
                            inputRequests: {
                              ok: inputRequired.elicit({
                                message: "Do " + String(args.what) + "?",
                                requestedSchema: { type: "object",
                                                   properties: { yes: { type: "boolean" } } },
                              }),
                            },
                          });
                        }
                        return { content: [{ type: "text", text: "confirmed " + String(args.what) +
                                             ": " + ((answer.yes ?? answer.approve) ? "yes" : "no") }] };
                      });
  return server;
}

const legacy = dual ? undefined : "reject";
if (mode === "stdio") {
  serveStdio(factory, dual ? {} : { legacy: "reject" });
} else if (mode === "http") {
  const handler = createMcpHandler(factory, dual ? { legacy: "stateless" } : { legacy });
  const http = createServer(async (req, res) => {
    try {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const body = Buffer.concat(chunks);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) {
        if (typeof v === "string") headers.set(k, v);
      }
      const request = new Request("http://127.0.0.1" + req.url, {
        method: req.method, headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
      });
      const response = await handler.fetch(request);
      res.writeHead(response.status, Object.fromEntries(response.headers.entries()));
      if (response.body) {
        for await (const chunk of response.body) res.write(chunk);
      }
      res.end();
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
    }
  });
  http.listen(0, "127.0.0.1", () => writeFileSync(third, String(http.address().port)));
  process.on("SIGTERM", () => process.exit(0));
} else {
  console.error("usage: modern_server.mjs stdio|http LOG_FILE [PORT_FILE] [dual]");
  process.exit(2);
}
