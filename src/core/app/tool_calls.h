// Reading a proposed tool call as a door received it: the one entry outside the engine, for
// every door the same way. The JSON shape, limits and errors are engine/call_parser.h's (its
// message becomes the reason of an INVALID_REQUEST decision); a door reads a call here and
// never includes the engine. (Doors whose protocol is not a call's JSON, MCP's tools/call,
// Claude Code's hook input, build the ToolCall field by field.)
// Thread-safety: free functions; any thread.
#ifndef INTERLOCK_CORE_APP_TOOL_CALLS_H_
#define INTERLOCK_CORE_APP_TOOL_CALLS_H_

#include <string_view>

#include <boost/json/value.hpp>

#include "common/json.h"
#include "interlock/result.h"
#include "interlock/tool_call.h"

namespace interlock::core {

// A tool call from JSON text {"tool", "args", "usage", "elapsed_s", ...} (a line of
// `interlock decide`, an HTTP body, a test's call), read into *call (a default-constructed
// ToolCall), where the caller keeps it. The common shape is read straight into the call, with
// no document; anything else through the strict parser. On an error *call is left
// default-constructed.
Status ReadToolCall(std::string_view text, const JsonLimits& limits, ToolCall* call);
// The same checks on a document already strictly parsed (an HTTP body whose other members
// the door reads too: its Idempotency-Key binding; an AuthZEN request's action).
Result<ToolCall> ReadToolCall(const boost::json::value& doc);
// A usage object {"tokens": int, "cost_usd": number}, both optional (a call's, a result's,
// a run's added usage).
Result<Usage> ReadUsage(const boost::json::value& v);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_TOOL_CALLS_H_
