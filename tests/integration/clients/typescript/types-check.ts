// Compiled (not run) by typecheck.test.mjs: the adapters' declarations accept the real
// frameworks' tool types and give them back unchanged.
import { z } from "zod";
import { Interlock, type Run } from "@interlock/client";
import { guardAgent } from "@interlock/client/openai-agents";
import { guardTools as aiGuard } from "@interlock/client/ai-sdk";
import { guardSubgraph, guardTools as lgGuard } from "@interlock/client/langgraph";
import { Agent, tool as agentsTool } from "@openai/agents";
import { tool as aiTool, type ToolSet } from "ai";
import { tool as lcTool } from "@langchain/core/tools";
import { ToolNode } from "@langchain/langgraph/prebuilt";
import { StateGraph, MessagesAnnotation, START, END } from "@langchain/langgraph";

export async function check(): Promise<void> {
  const run: Run = await new Interlock().startRun();
  const agent = new Agent({
    name: "a",
    tools: [agentsTool({ name: "t", description: "t", parameters: z.object({ q: z.string() }), execute: async ({ q }) => q })],
    handoffs: [new Agent({ name: "Billing Agent" })],
  });
  const guarded: Agent = guardAgent(agent, run);
  const tools = aiGuard(
    { t: aiTool({ description: "t", inputSchema: z.object({ q: z.string() }), execute: async ({ q }) => q }) },
    run,
  );
  const set: ToolSet = tools;
  const lc = lcTool(async ({ q }: { q: string }) => q, { name: "t", description: "t", schema: z.object({ q: z.string() }) });
  const node = new ToolNode(lgGuard([lc], () => run));
  const child: Run = await run.startChild({ role: "researcher" });
  const sub = new StateGraph(MessagesAnnotation).addNode("tools", node).addEdge(START, "tools")
    .addEdge("tools", END).compile();
  const parent = new StateGraph(MessagesAnnotation)
    .addNode("research", guardSubgraph(sub, child, { role: "researcher" }))
    .addEdge(START, "research").addEdge("research", END).compile();
  void parent;
  void guarded;
  void set;
  void node;
}
