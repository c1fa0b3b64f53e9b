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
