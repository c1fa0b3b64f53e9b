// @interlock/client/openai-agents: every tool call of an @openai/agents agent goes through
// Interlock's guard. Duck-typed: imports nothing from @openai/agents (works with the copy the
// application installed). A denial becomes the tool's output, a string the model can read;
// Interlock's approval queue replaces the SDK's local needsApproval (the wrapped tools never
// ask the SDK for approval: the call waits on the daemon's approval instead).
import { guardForModel } from "./adapter-common.js";

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

/** agent.clone() with its function tools guarded. */
export function guardAgent(agent, run, options = {}) {
  return agent.clone({ tools: guardTools(agent.tools, run, options) });
}
