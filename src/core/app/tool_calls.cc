#include "core/app/tool_calls.h"

#include "engine/call_parser.h"

namespace interlock::core {

Result<ToolCall> ParseToolCall(std::string_view text, const JsonLimits& limits) {
  return engine::ParseToolCall(text, limits);
}

Status ParseToolCallInto(std::string_view text, const JsonLimits& limits, ToolCall* call) {
  return engine::ParseToolCallInto(text, limits, call);
}

Result<ToolCall> ToolCallFromJson(const boost::json::value& doc) {
  return engine::ToolCallFromJson(doc);
}

Result<Usage> UsageFromJson(const boost::json::value& v) { return engine::UsageFromJson(v); }

}  // namespace interlock::core
