// The three framework adapters against the real frameworks (pinned in package-lock.json), a
// real `interlock serve` and a scripted OpenAI-compatible model on 127.0.0.1. The model asks
// for an allowed call, a blocked call and a call needing approval; the tests check what ran,
// what the model read back, and what the daemon recorded.
process.env.OPENAI_AGENTS_DISABLE_TRACING = "1";
process.env.OPENAI_API_KEY = "sk-test-not-a-key";

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { Interlock } from "@interlock/client";
import { startDaemon, startMockModel, pendingApproval } from "./harness.mjs";
import { POLICIES } from "./policies.mjs";

let daemon, agentToken, reviewer;
before(async () => {
  daemon = await startDaemon(POLICIES);
  agentToken = daemon.token("--agent", "support-agent-v2");
  reviewer = daemon.token("--reviewer", "rita");
});
after(async () => daemon?.stop());

const SCRIPT = [
  { toolCalls: [
    { name: "read_customer_record", args: { customer_id: "c-1" } },
    { name: "delete_customer_record", args: { customer_id: "c-1" } },
  ] },
  { toolCalls: [{ name: "send_customer_email", args: { customer_id: "c-1", body: "Your refund is on its way." } }] },
  { text: "All done." },
];

// Approves the next pending send_customer_email in the background.
function approveEmail() {
  return (async () => {
    const id = await pendingApproval(daemon, reviewer, "send_customer_email", 20_000);
    const v = await daemon.api("POST", `/v1/approvals/${id}`, reviewer, { verdict: "approve", comment: "fine" });
    assert.equal(v.status, 200);
  })();
}

async function checkRun(run, ran, model) {
  assert.deepEqual(ran.sort(), ["read_customer_record", "send_customer_email"]);
  const results = model.toolResults().join("\n");
  assert.match(results, /Interlock blocked this tool call \(TOOL_BLOCKED\)/, results);
  const state = await run.get();
  assert.equal(state.steps, 3, JSON.stringify(state));
  assert.deepEqual(Object.keys(state.records ?? {}).sort(), ["read_customer_record", "send_customer_email"].sort());
}

for (const api of ["chat_completions", "responses"]) {
test(`OpenAIAgents.BlockedToolBecomesAToolResultAndApprovalComesFromInterlock (${api})`, async () => {
  const { Agent, Runner, OpenAIProvider, tool } = await import("@openai/agents");
  const { guardAgent } = await import("@interlock/client/openai-agents");
  const model = await startMockModel(SCRIPT);
  const runner = new Runner({
    modelProvider: new OpenAIProvider({ baseURL: model.url, apiKey: "sk-test-not-a-key", useResponses: api === "responses" }),
    tracingDisabled: true,
  });
  const ran = [];
  const mk = (name, extra = {}) =>
    tool({
      name,
      description: name,
      parameters: z.object({ customer_id: z.string(), body: z.string().optional().nullable() }),
      execute: async (a) => {
        ran.push(name);
        return `${name} ok for ${a.customer_id}`;
      },
      ...extra,
    });
  try {
    const il = new Interlock({ url: daemon.url, token: agentToken });
    const run = await il.startRun();
    const agent = new Agent({
      name: "support",
      instructions: "Help the customer.",
      model: "scripted",
      // The SDK's local approval is replaced by Interlock's queue: no interruption.
      tools: [mk("read_customer_record"), mk("delete_customer_record"),
        mk("send_customer_email", { needsApproval: true })],
    });
    const approving = approveEmail();
    const result = await runner.run(guardAgent(agent, run), "Refund order o-1 and tell the customer.", { maxTurns: 5 });
    await approving;
    assert.equal(result.interruptions?.length ?? 0, 0);
    assert.equal(result.finalOutput, "All done.");
    const want = api === "responses" ? "/responses" : "/chat/completions";
    assert.ok(model.requests.every((r) => r.path.endsWith(want)), JSON.stringify(model.requests.map((r) => r.path)));
    await checkRun(run, ran, model);
  } finally {
    await model.stop();
  }
});
}

