// The Streamable HTTP request metadata headers of MCP 2026-07-28 (basic/transports/
// streamable-http#request-metadata) checked against the JSON-RPC body they mirror.
//
// An intermediary may route or decide on MCP-Protocol-Version, Mcp-Method and Mcp-Name
// while the server acts on the body; a request whose headers say one thing and whose body
// another is refused (HeaderMismatch, -32020) before anything reads it, so nothing is ever
// decided on one and forwarded as the other. Headers are compared exactly (values are
// case-sensitive); Mcp-Name may carry the Base64 sentinel `=?base64?...?=`, decoded first.
// Thread-safety: free functions, no state.
#ifndef INTERLOCK_MCP_REQUEST_HEADERS_H_
#define INTERLOCK_MCP_REQUEST_HEADERS_H_

#include <optional>
#include <string>
#include <string_view>

#include "interlock/result.h"
#include "mcp/framing.h"

namespace interlock::mcp {

// The headers as received (nullopt: absent).
struct RequestHeaders {
  std::optional<std::string> protocol_version;  // MCP-Protocol-Version
  std::optional<std::string> method;            // Mcp-Method
  std::optional<std::string> name;              // Mcp-Name
};

// A header value: the plain value (visible ASCII, space, tab), or the sentinel form
// `=?base64?B64?=` decoded (standard alphabet, padding optional). Errors for anything else.
Result<std::string> DecodeHeaderValue(std::string_view value);

// The params field Mcp-Name mirrors for a request of `method`: "name" (tools/call,
// prompts/get), "uri" (resources/read), "taskId" (tasks/get, tasks/update, tasks/cancel of the
// tasks extension); nullptr for every other method.
const char* McpNameField(std::string_view method);

// OK when the headers agree with `msg` (a request or notification). `modern`: the request
// is sent under 2026-07-28, where MCP-Protocol-Version, Mcp-Method and (McpNameField)
// Mcp-Name are required and the version must equal
// params._meta's. Headers present on a legacy request are checked too. The error's message
// says which header disagrees (values capped), for the -32020 answer.
Status CheckRequestHeaders(const RequestHeaders& headers, const Message& msg, bool modern);

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_REQUEST_HEADERS_H_
