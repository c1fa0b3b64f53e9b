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

export interface SubgraphOptions {
  /** The child run's role (default roleName(graph.name)); its policy is AGENT/ROLE where loaded. */
  role?: string;
}

/**
 * A compiled graph whose every invoke runs in a child run of the enclosing run (the innermost
 * guarded subgraph's, else `run`), ended when invoke returns or throws; guarded tools inside
 * it decide their calls in that child run.
 */
export function guardSubgraph<G extends { invoke: (input: any, config?: any) => Promise<any> }>(
  graph: G,
  run: RunSource,
  options?: SubgraphOptions,
): G;

/** A role from a name: lowercased, other than a-z 0-9 . _ - made "-", trimmed, at most 64 characters. */
export function roleName(name: string): string;
