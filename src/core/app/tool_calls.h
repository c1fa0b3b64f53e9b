// Reading a proposed tool call as a door received it, for every door the same way: the
// JSON shape, limits and errors of engine/call_parser.h (whose message becomes the reason
// of an INVALID_REQUEST decision). Doors ask here and never include the engine.
// MERGE(H4): the calls facade of core/app may absorb these.
// Thread-safety: free functions; any thread.
#ifndef INTERLOCK_CORE_APP_TOOL_CALLS_H_
#define INTERLOCK_CORE_APP_TOOL_CALLS_H_

#include <string_view>

#include <boost/json/value.hpp>

#include "common/json.h"
#include "interlock/result.h"
#include "interlock/tool_call.h"

namespace interlock::core {

// A tool call from JSON text {"tool", "args", "usage", ...}.
Result<ToolCall> ParseToolCall(std::string_view text, const JsonLimits& limits = {});
// The same into *call (default-constructed; left so on an error), for a caller that keeps
// the call where it is (`interlock decide`, per line).
Status ParseToolCallInto(std::string_view text, const JsonLimits& limits, ToolCall* call);
// The same checks on an already strictly-parsed document (HTTP bodies).
Result<ToolCall> ToolCallFromJson(const boost::json::value& doc);
// A usage object {"tokens": int, "cost_usd": number}, both optional.
Result<Usage> UsageFromJson(const boost::json::value& v);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_TOOL_CALLS_H_
