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
  /**
   * guardAgent: the role of the child run a handoff's receiving agent acts in (default
   * roleName(agent.name)); its policy is AGENT/ROLE where one is loaded.
   */
  handoffRole?: (agent: { name: string }) => string;
}

/**
 * A handoff's role from an agent's name: lowercased, every run of characters other than
 * a-z 0-9 . _ - made one "-", "-" and "." trimmed at both ends, at most 64 characters
 * ("" when nothing is left: the child runs under the agent's own policy).
 */
export function roleName(name: string): string;

export function guardTool<T extends FunctionToolLike>(tool: T, run: RunSource, options?: OpenAIAgentsOptions): T;
export function guardTools<T extends FunctionToolLike>(tools: T[], run: RunSource, options?: OpenAIAgentsOptions): T[];
/**
 * agent.clone({tools}) with every function tool guarded (other tool kinds are refused), and
 * every agent it can hand off to guarded the same way: a receiving agent's calls are decided
 * in a child run of the run of the agent that handed off (role: options.handoffRole).
 */
export function guardAgent<A extends { tools: any[]; clone(config: { tools: any[] }): A }>(
  agent: A,
  run: RunSource,
  options?: OpenAIAgentsOptions,
): A;
