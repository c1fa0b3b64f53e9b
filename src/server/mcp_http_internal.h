// Helpers the Streamable HTTP transport's files share (mcp_http.cc, mcp_http_setup.cc):
// request headers read case-insensitively, ASCII lower case, and the Accept header's
// media ranges. Not part of the server's interface.
#ifndef INTERLOCK_SERVER_MCP_HTTP_INTERNAL_H_
#define INTERLOCK_SERVER_MCP_HTTP_INTERNAL_H_

#include <string>
#include <string_view>

#include "server/http_server.h"

namespace interlock::server::mcp_http_internal {

// ASCII lower case (header names, hosts, origins, media types).
std::string Lower(std::string_view s);
// The request's header `name` ("" when absent).
std::string Header(const HttpRequest& req, std::string_view name);

// What an Accept header allows (media ranges; parameters and q=0 are ignored). An empty
// header allows anything (RFC 9110).
struct Accepts {
  bool json = false;
  bool sse = false;
};
Accepts ParseAccept(std::string_view header);

// A transport-level refusal: the status with a JSON-RPC error that has no id.
HttpResponse RpcError(unsigned status, int code, std::string_view message);

}  // namespace interlock::server::mcp_http_internal

#endif  // INTERLOCK_SERVER_MCP_HTTP_INTERNAL_H_
