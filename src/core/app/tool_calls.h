// Reading a proposed tool call as a door received it, for every door the same way: the
// JSON shape, limits and errors of engine/call_parser.h (whose message becomes the reason
// of an INVALID_REQUEST decision). Doors ask here and never include the engine.
// (core::Calls, core/app/calls.h, may absorb these.)
// Thread-safety: free functions; any thread.
#ifndef INTERLOCK_CORE_APP_TOOL_CALLS_H_
#define INTERLOCK_CORE_APP_TOOL_CALLS_H_

#include <string_view>

#include <boost/json/value.hpp>

#include "common/json.h"
#include "engine/call_parser.h"
#include "interlock/result.h"
#include "interlock/tool_call.h"

namespace interlock::core {

// The engine's parser is the one reading (engine/call_parser.h): a tool call from JSON
// text {"tool", "args", "usage", ...} (ParseToolCall; ParseToolCallInto for a caller that
// keeps the call where it is), the same checks on an already strictly-parsed document
// (ToolCallFromJson: HTTP bodies; ParseCommonToolCall: the common body read straight into
// the call, nothing worded), and a usage object {"tokens", "cost_usd"} (UsageFromJson).
// Named here so a door reaches them through the core.
using engine::ParseCommonToolCall;
using engine::ParseToolCall;
using engine::ParseToolCallInto;
using engine::ToolCallFromJson;
using engine::UsageFromJson;

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_TOOL_CALLS_H_
