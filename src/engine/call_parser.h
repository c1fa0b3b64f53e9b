// Parsing a proposed tool call from JSON.
//
// Accepts {"tool": str, "args": object, "usage": {"tokens": int, "cost_usd": number},
// "elapsed_s": number, "approval_id": str, "refusal": {"rule": str, "reason": str},
// "declared_labels": [str]} (refusal: ToolCall::refusal_rule / refusal_reason, a front door's
// refusal; declared_labels: ToolCall::declared_labels, at most 16 of [A-Za-z0-9._-]{1,64}). `args`
// may be absent (empty object). Unknown top-level keys are ignored (forward compatibility) but
// still subject to the strict parser. Everything else wrong is an error whose message becomes the
// reason of an INVALID_REQUEST decision: non-object documents, duplicate keys anywhere, a missing
// or non-string or empty tool, args that are not an object, negative / non-integer / overflowing
// tokens, negative or non-finite cost, negative elapsed_s. A tool name longer than
// kMaxToolNameBytes or with control characters is an error too. Thread-safety: free functions; safe
// from any thread.
#ifndef INTERLOCK_ENGINE_CALL_PARSER_H_
#define INTERLOCK_ENGINE_CALL_PARSER_H_

#include <string_view>

#include <boost/json/value.hpp>

#include "common/json.h"
#include "interlock/result.h"
#include "interlock/tool_call.h"

namespace interlock::engine {

inline constexpr size_t kMaxToolNameBytes = 256;

Result<ToolCall> ParseToolCall(std::string_view text, const JsonLimits& limits = {});
// ParseToolCall, written into *call (a default-constructed ToolCall): the same parse, the
// same call and the same errors (ParseToolCall is this), for a caller that keeps the call
// where it is instead of moving it out of a Result (`interlock decide`, per line). On an
// error *call is left default-constructed.
Status ParseToolCallInto(std::string_view text, const JsonLimits& limits, ToolCall* call);
// The same checks on an already strictly-parsed document (HTTP bodies).
Result<ToolCall> ToolCallFromJson(const boost::json::value& doc);
// ParseToolCallInto's first step alone (its tests hold it to the strict path; outside the
// engine a call is read with core::ReadToolCall, core/app/tool_calls.h): true when `text`
// has the common shape ({"tool", "args", "usage", "elapsed_s"}, nothing escaped) and is a
// call ParseToolCall accepts, then in *call (a default-constructed ToolCall) exactly as
// ParseToolCall and ToolCallFromJson would build it; false for anything else, *call then
// holding whatever was read (discard it).
bool ParseCommonToolCall(std::string_view text, const JsonLimits& limits, ToolCall* call);
// Parses a usage object {"tokens": int, "cost_usd": number}, both optional.
Result<Usage> UsageFromJson(const boost::json::value& v);

}  // namespace interlock::engine

#endif  // INTERLOCK_ENGINE_CALL_PARSER_H_
