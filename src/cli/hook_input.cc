#include "cli/hook_input.h"

#include <boost/json.hpp>

#include "common/json.h"

namespace interlock::cli {

namespace json = boost::json;

const char* HookEventName(HookEvent event) {
  return event == HookEvent::kPostToolUse ? "PostToolUse" : "PreToolUse";
}

Result<HookInput> ParseHookInput(std::string_view text, HookEvent expected) {
  if (text.size() > kMaxHookInputBytes) {
    return Error::Invalid("the hook input is over " + std::to_string(kMaxHookInputBytes) +
                          " bytes");
  }
  auto doc = ParseJsonStrict(text, JsonLimits{kMaxHookInputBytes, kMaxHookInputDepth});
  if (!doc.ok()) {
    return Error::Invalid("the hook input is not valid JSON (" + doc.error().message + ")");
  }
  if (!doc->is_object()) return Error::Invalid("the hook input is not a JSON object");
  const json::object& in = doc->get_object();
  const json::value* event = in.if_contains("hook_event_name");
  const std::string want = HookEventName(expected);
  if (event == nullptr && expected == HookEvent::kPostToolUse) {
    return Error::Invalid("the hook input has no hook_event_name (PostToolUse expected)");
  }
  if (event != nullptr && (!event->is_string() || event->get_string() != want)) {
    return Error::Invalid(expected == HookEvent::kPostToolUse
                              ? std::string("--event post-tool-use handles PostToolUse events "
                                            "only; configure it under PostToolUse")
                              : std::string("this hook handles PreToolUse events only; configure "
                                            "it under PreToolUse (or pass --event "
                                            "post-tool-use under PostToolUse)"));
  }
  const json::value* tool = in.if_contains("tool_name");
  if (tool == nullptr || !tool->is_string() || tool->get_string().empty()) {
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
  const json::value* cwd = in.if_contains("cwd");
  if (cwd != nullptr && !cwd->is_string()) return Error::Invalid("cwd is not a JSON string");
  const json::value* use_id = in.if_contains("tool_use_id");
  if (use_id != nullptr && !use_id->is_null() && !use_id->is_string()) {
    return Error::Invalid("tool_use_id is not a JSON string");
  }
  HookInput out;
  if (use_id != nullptr && use_id->is_string()) out.tool_use_id = std::string(use_id->get_string());
  if (cwd != nullptr) out.cwd = std::string(cwd->get_string());
  out.session_id = std::string(session->get_string());
  out.tool_name = std::string(tool->get_string());
  if (tool_input != nullptr) out.tool_input = tool_input->get_object();
  if (expected == HookEvent::kPostToolUse) {
    if (const json::value* response = in.if_contains("tool_response"); response != nullptr) {
      out.tool_response = *response;
    }
  }
  return out;
}

}  // namespace interlock::cli
