// The MCP JSON-RPC message a gateway forwards in a request body, read for the ext_authz door:
// what it is (a tools/call, another request, a notification, a client's response), and the
// MCP request-metadata headers (MCP-Protocol-Version, Mcp-Method, Mcp-Name) checked against
// the body: a request whose headers say one thing and whose body another is refused, so a
// gateway that routes on a header and a server that acts on the body never disagree.
//
// The header rule is the one the /mcp/{upstream} door applies (common/mcp_headers.h: exact
// comparison, Mcp-Name's `=?base64?...?=` sentinel decoded, the headers required under
// 2026-07-28); as there, a batch is refused and a method that could be taken for tools/call
// is refused.
// Thread-safety: free functions, no state.
#ifndef INTERLOCK_DOORS_EXT_AUTHZ_MCP_MESSAGE_H_
#define INTERLOCK_DOORS_EXT_AUTHZ_MCP_MESSAGE_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace interlock::doors::ext_authz {

// Request headers by lower-cased name.
using Headers = std::map<std::string, std::string, std::less<>>;

// The modern MCP revision (no session; metadata headers required).
inline constexpr std::string_view kModernRevision = "2026-07-28";

struct McpMessage {
  enum class Kind { kToolCall, kRequest, kNotification, kResponse };
  Kind kind = Kind::kRequest;
  boost::json::value id;  // the JSON-RPC id (null for notifications)
  std::string method;
  std::string tool;          // kToolCall: params.name
  boost::json::object args;  // kToolCall: params.arguments ({} when absent)
  bool modern = false;       // sent under 2026-07-28 (header or params._meta)
};

// Why a body is refused before anything is decided: the HTTP status and JSON-RPC error of
// the answer, and whether the refusal is recorded as a call (the tool it was aimed at, when
// the body or Mcp-Name says; a refusal is decided INVALID_REQUEST and audited).
struct McpRefusal {
  unsigned http_status = 400;
  int rpc_code = -32600;
  std::string message;
  boost::json::value id;  // the request's id when it has one
  std::string tool;       // what the request names, for the audit record ("" : unknown)
};

// Reads `body` (at most `max_bytes`, strict JSON: common/json.h) and checks `headers`
// against it. Returns true and fills *msg, or false and fills *refusal.
bool ReadMcpMessage(std::string_view body, const Headers& headers, size_t max_bytes,
                    McpMessage* msg, McpRefusal* refusal);

// The value of the header `name` (lower case), or nullopt when it is absent.
std::optional<std::string> HeaderOf(const Headers& h, std::string_view name);

// True for a method the MCP door forwards from a client without a decision (initialize,
// ping, the lists, resources/read, prompts/get, completion, logging, tasks, and the client's
// notifications).
bool ForwardedClientMethod(std::string_view method);

// True for a method name that could be taken for tools/call (case, width and punctuation
// folded) but is not exactly "tools/call": refused, never forwarded.
bool LooksLikeToolsCall(std::string_view method);

}  // namespace interlock::doors::ext_authz

#endif  // INTERLOCK_DOORS_EXT_AUTHZ_MCP_MESSAGE_H_
