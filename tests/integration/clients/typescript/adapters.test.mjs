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
