// @interlock/client: the HTTP API of `interlock serve` (docs/api.md) for agents written in
// TypeScript or JavaScript. Plain ESM, no dependencies beyond the platform's fetch, AbortSignal
// and crypto.randomUUID (Node 20+, Deno, Bun, browsers). Types: index.d.ts.
//
// Fail closed: nothing in here ever turns an error into an allow. A tool function runs only
// after the daemon answered `allow` for that call.

const DEFAULTS = Object.freeze({
  timeoutMs: 10_000,
  retries: 3,
  retryBaseMs: 100,
  retryMaxMs: 2_000,
  approvalTimeoutMs: 300_000,
  pollSeconds: 30,
});

/** Every error this library throws. Never carries the token. */
export class InterlockError extends Error {
  constructor(message, { status = 0, code = "", cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "InterlockError";
    this.status = status;
    this.code = code;
  }
}

/** The daemon answered deny (or anything but allow) for a call: `.decision` says why. */
export class DeniedError extends InterlockError {
  constructor(decision) {
    super(`interlock denied ${decision.tool || "the call"}: ${decision.code}: ${decision.reason}`, {
      code: decision.code,
    });
    this.name = "DeniedError";
    this.decision = decision;
  }
}

/** No approval arrived in time: the client's deadline, or the daemon's APPROVAL_TIMEOUT. */
export class ApprovalTimeoutError extends DeniedError {
  constructor(decision) {
    super(decision);
    this.name = "ApprovalTimeoutError";
  }
}

/** 401: missing, unknown or revoked token. */
export class UnauthenticatedError extends InterlockError {
  constructor(message, opts) {
    super(message, opts);
    this.name = "UnauthenticatedError";
  }
}

/** The daemon could not be reached or answered 503, after bounded retries. Never an allow. */
export class UnavailableError extends InterlockError {
  constructor(message, opts) {
    super(message, opts);
    this.name = "UnavailableError";
  }
}

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

const newKey = () => globalThis.crypto.randomUUID();

// JSON for an output the caller's function returned: undefined is null, anything
// JSON.stringify refuses (cycles, BigInt) is its string form.
function jsonable(value) {
  if (value === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(value) ?? "null");
  } catch {
    return String(value);
  }
}

// Whether a fetch failure happened before the request could have reached the server
// (then a retry is safe even without an Idempotency-Key).
function neverSent(err) {
  const code = err?.cause?.code ?? err?.code;
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN";
}

// A call id the daemon hands out (hex today; "call_..." in older stores): safe in a URL path.
const CALL_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
// Members only a decision that does not allow carries: an allow with one is contradictory.
const NOT_ON_AN_ALLOW = ["approval", "retry_after_s", "verdict"];
const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * Why `b` (whose decision is "allow") is not a complete allow, or "". What every allow of
 * the daemon carries (docs/api.md, docs/openapi.yaml `Decision`): code ALLOWED, a string
 * reason and rule, the tool asked about, a well-formed call_id (the polled one on
 * GET /v1/calls/{id}), the run's run_id when the answer names one (GET /v1/calls always
 * does), nothing still pending, and `arguments` as a JSON object when a reviewer edited it.
 */
function allowProblem(b, { tool = "", runId = "", callId = "" }) {
  if (b.decision !== "allow" || b.code !== "ALLOWED") return "an allow must say decision allow and code ALLOWED";
  if (typeof b.reason !== "string" || typeof b.rule !== "string") return "no reason or rule";
  if (typeof b.call_id !== "string" || !CALL_ID.test(b.call_id)) return "no well-formed call_id";
  if (callId && b.call_id !== callId) return `the allow is for call ${JSON.stringify(b.call_id)}, not ${JSON.stringify(callId)}`;
  if (typeof b.tool !== "string" || !b.tool) return "no tool";
  if (tool && b.tool !== tool) return `the allow is for tool ${JSON.stringify(b.tool)}, not ${JSON.stringify(tool)}`;
  if (has(b, "run_id") || (callId && runId)) {
    if (typeof b.run_id !== "string" || (runId && b.run_id !== runId)) {
      return `the allow is for run ${JSON.stringify(b.run_id)}, not ${JSON.stringify(runId)}`;
    }
  }
  if (has(b, "pending") && b.pending !== false) return "the call is still pending";
  for (const k of NOT_ON_AN_ALLOW) if (has(b, k)) return `an allow carries ${JSON.stringify(k)}`;
  if (has(b, "arguments") && !isObject(b.arguments)) return "the edited arguments are not a JSON object";
  if (!has(b, "arguments") && b.rule === "approval" && b.reason.includes("with edited arguments")) {
    return "a grant with edited arguments that carries none";
  }
  for (const k of ["agent_id", "approval_id", "covered_by"]) {
    if (has(b, k) && typeof b[k] !== "string") return `${k} is not a string`;
  }
  return "";
}

