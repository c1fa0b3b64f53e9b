#include "doors/claude_code/contract.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <optional>
#include <utility>

#include <boost/json.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "interlock/outcome.h"

namespace interlock::claude_code {

namespace json = boost::json;

namespace {

// Every event, with its name in hook_event_name and its `interlock hook --event` flag.
struct EventNames {
  HookEvent event;
  const char* name;
  const char* flag;
};
constexpr std::array<EventNames, 6> kEvents = {{
    {HookEvent::kPreToolUse, "PreToolUse", "pre-tool-use"},
    {HookEvent::kPostToolUse, "PostToolUse", "post-tool-use"},
    {HookEvent::kPermissionRequest, "PermissionRequest", "permission-request"},
    {HookEvent::kPermissionDenied, "PermissionDenied", "permission-denied"},
    {HookEvent::kSubagentStart, "SubagentStart", "subagent-start"},
    {HookEvent::kSubagentStop, "SubagentStop", "subagent-stop"},
}};

const EventNames& NamesOf(HookEvent event) {
  for (const EventNames& n : kEvents) {
    if (n.event == event) return n;
  }
  return kEvents[0];
}

std::optional<HookEvent> EventNamed(std::string_view name) {
  for (const EventNames& n : kEvents) {
    if (name == n.name) return n.event;
  }
  return std::nullopt;
}

Result<json::value> ParseDocument(std::string_view text) {
  if (text.size() > kMaxHookInputBytes) {
    return Error::Invalid("the hook input is over " + std::to_string(kMaxHookInputBytes) +
                          " bytes");
  }
  auto doc = ParseJsonStrict(text, JsonLimits{kMaxHookInputBytes, kMaxHookInputDepth});
  if (!doc.ok()) {
    return Error::Invalid("the hook input is not valid JSON (" + doc.error().message + ")");
  }
  if (!doc->is_object()) return Error::Invalid("the hook input is not a JSON object");
  return std::move(*doc);
}

std::string WrongEventMessage(HookEvent expected) {
  if (expected == HookEvent::kPreToolUse) {
    return "this hook handles PreToolUse events only; configure it under PreToolUse (or "
           "pass --event post-tool-use, permission-request, permission-denied or auto under "
           "the other events)";
  }
  return std::string("--event ") + HookEventFlag(expected) + " handles " + HookEventName(expected) +
         " events only; configure it under " + HookEventName(expected);
}

// An optional member that must be a string when present (null allowed when `null_ok`).
Result<std::string> OptionalString(const json::object& in, std::string_view key,
                                   bool null_ok = false) {
  const json::value* v = in.if_contains(key);
  if (v == nullptr || (null_ok && v->is_null())) return std::string();
  if (!v->is_string()) return Error::Invalid(std::string(key) + " is not a JSON string");
  return std::string(v->get_string());
}

// The sub-agent an event comes from (agent_id, agent_type): both or neither; each a
// non-empty string of at most kMaxSubagentFieldBytes. Required for SubagentStart/Stop.
Status ReadSubagent(const json::object& in, HookEvent event, HookInput* out) {
  auto id = OptionalString(in, "agent_id", /*null_ok=*/true);
  if (!id.ok()) return id.error();
  auto type = OptionalString(in, "agent_type", /*null_ok=*/true);
  if (!type.ok()) return type.error();
  const bool lifecycle = event == HookEvent::kSubagentStart || event == HookEvent::kSubagentStop;
  if (id->empty() && type->empty() && !lifecycle) return Status::Ok();
  if (id->empty() || type->empty()) {
    return Error::Invalid("the hook input names a sub-agent without both agent_id and agent_type");
  }
  if (id->size() > kMaxSubagentFieldBytes || type->size() > kMaxSubagentFieldBytes) {
    return Error::Invalid("the hook input's agent_id or agent_type is longer than " +
                          std::to_string(kMaxSubagentFieldBytes) + " bytes");
  }
  out->agent_id = std::move(*id);
  out->agent_type = std::move(*type);
  return Status::Ok();
}

Result<HookInput> ReadInput(const json::object& in, HookEvent event) {
  const bool lifecycle = event == HookEvent::kSubagentStart || event == HookEvent::kSubagentStop;
  const json::value* tool = in.if_contains("tool_name");
  if (!lifecycle && (tool == nullptr || !tool->is_string() || tool->get_string().empty())) {
    return Error::Invalid("the hook input has no tool_name");
  }
  const json::value* session = in.if_contains("session_id");
  if (session == nullptr || !session->is_string() || session->get_string().empty()) {
    return Error::Invalid("the hook input has no session_id");
  }
  const json::value* tool_input = in.if_contains("tool_input");
  if (tool_input != nullptr && !tool_input->is_object()) {
    return Error::Invalid("tool_input is not a JSON object");
  }
  HookInput out;
  out.event = event;
  auto cwd = OptionalString(in, "cwd");
  if (!cwd.ok()) return cwd.error();
  auto use_id = OptionalString(in, "tool_use_id", /*null_ok=*/true);
  if (!use_id.ok()) return use_id.error();
  auto mode = OptionalString(in, "permission_mode", /*null_ok=*/true);
  if (!mode.ok()) return mode.error();
  out.cwd = std::move(*cwd);
  out.tool_use_id = std::move(*use_id);
  out.permission_mode = std::move(*mode);
  out.session_id = std::string(session->get_string());
  if (Status sub = ReadSubagent(in, event, &out); !sub.ok()) return sub.error();
  if (lifecycle) return out;  // no tool
  out.tool_name = std::string(tool->get_string());
  if (tool_input != nullptr) out.tool_input = tool_input->get_object();
  if (event == HookEvent::kPostToolUse) {
    if (const json::value* response = in.if_contains("tool_response"); response != nullptr) {
      out.tool_response = *response;
    }
  }
  if (event == HookEvent::kPermissionDenied) {
    auto reason = OptionalString(in, "reason", /*null_ok=*/true);
    if (!reason.ok()) return reason.error();
    out.reason = std::move(*reason);
  }
  return out;
}

// Modes in which Claude Code's permission prompt is not a person's answer: the auto mode
// classifier answers it, dontAsk denies it, bypassPermissions skips it.
bool PromptReachesAPerson(std::string_view mode) {
  return mode != "auto" && mode != "dontAsk" && mode != "bypassPermissions";
}

std::string Reason(const Decision& d) {
  return "Interlock: " + std::string(CodeName(d.code)) + ": " + d.reason;
}

}  // namespace

const char* HookEventName(HookEvent event) { return NamesOf(event).name; }

const char* HookEventFlag(HookEvent event) { return NamesOf(event).flag; }

std::optional<HookEvent> HookEventOfFlag(std::string_view flag) {
  for (const EventNames& n : kEvents) {
    if (flag == n.flag) return n.event;
  }
  return std::nullopt;
}

Result<HookInput> ParseHookInput(std::string_view text, HookEvent expected) {
  auto doc = ParseDocument(text);
  if (!doc.ok()) return doc.error();
  const json::object& in = doc->get_object();
  const json::value* event = in.if_contains("hook_event_name");
  if (event == nullptr && expected != HookEvent::kPreToolUse) {
    return Error::Invalid(std::string("the hook input has no hook_event_name (") +
                          HookEventName(expected) + " expected)");
  }
  if (event != nullptr && (!event->is_string() || event->get_string() != HookEventName(expected))) {
    return Error::Invalid(WrongEventMessage(expected));
  }
  return ReadInput(in, expected);
}

Result<HookInput> ParseAnyHookInput(std::string_view text) {
  auto doc = ParseDocument(text);
  if (!doc.ok()) return doc.error();
  const json::object& in = doc->get_object();
  const json::value* name = in.if_contains("hook_event_name");
  if (name == nullptr || !name->is_string()) {
    return Error::Invalid("the hook input has no hook_event_name");
  }
  std::optional<HookEvent> event = EventNamed(name->get_string());
  if (!event) {
    return Error::Invalid(
        "Interlock serves PreToolUse, PostToolUse, PermissionRequest, PermissionDenied, "
        "SubagentStart and SubagentStop hooks, not " +
        std::string(
            name->get_string().subview(0, std::min<size_t>(64, name->get_string().size()))));
  }
  return ReadInput(in, *event);
}

std::optional<HookEvent> NamedHookEvent(std::string_view text) {
  auto doc = ParseDocument(text);
  if (!doc.ok()) return std::nullopt;
  const json::value* name = doc->get_object().if_contains("hook_event_name");
  if (name == nullptr || !name->is_string()) return std::nullopt;
  return EventNamed(name->get_string());
}

HookEvent SniffHookEvent(std::string_view text) {
  return NamedHookEvent(text).value_or(HookEvent::kPreToolUse);
}

std::string ClaudeCodeRunId(std::string_view agent_id, std::string_view session_id) {
  std::string both(agent_id);
  both.push_back('\n');
  both.append(session_id);
  return "cc-" + Sha256Hex(both).substr(0, 32);
}

std::string ClaudeCodeSubagentRunId(std::string_view agent_id, std::string_view session_id,
                                    std::string_view subagent_id) {
  std::string all(agent_id);
  all.append("\n");
  all.append(session_id);
  all.append("\nsubagent\n");
  all.append(subagent_id);
  return "cc-" + Sha256Hex(all).substr(0, 32);
}

ToolCall HookCall(const HookInput& in) {
  ToolCall call;
  call.tool = in.tool_name;
  call.args = in.tool_input;
  return call;
}

HookToolUseKey ToolUseKeyOf(const HookInput& in) {
  if (in.tool_use_id.empty()) return {};
  const std::string call_sha256 =
      Sha256Hex(in.tool_name + "\n" + CanonicalJson(json::value(in.tool_input)));
  const char* prefix =
      in.event == HookEvent::kPermissionDenied ? "claude-code-denied:" : "claude-code:";
  return {prefix + in.tool_use_id.substr(0, 200) + ":" + call_sha256.substr(0, 16), call_sha256};
}

ToolCall HookReportedCall(const HookInput& in, std::string_view why) {
  ToolCall call = HookCall(in);
  if (in.event == HookEvent::kPermissionDenied) {
    call.refusal_reason =
        "PermissionDenied: Claude Code denied this call itself (permission mode " +
        in.permission_mode.substr(0, 64) + "): " + in.reason.substr(0, 1024);
    call.refusal_rule = kPermissionDeniedRule;
    return call;
  }
  assert(in.event == HookEvent::kPostToolUse);
  const std::string output = CanonicalJson(in.tool_response);
  call.refusal_reason = "PostToolUse: Claude Code reports that this call ran (tool use " +
                        in.tool_use_id.substr(0, 100) + ", output " +
                        std::to_string(output.size()) + " bytes, sha256 " + Sha256Hex(output) +
                        "), but Interlock never decided it";
  if (!why.empty()) call.refusal_reason += ": " + std::string(why.substr(0, 1024));
  call.refusal_rule = kPostToolUseRule;
  return call;
}

HookToolUseKey RanAnywayKeyOf(const HookInput& in) {
  HookToolUseKey k = ToolUseKeyOf(in);
  if (k.key.empty()) return k;
  k.key = "claude-code-ran:" + k.key.substr(k.key.find(':') + 1);
  return k;
}

std::optional<ToolCall> HookRanAnywayCall(const HookInput& in, const Decision& decided,
                                          std::string_view decided_call_id) {
  assert(in.event == HookEvent::kPostToolUse);
  if (decided.verdict == Verdict::kAllow) return std::nullopt;
  const bool held = decided.verdict == Verdict::kApprovalRequired;
  ToolCall call = HookCall(in);
  const std::string output = CanonicalJson(in.tool_response);
  call.refusal_rule = kRanAnywayRule;
  call.refusal_reason =
      "INCIDENT: Claude Code reports (PostToolUse) that this call ran (tool use " +
      in.tool_use_id.substr(0, 100) + ", output " + std::to_string(output.size()) +
      " bytes, sha256 " + Sha256Hex(output) + ") although Interlock " +
      (held ? "held it for approval" : "denied it") + " (call " +
      std::string(decided_call_id.substr(0, 128)) + ", " + std::string(CodeName(decided.code)) +
      ": " + decided.reason.substr(0, 512) +
      "); a hook that failed open, a lost answer or a matcher that missed let it through";
  return call;
}

HookAnswer HookDeny(std::string reason) {
  return {HookVerdict::kDeny, "Interlock: " + std::move(reason)};
}

HookAnswer HookAnswerFor(const Decision& d, const HookContext& ctx) {
  const bool auto_mode = ctx.permission_mode == "auto";
  // The decision's outcome (interlock/outcome.h): the hook is never told an error apart
  // from its deny decision, which it answers as a deny.
  switch (OutcomeOf(d, std::nullopt).kind) {
    case OutcomeKind::kAllow:
      if (ctx.allowed_as_no_objection && !auto_mode) return {HookVerdict::kNoDecision, ""};
      return {HookVerdict::kAllow, Reason(d)};
    case OutcomeKind::kApprovalRequired:
      break;
    case OutcomeKind::kDeny:
    case OutcomeKind::kRehearsalRequired:  // the hook cannot rehearse: never an allow
    case OutcomeKind::kError:
      return {HookVerdict::kDeny, Reason(d)};
  }
  if (d.approvals_required >= 2) {
    if (ctx.defer_pending) return {HookVerdict::kDefer, Reason(d)};
    if (ctx.local_person_may_decide) {
      return {HookVerdict::kDeny,
              Reason(d) + " (the policy needs " + std::to_string(d.approvals_required) +
                  " approvers; Claude Code's prompt is one person, so the standalone hook "
                  "denies; run the hook with --daemon to have reviewers approve centrally)"};
    }
    return {HookVerdict::kDeny,
            Reason(d) + " (the policy needs " + std::to_string(d.approvals_required) +
                " approvers; Claude Code's prompt is one person, so the call is not asked "
                "there" +
                (ctx.pending_where.empty() ? std::string(")") : "; " + ctx.pending_where + ")")};
  }
  if (ctx.local_person_may_decide && PromptReachesAPerson(ctx.permission_mode)) {
    return {HookVerdict::kAsk,
            Reason(d) +
                " (answered in Claude Code; Interlock records that it ran only when the "
                "PostToolUse hook, --event post-tool-use, is registered too)"};
  }
  if (ctx.defer_pending) return {HookVerdict::kDefer, Reason(d)};
  if (ctx.local_person_may_decide) {
    return {HookVerdict::kDeny,
            Reason(d) + " (permission mode " + ctx.permission_mode +
                ": Claude Code's prompt would not be answered by a person, so the call is "
                "denied rather than left to it)"};
  }
  return {HookVerdict::kDeny,
          Reason(d) + (ctx.pending_where.empty()
                           ? std::string(" (reviewers decide it; retry the identical call "
                                         "once they have)")
                           : " (reviewers decide it: " + ctx.pending_where +
                                 "; retry the identical call once they have)")};
}

std::string HookAnswerJson(HookEvent event, const HookAnswer& a) {
  if (event == HookEvent::kPreToolUse) {
    if (a.verdict == HookVerdict::kNoDecision) return "{}";
    const char* decision = a.verdict == HookVerdict::kAllow   ? "allow"
                           : a.verdict == HookVerdict::kAsk   ? "ask"
                           : a.verdict == HookVerdict::kDefer ? "defer"
                                                              : "deny";
    json::object out{{"hookSpecificOutput", json::object{{"hookEventName", "PreToolUse"},
                                                         {"permissionDecision", decision},
                                                         {"permissionDecisionReason", a.reason}}}};
    return ToJsonText(out);
  }
  if (event == HookEvent::kPermissionRequest) {
    // The dialog shows (no decision) only where a person may answer it; a deferred call
    // has no person to ask, so it is denied here.
    if (a.verdict == HookVerdict::kAsk || a.verdict == HookVerdict::kNoDecision) return "{}";
    json::object decision;
    if (a.verdict == HookVerdict::kAllow) {
      decision["behavior"] = "allow";
    } else {
      decision["behavior"] = "deny";
      decision["message"] = a.reason;
    }
    json::object out{{"hookSpecificOutput", json::object{{"hookEventName", "PermissionRequest"},
                                                         {"decision", std::move(decision)}}}};
    return ToJsonText(out);
  }
  return "{}";
}

}  // namespace interlock::claude_code
