// Types of @interlock/client (hand-written next to the plain ESM in index.js; checked by
// `tsc -p clients/typescript` and by the integration suite's typecheck test).

export interface InterlockOptions {
  /** Base URL of `interlock serve`. Default: INTERLOCK_URL, else http://127.0.0.1:8181. */
  url?: string;
  /** Agent token (`interlock token create --agent ...`). Default: INTERLOCK_TOKEN. Never logged. */
  token?: string;
  /** Per-request timeout in ms (long polls add their wait). Default 10000. */
  timeoutMs?: number;
  /** Retries after a network failure or 503 (only with an Idempotency-Key, or for GETs). Default 3. */
  retries?: number;
  /** First backoff in ms, doubled per retry (with jitter). Default 100. */
  retryBaseMs?: number;
  /** Largest backoff in ms. Default 2000. */
  retryMaxMs?: number;
  /** How long guard() waits for an approval before giving up (and withdrawing it). Default 300000. */
  approvalTimeoutMs?: number;
  /** Seconds per long poll (GET /v1/calls/{id}?wait=); the daemon caps it. Default 30. */
  pollSeconds?: number;
  /** fetch to use (default globalThis.fetch). */
  fetch?: typeof globalThis.fetch;
}

export type DecisionKind = "allow" | "deny" | "approval_required" | "rehearsal_required";

export interface RunState {
  steps: number;
  tokens: number;
  cost_usd: number;
  elapsed_s: number;
  halted: boolean;
  halt_reason: string;
  records: Record<string, number>;
  /** A child run's parent, depth and role (docs/governance.md#child-runs). */
  parent_run_id?: string;
  depth?: number;
  role?: string;
  /** GET /v1/runs/{id}: the ids of the run's child runs, newest first. */
  children?: string[];
  [key: string]: unknown;
}

export interface Decision {
  decision: DecisionKind;
  /** ALLOWED, APPROVAL_REQUIRED, TOOL_BLOCKED, ... (docs/policy.md#decision-codes). */
  code: string;
  reason: string;
  rule: string;
  at: string;
  tool: string;
  agentId: string;
  callId: string;
  runId: string;
  approvalId: string;
  approvalUrl: string;
  pending: boolean;
  existingCall: boolean;
  /** RATE_LIMITED and QUOTA_EXCEEDED only. */
  retryAfterS?: number;
  run?: RunState;
  rehearsal?: { args: Record<string, unknown>; args_sha256: string; upstream?: string };
  /**
   * Set when a reviewer edited the arguments before approving: the arguments to run the
   * tool with (guard() passes them to fn instead of the ones you gave).
   */
  arguments?: Record<string, unknown>;
  /** The daemon's JSON body as received. */
  raw: Record<string, unknown>;
}

export interface Usage {
  tokens?: number;
  costUsd?: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Reuse a key for a logical call you retry yourself; default: a fresh randomUUID. */
  idempotencyKey?: string;
}

export interface DecideOptions extends RequestOptions {
  /** Model usage since the previous call. */
  usage?: Usage;
  /** Re-submit a call that was approved (docs/api.md#approvals). */
  approvalId?: string;
}

export interface WaitOptions {
  signal?: AbortSignal;
  /** Client deadline in ms (default: the client's approvalTimeoutMs). */
  timeoutMs?: number;
}

export interface GuardOptions extends DecideOptions {
  /** Client deadline for a pending approval, in ms. */
  approvalTimeoutMs?: number;
  /** Called once when the call waits for a reviewer (e.g. to show decision.approvalUrl). */
  onApprovalRequired?: (decision: Decision) => void;
  /** Called instead of throwing when reporting the result fails after the tool ran. */
  onReportError?: (err: unknown) => void;
}

export interface ResultReport {
  ok: boolean;
  output?: unknown;
  error?: string;
  usage?: Usage;
}