// Why an approval_required answer cannot be waited on (its final allow is checked against
// the same call and tool), or "".
function pendingProblem(b, { tool = "", callId = "" }) {
  if (typeof b.call_id !== "string" || !CALL_ID.test(b.call_id) || (callId && b.call_id !== callId)) {
    return "no well-formed call_id for this call";
  }
  if (tool && has(b, "tool") && b.tool !== tool) return `the answer is for tool ${JSON.stringify(b.tool)}, not ${JSON.stringify(tool)}`;
  return "";
}

/**
 * The decision object of docs/api.md in camelCase; `raw` is the body as received. The one
 * check of a decision envelope in this library: every path that runs a tool (guard,
 * waitForApproval, every adapter) reads its decision here, and an allow that is not
 * complete (allowProblem) for the `expect`ed tool, run and call is a deny INVALID_RESPONSE.
 */
function toDecision(body, expect = {}) {
  const b = isObject(body) ? body : {};
  const str = (v) => (typeof v === "string" ? v : "");
  const d = {
    decision: str(b.decision) || "deny",
    code: str(b.code) || "INVALID_RESPONSE",
    reason: str(b.reason) || (b.decision ? "" : "the daemon's answer had no decision"),
    rule: str(b.rule),
    at: str(b.at),
    tool: str(b.tool) || expect.tool || "",
    agentId: str(b.agent_id),
    callId: str(b.call_id),
    runId: str(b.run_id),
    approvalId: str(b.approval_id),
    approvalUrl: str(b.approval_url),
    pending: b.pending === true,
    existingCall: b.existing_call === true,
    raw: b,
  };
  if (typeof b.retry_after_s === "number") d.retryAfterS = b.retry_after_s;
  if (isObject(b.run)) d.run = b.run;
  if (isObject(b.rehearsal)) d.rehearsal = b.rehearsal;
  // A reviewer's edit (docs/approvals.md, "Editing the arguments"): run the tool with these.
  if (isObject(b.arguments)) d.arguments = b.arguments;
  // Fail closed: only the exact string "allow" allows.
  if (d.decision !== "allow" && d.decision !== "approval_required" && d.decision !== "deny" &&
      d.decision !== "rehearsal_required") {
    d.reason = `unknown decision ${JSON.stringify(d.decision)}: ${d.reason}`;
    d.decision = "deny";
  }
  const problem = d.decision === "allow" ? allowProblem(b, expect)
    : d.decision === "approval_required" ? pendingProblem(b, expect) : "";
  if (problem) {
    // Fail closed: the tool runs only on a complete allow for this very call.
    d.reason = `incomplete ${d.decision} refused: ${problem}`;
    d.decision = "deny";
    d.code = "INVALID_RESPONSE";
    d.pending = false; // refused, not waited on
    delete d.arguments;
  }
  return d;
}

