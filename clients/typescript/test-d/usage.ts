// Compiles only if the declarations describe the documented API (tsc -p clients/typescript).
import { Interlock, DeniedError, ApprovalTimeoutError, UnavailableError, type Decision } from "../src/index.js";
import { guardAgent } from "../src/openai-agents.js";
import { guardTools as aiTools } from "../src/ai-sdk.js";
import { guardTools as lgTools } from "../src/langgraph.js";

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
