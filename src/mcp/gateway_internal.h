// Internal to the Gateway's implementation (gateway*.cc): the constants and helpers its
// files share (and the parts it is made of: subscriptions.cc, task_table.cc,
// server_request_handlers.cc, call_flow.cc). Not for use outside src/mcp.
#ifndef INTERLOCK_MCP_GATEWAY_INTERNAL_H_
#define INTERLOCK_MCP_GATEWAY_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "mcp/gateway.h"

namespace interlock::mcp::gateway_internal {

inline constexpr char kGatewayRule[] = "mcp.gateway";
// The _meta key of the decision object in a denial (MCP _meta naming: a reverse-DNS-like
// prefix the specification does not reserve, then a name).
inline constexpr char kDecisionMetaKey[] = "interlock.dev/decision";
// Interlock's `_meta` namespace (its decision, its approval): Interlock's alone. A server's
// use of it is removed before anything reads or relays the message (StripInterlockMeta), so
// the client can tell what Interlock says from what the server says.
inline constexpr std::string_view kInterlockMetaPrefix = "interlock.dev/";
inline constexpr char kUnnamedTool[] = "(invalid tool name)";
// Interlock's own requests to the client (elicitation/create): this prefix and 128 random
// bits. A server request with an id beginning so is refused, whatever follows.
inline constexpr std::string_view kOwnIdPrefix = "interlock-";
// Server requests waiting for the client's answer; more are refused (a server that never
// sees its requests answered cannot grow the gateway's maps without bound).
inline constexpr size_t kMaxServerRequestsInFlight = ServerRequestIds::kMaxInFlight;
// Refusals of server requests in Interlock's id space recorded through the core per
// gateway; later ones are refused and logged only (a server cannot flood the audit trail).
inline constexpr size_t kMaxRecordedServerRefusals = 32;
// The JSON-RPC error code of the gateway's answer to a server's question it relayed to a
// 2026-07-28 client and that cannot be answered (gateway_relay.cc).
inline constexpr int kRelayError = -32603;

bool InOwnIdSpace(const boost::json::value& id);

// The gateway issues positive integers; anything else is not one of its ids.
std::optional<uint64_t> IssuedId(const boost::json::value& id);

void Log(std::string_view what);

// The name a refused message is recorded under: params.name when the store and the
// daemon accept it as a tool name (core::ValidToolName), a placeholder otherwise.
std::string RecordedToolName(const boost::json::value* params);

// The key of an open call (a tools/call the server answered input_required): its tool and
// its arguments, canonical.
std::string OpenKey(const std::string& tool, const boost::json::object& args);

// `s` as a JSON string, for log lines.
std::string Quoted(std::string_view s);

// The answer to Interlock's approval question (elicitation/create, form mode), given as a
// JSON-RPC response `msg` ({"result": ElicitResult} or {"error": ...}); anything that is not
// a clear approve or deny is kRefused. `who` names the person in the comment.
Enforcer::ClientAnswer ReadElicitAnswer(const boost::json::object& msg, const std::string& who);

// The approval question put to the person at the client (docs/mcp.md#approvals-at-the-mcp-client).
struct ApprovalQuestion {
  std::string message;
  boost::json::object schema;  // requestedSchema: {approve: boolean, comment?: string}
};
ApprovalQuestion QuestionFor(const std::string& tool, const Enforcer::Outcome& pending);

// The elicitation modes a client's capabilities object declares (`initialize`'s
// capabilities, or a 2026-07-28 request's `_meta` ones: MetaClientCapabilities); an empty
// `elicitation` object means form only; null: none.
struct ElicitModes {
  bool form = false;
  bool url = false;
};
ElicitModes ElicitModesOf(const boost::json::object* capabilities);

// gateway_screen.cc: what no server message may carry.
// A `_meta` key in Interlock's namespace (kInterlockMetaPrefix, compared without case).
bool InterlockMetaKey(std::string_view key);
// An input request key Interlock reserves for its own questions ("interlock_approval"; any
// key beginning "interlock", compared without case).
bool ReservedInputKey(std::string_view key);
// Removes, in place and at any depth, every `_meta` key in Interlock's namespace; returns
// the keys removed (capped at 64 bytes each).
std::vector<std::string> StripInterlockMeta(boost::json::value& message);
// A list-change notification (notifications/{tools,prompts,resources}/list_changed) or
// notifications/resources/updated keeps only the params its specification defines (no
// params; resources/updated: uri) and, in `_meta`, only the 2026-07-28 subscription id.
// Other notifications are left as they are. True when something was removed.
bool KeepSpecNotificationParams(boost::json::object& notification, std::string_view method);

}  // namespace interlock::mcp::gateway_internal

#endif  // INTERLOCK_MCP_GATEWAY_INTERNAL_H_
