import type { AdapterOptions, RunSource } from "./adapter-options.js";

/** The part of a Vercel AI SDK tool the adapter needs (structural). */
export interface ExecutableToolLike {
  execute?: (input: any, options: any) => unknown;
  needsApproval?: unknown;
}

export function guardTool<T extends ExecutableToolLike>(name: string, tool: T, run: RunSource, options?: AdapterOptions): T;
/** The same ToolSet with every tool's execute guarded; a tool without execute is refused. */
export function guardTools<S extends Record<string, ExecutableToolLike>>(tools: S, run: RunSource, options?: AdapterOptions): S;
