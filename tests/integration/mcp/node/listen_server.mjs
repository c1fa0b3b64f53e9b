// An MCP server on the 2026-07-28 revision only (the official v2 server SDK,
// @modelcontextprotocol/server), for the gateway's Mcp-Param-* and subscriptions/listen tests.
// Tools:
//   echo {text}        -> "echo: TEXT"; `text` is marked x-mcp-header "Text", so over HTTP the
//                         SDK refuses (-32020) a call without a matching Mcp-Param-Text header
//   confirm {what}     -> announces a tool list change (notifications/tools/list_changed on
//                         every subscription that asked for it), then "changed WHAT"
//   delete_file {path} -> "deleted PATH" (tests deny it; reaching the server is the failure)
// Every tools/call it receives is appended to LOG_FILE (the tool name, a tab, the arguments
// as JSON, then a tab and the Mcp-Param-Text header over HTTP).
// Usage: node listen_server.mjs stdio LOG_FILE
//        node listen_server.mjs http LOG_FILE PORT_FILE   (127.0.0.1, port 0)
import { appendFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { McpServer, createMcpHandler, fromJsonSchema } from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";

const [mode, logFile, portFile] = process.argv.slice(2);
let handler;  // http: announces changes to every open subscription

function factory(ctx) {
  const server = new McpServer({ name: "listen-test-server", version: "2.0.0" },
                               { capabilities: { tools: { listChanged: true } } });
  const header = ctx?.requestInfo?.headers?.get?.("mcp-param-text") ?? "";
  const log = (name, args) =>
    appendFileSync(logFile, name + "\t" + JSON.stringify(args ?? {}) +
                   (mode === "http" ? "\t" + header : "") + "\n");
  server.registerTool("echo", {
    description: "Echoes its text.",
    inputSchema: fromJsonSchema({ type: "object",
                                  properties: { text: { type: "string", "x-mcp-header": "Text" } } }),
  }, async (args) => {
    log("echo", args);
    return { content: [{ type: "text", text: "echo: " + String(args.text ?? "") }] };
  });
  server.registerTool("confirm", {
    description: "Changes the tool list.",
    inputSchema: fromJsonSchema({ type: "object", properties: { what: { type: "string" } } }),
  }, async (args) => {
    log("confirm", args);
    if (handler) handler.notify.toolsChanged(); else server.sendToolListChanged();
    return { content: [{ type: "text", text: "changed " + String(args.what ?? "") }] };
  });
  server.registerTool("delete_file", {
    description: "Deletes a file.",
    inputSchema: fromJsonSchema({ type: "object", properties: { path: { type: "string" } } }),
  }, async (args) => {
    log("delete_file", args);
    return { content: [{ type: "text", text: "deleted " + String(args.path) }] };
  });
  return server;
}

if (mode === "stdio") {
  serveStdio(factory, { legacy: "reject" });
} else if (mode === "http") {
  handler = createMcpHandler(factory, { legacy: "reject" });
  const http = createServer(async (req, res) => {
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    try {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) {
        if (typeof v === "string") headers.set(k, v);
      }
      const request = new Request("http://127.0.0.1" + req.url, {
        method: req.method, headers, signal: abort.signal,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : Buffer.concat(chunks),
      });
      const response = await handler.fetch(request);
      res.writeHead(response.status, Object.fromEntries(response.headers.entries()));
      if (response.body) {
        for await (const chunk of response.body) res.write(chunk);
      }
      res.end();
    } catch (e) {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(e));
    }
  });
  http.listen(0, "127.0.0.1", () => writeFileSync(portFile, String(http.address().port)));
  process.on("SIGTERM", () => process.exit(0));
} else {
  console.error("usage: listen_server.mjs stdio|http LOG_FILE [PORT_FILE]");
  process.exit(2);
}
