#include "core/app/tool_calls.h"

#include "engine/call_parser.h"

namespace interlock::core {

Status ReadToolCall(std::string_view text, const JsonLimits& limits, ToolCall* call) {
  return engine::ParseToolCallInto(text, limits, call);
}

Result<ToolCall> ReadToolCall(const boost::json::value& doc) {
  return engine::ToolCallFromJson(doc);
}

Result<Usage> ReadUsage(const boost::json::value& v) { return engine::UsageFromJson(v); }

}  // namespace interlock::core