// Whether a valid JSON text has an object naming a member twice (JSON.parse keeps the last
// silently; a decision must mean one thing). Only called on text JSON.parse accepted.
function hasDuplicateMembers(text) {
  const stack = []; // per open container: a Set of member names (object) or null (array)
  let keyNext = false;
  for (let i = 0; i < text.length; ++i) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (keyNext) {
        const names = stack[stack.length - 1];
        const name = JSON.parse(text.slice(i, j + 1));
        if (names.has(name)) return true;
        names.add(name);
        keyNext = false;
      }
      i = j;
    } else if (c === "{") {
      stack.push(new Set());
      keyNext = true;
    } else if (c === "[") {
      stack.push(null);
      keyNext = false;
    } else if (c === "}" || c === "]") {
      stack.pop();
      keyNext = false;
    } else if (c === ",") {
      keyNext = stack[stack.length - 1] instanceof Set;
    }
  }
  return false;
}

// The calls a guard of each client ran (see claimCall).
const ranCalls = new WeakMap();

/**
 * One approval, one execution, within one client: the daemon answers a call identical to one
 * still waiting for its approval with that call (existingCall), and every read of a granted
 * call answers its allow, so two identical calls made at once (a model's parallel tool calls)
 * would both run on one approval. The first guard to reach the allow runs the call; any other
 * gets a deny. (Another process holding the same call is not seen here.)
 */
function claimCall(il, d) {
  let ran = ranCalls.get(il);
  if (!ran) ranCalls.set(il, (ran = new Set()));
  if (!ran.has(d.callId)) {
    ran.add(d.callId);
    return d;
  }
  const { arguments: _edit, ...rest } = d;
  return { ...rest, decision: "deny", code: "APPROVAL_DENIED",
    reason: `call ${d.callId} was already run by another guard: one approval, one execution` };
}

export class Interlock {
  #url;
  #token;
  #opts;
  #fetch;