test("AiSdk.BlockedToolBecomesAToolResultAndApprovalComesFromInterlock", async () => {
  const { generateText, tool, stepCountIs } = await import("ai");
  const { createOpenAI } = await import("@ai-sdk/openai");
  const { guardTools } = await import("@interlock/client/ai-sdk");
  const model = await startMockModel(SCRIPT);
  const ran = [];
  const mk = (name) =>
    tool({
      description: name,
      inputSchema: z.object({ customer_id: z.string(), body: z.string().optional() }),
      execute: async (a) => {
        ran.push(name);
        return `${name} ok for ${a.customer_id}`;
      },
    });
  try {
    const run = await new Interlock({ url: daemon.url, token: agentToken }).startRun();
    const provider = createOpenAI({ baseURL: model.url, apiKey: "sk-test-not-a-key" });
    const approving = approveEmail();
    const out = await generateText({
      model: provider.chat("scripted"),
      prompt: "Refund order o-1 and tell the customer.",
      tools: guardTools({
        read_customer_record: mk("read_customer_record"),
        delete_customer_record: mk("delete_customer_record"),
        send_customer_email: mk("send_customer_email"),
      }, run),
      stopWhen: stepCountIs(5),
    });
    await approving;
    assert.equal(out.text, "All done.");
    await checkRun(run, ran, model);
  } finally {
    await model.stop();
  }
});

test("LangGraph.ToolNodeBlockedToolBecomesAToolMessageAndApprovalComesFromInterlock", async () => {
  const { StateGraph, MessagesAnnotation, START, END } = await import("@langchain/langgraph");
  const { ToolNode, toolsCondition } = await import("@langchain/langgraph/prebuilt");
  const { tool } = await import("@langchain/core/tools");
  const { ChatOpenAI } = await import("@langchain/openai");
  const { guardTools } = await import("@interlock/client/langgraph");
  const model = await startMockModel(SCRIPT);
  const ran = [];
  const mk = (name) =>
    tool(
      async (a) => {
        ran.push(name);
        return `${name} ok for ${a.customer_id}`;
      },
      { name, description: name, schema: z.object({ customer_id: z.string(), body: z.string().optional() }) },
    );
  try {
    const run = await new Interlock({ url: daemon.url, token: agentToken }).startRun();
    const tools = [mk("read_customer_record"), mk("delete_customer_record"), mk("send_customer_email")];
    const llm = new ChatOpenAI({ model: "scripted", apiKey: "sk-test-not-a-key",
      configuration: { baseURL: model.url }, maxRetries: 0 }).bindTools(tools);
    const graph = new StateGraph(MessagesAnnotation)
      .addNode("agent", async (s) => ({ messages: [await llm.invoke(s.messages)] }))
      .addNode("tools", new ToolNode(guardTools(tools, run)))
      .addEdge(START, "agent")
      .addConditionalEdges("agent", toolsCondition, ["tools", END])
      .addEdge("tools", "agent")
      .compile();
    const approving = approveEmail();
    const final = await graph.invoke({ messages: [{ role: "user", content: "Refund order o-1." }] },
      { recursionLimit: 10 });
    await approving;
    assert.equal(final.messages.at(-1).content, "All done.");
    const blocked = final.messages.find((m) => m.name === "delete_customer_record" || m.tool_call_id && /TOOL_BLOCKED/.test(m.content));
    assert.ok(blocked, "no ToolMessage for the blocked call");
    await checkRun(run, ran, model);
  } finally {
    await model.stop();
  }
});

