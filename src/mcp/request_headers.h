// The Streamable HTTP request metadata headers of MCP 2026-07-28 (basic/transports/
// streamable-http#request-metadata) checked against the JSON-RPC body they mirror, for the
// MCP module's parsed Message (the rule: common/mcp_headers.h).
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

#include "common/mcp_headers.h"
#include "interlock/result.h"
#include "mcp/framing.h"

namespace interlock::mcp {

// The rule itself is common/mcp_headers.h's (one function for every door); these names keep
// the MCP module's vocabulary.
using RequestHeaders = McpRequestHeaders;
using ::interlock::McpNameField;

// DecodeMcpHeaderValue.
inline Result<std::string> DecodeHeaderValue(std::string_view value) {
  return DecodeMcpHeaderValue(value);
}

// CheckMcpRequestHeaders over a parsed message (a batch or a response is McpBodyKind::kOther).
Status CheckRequestHeaders(const RequestHeaders& headers, const Message& msg, bool modern);

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_REQUEST_HEADERS_H_
