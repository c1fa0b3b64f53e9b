// What every framework adapter does with one tool call (internal; not a package export):
// guard it, run exactly the arguments of the final decision, and turn a denial into the
// text the model reads instead of an exception.
import { DeniedError, InterlockError, deniedMessage } from "./index.js";

/**
 * run.guard(tool, args, fn) with the adapter options; fn(final) gets the final decision's
 * arguments: `args` itself when nothing was edited, a reviewer's edit otherwise (the adapter
 * then runs the edit, never the framework's original input). A DeniedError becomes
 * options.deniedMessage(err) (default: deniedMessage), after options.onDenied(decision).
 * Anything else (unavailable, unauthenticated, approval timeout, the tool's own error)
 * propagates: the tool did not run, or failed on its own.
 */
export async function guardForModel(run, tool, args, fn, signal, options) {
  try {
    return await run.guard(tool, args, fn, {
      signal: signal ?? options.signal,
      approvalTimeoutMs: options.approvalTimeoutMs,
      onApprovalRequired: options.onApprovalRequired,
    });
  } catch (err) {
    if (err instanceof DeniedError) {
      options.onDenied?.(err.decision);
      return (options.deniedMessage ?? deniedMessage)(err);
    }
    throw err;
  }
}

/**
 * A reviewer's edit has not been through the framework's input validation, which the
 * model's own arguments went through before the adapter saw them: it goes through the
 * tool's schema here when the schema speaks Standard Schema (zod, valibot, arktype), and
 * the framework gets the validated value as it would for any input. An edit the schema
 * refuses throws (the tool does not run; guard reports the failure).
 */
export async function validateEdit(schema, edited, toolName) {
  const std = schema?.["~standard"];
  if (!std || typeof std.validate !== "function") return { value: edited, validated: false };
  const r = await std.validate(edited);
  if (r.issues) {
    const what = r.issues.map((i) => i.message).join("; ").slice(0, 500);
    throw new InterlockError(
      `interlock: the reviewer's edited arguments for ${toolName} do not fit the tool's schema (${what}); the tool was not run`,
      { code: "INVALID_EDIT" },
    );
  }
  return { value: r.value, validated: true };
}

/**
 * The role a handoff's receiving agent (or a subgraph) runs under in its child run: the name
 * lowercased, every run of characters other than a-z 0-9 . _ - made one "-", leading and
 * trailing "-" and "." dropped, at most 64 characters; "" (no role: the agent's own policy)
 * when nothing is left. So the policy `AGENT/ROLE` (docs/governance.md#child-runs) of the
 * agent "Billing Agent" is `AGENT/billing-agent`.
 */
export function roleName(name) {
  const trim = (s) => s.replace(/^[-.]+|[-.]+$/g, "");
  const r = trim(String(name ?? "").toLowerCase().replace(/[^a-z0-9._-]+/g, "-"));
  return trim(r.slice(0, 64));
}

const endQuietly = async (run) => {
  try {
    await run.end();
  } catch {
    // The child still ends with its parent (docs/governance.md#child-runs).
  }
};

/**
 * The child runs of one guarded agent graph, per key (an SDK run context, a root run): a
 * stack of [agent, Promise<Run>] above the root run. Entering an agent already on the stack
 * (or the root) ends the runs above it: the handoff has returned.
 */
export class ChildRuns {
  #states = new WeakMap();

  #state(key) {
    let s = this.#states.get(key);
    if (!s) this.#states.set(key, (s = { stack: [], chain: Promise.resolve() }));
    return s;
  }

  // Runs `fn` after everything queued for `key` before it (handoffs are ordered).
  #queue(key, fn) {
    const s = this.#state(key);
    const p = s.chain.then(() => fn(s));
    s.chain = p.catch(() => {});
    return p;
  }

  /** The run `agent` acts in: the root for the root agent, else its child run (started, as a
   * child of the innermost open run, when no handoff to it was seen). */
  runFor(key, agent, isRoot, root, role) {
    if (isRoot) return root();
    return this.#queue(key, async (s) => {
      const found = s.stack.find(([a]) => a === agent);
      if (found) return found[1];
      const parent = s.stack.length ? await s.stack.at(-1)[1] : await root();
      const child = parent.startChild({ role });
      s.stack.push([agent, child]);
      return child;
    });
  }

  /** A handoff to `agent`: back to the root or to an agent on the stack ends the runs above
   * it; to any other agent starts its child run under the innermost open run. */
  enter(key, agent, isRoot, root, role) {
    return this.#queue(key, async (s) => {
      const at = isRoot ? 0 : s.stack.findIndex(([a]) => a === agent) + 1;
      if (at > 0 || isRoot) {
        await this.#endAbove(s, at);
        return;
      }
      const parent = s.stack.length ? await s.stack.at(-1)[1] : await root();
      const child = parent.startChild({ role });
      s.stack.push([agent, child]);
      await child; // a child that cannot start fails the handoff (fail closed)
    });
  }

  /** The run is over: every child run still open is ended, innermost first. */
  finish(key) {
    return this.#queue(key, (s) => this.#endAbove(s, 0)).finally(() => this.#states.delete(key));
  }

  async #endAbove(s, keep) {
    while (s.stack.length > keep) {
      const [, p] = s.stack.pop();
      const run = await p.catch(() => null);
      if (run) await endQuietly(run);
    }
  }
}
