import type { AdapterOptions, RunSource } from "./adapter-options.js";

/**
 * A LangChain tool (StructuredTool, DynamicStructuredTool, tool()). At run time the adapter
 * also needs its (protected) `_call`, which it checks and refuses the tool without.
 */
export interface LangChainToolLike {
  name: string;
  invoke: (input: any, config?: any) => Promise<unknown>;
}

export function guardTool<T extends LangChainToolLike>(tool: T, run: RunSource, options?: AdapterOptions): T;
/** For `new ToolNode(guardTools(tools, run))`. */
export function guardTools<T extends LangChainToolLike>(tools: T[], run: RunSource, options?: AdapterOptions): T[];
