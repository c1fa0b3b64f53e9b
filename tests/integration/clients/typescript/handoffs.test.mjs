// Child runs from TypeScript (docs/governance.md#child-runs): Run.startChild/withChild, the
// @openai/agents adapter's handoffs and the LangGraph adapter's subgraphs, against a real
// `interlock serve`, the real frameworks (pinned in package-lock.json) and a scripted
// OpenAI-compatible model on 127.0.0.1. The agent "desk" may read, refund and look up; its
// role "billing-agent" may only read and look up invoices (and may close accounts, which the
// parent blocks); the role "researcher" may only read.
process.env.OPENAI_AGENTS_DISABLE_TRACING = "1";
process.env.OPENAI_API_KEY = "sk-test-not-a-key";

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { Interlock } from "@interlock/client";
import { startDaemon, startMockModel } from "./harness.mjs";

const DESK = `agent:
  id: "desk"
tools:
  allowed:
    - name: "read_ticket"
    - name: "issue_refund"
    - name: "lookup_invoice"
  blocked:
    - "close_account"
execution:
  max_steps: 6
`;
const BILLING = `agent:
  id: "desk/billing-agent"
tools:
  allowed:
    - name: "read_ticket"
    - name: "lookup_invoice"
    - name: "close_account"
execution:
  max_steps: 100
`;
const RESEARCHER = `agent:
  id: "desk/researcher"
tools:
  allowed:
    - name: "read_ticket"
`;

let daemon, agentToken, reviewer;
before(async () => {
  daemon = await startDaemon({ "desk.yaml": DESK, "billing.yaml": BILLING, "researcher.yaml": RESEARCHER });
  agentToken = daemon.token("--agent", "desk");
  reviewer = daemon.token("--reviewer", "rita");
});
after(async () => daemon?.stop());

const client = () => new Interlock({ url: daemon.url, token: agentToken });
const runState = async (id) => (await daemon.api("GET", `/v1/runs/${id}`, reviewer)).json;

