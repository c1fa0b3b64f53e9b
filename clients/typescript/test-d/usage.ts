// Compiles only if the declarations describe the documented API (tsc -p clients/typescript).
import { Interlock, DeniedError, ApprovalTimeoutError, UnavailableError, type Decision } from "../src/index.js";
import { guardAgent, roleName } from "../src/openai-agents.js";
import { guardTools as aiTools } from "../src/ai-sdk.js";
import { guardSubgraph, guardTools as lgTools } from "../src/langgraph.js";

export async function example(): Promise<string> {
  const il = new Interlock({ url: "http://127.0.0.1:8181", token: "t", timeoutMs: 5000 });
  const run = await il.startRun();
  const d: Decision = await run.decide("read_customer_record", { customer_id: "c-1" });
  const code: string = d.code;
  try {
    const out: number = await run.guard("send_customer_email", { to: "a" }, async (a) => a.to.length, {
      signal: AbortSignal.timeout(1000),
      approvalTimeoutMs: 60_000,
    });
    await run.reportUsage({ tokens: 1200, costUsd: 0.01 });
    await run.end();
    return `${code} ${out}`;
  } catch (err) {
    if (err instanceof ApprovalTimeoutError) return err.decision.approvalId;
    if (err instanceof DeniedError) return err.decision.reason;
    if (err instanceof UnavailableError) return err.message;
    throw err;
  }
}

declare const agent: { tools: any[]; clone(c: { tools: any[] }): typeof agent };
declare const runArg: import("../src/index.js").Run;
export const a = guardAgent(agent, runArg);
export const t = aiTools({ x: { execute: async (i: { q: string }) => i.q } }, runArg);
export const l = lgTools([{ name: "x", invoke: async () => "y" }], () => runArg);

export async function children(run: import("../src/index.js").Run): Promise<number> {
  const child = await run.startChild({ role: roleName("Billing Agent") });
  const parent: string = child.parentRunId;
  const depth: number = child.depth;
  const n: number = await run.withChild({ role: "researcher" }, async (c) => c.role.length);
  const m: string = await run.withChild((c) => c.runId);
  const state = await child.get();
  const kids: string[] | undefined = state.children;
  await child.end();
  return parent.length + depth + n + m.length + (kids?.length ?? 0);
}
export const a2 = guardAgent(agent, runArg, { handoffRole: (x) => x.name });
export const g = guardSubgraph({ invoke: async (i: { n: number }) => i.n }, runArg, { role: "researcher" });
