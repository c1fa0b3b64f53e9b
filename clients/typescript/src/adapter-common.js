// What every framework adapter does with one tool call (internal; not a package export):
// guard it, and turn a denial into the text the model reads instead of an exception.
import { DeniedError, deniedMessage } from "./index.js";

/**
 * run.guard(tool, args, fn) with the adapter options; a DeniedError becomes
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
