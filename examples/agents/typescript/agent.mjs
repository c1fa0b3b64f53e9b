// The seed's support agent (examples/policies/support-agent-v2.yaml) on the OpenAI Agents SDK,
// every tool call going through Interlock. Run a daemon with `make run`, then
//   INTERLOCK_TOKEN=<the agent token make run printed> npm start
// The scripted model reads a customer record, refunds an order, tries to delete the customer
// (blocked: the model reads the denial) and emails the customer, which waits for a reviewer:
// approve or deny it on the printed link (or `interlock approvals`).
import { Agent, run as runAgent, tool, setOpenAIAPI, setTracingDisabled } from "@openai/agents";
import { z } from "zod";
import { Interlock, UnavailableError, UnauthenticatedError } from "@interlock/client";
import { guardAgent } from "@interlock/client/openai-agents";
import { startScriptedModel } from "./scripted-model.mjs";

const SCRIPT = [
  { toolCalls: [{ name: "read_customer_record", args: { customer_id: "C-1042", fields: ["order_history", "contact_info"] } }] },
  { toolCalls: [{ name: "update_order_status", args: { order_id: "O-7731", status: "refunded" } }] },
  { toolCalls: [{ name: "delete_customer_record", args: { customer_id: "C-1042" } }] },
  { toolCalls: [{ name: "send_customer_email", args: { customer_id: "C-1042", subject: "Your refund", body: "Your refund for O-7731 is on its way." } }] },
  { text: "Order O-7731 is refunded and the customer has been told. I did not delete the customer record: Interlock blocks that." },
];

// The tools themselves: stand-ins for a CRM and a mailer.
const log = (line) => console.log(`  [tool] ${line}`);
const tools = [
  tool({
    name: "read_customer_record",
    description: "Read fields of a customer record.",
    parameters: z.object({ customer_id: z.string(), fields: z.array(z.string()) }),
    execute: async ({ customer_id, fields }) => {
      log(`read_customer_record ${customer_id} ${fields.join(",")}`);
      return { customer_id, order_history: [{ order_id: "O-7731", status: "delivered" }], contact_info: { email: "c1042@example.com" } };
    },
  }),
  tool({
    name: "update_order_status",
    description: "Set an order's status.",
    parameters: z.object({ order_id: z.string(), status: z.string() }),
    execute: async ({ order_id, status }) => (log(`update_order_status ${order_id} -> ${status}`), "updated"),
  }),
  tool({
    name: "delete_customer_record",
    description: "Delete a customer record.",
    parameters: z.object({ customer_id: z.string() }),
    execute: async ({ customer_id }) => (log(`delete_customer_record ${customer_id} (this must never print)`), "deleted"),
  }),
  tool({
    name: "send_customer_email",
    description: "Email a customer.",
    parameters: z.object({ customer_id: z.string(), subject: z.string(), body: z.string() }),
    execute: async ({ customer_id, subject }) => (log(`send_customer_email ${customer_id}: ${subject}`), "sent"),
  }),
];

async function main() {
  let model;
  if (!process.env.OPENAI_BASE_URL) {
    setTracingDisabled(true); // nothing to send to OpenAI's trace exporter from a scripted run
    model = await startScriptedModel(SCRIPT);
    process.env.OPENAI_BASE_URL = model.url;
    process.env.OPENAI_API_KEY ??= "scripted-model-needs-no-key";
  }
  setOpenAIAPI("chat_completions");

  const il = new Interlock({ approvalTimeoutMs: Number(process.env.APPROVAL_TIMEOUT_MS ?? 300_000) });
  const run = await il.startRun();
  console.log(`interlock: run ${run.runId} on ${il.url}`);
  const agent = new Agent({
    name: "support-agent-v2",
    instructions: "You are a customer support agent. Use the tools to resolve the request.",
    model: process.env.MODEL ?? "scripted",
    tools,
  });
  const guarded = guardAgent(agent, run, {
    onApprovalRequired: (d) => console.log(`interlock: ${d.tool} waits for a reviewer: ${d.approvalUrl || d.approvalId}`),
    onDenied: (d) => console.log(`interlock: denied ${d.tool} (${d.code}): ${d.reason}`),
  });
  try {
    const result = await runAgent(guarded, "Customer C-1042 wants a refund for order O-7731. Refund it and tell them.", { maxTurns: 10 });
    let tokens = 0;
    for (const r of result.rawResponses) tokens += r.usage?.totalTokens ?? 0;
    await run.reportUsage({ tokens });
    console.log(`agent: ${result.finalOutput}`);
    const state = await run.get();
    console.log(`interlock: run ${run.runId}: ${state.steps} steps, ${state.tokens} tokens, records ${JSON.stringify(state.records)}`);
  } finally {
    await run.end().catch(() => {});
    model?.close();
  }
}

main().catch((err) => {
  if (err instanceof UnauthenticatedError) console.error("set INTERLOCK_TOKEN to the agent token `make run` printed");
  else if (err instanceof UnavailableError) console.error(`is the daemon running (make run)? ${err.message}`);
  else console.error(err?.message ?? err);
  process.exitCode = 1;
});