// Waits (bounded) until the run has ended.
async function ended(id, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await runState(id);
    if (s.ended || s.state === "ended") return s;
    if (Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Tests that Run.startChild starts a child run the daemon shows with its parent and role, and
// that withChild ends it when its function returns (the parent keeps running).
test("Client.StartChildIsAChildRunAndWithChildEndsIt", async () => {
  const run = await client().startRun();
  const child = await run.startChild({ role: "billing-agent" });
  assert.equal(child.parentRunId, run.runId);
  assert.equal(child.role, "billing-agent");
  assert.equal(child.depth, 1);
  const s = await child.get();
  assert.equal(s.parent_run_id, run.runId);
  assert.equal(s.role, "billing-agent");
  let inner;
  const out = await run.withChild({ role: "researcher" }, async (c) => ((inner = c), "value"));
  assert.equal(out, "value");
  assert.ok((await ended(inner.runId)).ended, "withChild ended the child");
  await assert.rejects(run.withChild({ role: "researcher" }, async (c) => ((inner = c), Promise.reject(new Error("boom")))), /boom/);
  assert.ok((await ended(inner.runId)).ended, "withChild ended the child after a throw");
  const parent = await runState(run.runId);
  assert.ok(!parent.ended);
  assert.equal(parent.children.length, 3);
  await run.end();
});

// The handoff graph: "triage" (guarded) hands off to "Billing Agent", which can hand back.
async function handoffAgents(ran) {
  const { Agent, tool } = await import("@openai/agents");
  const mk = (name) => tool({
    name, description: name, parameters: z.object({ id: z.string() }),
    execute: async (a) => (ran.push(name), `${name} ok for ${a.id}`),
  });
  const billing = new Agent({ name: "Billing Agent", model: "scripted", instructions: "Billing.",
    tools: [mk("lookup_invoice"), mk("issue_refund"), mk("close_account")] });
  const triage = new Agent({ name: "triage", model: "scripted", instructions: "Route.",
    tools: [mk("read_ticket"), mk("issue_refund")], handoffs: [billing] });
  billing.handoffs = [triage];
  return triage;
}

async function runHandoff(script, { maxTurns = 8 } = {}) {
  const { Runner, OpenAIProvider } = await import("@openai/agents");
  const { guardAgent } = await import("@interlock/client/openai-agents");
  const model = await startMockModel(script);
  const ran = [];
  try {
    const run = await client().startRun();
    const runner = new Runner({ modelProvider: new OpenAIProvider({ baseURL: model.url, apiKey: "sk-x",
      useResponses: false }), tracingDisabled: true });
    const result = await runner.run(guardAgent(await handoffAgents(ran), run), "Help.", { maxTurns });
    const root = await runState(run.runId);
    return { run, root, ran, results: model.toolResults().join("\n"), result };
  } finally {
    await model.stop();
  }
}

const TO_BILLING = { toolCalls: [{ name: "transfer_to_Billing_Agent", args: {} }] };
const call = (name) => ({ toolCalls: [{ name, args: { id: "t-1" } }] });

// Tests that a handoff's receiving agent's call is decided in a child run of the run, whose
// role is the agent's name normalised, and that the final output ends that child.
test("OpenAIAgents.HandoffCallIsDecidedInAChildRunEndedByTheFinalOutput", async () => {
  const { run, root, ran } = await runHandoff([call("read_ticket"), TO_BILLING, call("lookup_invoice"), { text: "done" }]);
  assert.deepEqual(ran, ["read_ticket", "lookup_invoice"]);
  assert.equal(root.children.length, 1, JSON.stringify(root));
  const child = await ended(root.children[0]);
  assert.equal(child.parent_run_id, run.runId);
  assert.equal(child.role, "billing-agent");
  assert.deepEqual(Object.keys(child.records), ["lookup_invoice"]);
  assert.ok(child.ended, "the final output ended the child run");
  assert.deepEqual(Object.keys(root.records).sort(), ["lookup_invoice", "read_ticket"]);
});

// Tests that the receiving agent is refused a tool its parent may use (issue_refund) when its
// role's policy is narrower, while the guarded agent itself may use it.
test("OpenAIAgents.ChildRefusedAToolItsParentMayUseWhenTheRolePolicyIsNarrower", async () => {
  const { ran, results, root } = await runHandoff([call("issue_refund"), TO_BILLING, call("issue_refund"), { text: "done" }]);
  assert.deepEqual(ran, ["issue_refund"], "only the parent's refund ran");
  assert.match(results, /Interlock blocked this tool call \(TOOL_NOT_ALLOWED\)/, results);
  const child = await runState(root.children[0]);
  assert.equal(child.steps, 1);
});

// Tests that the parent's deny binds the child: the role's policy allows close_account, the
// parent's blocks it, and the answer names the parent run.
test("OpenAIAgents.ParentDenyBindsTheChild", async () => {
  const { ran, results, run } = await runHandoff([TO_BILLING, call("close_account"), { text: "done" }]);
  assert.deepEqual(ran, []);
  assert.match(results, /\(TOOL_BLOCKED\): parent run/, results);
  assert.ok(results.includes(run.runId), results);
});

// Tests that the child's steps are drawn from the parent's budget: the parent's max_steps (6)
// is spent by the child's calls too, and the child is then denied BUDGET_EXCEEDED by the
// parent's policy although its own allows 100.
test("OpenAIAgents.ChildStepsAreDrawnFromTheParentsBudget", async () => {
  const script = [call("read_ticket"), call("read_ticket"), TO_BILLING];
  for (let i = 0; i < 5; ++i) script.push(call("lookup_invoice"));
  script.push({ text: "done" });
  const { ran, results, root } = await runHandoff(script, { maxTurns: 12 });
  assert.equal(ran.filter((n) => n === "lookup_invoice").length, 4, ran.join());
  assert.match(results, /\(BUDGET_EXCEEDED\): parent run/, results);
  const child = await runState(root.children[0]);
  // Every call of the child is a step of the parent too (the refused one included).
  assert.equal(root.steps, 2 + child.steps, JSON.stringify({ root, child }));
  assert.ok(child.steps >= 4, JSON.stringify(child));
});

// Tests that handing back to the guarded agent ends the child run (the handoff returned), and
// that the guarded agent's later calls are decided in its own run again.
test("OpenAIAgents.ChildEndedWhenTheHandoffReturns", async () => {
  const back = { toolCalls: [{ name: "transfer_to_triage", args: {} }] };
  const { ran, root, run } = await runHandoff([TO_BILLING, call("lookup_invoice"), back, call("issue_refund"),
    { text: "done" }]);
  assert.deepEqual(ran, ["lookup_invoice", "issue_refund"]);
  assert.equal(root.children.length, 1, JSON.stringify(root));
  const child = await runState(root.children[0]);
  assert.ok(child.ended, "handing back ended the child run");
  assert.deepEqual(Object.keys(child.records), ["lookup_invoice"]);
  const audit = (await daemon.api("GET", `/v1/audit?run_id=${run.runId}&limit=100`, reviewer)).json.records;
  const refund = audit.find((r) => r.type === "decision" && r.data?.tool === "issue_refund");
  assert.ok(refund, "the refund was decided in the parent's run");
});

// Tests that a Handoff built with handoff() keeps its onHandoff callback and its tool name,
// and its agent is guarded in a child run like a bare agent's.
test("OpenAIAgents.HandoffObjectKeepsItsCallbackAndRunsInAChildRun", async () => {
  const { Agent, Runner, OpenAIProvider, handoff, tool } = await import("@openai/agents");
  const { guardAgent } = await import("@interlock/client/openai-agents");
  const ran = [];
  let called = 0;
  const lookup = tool({ name: "lookup_invoice", description: "l", parameters: z.object({ id: z.string() }),
    execute: async () => (ran.push("lookup_invoice"), "ok") });
  const billing = new Agent({ name: "Billing Agent", model: "scripted", tools: [lookup] });
  const triage = new Agent({ name: "triage", model: "scripted",
    handoffs: [handoff(billing, { toolNameOverride: "to_billing", onHandoff: () => ++called })] });
  const model = await startMockModel([{ toolCalls: [{ name: "to_billing", args: {} }] }, call("lookup_invoice"),
    { text: "done" }]);
  try {
    const run = await client().startRun();
    const runner = new Runner({ modelProvider: new OpenAIProvider({ baseURL: model.url, apiKey: "sk-x",
      useResponses: false }), tracingDisabled: true });
    await runner.run(guardAgent(triage, run), "Help.", { maxTurns: 5 });
    assert.equal(called, 1);
    assert.deepEqual(ran, ["lookup_invoice"]);
    const root = await runState(run.runId);
    const child = await runState(root.children[0]);
    assert.equal(child.role, "billing-agent");
    assert.deepEqual(Object.keys(child.records), ["lookup_invoice"]);
  } finally {
    await model.stop();
  }
});

// Tests that a handoff under a killed run fails closed: no child run starts, the run fails,
// and the receiving agent's tool never runs.
test("OpenAIAgents.HandoffUnderAKilledRunFailsClosed", async () => {
  const { Runner, OpenAIProvider } = await import("@openai/agents");
  const { guardAgent } = await import("@interlock/client/openai-agents");
  const admin = daemon.token("--admin", "op");
  const model = await startMockModel([TO_BILLING, call("lookup_invoice"), { text: "done" }]);
  const ran = [];
  try {
    const run = await client().startRun();
    const k = await daemon.api("POST", "/v1/kill", admin, { scope: "run", target: run.runId, engaged: true,
      reason: "test" });
    assert.equal(k.status, 200, JSON.stringify(k.json));
    const runner = new Runner({ modelProvider: new OpenAIProvider({ baseURL: model.url, apiKey: "sk-x",
      useResponses: false }), tracingDisabled: true });
    await assert.rejects(runner.run(guardAgent(await handoffAgents(ran), run), "Help.", { maxTurns: 5 }),
      /POST \/v1\/runs: 400/);
    assert.deepEqual(ran, []);
    assert.deepEqual((await runState(run.runId)).children, []);
  } finally {
    await model.stop();
  }
});

// Tests that a handoff from a receiving agent starts a child of its child run: the clerk has
// no role policy (the agent's own allows refunds) but the billing agent above it may not
// refund, so neither may the clerk.
test("OpenAIAgents.HandoffFromAChildIsAChildOfTheChild", async () => {
  const { Agent, Runner, OpenAIProvider, tool } = await import("@openai/agents");
  const { guardAgent } = await import("@interlock/client/openai-agents");
  const ran = [];
  const triage = await handoffAgents(ran);
  const billing = triage.handoffs[0];
  billing.handoffs.push(new Agent({ name: "Refund Clerk", model: "scripted", tools: [tool({
    name: "issue_refund", description: "r", parameters: z.object({ id: z.string() }),
    execute: async () => (ran.push("clerk refund"), "ok") })] }));
  const model = await startMockModel([TO_BILLING, { toolCalls: [{ name: "transfer_to_Refund_Clerk", args: {} }] },
    call("issue_refund"), { text: "done" }]);
  try {
    const run = await client().startRun();
    const runner = new Runner({ modelProvider: new OpenAIProvider({ baseURL: model.url, apiKey: "sk-x",
      useResponses: false }), tracingDisabled: true });
    await runner.run(guardAgent(triage, run), "Help.", { maxTurns: 6 });
    const [b] = (await runState(run.runId)).children;
    const [c] = (await runState(b)).children;
    const clerk = await ended(c);
    assert.deepEqual([clerk.parent_run_id, clerk.depth, clerk.role], [b, 2, "refund-clerk"]);
    assert.deepEqual(ran, []);
    assert.match(model.toolResults().join("\n"), new RegExp(`\\(TOOL_NOT_ALLOWED\\): parent run ${b}`));
    assert.ok(clerk.ended && (await ended(b)).ended, "the final output ended both");
  } finally {
    await model.stop();
  }
});

// A graph whose "research" node is a subgraph with a ToolNode of guarded tools.
async function researchGraph(run, ran, toolCalls) {
  const { StateGraph, MessagesAnnotation, START, END } = await import("@langchain/langgraph");
  const { ToolNode } = await import("@langchain/langgraph/prebuilt");
  const { tool } = await import("@langchain/core/tools");
  const { AIMessage } = await import("@langchain/core/messages");
  const { guardTools, guardSubgraph } = await import("@interlock/client/langgraph");
  const mk = (name) => tool(async (a) => (ran.push(name), `${name} ok ${a.id}`),
    { name, description: name, schema: z.object({ id: z.string() }) });
  const tools = guardTools([mk("read_ticket"), mk("issue_refund")], run);
  const sub = new StateGraph(MessagesAnnotation)
    .addNode("ask", async () => ({ messages: [new AIMessage({ content: "", tool_calls: toolCalls.map((name, i) =>
      ({ id: `t${i}`, name, args: { id: "t-1" } })) })] }))
    .addNode("tools", new ToolNode(tools))
    .addEdge(START, "ask").addEdge("ask", "tools").addEdge("tools", END)
    .compile();
  return new StateGraph(MessagesAnnotation)
    .addNode("research", guardSubgraph(sub, run, { role: "researcher" }))
    .addNode("after", new ToolNode(tools))
    .addNode("ask_after", async () => ({ messages: [new AIMessage({ content: "", tool_calls: [
      { id: "p1", name: "issue_refund", args: { id: "t-2" } }] })] }))
    .addEdge(START, "research").addEdge("research", "ask_after").addEdge("ask_after", "after").addEdge("after", END)
    .compile();
}

// Tests that a guarded subgraph's tool calls are decided in a child run (role researcher),
// refused there what only the parent may do, ended when the subgraph returns, while the
// graph's own calls after it stay in the parent's run.
test("LangGraph.SubgraphToolCallsAreDecidedInAChildRunEndedWhenItReturns", async () => {
  const run = await client().startRun();
  const ran = [];
  const graph = await researchGraph(run, ran, ["read_ticket", "issue_refund"]);
  const out = await graph.invoke({ messages: [{ role: "user", content: "go" }] });
  const contents = out.messages.map((m) => String(m.content)).join("\n");
  assert.match(contents, /TOOL_NOT_ALLOWED/, contents);
  assert.deepEqual(ran, ["read_ticket", "issue_refund"], "the subgraph's refund was refused, the parent's ran");
  const root = await runState(run.runId);
  assert.equal(root.children.length, 1);
  const child = await runState(root.children[0]);
  assert.equal(child.parent_run_id, run.runId);
  assert.equal(child.role, "researcher");
  assert.ok(child.ended, "the child ended when the subgraph returned");
  assert.equal(child.steps, 2);
  assert.equal(root.steps, 3, "the child's steps are the parent's too");
  await run.end();
});

// Tests that a guarded subgraph inside a guarded subgraph runs in a child of the outer one's
// child run, and that both end when they return.
test("LangGraph.NestedSubgraphsNestTheirChildRuns", async () => {
  const { StateGraph, MessagesAnnotation, START, END } = await import("@langchain/langgraph");
  const { guardSubgraph } = await import("@interlock/client/langgraph");
  const run = await client().startRun();
  const ran = [];
  const inner = await researchGraph(run, ran, ["read_ticket"]);
  const outer = new StateGraph(MessagesAnnotation)
    .addNode("inner", guardSubgraph(inner, run, { role: "researcher" }))
    .addEdge(START, "inner").addEdge("inner", END).compile();
  const top = new StateGraph(MessagesAnnotation)
    .addNode("outer", guardSubgraph(outer, run, { role: "billing-agent" }))
    .addEdge(START, "outer").addEdge("outer", END).compile();
  await top.invoke({ messages: [{ role: "user", content: "go" }] });
  const [o] = (await runState(run.runId)).children;
  const outerRun = await runState(o);
  assert.equal(outerRun.role, "billing-agent");
  const [i] = outerRun.children;
  const innerRun = await runState(i);
  assert.deepEqual([innerRun.parent_run_id, innerRun.depth, innerRun.role], [o, 2, "researcher"]);
  const [r] = innerRun.children; // researchGraph's own guarded "research" node
  const research = await runState(r);
  assert.deepEqual([research.depth, research.records], [3, { read_ticket: 1 }]);
  assert.ok(outerRun.ended && innerRun.ended && research.ended);
  // researchGraph's refund after its subgraph is decided in the inner run (billing-agent above
  // it may not refund either): refused.
  assert.deepEqual(ran, ["read_ticket"]);
  await run.end();
});