// The daemon cannot be reached: whatever each framework does with the tool's error, the tool
// itself never runs.
test("Adapters.UnreachableDaemonNeverRunsTheTool", async () => {
  const { Agent, Runner, OpenAIProvider, tool } = await import("@openai/agents");
  const { guardAgent } = await import("@interlock/client/openai-agents");
  const ai = await import("ai");
  const { createOpenAI } = await import("@ai-sdk/openai");
  const { guardTools: aiGuard } = await import("@interlock/client/ai-sdk");
  const { tool: lcTool } = await import("@langchain/core/tools");
  const { ToolNode } = await import("@langchain/langgraph/prebuilt");
  const { guardTools: lgGuard } = await import("@interlock/client/langgraph");
  const { AIMessage } = await import("@langchain/core/messages");
  const unreachable = new Interlock({ url: "http://127.0.0.1:9", token: agentToken, retries: 1, retryBaseMs: 5 }).run("r-x");
  let attempts = 0;
  const down = { guard: (...a) => (++attempts, unreachable.guard(...a)) };
  const script = [{ toolCalls: [{ name: "read_customer_record", args: { customer_id: "c-1" } }] }, { text: "stopped" }];
  let ran = 0;

  const m1 = await startMockModel(script);
  try {
    const agent = new Agent({ name: "a", model: "scripted", tools: [tool({
      name: "read_customer_record", description: "r", parameters: z.object({ customer_id: z.string() }),
      execute: async () => ++ran })] });
    const runner = new Runner({ modelProvider: new OpenAIProvider({ baseURL: m1.url, apiKey: "sk-x", useResponses: false }),
      tracingDisabled: true });
    await runner.run(guardAgent(agent, down), "go", { maxTurns: 3 }).catch(() => {});
  } finally {
    await m1.stop();
  }

  const m2 = await startMockModel(script);
  try {
    await ai.generateText({
      model: createOpenAI({ baseURL: m2.url, apiKey: "sk-x" }).chat("scripted"),
      prompt: "go",
      tools: aiGuard({ read_customer_record: ai.tool({ description: "r", inputSchema: z.object({ customer_id: z.string() }),
        execute: async () => ++ran }) }, down),
      stopWhen: ai.stepCountIs(3),
    }).catch(() => {});
  } finally {
    await m2.stop();
  }

  const node = new ToolNode(lgGuard([lcTool(async () => ++ran, { name: "read_customer_record", description: "r",
    schema: z.object({ customer_id: z.string() }) })], down), { handleToolErrors: true });
  await node.invoke({ messages: [new AIMessage({ content: "", tool_calls: [
    { id: "t1", name: "read_customer_record", args: { customer_id: "c-1" } }] })] }).catch(() => {});

  assert.equal(attempts, 3, "each framework asked the guard");
  assert.equal(ran, 0);
});

// Approves the next pending send_customer_email with the reviewer's edited arguments.
function approveEmailWithEdit(edited) {
  return (async () => {
    const id = await pendingApproval(daemon, reviewer, "send_customer_email", 20_000);
    const v = await daemon.api("POST", `/v1/approvals/${id}`, reviewer,
      { verdict: "approve", comment: "fixed the body", arguments: edited });
    assert.equal(v.status, 200, JSON.stringify(v.json));
  })();
}

const TYPO = { customer_id: "c-1", body: "Your refnud is on its way." };
const FIXED = { customer_id: "c-1", body: "Your refund is on its way." };
const EDIT_SCRIPT = [{ toolCalls: [{ name: "send_customer_email", args: TYPO }] }, { text: "All done." }];