  constructor(options = {}) {
    const env = globalThis.process?.env ?? {};
    const url = options.url ?? env.INTERLOCK_URL ?? "http://127.0.0.1:8181";
    const token = options.token ?? env.INTERLOCK_TOKEN ?? "";
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      throw new InterlockError("interlock: url is not a valid URL");
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new InterlockError("interlock: url must be http: or https:");
    }
    if (parsed.username || parsed.password) {
      throw new InterlockError("interlock: put the token in `token`, not in the url");
    }
    if (!token) throw new UnauthenticatedError("interlock: no token (pass `token` or set INTERLOCK_TOKEN)");
    this.#url = parsed.origin + parsed.pathname.replace(/\/+$/, "");
    this.#token = token;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#opts = { ...DEFAULTS };
    for (const k of Object.keys(DEFAULTS)) {
      if (options[k] !== undefined) {
        if (typeof options[k] !== "number" || !(options[k] >= 0)) {
          throw new InterlockError(`interlock: ${k} must be a number >= 0`);
        }
        this.#opts[k] = options[k];
      }
    }
  }

  /** The daemon's base URL (no token). */
  get url() {
    return this.#url;
  }

  get options() {
    return { ...this.#opts };
  }

  toJSON() {
    return { url: this.#url };
  }

  /** POST /v1/runs: a new run of the token's agent. */
  async startRun(options = {}) {
    return this.#start({}, options.signal);
  }

  // POST /v1/runs with `request` ({} or a child run's parent and role).
  async #start(request, signal) {
    const body = await this.request("POST", "/v1/runs", { body: request, signal });
    if (!body || typeof body.run_id !== "string" || !body.run_id) {
      throw new InterlockError("interlock: POST /v1/runs answered without a run_id");
    }
    const str = (v) => (typeof v === "string" ? v : "");
    return new Run(this, body.run_id, str(body.agent_id), {
      parentRunId: str(body.parent_run_id),
      role: str(body.role),
      depth: Number.isInteger(body.depth) ? body.depth : 0,
    });
  }

  /** POST /v1/runs {parent_run_id, role}: used by Run.startChild. */
  async startChildRun(parentRunId, options = {}) {
    if (typeof parentRunId !== "string" || !parentRunId) {
      throw new InterlockError("interlock: parentRunId is required");
    }
    const request = { parent_run_id: parentRunId };
    if (options.role !== undefined) {
      if (typeof options.role !== "string") throw new InterlockError("interlock: role must be a string");
      request.role = options.role;
    }
    return this.#start(request, options.signal);
  }

  /** A handle on an existing run (e.g. one started by another process). */
  run(runId) {
    if (typeof runId !== "string" || !runId) throw new InterlockError("interlock: runId is required");
    return new Run(this, runId, "");
  }

  /**
   * One HTTP exchange with bounded retries. `idempotencyKey` makes network failures and 503s
   * retryable (the same key on every attempt); without it only GETs and requests that never
   * left the machine (connection refused) are retried. Resolves to the parsed JSON body (or
   * null for 204); `accept` lists non-2xx statuses whose JSON body is returned as is.
   */
  async request(method, path, { body, idempotencyKey, signal, timeoutMs, accept = [] } = {}) {
    const o = this.#opts;
    const retryable = method === "GET" || !!idempotencyKey;
    let lastError;
    for (let attempt = 0; ; ++attempt) {
      if (signal?.aborted) throw signal.reason;
      if (attempt > 0) {
        const backoff = Math.min(o.retryMaxMs, o.retryBaseMs * 2 ** (attempt - 1));
        await sleep(backoff / 2 + Math.random() * (backoff / 2), signal);
      }
      const headers = { authorization: `Bearer ${this.#token}`, accept: "application/json" };
      if (body !== undefined) headers["content-type"] = "application/json";
      if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
      const timeout = AbortSignal.timeout(timeoutMs ?? o.timeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let res;
      let text;
      try {
        res = await this.#fetch(this.#url + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: combined,
          redirect: "error",
        });
        text = await res.text();
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        const what = timeout.aborted ? "timed out" : `failed (${describe(err)})`;
        lastError = new UnavailableError(`interlock: ${method} ${path} ${what}`, { cause: scrub(err) });
        if ((retryable || neverSent(err)) && attempt < o.retries) continue;
        if (!retryable && !neverSent(err) && attempt < o.retries) {
          lastError.message += " (not retried: no Idempotency-Key, it may have been received)";
        }
        throw lastError;
      }
      let json = null;
      if (text) {
        try {
          json = JSON.parse(text);
          if (json !== null && typeof json === "object" && hasDuplicateMembers(text)) json = null;
        } catch {
          json = null;
        }
      }
      const code = typeof json?.code === "string" ? json.code : "";
      const reason = typeof json?.reason === "string" ? json.reason : text.slice(0, 200);
      if (res.ok) return json;
      if (accept.includes(res.status) && json && typeof json === "object") return json;
      const msg = `interlock: ${method} ${path}: ${res.status} ${code}${reason ? `: ${reason}` : ""}`;
      if (res.status === 401) throw new UnauthenticatedError(msg, { status: 401, code });
      if (res.status === 503 || res.status === 502 || res.status === 504) {
        lastError = new UnavailableError(msg, { status: res.status, code });
        if (retryable && attempt < o.retries) continue;
        throw lastError;
      }
      throw new InterlockError(msg, { status: res.status, code });
    }
  }
}

function describe(err) {
  const c = err?.cause;
  return String(c?.code || c?.message || err?.message || err);
}

// Errors from fetch never contain our headers, but keep only what is useful.
function scrub(err) {
  const e = new Error(describe(err));
  e.name = err?.name ?? "Error";
  return e;
}

export class Run {
  #il;
  constructor(il, runId, agentId, { parentRunId = "", role = "", depth = 0 } = {}) {
    this.#il = il;
    this.runId = runId;
    this.agentId = agentId;
    this.parentRunId = parentRunId;
    this.role = role;
    this.depth = depth;
    Object.freeze(this);
  }

  /**
   * POST /v1/runs {parent_run_id: this run, role}: a child run for a handoff or a sub-agent
   * (docs/governance.md#child-runs). Its calls are decided under the policy AGENT/ROLE where
   * one is loaded (else the agent's) and under this run's too, and spend this run's budgets.
   */
  async startChild(options = {}) {
    return this.#il.startChildRun(this.runId, options);
  }

