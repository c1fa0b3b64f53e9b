// @interlock/client/openai-agents: every tool call of an @openai/agents agent goes through
// Interlock's guard. Duck-typed: imports nothing from @openai/agents (works with the copy the
// application installed). A denial becomes the tool's output, a string the model can read;
// Interlock's approval queue replaces the SDK's local needsApproval (the wrapped tools never
// ask the SDK for approval: the call waits on the daemon's approval instead).
//
// Handoffs: guardAgent guards every agent the guarded one can hand off to (and theirs). A
// receiving agent's tool calls are decided in a child run (docs/governance.md#child-runs) of
// the run of the agent that handed off, with the role roleName(agent.name): under the policy
// AGENT/ROLE where one is loaded, always within the parent's, on the parent's budgets.
import { ChildRuns, guardForModel, roleName } from "./adapter-common.js";

export { roleName };

const resolveRun = async (run, ctx) => (typeof run === "function" ? run(ctx) : run);

/** Wraps function tools; other tool kinds (hosted, computer, shell) are refused. */
export function guardTools(tools, run, options = {}) {
  return tools.map((t) => guardTool(t, run, options));
}

export function guardTool(tool, run, options = {}) {
  if (!tool || tool.type !== "function" || typeof tool.invoke !== "function") {
    throw new TypeError(
      `interlock: cannot guard tool ${JSON.stringify(tool?.name ?? "?")} of type ${JSON.stringify(tool?.type)}: only function tools run in this process`,
    );
  }
  const original = tool.invoke;
  const toolName = options.toolName?.(tool) ?? tool.name;
  async function invoke(runContext, input, details) {
    let args;
    try {
      args = input ? JSON.parse(input) : {};
    } catch {
      // The SDK's own parser rejects it too; nothing runs and nothing is asked.
      return "Interlock: the tool arguments are not valid JSON; the tool was not run.";
    }
    const r = await resolveRun(run, runContext);
    // The SDK parses and validates the text it is given: the model's own when the decision
    // kept its arguments, the reviewer's edit (as JSON) when it did not.
    const call = (final) => original.call(tool, runContext, final === args ? input : JSON.stringify(final), details);
    return guardForModel(r, toolName, args, call, details?.signal, options);
  }
  return { ...tool, invoke, needsApproval: async () => false };
}

/**
 * agent.clone() with its function tools guarded, and the agents it hands off to (and theirs)
 * guarded the same way, each in a child run of the run of the agent that handed off to it,
 * with the role options.handoffRole(agent) (default roleName(agent.name)). A handoff back to
 * an agent above (the guarded agent itself included) ends the child runs below it; the final
 * output ends every child run still open (sent from the SDK's `agent_end` event, not awaited
 * by Runner.run: a child left open also ends with its parent run). Child runs are kept per
 * SDK run context, so one guarded agent serves concurrent runs.
 */
export function guardAgent(agent, run, options = {}) {
  const children = new ChildRuns();
  const copies = new Map(); // original agent -> its guarded copy
  const originals = new Map(); // guarded copy -> its original
  const roleOf = (a) => (options.handoffRole ?? ((x) => roleName(x.name)))(a);
  const rootRun = (ctx) => resolveRun(run, ctx);
  let rootCopy;

  const copyOf = (a) => {
    if (originals.has(a)) return a;
    if (copies.has(a)) return copies.get(a);
    let c;
    const runOf = (ctx) => children.runFor(ctx, c, c === rootCopy, () => rootRun(ctx), roleOf(a));
    c = a.clone({ tools: guardTools(a.tools, runOf, options) });
    copies.set(a, c);
    originals.set(c, a);
    rootCopy ??= c;
    // After the copy is known: handoff graphs may have cycles.
    c.handoffs = (a.handoffs ?? []).map((h) =>
      isHandoff(h) ? h.clone({ agent: copyOf(h.agent) }) : isAgent(h) ? copyOf(h) : h);
    // The handoffs the model sees, each entering the receiving agent's run when invoked.
    if (typeof c.getEnabledHandoffs !== "function") return c;
    const enabled = c.getEnabledHandoffs.bind(c);
    c.getEnabledHandoffs = async (ctx) => (await enabled(ctx)).map((h) => h.clone({
      onInvokeHandoff: async (context, args) => {
        const target = copyOf(await h.onInvokeHandoff(context, args));
        await children.enter(context, target, target === rootCopy, () => rootRun(context),
          roleOf(originals.get(target)));
        return target;
      },
    }));
    c.on?.("agent_end", (ctx) => {
      children.finish(ctx).catch(() => {});
    });
    return c;
  };
  return copyOf(agent);
}

const isHandoff = (h) => typeof h?.onInvokeHandoff === "function" && typeof h?.clone === "function" && h.agent;
const isAgent = (a) => typeof a?.clone === "function" && Array.isArray(a?.tools);