// Tests that the @openai/agents adapter runs the reviewer's edited arguments, not the model's.
test("OpenAIAgentsAdapter.RunsTheReviewersEditedArguments", async () => {
  const { Agent, Runner, OpenAIProvider, tool } = await import("@openai/agents");
  const { guardAgent } = await import("@interlock/client/openai-agents");
  const model = await startMockModel(EDIT_SCRIPT);
  const ran = [];
  try {
    const run = await new Interlock({ url: daemon.url, token: agentToken }).startRun();
    const agent = new Agent({ name: "support", model: "scripted", tools: [tool({
      name: "send_customer_email", description: "email",
      parameters: z.object({ customer_id: z.string(), body: z.string() }),
      execute: async (a) => (ran.push(a), `sent: ${a.body}`) })] });
    const runner = new Runner({ modelProvider: new OpenAIProvider({ baseURL: model.url, apiKey: "sk-x",
      useResponses: false }), tracingDisabled: true });
    const approving = approveEmailWithEdit(FIXED);
    await runner.run(guardAgent(agent, run), "Tell the customer.", { maxTurns: 3 });
    await approving;
    assert.deepEqual(ran, [FIXED]);
    assert.match(model.toolResults().join("\n"), /sent: Your refund is on its way/);
  } finally {
    await model.stop();
  }
});

// Tests that the AI SDK adapter runs the reviewer's edited arguments, not the model's.
test("AiSdkAdapter.RunsTheReviewersEditedArguments", async () => {
  const { generateText, tool, stepCountIs } = await import("ai");
  const { createOpenAI } = await import("@ai-sdk/openai");
  const { guardTools } = await import("@interlock/client/ai-sdk");
  const model = await startMockModel(EDIT_SCRIPT);
  const ran = [];
  try {
    const run = await new Interlock({ url: daemon.url, token: agentToken }).startRun();
    const approving = approveEmailWithEdit(FIXED);
    await generateText({
      model: createOpenAI({ baseURL: model.url, apiKey: "sk-x" }).chat("scripted"),
      prompt: "Tell the customer.",
      tools: guardTools({ send_customer_email: tool({ description: "email",
        inputSchema: z.object({ customer_id: z.string(), body: z.string() }),
        execute: async (a) => (ran.push(a), `sent: ${a.body}`) }) }, run),
      stopWhen: stepCountIs(3),
    });
    await approving;
    assert.deepEqual(ran, [FIXED]);
  } finally {
    await model.stop();
  }
});

// Tests that the LangGraph adapter (a ToolNode) runs the reviewer's edited arguments, not the
// model's.
test("LangGraphAdapter.RunsTheReviewersEditedArguments", async () => {
  const { ToolNode } = await import("@langchain/langgraph/prebuilt");
  const { tool } = await import("@langchain/core/tools");
  const { AIMessage } = await import("@langchain/core/messages");
  const { guardTools } = await import("@interlock/client/langgraph");
  const ran = [];
  const run = await new Interlock({ url: daemon.url, token: agentToken }).startRun();
  const email = tool(async (a) => (ran.push(a), `sent: ${a.body}`), { name: "send_customer_email",
    description: "email", schema: z.object({ customer_id: z.string(), body: z.string() }) });
  const approving = approveEmailWithEdit(FIXED);
  const out = await new ToolNode(guardTools([email], run)).invoke({ messages: [new AIMessage({ content: "",
    tool_calls: [{ id: "t1", name: "send_customer_email", args: TYPO }] })] });
  await approving;
  assert.deepEqual(ran, [FIXED]);
  assert.match(JSON.stringify(out.messages.map((m) => m.content)), /sent: Your refund is on its way/);
});

