// An MCP server of the 2026-07-28 revision that follows the tasks extension
// (io.modelcontextprotocol/tasks, the ext-tasks specification), written by hand: the v2 SDK
// (2.4.0) carries the extension's wire names but no server side for it. For the gateway's
// task tests (docs/mcp.md#tasks). Modern only: `initialize` is answered -32022.
// Tools:
//   build {target}   a task when the request declares the extension: "working" for two
//                    tasks/get, then "completed" with "built TARGET" (structuredContent
//                    {target, token}); a plain result otherwise
//   approve {what}   a task that asks (input_required, an elicitation keyed "ok") until a
//                    tasks/update answers it, then completes with "approved WHAT: yes|no"
//   echo {text}      a plain result "echo: TEXT"
// A task is known only to the caller that made it (its bearer token over HTTP), as the
// specification asks; another caller's tasks/get is -32602 "not found".
// Every tools/call and tasks/* it receives is appended to LOG_FILE (method, a tab, the params
// without _meta as JSON), so a test can prove what reached the server.
// Over HTTP (Streamable HTTP, stateless): Mcp-Method must equal the method and, for tasks/*,
// Mcp-Name must equal params.taskId (400 -32020 otherwise).
// Usage: node tasks_server.mjs stdio LOG_FILE
//        node tasks_server.mjs http LOG_FILE PORT_FILE   (127.0.0.1, port 0)
import { appendFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";

const [mode, logFile, portFile] = process.argv.slice(2);
const EXT = "io.modelcontextprotocol/tasks";
const tasks = new Map();  // taskId -> {owner, tool, args, polls, state, answer}

function log(method, params) {
  const { _meta, ...rest } = params ?? {};
  appendFileSync(logFile, method + "\t" + JSON.stringify(rest) + "\n");
}

const declares = (params) =>
  params?._meta?.["io.modelcontextprotocol/clientCapabilities"]?.extensions?.[EXT] !== undefined;

function taskView(id, t) {
  const now = new Date().toISOString();
  const out = { taskId: id, status: t.state, createdAt: t.createdAt, lastUpdatedAt: now,
                ttlMs: 600000, pollIntervalMs: 50 };
  if (t.state === "completed") out.result = t.result;
  if (t.state === "input_required") {
    out.inputRequests = { ok: { method: "elicitation/create", params: {
      mode: "form", message: "Approve " + t.args.what + "?",
      requestedSchema: { type: "object", properties: { yes: { type: "boolean" } } } } } };
  }
  return out;
}

function advance(t) {
  if (t.tool === "build" && t.state === "working" && ++t.polls > 2) {
    t.state = "completed";
    t.result = { content: [{ type: "text", text: "built " + t.args.target }],
                 structuredContent: { target: t.args.target, token: "tok-" + t.args.target },
                 isError: false };
  }
  if (t.tool === "approve" && t.state === "working" && t.answer !== undefined) {
    t.state = "completed";
    t.result = { content: [{ type: "text",
                             text: "approved " + t.args.what + ": " + (t.answer ? "yes" : "no") }],
                 isError: false };
  }
}

const ok = (id, result) => ({ jsonrpc: "2.0", id, result: { resultType: "complete", ...result } });
const err = (id, code, message, data) =>
  ({ jsonrpc: "2.0", id, error: data ? { code, message, data } : { code, message } });

function handle(msg, owner) {
  const { id, method, params } = msg;
  if (id === undefined) return null;  // notifications
  if (method === "initialize") {
    return err(id, -32022, "Unsupported protocol version", { supported: ["2026-07-28"] });
  }
  if (params?._meta?.["io.modelcontextprotocol/protocolVersion"] !== "2026-07-28") {
    return err(id, -32022, "Unsupported protocol version", { supported: ["2026-07-28"] });
  }
  if (method === "server/discover") {
    return ok(id, { supportedVersions: ["2026-07-28"],
                    capabilities: { tools: {}, extensions: { [EXT]: {} } },
                    _meta: { "io.modelcontextprotocol/serverInfo": { name: "tasks-test", version: "1" } },
                    ttlMs: 0, cacheScope: "public" });
  }
  if (method === "tools/list") {
    const obj = (props) => ({ type: "object", properties: props });
    return ok(id, { ttlMs: 0, cacheScope: "public", tools: [
      { name: "build", description: "Builds TARGET (long-running).",
        inputSchema: obj({ target: { type: "string" } }) },
      { name: "approve", description: "Asks before approving WHAT.",
        inputSchema: obj({ what: { type: "string" } }) },
      { name: "echo", description: "Echoes.", inputSchema: obj({ text: { type: "string" } }) },
    ] });
  }
  if (method === "tools/call") {
    log(method, params);
    const args = params.arguments ?? {};
    if ((params.name === "build" || params.name === "approve") && declares(params)) {
      const taskId = randomUUID();
      const t = { owner, tool: params.name, args, polls: 0, createdAt: new Date().toISOString(),
                  state: params.name === "approve" ? "input_required" : "working" };
      tasks.set(taskId, t);
      return ok(id, { ...taskView(taskId, t), resultType: "task" });
    }
    if (params.name === "build" || params.name === "approve") {
      return err(id, -32021, "Missing required client capability",
                 { requiredCapabilities: { extensions: { [EXT]: {} } } });
    }
    return ok(id, { content: [{ type: "text", text: "echo: " + String(args.text ?? "") }] });
  }
  if (method === "tasks/get" || method === "tasks/update" || method === "tasks/cancel") {
    log(method, params);
    if (!declares(params)) {
      return err(id, -32021, "Missing required client capability",
                 { requiredCapabilities: { extensions: { [EXT]: {} } } });
    }
    const t = tasks.get(params.taskId);
    if (!t || t.owner !== owner) return err(id, -32602, "Failed to retrieve task: Task not found");
    if (method === "tasks/get") {
      advance(t);
      return ok(id, taskView(params.taskId, t));
    }
    if (method === "tasks/update") {
      const answer = params.inputResponses?.ok;
      if (answer && t.state === "input_required") {
        t.answer = answer.action === "accept" && answer.content?.yes === true;
        t.state = "working";
      }
      return ok(id, {});
    }
    if (t.state === "working" || t.state === "input_required") t.state = "cancelled";
    return ok(id, {});
  }
  return err(id, -32601, "Method not found");
}

if (mode === "stdio") {
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (!line.trim()) return;
    const answer = handle(JSON.parse(line), "stdio");
    if (answer) process.stdout.write(JSON.stringify(answer) + "\n");
  });
} else if (mode === "http") {
  const http = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    if (req.method !== "POST") {
      res.writeHead(405);
      res.end();
      return;
    }
    let msg;
    try {
      msg = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify(err(null, -32700, "Parse error")));
      return;
    }
    const mismatch = (what) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify(err(msg.id ?? null, -32020, "Header mismatch: " + what)));
    };
    if (msg.method && req.headers["mcp-method"] !== msg.method) return mismatch("Mcp-Method");
    if (msg.method?.startsWith("tasks/") && req.headers["mcp-name"] !== msg.params?.taskId) {
      return mismatch("Mcp-Name");
    }
    const answer = handle(msg, req.headers.authorization ?? "anonymous");
    if (!answer) {
      res.writeHead(202);
      res.end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(answer));
  });
  http.listen(0, "127.0.0.1", () => writeFileSync(portFile, String(http.address().port)));
  process.on("SIGTERM", () => process.exit(0));
} else {
  console.error("usage: tasks_server.mjs stdio|http LOG_FILE [PORT_FILE]");
  process.exit(2);
}
