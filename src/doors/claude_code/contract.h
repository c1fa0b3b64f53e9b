// Claude Code's hook contract, both ways, for every door that serves it: the command hook
// (`interlock hook claude-code`, doors/claude_code/command_hook.h) and the HTTP hook of
// `interlock serve` (POST /v1/hooks/claude-code, src/doors/http_api/api_hooks.cc, which
// tools/check_layers.py names a user of this header: DOOR_SHARED_HEADERS).
//
// In: the JSON object Claude Code writes to a command hook's stdin or POSTs to an HTTP
// hook ({"session_id","transcript_path","cwd","permission_mode","hook_event_name",
// "tool_name","tool_input","tool_use_id",...}; PostToolUse adds "tool_response",
// PermissionDenied "reason"). ParseHookInput is pure and total: any byte string yields a
// HookInput or an error naming what is wrong, never a crash. Fields Interlock does not use
// are ignored; `tool_use_id` is never copied into the call, so a retried identical call
// posts identical {tool, args} and attaches to its pending approval.
//
// Out: the JSON a command hook prints and an HTTP hook answers (docs/mcp.md cites the
// contract): PreToolUse `hookSpecificOutput.permissionDecision` allow|deny|ask|defer with
// `permissionDecisionReason`; PermissionRequest `hookSpecificOutput.decision.behavior`
// allow|deny (with `message`); `{}` for no decision. HookAnswerFor is the one place a
// Decision becomes an answer, with the rules: `ask` only where a local person may decide
// (never when the policy needs reviewers, never in a mode where Claude Code's classifier
// or a non-interactive run would answer the prompt), `defer` only where the caller asked
// for it, and in auto mode a gated call is answered explicitly, never left to the classifier.
// Thread-safety: none needed (no shared state).
#ifndef INTERLOCK_DOORS_CLAUDE_CODE_CONTRACT_H_
#define INTERLOCK_DOORS_CLAUDE_CODE_CONTRACT_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "interlock/decision.h"
#include "interlock/result.h"
#include "interlock/tool_call.h"