// Tests that an edit the tool's own schema refuses never runs (the frameworks validated only
// the model's input).
test("Adapters.EditTheToolSchemaRefusesNeverRuns", async () => {
  const ai = await import("ai");
  const { guardTool } = await import("@interlock/client/ai-sdk");
  const ran = [];
  const run = await new Interlock({ url: daemon.url, token: agentToken }).startRun();
  const guarded = guardTool("send_customer_email", ai.tool({ description: "email",
    inputSchema: z.object({ customer_id: z.string(), body: z.string() }),
    execute: async (a) => ran.push(a) }), run);
  const approving = approveEmailWithEdit({ customer_id: "c-1", body: 42 });
  const err = await guarded.execute(TYPO, { toolCallId: "t1", messages: [] }).catch((e) => e);
  await approving;
  assert.match(String(err), /do not fit the tool's schema/);
  assert.deepEqual(ran, []);
});

// --- One check of the decision envelope, shared by every path that runs a tool -----------
// A fake daemon answers allows that are not complete; no path (guard, decide, the three
// adapters) runs the tool.

// A fake daemon on 127.0.0.1:0: POST .../calls answers `decide`, GET /v1/calls/{id} answers
// `poll` (raw text, so a body can name a member twice); anything else 204. Each decision is a
// new call: the call id c0ffee01 in `decide` becomes c0ffee01nN, and in `poll` the polled id.
async function scriptedDaemon(decide, poll = "{}") {
  const { createServer } = await import("node:http");
  let n = 0;
  const srv = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const polled = req.url.split("/")[3]?.split("?")[0];
      const body = req.method === "POST" && req.url.endsWith("/calls") ? decide.replaceAll("c0ffee01", `c0ffee01n${++n}`)
        : req.method === "GET" && req.url.startsWith("/v1/calls/") ? poll.replaceAll("c0ffee01", polled) : null;
      if (body === null) return res.writeHead(204).end();
      res.writeHead(200, { "content-type": "application/json" }).end(body);
    });
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)) };
}

// A complete allow for tool lookup_faq, call c0ffee01, with `changes` (undefined removes).
function allow(changes = {}) {
  const b = { decision: "allow", code: "ALLOWED", reason: "ok", rule: "tools.allowed",
    agent_id: "support-agent-v2", tool: "lookup_faq", call_id: "c0ffee01" };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete b[k];
    else b[k] = v;
  }
  return JSON.stringify(b);
}
const PENDING = JSON.stringify({ decision: "approval_required", code: "APPROVAL_REQUIRED",
  reason: "needs a reviewer", rule: "approval", tool: "lookup_faq", call_id: "c0ffee01",
  approval_id: "apr_c0ffee01" });
const granted = (changes = {}) =>
  allow({ rule: "approval", reason: "approved by rita", run_id: "r-1", pending: false, ...changes });

// Runs guard, decide and each adapter against the fake; returns what ran.
async function everyPathRuns(decide, poll) {
  const fake = await scriptedDaemon(decide, poll);
  const ran = [];
  try {
    const run = new Interlock({ url: fake.url, token: "t", retries: 0, approvalTimeoutMs: 5_000 }).run("r-1");
    const schema = z.object({ q: z.string() });
    const exec = async (a) => (ran.push(a), "ran");
    await run.guard("lookup_faq", { q: "guard" }, exec).catch(() => {});
    if ((await run.decide("lookup_faq", { q: "decide" })).decision === "allow") ran.push("decide said allow");

    const agents = await import("@openai/agents");
    const { guardTool: oaGuard } = await import("@interlock/client/openai-agents");
    const oa = oaGuard(agents.tool({ name: "lookup_faq", description: "faq", parameters: schema,
      execute: exec }), run);
    await oa.invoke(new agents.RunContext(), JSON.stringify({ q: "openai agents" })).catch(() => {});

    const ai = await import("ai");
    const { guardTool: aiGuard } = await import("@interlock/client/ai-sdk");
    const aiTool = aiGuard("lookup_faq", ai.tool({ description: "faq", inputSchema: schema, execute: exec }), run);
    await aiTool.execute({ q: "ai sdk" }, { toolCallId: "t1", messages: [] }).catch(() => {});

    const { tool } = await import("@langchain/core/tools");
    const { guardTool: lgGuard } = await import("@interlock/client/langgraph");
    await lgGuard(tool(exec, { name: "lookup_faq", description: "faq", schema }), run)
      .invoke({ q: "langgraph" }).catch(() => {});
  } finally {
    await fake.close();
  }
  return ran;
}

const neverRuns = async (decide, poll) => assert.deepEqual(await everyPathRuns(decide, poll), [], `${decide} ${poll}`);