  /**
   * Starts a child run, resolves `fn(child)`, and ends the child whether fn resolves or
   * throws (a failure to end it is not thrown over fn's own error; the child ends with its
   * parent anyway). Resolves to fn's value.
   */
  async withChild(options, fn) {
    if (typeof options === "function") [options, fn] = [{}, options];
    if (typeof fn !== "function") throw new InterlockError("interlock: withChild needs a function");
    const child = await this.startChild(options ?? {});
    let out;
    try {
      out = await fn(child);
    } catch (err) {
      await child.end().catch(() => {});
      throw err;
    }
    await child.end();
    return out;
  }

  /** POST /v1/runs/{id}/calls: the decision for one proposed call. Never throws on deny. */
  async decide(tool, args = {}, options = {}) {
    if (typeof tool !== "string" || !tool) throw new InterlockError("interlock: tool name is required");
    const body = { tool, args: args ?? {} };
    if (options.usage) body.usage = usageBody(options.usage);
    if (options.approvalId) body.approval_id = options.approvalId;
    const res = await this.#il.request("POST", `/v1/runs/${enc(this.runId)}/calls`, {
      body,
      idempotencyKey: options.idempotencyKey ?? newKey(),
      signal: options.signal,
      accept: [400],
    });
    return toDecision(res, { tool, runId: this.runId });
  }

  /**
   * Waits for the final verdict of a call that needs approval (GET /v1/calls/{id}?wait=),
   * until `deadlineMs` (default approvalTimeoutMs) or `signal`. On the client's deadline or
   * an abort the approval is withdrawn (best effort) so no reviewer grants a call nobody
   * will run. Returns the final decision (allow or deny).
   */
  async waitForApproval(decision, options = {}) {
    const il = this.#il;
    const { pollSeconds, approvalTimeoutMs, timeoutMs } = il.options;
    const deadline = Date.now() + (options.timeoutMs ?? approvalTimeoutMs);
    let d = decision;
    const signal = options.signal;
    try {
      while (d.decision === "approval_required" || d.pending) {
        const left = deadline - Date.now();
        if (left <= 0) {
          await this.#withdraw(d, "client approval deadline passed");
          throw new ApprovalTimeoutError({
            ...d,
            decision: "deny",
            code: "APPROVAL_TIMEOUT",
            reason: `no verdict within the client's deadline of ${options.timeoutMs ?? approvalTimeoutMs} ms`,
          });
        }
        const wait = Math.max(1, Math.min(pollSeconds, Math.floor(left / 1000)));
        const res = await il.request("GET", `/v1/calls/${enc(d.callId)}?wait=${wait}`, {
          signal,
          timeoutMs: wait * 1000 + timeoutMs,
        });
        const next = toDecision(res, { tool: decision.tool, runId: this.runId, callId: d.callId });
        if (!next.callId) next.callId = d.callId;
        if (!next.approvalId) next.approvalId = d.approvalId;
        d = next;
      }
    } catch (err) {
      if (signal?.aborted && err === signal.reason) {
        await this.#withdraw(d, "client aborted the wait");
      }
      throw err;
    }
    return d;
  }

  // The decision of an aborted decide(), asked again with its key (best effort, bounded),
  // and its approval withdrawn when it opened one.
  async #withdrawInFlight(tool, args, options, idempotencyKey) {
    try {
      const d = await this.decide(tool, args, { usage: options.usage, approvalId: options.approvalId,
        idempotencyKey });
      if (d.decision === "approval_required") await this.#withdraw(d, "client aborted the call");
    } catch {
      // Best effort: the approval still times out on the daemon's side.
    }
  }

  async #withdraw(d, reason) {
    if (!d.approvalId) return;
    try {
      await this.#il.request("POST", `/v1/approvals/${enc(d.approvalId)}/withdraw`, {
        body: { reason },
        idempotencyKey: newKey(),
        timeoutMs: 5_000,
      });
    } catch {
      // Best effort: the approval still times out on the daemon's side.
    }
  }

  /**
   * decide; wait for an approval; run `fn(args)` only when allowed; report its result
   * (POST /v1/calls/{id}/result) and return its value. Throws DeniedError (or
   * ApprovalTimeoutError) with the decision otherwise, and rethrows fn's own error after
   * reporting it.
   */
  async guard(tool, args, fn, options = {}) {
    if (typeof fn !== "function") throw new InterlockError("interlock: guard needs a function");
    // One key for the call, so that an abort while the decision is in flight can ask for
    // that same decision again (answered from the key, never decided twice) and withdraw
    // the approval it may have opened: an aborted call leaves no pending approval behind.
    const idempotencyKey = options.idempotencyKey ?? newKey();
    let d;
    try {
      d = await this.decide(tool, args, { ...options, idempotencyKey });
    } catch (err) {
      if (options.signal?.aborted && err === options.signal.reason) {
        await this.#withdrawInFlight(tool, args, options, idempotencyKey);
      }
      throw err;
    }
    if (d.decision === "approval_required") {
      options.onApprovalRequired?.(d);
      d = await this.waitForApproval(d, { signal: options.signal, timeoutMs: options.approvalTimeoutMs });
    }
    if (d.decision === "allow") d = claimCall(this.#il, d);
    if (d.decision !== "allow" || !d.callId) {
      if (d.code === "APPROVAL_TIMEOUT") throw new ApprovalTimeoutError(d);
      throw new DeniedError(d.decision === "allow" ? { ...d, decision: "deny", code: "INVALID_RESPONSE", reason: "allow without a call_id" } : d);
    }
    // A reviewer may have edited the arguments before approving: the tool runs with those.
    // (The object `args` itself when nothing was edited, so an adapter can tell the two apart.)
    const runArgs = d.arguments !== undefined ? d.arguments : args;
    let out;
    try {
      out = await fn(runArgs);
    } catch (err) {
      await this.#report(d.callId, { ok: false, error: String(err?.message ?? err).slice(0, 4096) }, options);
      throw err;
    }
    await this.#report(d.callId, { ok: true, output: jsonable(out) }, options);
    return out;
  }

  async #report(callId, result, options) {
    try {
      await this.reportResult(callId, result);
    } catch (err) {
      if (options.onReportError) options.onReportError(err);
      else throw err;
    }
  }

  /** POST /v1/calls/{id}/result. */
  async reportResult(callId, { ok, output, error, usage } = {}, options = {}) {
    if (typeof ok !== "boolean") throw new InterlockError("interlock: result needs ok: boolean");
    const body = { ok };
    if (output !== undefined) body.output = jsonable(output);
    if (error !== undefined) body.error = String(error);
    if (usage) body.usage = usageBody(usage);
    await this.#il.request("POST", `/v1/calls/${enc(callId)}/result`, {
      body,
      idempotencyKey: options.idempotencyKey ?? newKey(),
      signal: options.signal,
    });
  }

  /** POST /v1/runs/{id}/usage: model usage not tied to a tool call. */
  async reportUsage(usage, options = {}) {
    await this.#il.request("POST", `/v1/runs/${enc(this.runId)}/usage`, {
      body: usageBody(usage),
      idempotencyKey: options.idempotencyKey ?? newKey(),
      signal: options.signal,
    });
  }

  /** POST /v1/runs/{id}/end. */
  async end(options = {}) {
    await this.#il.request("POST", `/v1/runs/${enc(this.runId)}/end`, {
      body: {},
      idempotencyKey: newKey(),
      signal: options.signal,
    });
  }

  /** GET /v1/runs/{id}: the run's counters and state, as the daemon sends them. */
  async get(options = {}) {
    return this.#il.request("GET", `/v1/runs/${enc(this.runId)}`, { signal: options.signal });
  }
}

function usageBody(u) {
  const b = {};
  if (u.tokens !== undefined) b.tokens = u.tokens;
  if (u.costUsd !== undefined) b.cost_usd = u.costUsd;
  return b;
}

const enc = encodeURIComponent;

/** The text a model reads when a guarded tool call was not run (used by the adapters). */
export function deniedMessage(err) {
  const d = err?.decision;
  if (!d) return "Interlock: the tool call was not run.";
  return `Interlock blocked this tool call (${d.code}): ${d.reason}. The tool was not run.`;
}
