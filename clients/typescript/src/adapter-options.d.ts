import type { Decision, Run } from "./index.js";

/**
 * Options shared by the framework adapters. Every adapter runs the tool with the arguments
 * of the final decision: a reviewer's edit when there is one (checked against the tool's
 * schema when it speaks Standard Schema), never the model's original input.
 */
export interface AdapterOptions {
  /** Client deadline for a pending approval, in ms. */
  approvalTimeoutMs?: number;
  /** Used when the framework passes no abort signal of its own. */
  signal?: AbortSignal;
  /** Called when a call waits for a reviewer (e.g. to show decision.approvalUrl). */
  onApprovalRequired?: (decision: Decision) => void;
  /** Called with the decision of every call that was not run. */
  onDenied?: (decision: Decision) => void;
  /** The tool result the model reads for a denied call (default: deniedMessage). */
  deniedMessage?: (err: { decision: Decision }) => string;
}

/** A run, or a function giving the run for a tool call's context (e.g. one run per request). */
export type RunSource<C = unknown> = Run | ((context: C) => Run | Promise<Run>);