// Tests that the fake's complete allows run every path (the tests below are not vacuous).
test("Envelope.CompleteAllowRunsEveryPath", async () => {
  assert.equal((await everyPathRuns(allow())).length, 5);
  assert.equal((await everyPathRuns(PENDING, granted())).length, 4);
});

// Tests that an allow without a call_id (nothing to report, nothing recorded) never runs.
test("Envelope.AllowWithoutCallIdNeverRunsTheTool", async () => {
  await neverRuns(allow({ call_id: undefined }));
  await neverRuns(PENDING, granted({ call_id: undefined }));
  for (const bad of ["", "../../v1/kill", "c 1", 17]) await neverRuns(allow({ call_id: bad }));
});

// Tests that an allow without its code (ALLOWED) never runs.
test("Envelope.AllowWithoutCodeNeverRunsTheTool", async () => {
  await neverRuns(allow({ code: undefined }));
  await neverRuns(allow({ code: "allowed" }));
  await neverRuns(PENDING, granted({ code: undefined }));
});

// Tests that verdict spellings other than the exact "allow" never run.
test("Envelope.AllowVerdictCaseVariantsNeverRunTheTool", async () => {
  for (const v of ["ALLOW", "Allow", "allow ", "allowed"]) await neverRuns(allow({ decision: v }));
});

// Tests that an answer naming a member twice (a deny that JSON.parse, last one wins, reads as
// an allow) never runs.
test("Envelope.AllowWithDuplicateMembersNeverRunsTheTool", async () => {
  await neverRuns('{"decision":"deny","code":"TOOL_BLOCKED","reason":"no","rule":"r","tool":"lookup_faq",' +
    '"call_id":"c0ffee01","decision":"allow","code":"ALLOWED"}');
  await neverRuns('{"decision":"allow","code":"ALLOWED","reason":"ok","rule":"r","tool":"lookup_faq",' +
    '"call_id":"c0ffee01","\\u0064ecision":"allow"}');
  await neverRuns(PENDING, `${granted().slice(0, -1)},"run":{"a":1,"a":2}}`);
});

// Tests that an allow carrying what only another verdict carries never runs.
test("Envelope.AllowWithExtraVerdictFieldsNeverRunsTheTool", async () => {
  await neverRuns(allow({ verdict: "deny" }));
  await neverRuns(allow({ retry_after_s: 30 }));
});

// Tests that an allow that is still pending approval never runs.
test("Envelope.AllowWithApprovalPendingNeverRunsTheTool", async () => {
  await neverRuns(allow({ approval: { timeout_seconds: 300 } }));
  await neverRuns(allow({ pending: true }));
  await neverRuns(PENDING, granted({ pending: true }));
});

// Tests that an allow for another tool than the one asked about never runs.
test("Envelope.AllowForAnotherToolNeverRunsTheTool", async () => {
  await neverRuns(allow({ tool: "delete_customer_record" }));
  await neverRuns(allow({ tool: undefined }));
  await neverRuns(PENDING, granted({ tool: "delete_customer_record" }));
});

// Tests that the poll's allow for another call, or another run, never runs this call.
test("Envelope.AllowForAnotherCallOrRunNeverRunsTheTool", async () => {
  await neverRuns(PENDING, granted({ call_id: "c0ffee02" }));
  await neverRuns(PENDING, granted({ run_id: "r-2" }));
  await neverRuns(PENDING, granted({ run_id: undefined }));
  await neverRuns(allow({ run_id: "r-2" }));
});

// Tests that a grant whose edit cannot be read never runs the agent's arguments.
test("Envelope.GrantWithUnreadableEditNeverRunsTheOriginalArguments", async () => {
  await neverRuns(PENDING, granted({ arguments: ["q", "x"] }));
  await neverRuns(PENDING, granted({ reason: "approved by rita with edited arguments" }));
});
