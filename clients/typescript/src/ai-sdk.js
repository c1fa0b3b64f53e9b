// @interlock/client/ai-sdk: the tools of a Vercel AI SDK (`ai`) call go through Interlock's
// guard. Duck-typed: imports nothing from `ai`. A denial becomes the tool's result (a string
// the model reads); Interlock's approval queue replaces the SDK's needsApproval.
import { guardForModel, validateEdit } from "./adapter-common.js";

/** A ToolSet (record of name -> tool) with every executable tool guarded. */
export function guardTools(tools, run, options = {}) {
  const out = {};
  for (const [name, t] of Object.entries(tools)) out[name] = guardTool(name, t, run, options);
  return out;
}

export function guardTool(name, tool, run, options = {}) {
  if (typeof tool?.execute !== "function") {
    throw new TypeError(
      `interlock: tool ${JSON.stringify(name)} has no execute function: a tool the client runs elsewhere cannot be guarded here`,
    );
  }
  const original = tool.execute;
  const execute = async (input, execOptions) => {
    const r = typeof run === "function" ? await run(execOptions) : run;
    const args = input ?? {};
    // The model's input was validated by the SDK; a reviewer's edit is validated here.
    const call = async (final) =>
      original.call(tool, final === args ? input : (await validateEdit(tool.inputSchema, final, name)).value,
        execOptions);
    return guardForModel(r, name, args, call, execOptions?.abortSignal, options);
  };
  const { needsApproval: _ignored, ...rest } = tool;
  return { ...rest, execute };
}
