// A raw 2026-07-28 client following the tasks extension (io.modelcontextprotocol/tasks), for
// the stdio gateway's task tests: the v2 SDK client (2.4.0) knows the extension's wire names
// but does not follow tasks, so this client speaks the ext-tasks specification itself.
// Usage: node raw_tasks_client.mjs SCENARIO -- COMMAND [ARGS...]
// SCENARIO:
//   build    tools/call build {target:"web"} (id 1), tasks/get of a made-up task id (id 2),
//            then tasks/get of the task (ids 10..) until it is no longer "working", then once
//            more.
//   approve  tools/call approve {what:"deploy"} (id 1), tasks/update answering the task's
//            "ok" question with yes (id 2), then tasks/get until completed (ids 10..).
//   undeclared  tools/call build without declaring the extension (id 1).
// Prints {"exit": code, "messages": [every message received]} (raw_stdio.mjs).
import { randomUUID } from "node:crypto";
import { sleep, startServer, within } from "./raw_stdio.mjs";

const scenario = process.argv[2];
const server = startServer();
const meta = (tasks = true) => ({
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities":
    tasks ? { extensions: { "io.modelcontextprotocol/tasks": {} } } : {},
  "io.modelcontextprotocol/clientInfo": { name: "raw-tasks", version: "1" },
});
async function request(id, method, params) {
  const answered = server.response(id);
  server.send({ jsonrpc: "2.0", id, method, params });
  await within(Promise.race([answered, server.exited]), 20000);
  return server.received.find((m) => m.id === id && !m.method);
}
async function pollWhile(taskId, status) {
  let last;
  for (let id = 10; id < 40; ++id) {
    last = await request(id, "tasks/get", { taskId, _meta: meta() });
    if (last?.result?.status !== status) return id;
    await sleep(50);
  }
  return 40;
}

if (scenario === "build") {
  const created = await request(1, "tools/call",
                                { name: "build", arguments: { target: "web" }, _meta: meta() });
  await request(2, "tasks/get", { taskId: randomUUID(), _meta: meta() });
  const taskId = created?.result?.taskId;
  if (taskId) {
    const next = await pollWhile(taskId, "working");
    await request(next + 1, "tasks/get", { taskId, _meta: meta() });
  }
} else if (scenario === "approve") {
  const created = await request(1, "tools/call",
                                { name: "approve", arguments: { what: "deploy" }, _meta: meta() });
  const taskId = created?.result?.taskId;
  if (taskId) {
    await request(2, "tasks/update", {
      taskId, inputResponses: { ok: { action: "accept", content: { yes: true } } }, _meta: meta(),
    });
    await pollWhile(taskId, "working");
  }
} else if (scenario === "undeclared") {
  await request(1, "tools/call",
                { name: "build", arguments: { target: "web" }, _meta: meta(false) });
} else {
  console.error("usage: raw_tasks_client.mjs build|approve|undeclared -- COMMAND [ARGS...]");
  process.exit(2);
}
await server.finish();
