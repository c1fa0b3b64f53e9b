// An MCP stdio server of the 2025 era only (the official SDK 1.x's Server, which negotiates
// 2025-11-25 at most and knows nothing of 2026-07-28) whose tools ask the client with the
// server-to-client requests of that era, as real servers do:
//   wipe {path}: elicitation/create (form) "Delete PATH for good?" {confirm: boolean};
//     "wiped PATH" when accepted with confirm true, else "kept PATH (ACTION)";
//   sign_in: elicitation/create (url mode) to https://bank.example/login; "signed in (ACTION)";
//   summarize {text}: sampling/createMessage; "summary: " + the model's text;
//   where: roots/list; "roots: " + the roots' URIs.
// A request the client refuses makes the tool's result an isError text of the error.
// Usage: node legacy_asking_server.mjs
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const server = new Server({ name: "legacy-asking-server", version: "1.0.0" },
                          { capabilities: { tools: {} } });
const object = (properties) => ({ type: "object", properties });
server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: [
    { name: "wipe", inputSchema: object({ path: { type: "string" } }) },
    { name: "sign_in", inputSchema: object({}) },
    { name: "summarize", inputSchema: object({ text: { type: "string" } }) },
    { name: "where", inputSchema: object({}) },
  ],
}));
const text = (t, isError = false) => ({ content: [{ type: "text", text: t }], isError });
server.setRequestHandler(CallToolRequestSchema, async (req) => {
  const args = req.params.arguments ?? {};
  try {
    switch (req.params.name) {
      case "wipe": {
        const r = await server.elicitInput({
          message: `Delete ${args.path} for good?`,
          requestedSchema: { type: "object", properties: { confirm: { type: "boolean" } },
                             required: ["confirm"] },
        });
        return r.action === "accept" && r.content?.confirm === true
                   ? text(`wiped ${args.path}`)
                   : text(`kept ${args.path} (${r.action})`);
      }
      case "sign_in": {
        const r = await server.elicitInput({
          mode: "url", message: "Sign in to the bank", url: "https://bank.example/login",
          elicitationId: "e-1",
        });
        return text(`signed in (${r.action})`);
      }
      case "summarize": {
        const r = await server.createMessage({
          messages: [{ role: "user", content: { type: "text", text: String(args.text) } }],
          maxTokens: 20,
        });
        return text(`summary: ${r.content.text}`);
      }
      case "where": {
        const r = await server.listRoots();
        return text(`roots: ${r.roots.map((x) => x.uri).join(",")}`);
      }
    }
    return text("no such tool", true);
  } catch (e) {
    return text(`the client could not answer: ${e.message ?? e}`, true);
  }
});
await server.connect(new StdioServerTransport());
