// @interlock/client/langgraph: LangChain tools (StructuredTool, DynamicStructuredTool, tool())
// for a LangGraph JS ToolNode, guarded by Interlock. Duck-typed: imports nothing from
// @langchain/*. `new ToolNode(guardTools(tools, run))`. The wrapper keeps the tool's schema,
// validation and ToolMessage formatting (it overrides only `_call`, on an object derived from
// the tool); a denial becomes the ToolMessage content the model reads.
import { guardForModel, validateEdit } from "./adapter-common.js";

export function guardTools(tools, run, options = {}) {
  return tools.map((t) => guardTool(t, run, options));
}

export function guardTool(tool, run, options = {}) {
  if (!tool || typeof tool._call !== "function" || typeof tool.name !== "string") {
    throw new TypeError(
      `interlock: cannot guard ${JSON.stringify(tool?.name ?? "?")}: not a LangChain tool (no _call)`,
    );
  }
  const original = tool._call;
  const guarded = Object.create(tool);
  guarded._call = async function (arg, runManager, config) {
    const r = typeof run === "function" ? await run(config) : run;
    const args = arg && typeof arg === "object" ? arg : { input: arg };
    // `arg` is what the tool's schema made of the model's input; a reviewer's edit goes
    // through the same schema here (a string tool's schema reads {input}).
    const call = async (final) => {
      if (final === args) return original.call(tool, arg, runManager, config);
      const edit = await validateEdit(tool.schema, final, tool.name);
      // Without a schema to read it, a string tool's edit is its `input`.
      const value = edit.validated || args === arg ? edit.value : final.input;
      return original.call(tool, value, runManager, config);
    };
    return guardForModel(r, tool.name, args, call, config?.signal, options);
  };
  return guarded;
}