namespace interlock::claude_code {

inline constexpr size_t kMaxHookInputBytes = 4 << 20;
inline constexpr size_t kMaxHookInputDepth = 64;

// The longest agent_id or agent_type of a sub-agent's event.
inline constexpr size_t kMaxSubagentFieldBytes = 256;

// The hook events Interlock serves. SubagentStart and SubagentStop carry no tool: they
// start and end a sub-agent's child run (docs/governance.md#child-runs).
enum class HookEvent {
  kPreToolUse,
  kPostToolUse,
  kPermissionRequest,
  kPermissionDenied,
  kSubagentStart,
  kSubagentStop
};

// "PreToolUse" | "PostToolUse" | "PermissionRequest" | "PermissionDenied" |
// "SubagentStart" | "SubagentStop", as Claude Code names the event in hook_event_name.
const char* HookEventName(HookEvent event);

// "pre-tool-use" | "post-tool-use" | "permission-request" | "permission-denied" |
// "subagent-start" | "subagent-stop": the event
// as the command hook's --event names it; HookEventOfFlag is the inverse (nullopt for any
// other text).
const char* HookEventFlag(HookEvent event);
std::optional<HookEvent> HookEventOfFlag(std::string_view flag);

struct HookInput {
  HookEvent event = HookEvent::kPreToolUse;
  std::string session_id;          // non-empty
  std::string tool_name;           // non-empty
  boost::json::object tool_input;  // {} when absent
  // The session's working directory as Claude Code sent it (what ${workspace} stands for
  // in the policy); empty when absent. Not checked here: the hook refuses a relative one
  // only when the policy uses ${workspace}.
  std::string cwd;
  // Claude Code's id of this tool use, the same in every event of one tool use; empty
  // when absent (older Claude Code, some PermissionRequest inputs). Never part of the call.
  std::string tool_use_id;
  // "default", "plan", "acceptEdits", "auto", "dontAsk", "bypassPermissions"; "" when absent.
  std::string permission_mode;
  // PostToolUse only: what the tool returned (any JSON; null when absent).
  boost::json::value tool_response;
  // PermissionDenied only: why Claude Code denied the call ("" when absent).
  std::string reason;
  // The sub-agent the event comes from (Claude Code's agent_id and agent_type: a tool event
  // inside a sub-agent, SubagentStart, SubagentStop); both empty for the main agent.
  std::string agent_id;
  std::string agent_type;
};

// Parses and validates the hook input: a JSON object (strict: no duplicate keys, at most
// kMaxHookInputBytes and kMaxHookInputDepth) whose hook_event_name, when present, is
// `event`'s name (required for every event but PreToolUse, so a PreToolUse input is never
// taken for a report that the tool ran), with non-empty string session_id and tool_name
// (none for SubagentStart and SubagentStop) and, when present, an object tool_input and
// string cwd, permission_mode and reason; agent_id and agent_type both or neither (both
// required for SubagentStart and SubagentStop), each at most kMaxSubagentFieldBytes.
// Errors are kInvalidArgument with a sentence for the deny reason.
Result<HookInput> ParseHookInput(std::string_view text, HookEvent event = HookEvent::kPreToolUse);

// As ParseHookInput, for a door that serves every event at one address: the event is read
// from hook_event_name (required; one of the six).
Result<HookInput> ParseAnyHookInput(std::string_view text);

// The event named by hook_event_name in `text`, when `text` is a JSON object naming one of
// the four (so a refusal can be answered in the event's own shape); else nullopt.
std::optional<HookEvent> NamedHookEvent(std::string_view text);
// NamedHookEvent, else PreToolUse.
HookEvent SniffHookEvent(std::string_view text);

// The daemon run of agent `agent_id`'s Claude Code session `session_id`: "cc-" + 32 hex
// digits of SHA-256(agent id, "\n", session id). Every door that serves one session (the
// HTTP hook; the command hook with --daemon through POST /v1/runs) lands in this one run,
// whatever the client keeps or forgets, and a session id sent under another agent's token
// is another run.
std::string ClaudeCodeRunId(std::string_view agent_id, std::string_view session_id);

// The child run of that session's run for its sub-agent `subagent_id` (the hook input's
// agent_id): "cc-" + 32 hex digits of SHA-256(agent id, "\n", session id, "\nsubagent\n",
// sub-agent id). Every event of one sub-agent lands in it, whichever comes first.
std::string ClaudeCodeSubagentRunId(std::string_view agent_id, std::string_view session_id,
                                    std::string_view subagent_id);

// The call a hook input asks about: tool and arguments, nothing of the envelope.
ToolCall HookCall(const HookInput& in);

// The Idempotency-Key (core::IdempotencyKey, core/ports/run_store.h) an event of one tool
// use is decided or recorded under, so that every door counts a tool use once: PreToolUse,
// PermissionRequest and PostToolUse share "claude-code:<tool_use_id>:<call hash>", so a
// PermissionRequest after its PreToolUse is answered the verdict already given (replayed,
// not decided or counted again) and a PostToolUse finds the call its PreToolUse decided;
// PermissionDenied has its own ("claude-code-denied:..."), so a resent report is recorded
// once. The name holds the hash of {tool, arguments} too: an event of the same tool use
// with other arguments is another call with a decision of its own, never the first call's
// answer. No tool_use_id: no key (`key` empty), so an identical later call is decided
// again, never answered an old verdict.
struct HookToolUseKey {
  std::string key;             // empty: none
  std::string request_sha256;  // SHA-256 (hex) of the tool name, a newline, canonical args
};
HookToolUseKey ToolUseKeyOf(const HookInput& in);

// The rules a reported call is refused under (docs/mcp.md).
inline constexpr char kPostToolUseRule[] = "hook.post-tool-use";
inline constexpr char kPermissionDeniedRule[] = "claude-code.permission-denied";

// What Claude Code reports without asking, as a call every door records through the Guard
// as refused (refusal_rule, refusal_reason), so it is in the audit trail: a PostToolUse
// (rule kPostToolUseRule; the reason gives the output's size and SHA-256, never the output,
// and says Interlock never decided the call, then `why` when given) or a PermissionDenied
// (rule kPermissionDeniedRule, with the permission mode and Claude Code's reason).
// `in.event` must be one of those two.
ToolCall HookReportedCall(const HookInput& in, std::string_view why = {});

// The rule a call Claude Code reports as run although Interlock did not allow it is
// recorded under (docs/mcp.md): an incident.
inline constexpr char kRanAnywayRule[] = "claude-code.ran-anyway";

// The Idempotency-Key that report is recorded under: "claude-code-ran:<tool_use_id>:<call
// hash>", a key of its own, so a resent report is recorded once (replayed) and the replay
// of the tool use's key (which answers a PostToolUse the PreToolUse's decision) never
// stands in for it. No tool_use_id: no key (nothing to pair the report with anyway).
HookToolUseKey RanAnywayKeyOf(const HookInput& in);

// For a PostToolUse (`in`) of a tool use Interlock decided: `decided`, the decision of
// call `decided_call_id` as it stands now (after its approval, when it had one). When it
// does not allow the call (deny, an approval still pending or refused: any verdict but
// allow), the refused call (rule kRanAnywayRule, code INVALID_REQUEST) that records that
// the call ran anyway; its reason names the decided call, its code and reason, and the
// output's size and SHA-256 (never the output). nullopt when `decided` allows the call
// (its result is recorded instead). Every door that serves a PostToolUse uses this one
// check (the daemon's HTTP hook; the command hook with --daemon reports there).
std::optional<ToolCall> HookRanAnywayCall(const HookInput& in, const Decision& decided,
                                          std::string_view decided_call_id);

// What to answer Claude Code.
enum class HookVerdict { kAllow, kDeny, kAsk, kDefer, kNoDecision };
struct HookAnswer {
  HookVerdict verdict = HookVerdict::kDeny;
  std::string reason;  // shown to Claude (deny) or the person (ask); "Interlock: " prefixed
};

// Where and how the hook answers: what the rules of HookAnswerFor depend on.
struct HookContext {
  // A person at Claude Code's prompt may stand in for one approver (the standalone command
  // hook, whose `ask` is recorded as that person's vote). False for the daemon's HTTP
  // hook: there reviewers decide, and a local yes would be no vote.
  bool local_person_may_decide = false;
  // The caller runs Claude Code non-interactively and resumes deferred calls itself
  // (`claude -p`, the Agent SDK): a call awaiting reviewers is answered `defer`.
  bool defer_pending = false;
  // An allowed call answers no decision, so Claude Code's own rules still apply
  // (--allowed-as no-objection). Ignored in auto mode: an allow is then explicit.
  bool allowed_as_no_objection = false;
  std::string permission_mode{};  // the input's
  // Says where a pending approval can be found ("approval ap-... at https://..."), for the
  // deny that answers a call awaiting reviewers.
  std::string pending_where{};
};

// The one mapping of a decision's outcome (interlock/outcome.h; docs/design.md, "One
// outcome") to an answer (rules in the header comment). Allow -> allow; deny, rehearsal
// required and error (a deny decision) -> deny; approval_required -> ask (one approver, a local
// person may decide, an interactive mode), else defer (when asked for), else deny naming where the
// approval waits.
HookAnswer HookAnswerFor(const Decision& d, const HookContext& ctx);

// A deny for a failure of Interlock itself or bad input (fail closed).
HookAnswer HookDeny(std::string reason);

// The JSON object answering `event` (one line, no newline). PreToolUse carries the
// verdict as permissionDecision; PermissionRequest as decision.behavior (ask, defer and
// no decision: `{}`, the dialog shows); PostToolUse and PermissionDenied take no decision
// (`{}`), nor do SubagentStart and SubagentStop (`{}`: a sub-agent is never kept running).
std::string HookAnswerJson(HookEvent event, const HookAnswer& answer);

}  // namespace interlock::claude_code

#endif  // INTERLOCK_DOORS_CLAUDE_CODE_CONTRACT_H_
