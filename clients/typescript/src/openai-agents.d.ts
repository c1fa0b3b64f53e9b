import type { AdapterOptions, RunSource } from "./adapter-options.js";

/** The part of an @openai/agents FunctionTool the adapter needs (structural). */
export interface FunctionToolLike {
  type: "function";
  name: string;
  invoke: (runContext: any, input: string, details?: any) => Promise<unknown>;
  needsApproval?: unknown;
}

export interface OpenAIAgentsOptions extends AdapterOptions {
  /** The tool name Interlock sees (default: the tool's name). */
  toolName?: (tool: FunctionToolLike) => string;
}

export function guardTool<T extends FunctionToolLike>(tool: T, run: RunSource, options?: OpenAIAgentsOptions): T;
export function guardTools<T extends FunctionToolLike>(tools: T[], run: RunSource, options?: OpenAIAgentsOptions): T[];
/** agent.clone({tools}) with every function tool guarded (other tool kinds are refused). */
export function guardAgent<A extends { tools: any[]; clone(config: { tools: any[] }): A }>(
  agent: A,
  run: RunSource,
  options?: OpenAIAgentsOptions,
): A;
