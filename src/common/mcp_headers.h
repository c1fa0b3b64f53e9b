// The Streamable HTTP request metadata headers of MCP 2026-07-28 (basic/transports/
// streamable-http#request-metadata: MCP-Protocol-Version, Mcp-Method, Mcp-Name) checked against
// the JSON-RPC body they mirror: the one rule every door that reads MCP over HTTP applies (the
// /mcp/{upstream} door through mcp/request_headers.h, the ext_authz door directly).
//
// An intermediary may route or decide on the headers while the server acts on the body; a
// request whose headers say one thing and whose body another is refused (HeaderMismatch,
// -32020) before anything reads it, so nothing is ever decided on one and forwarded as the
// other. Headers are compared exactly (values are case-sensitive); Mcp-Name may carry the
// Base64 sentinel `=?base64?...?=`, decoded first. It lives in common/ because both the MCP
// module and the doors under src/doors/ (which include only the core's facade, common/ and
// their own folder) apply it. Thread-safety: free functions, no state.
#ifndef INTERLOCK_COMMON_MCP_HEADERS_H_
#define INTERLOCK_COMMON_MCP_HEADERS_H_

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "interlock/result.h"

namespace interlock {

// The headers as received (nullopt: absent).
struct McpRequestHeaders {
  std::optional<std::string> protocol_version;  // MCP-Protocol-Version
  std::optional<std::string> method;            // Mcp-Method
  std::optional<std::string> name;              // Mcp-Name
};

// What the body is: a request (method and id), a notification (method, no id), or anything
// else (a response: no method, so no header may claim one).
enum class McpBodyKind { kRequest, kNotification, kOther };

// The `_meta` key naming a request's protocol version.
inline constexpr std::string_view kMcpMetaProtocolVersion =
    "io.modelcontextprotocol/protocolVersion";

// params._meta's protocol version of `message` (a whole JSON-RPC message), when a string.
std::optional<std::string> McpMetaProtocolVersion(const boost::json::object& message);

// A header value: the plain value (visible ASCII, space, tab), or the sentinel form
// `=?base64?B64?=` decoded (standard alphabet, padding optional). Errors for anything else.
Result<std::string> DecodeMcpHeaderValue(std::string_view value);

// The params field Mcp-Name mirrors for a request of `method`: "name" (tools/call,
// prompts/get), "uri" (resources/read), "taskId" (tasks/get, tasks/update, tasks/cancel of the
// tasks extension); nullptr for every other method.
const char* McpNameField(std::string_view method);

// OK when the headers agree with `message` (the whole parsed JSON-RPC message, of `kind`,
// whose method is `method`). `modern`: the request is sent under 2026-07-28, where
// MCP-Protocol-Version, Mcp-Method and (McpNameField) Mcp-Name are required and the version
// must equal params._meta's. Headers present on a legacy request are checked too. The error's
// message ("Header mismatch: ...") says which header disagrees (values capped), for the
// -32020 answer.
Status CheckMcpRequestHeaders(const McpRequestHeaders& headers, McpBodyKind kind,
                              std::string_view method, const boost::json::object& message,
                              bool modern);

}  // namespace interlock

#endif  // INTERLOCK_COMMON_MCP_HEADERS_H_
