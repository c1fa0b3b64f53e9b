// Helpers the Streamable HTTP transport's files share (mcp_http.cc, mcp_http_setup.cc):
// request headers read case-insensitively, ASCII lower case, the Accept header's media
// ranges, the revision a request speaks and JSON-RPC/SSE answer heads. Not part of the
// server's interface.
#ifndef INTERLOCK_DOORS_MCP_HTTP_MCP_HTTP_INTERNAL_H_
#define INTERLOCK_DOORS_MCP_HTTP_MCP_HTTP_INTERNAL_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "http/exchange.h"
#include "mcp/framing.h"

namespace interlock::server::mcp_http_internal {

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
// The status with a whole JSON-RPC message as the body.
HttpResponse RpcJson(unsigned status, const boost::json::object& message);
// The request's header `name`, or nullopt when absent (an empty value is a value).
std::optional<std::string> OptionalHeader(const HttpRequest& req, std::string_view name);
// A request under the modern revision: MCP-Protocol-Version or params._meta names it.
bool ModernRequest(std::string_view header_version, const mcp::Message& msg);
// The head of a 200 text/event-stream answer (with Mcp-Session-Id when not empty).
HttpResponse SseHead(const std::string& session_header);
// The subscription a notification belongs to (params._meta's subscriptionId), or null.
const boost::json::value* SubscriptionOf(const boost::json::object& notification);
// The request's Mcp-Param-{Name} headers: lower-cased {Name} -> the value as received.
std::map<std::string, std::string, std::less<>> ParamHeadersOf(const HttpRequest& req);
// The first MCP request-metadata header the request carries more than once (MCP-Protocol-
// Version, Mcp-Method, Mcp-Name, Mcp-Session-Id, any Mcp-Param-{Name}; names compared without
// case), lower-cased; nullopt when none is repeated. A router in front may act on one copy
// while the door checks another, so a repeated one is refused, never chosen from.
std::optional<std::string> RepeatedMcpHeader(const HttpRequest& req);
// A session id the transport accepts: 1 to 128 visible ASCII characters.
bool ValidSessionId(std::string_view id);
// The status of a 2026-07-28 answer sent as JSON: an unknown method is 404 and the
// revision's own refusals 400 (streamable-http#protocol-version-header), so a client tells a
// modern server's error from a legacy endpoint's; 200 otherwise.
unsigned ModernStatus(const boost::json::object& response);
// IdKey of a request's params._meta.progressToken, empty when it has none.
std::string ProgressKey(const boost::json::value& request);
// `msg`, sent on the exchange of a 2026-07-28 request registered under the door's id
// `door_key` (IdKey), with the client's own id `client_id` where the door's stands: the
// response's id, and the subscription id in params._meta or result._meta (subscriptions/
// listen's notifications and closing result carry the request's id there).
boost::json::value WithClientId(const boost::json::value& msg, const std::string& door_key,
                                const boost::json::value& client_id);
// The 400 -32602 answer to a 2026-07-28 request `msg` whose params._meta lacks the protocol
// version or the client capabilities (basic/versioning); nullopt when it has both or is no
// request.
std::optional<HttpResponse> MissingModernMeta(const mcp::Message& msg);
// What a POST's headers must agree with before any session, decision or upstream: each
// request-metadata header once (a router in front may act on one copy and this door check
// another), a 2026-07-28 request's _meta, the headers against the body (nothing decided on
// one and forwarded as the other), a supported protocol version. The refusal, or nullopt.
std::optional<HttpResponse> RefusedPostHeaders(const HttpRequest& req, const mcp::Message& msg,
                                               bool modern);

// One POST carrying a request, until its response is sent.
struct Exchange {
  explicit Exchange(Responder r) : responder(std::move(r)) {}
  Responder responder;
  bool accept_json = true;
  bool accept_sse = true;
  bool modern = false;         // a 2026-07-28 request: its errors carry their HTTP status
  std::string session_header;  // set on the initialize exchange
  std::string progress_key;    // IdKey of params._meta.progressToken, if any
  std::string key;             // IdKey of the request's id (the door's, when client_id is set)
  // A 2026-07-28 request: the id the client sent, replaced by an id of the door's before the
  // gateway sees it (clients sharing a stateless session pick ids independently) and put back
  // in everything sent on this exchange. Null for a session's own client (legacy sessions).
  boost::json::value client_id;
  // A 2026-07-28 request's own params._meta.progressToken, replaced by the door's id before
  // the gateway sees it (clients sharing a session pick tokens independently, so a token of
  // theirs names no one request) and put back in the progress sent on this exchange.
  std::optional<boost::json::value> client_progress_token;
  std::shared_ptr<ResponseStream> stream;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
};

}  // namespace interlock::server::mcp_http_internal

#endif  // INTERLOCK_DOORS_MCP_HTTP_MCP_HTTP_INTERNAL_H_
