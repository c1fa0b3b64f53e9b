// @interlock/client/langgraph: LangChain tools (StructuredTool, DynamicStructuredTool, tool())
// for a LangGraph JS ToolNode, guarded by Interlock. Duck-typed: imports nothing from
// @langchain/*. `new ToolNode(guardTools(tools, run))`. The wrapper keeps the tool's schema,
// validation and ToolMessage formatting (it overrides only `_call`, on an object derived from
// the tool); a denial becomes the ToolMessage content the model reads.
//
// Subgraphs: guardSubgraph(graph, run, {role}) gives a compiled subgraph whose every invoke
// runs in a child run (docs/governance.md#child-runs) of the enclosing run, ended when the
// subgraph returns; the guarded tools inside it decide their calls in that child run (carried
// in the config's `configurable`, so nested guarded subgraphs nest their child runs).
import { InterlockError } from "./index.js";
import { guardForModel, roleName, validateEdit } from "./adapter-common.js";

export { roleName };

// The configurable key carrying the innermost guarded subgraph's child run. LangGraph keeps
// keys starting "__" out of checkpoint metadata.
const RUN_KEY = "__interlock_run";

// The run a tool call or a subgraph acts in: the innermost guarded subgraph's child run when
// there is one, else the run given to the adapter.
async function runFromConfig(run, config) {
  const inner = config?.configurable?.[RUN_KEY];
  if (inner) return inner;
  return typeof run === "function" ? run(config) : run;
}

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
    const r = await runFromConfig(run, config);
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

/**
 * A compiled (sub)graph whose invoke runs in a child run of the enclosing run (the innermost
 * guarded subgraph's child run, else `run`), with the role options.role (default
 * roleName(graph.name)); the child is ended when invoke returns or throws. Use it as a node
 * (`addNode("research", guardSubgraph(researchGraph, run, { role: "researcher" }))`) or call
 * its invoke from a node. The tools inside must be guardTools tools.
 */
export function guardSubgraph(graph, run, options = {}) {
  if (!graph || typeof graph.invoke !== "function") {
    throw new TypeError("interlock: guardSubgraph needs a compiled graph (with invoke)");
  }
  const role = options.role ?? roleName(graph.name);
  const guarded = Object.create(graph);
  guarded.invoke = async function (input, config) {
    const parent = await runFromConfig(run, config);
    if (!parent || typeof parent.startChild !== "function") {
      throw new InterlockError("interlock: guardSubgraph: no run to start the subgraph's child run under");
    }
    const child = await parent.startChild({ role, signal: config?.signal });
    try {
      return await graph.invoke(input, { ...config, configurable: { ...config?.configurable, [RUN_KEY]: child } });
    } finally {
      await child.end().catch(() => {}); // a child left open ends with its parent run
    }
  };
  return guarded;
}