export class Interlock {
  constructor(options?: InterlockOptions);
  readonly url: string;
  readonly options: Required<Omit<InterlockOptions, "url" | "token" | "fetch">>;
  /** POST /v1/runs. */
  startRun(options?: { signal?: AbortSignal }): Promise<Run>;
  /** A handle on an existing run. */
  run(runId: string): Run;
  /** POST /v1/runs {parent_run_id, role}: a child run of parentRunId (see Run.startChild). */
  startChildRun(parentRunId: string, options?: ChildRunOptions): Promise<Run>;
  /** One API exchange with the client's auth, timeouts and retries (advanced use). */
  request(
    method: string,
    path: string,
    options?: {
      body?: unknown;
      idempotencyKey?: string;
      signal?: AbortSignal;
      timeoutMs?: number;
      accept?: number[];
    },
  ): Promise<any>;
  toJSON(): { url: string };
}

export interface ChildRunOptions {
  /** The child's role: its policy is AGENT/ROLE where one is loaded (docs/governance.md#child-runs). */
  role?: string;
  signal?: AbortSignal;
}

export class Run {
  readonly runId: string;
  readonly agentId: string;
  /** The parent's run id for a child run started by this client; "" otherwise. */
  readonly parentRunId: string;
  /** A child run's role ("" for none, or for a run this client did not start). */
  readonly role: string;
  /** A child run's depth (a root run is at 0). */
  readonly depth: number;
  /**
   * POST /v1/runs {parent_run_id: this run, role}: a child run, decided under its role's
   * policy and this run's (the strictest verdict stands), spending this run's budgets.
   */
  startChild(options?: ChildRunOptions): Promise<Run>;
  /** startChild, then fn(child), then child.end() whether fn resolves or throws. */
  withChild<T>(options: ChildRunOptions, fn: (child: Run) => T | Promise<T>): Promise<T>;
  withChild<T>(fn: (child: Run) => T | Promise<T>): Promise<T>;
  /**
   * POST /v1/runs/{id}/calls. Resolves with the decision (deny included); never runs anything.
   * An allow that is not complete (code ALLOWED, reason, rule, this tool, a well-formed
   * call_id, nothing pending, docs/clients.md) comes back as a deny INVALID_RESPONSE.
   */
  decide(tool: string, args?: unknown, options?: DecideOptions): Promise<Decision>;
  /** Long-polls a pending call until its verdict, the deadline (ApprovalTimeoutError) or the signal. */
  waitForApproval(decision: Decision, options?: WaitOptions): Promise<Decision>;
  /**
   * decide, wait for an approval, run fn only when allowed, report its result and return its
   * value. When a reviewer edited the arguments before approving, fn is called with the
   * edited arguments (decision.arguments), not `args`. Throws DeniedError / ApprovalTimeoutError (with .decision), UnavailableError,
   * UnauthenticatedError, the signal's reason, or fn's own error (after reporting it).
   */
  guard<A, T>(tool: string, args: A, fn: (args: A) => T | Promise<T>, options?: GuardOptions): Promise<T>;
  /** POST /v1/calls/{id}/result. */
  reportResult(callId: string, result: ResultReport, options?: RequestOptions): Promise<void>;
  /** POST /v1/runs/{id}/usage. */
  reportUsage(usage: Usage, options?: RequestOptions): Promise<void>;
  /** POST /v1/runs/{id}/end. */
  end(options?: { signal?: AbortSignal }): Promise<void>;
  /** GET /v1/runs/{id}. */
  get(options?: { signal?: AbortSignal }): Promise<RunState & { run_id: string; agent_id: string; state?: string }>;
}

export class InterlockError extends Error {
  /** HTTP status (0: none). */
  readonly status: number;
  /** The daemon's error or decision code, when there is one. */
  readonly code: string;
}
export class DeniedError extends InterlockError {
  constructor(decision: Decision);
  readonly decision: Decision;
}
export class ApprovalTimeoutError extends DeniedError {}
export class UnauthenticatedError extends InterlockError {}
export class UnavailableError extends InterlockError {}

/** The tool result the adapters give the model for a denied call. */
export function deniedMessage(err: unknown): string;
