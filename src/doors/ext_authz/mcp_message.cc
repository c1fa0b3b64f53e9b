#include "doors/ext_authz/mcp_message.h"

#include <initializer_list>
#include <optional>

#include "common/json.h"
#include "common/mcp_headers.h"

namespace interlock::doors::ext_authz {

namespace json = boost::json;

namespace {

constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kHeaderMismatch = -32020;  // mcp/revision.h's kHeaderMismatch

bool OneOf(std::string_view m, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (m == n) return true;
  }
  return false;
}

bool Refuse(McpRefusal* r, unsigned status, int code, std::string message) {
  r->http_status = status;
  r->rpc_code = code;
  r->message = std::move(message);
  return false;
}

// The message's kind, method and tools/call fields from the object `o`; false and *r when
// it is no JSON-RPC 2.0 message.
bool Classify(const json::object& o, McpMessage* msg, McpRefusal* r) {
  const json::value* version = o.if_contains("jsonrpc");
  if (version == nullptr || !version->is_string() || version->get_string() != "2.0") {
    return Refuse(r, 400, kInvalidRequest, "not a JSON-RPC 2.0 message (jsonrpc must be \"2.0\")");
  }
  const json::value* id = o.if_contains("id");
  if (id != nullptr && !(id->is_string() || id->is_int64() || id->is_uint64() || id->is_null())) {
    return Refuse(r, 400, kInvalidRequest, "the JSON-RPC id must be a string or an integer");
  }
  if (id != nullptr) r->id = *id;
  const json::value* method = o.if_contains("method");
  if (method == nullptr) {
    if (id == nullptr || !(o.contains("result") || o.contains("error"))) {
      return Refuse(r, 400, kInvalidRequest,
                    "a JSON-RPC message needs a method, or an id and a result");
    }
    msg->kind = McpMessage::Kind::kResponse;
    msg->id = *id;
    return true;
  }
  if (!method->is_string()) return Refuse(r, 400, kInvalidRequest, "method must be a string");
  msg->method = std::string(method->get_string());
  msg->kind = id == nullptr ? McpMessage::Kind::kNotification : McpMessage::Kind::kRequest;
  if (id != nullptr) msg->id = *id;
  return true;
}

// tools/call's name and arguments; false and *r when they are malformed.
bool ReadToolCall(const json::object& params, McpMessage* msg, McpRefusal* r) {
  const json::value* name = params.if_contains("name");
  if (name == nullptr || !name->is_string() || name->get_string().empty()) {
    return Refuse(r, 400, -32602, "tools/call needs params.name, a non-empty string");
  }
  msg->tool = std::string(name->get_string());
  r->tool = msg->tool;
  const json::value* args = params.if_contains("arguments");
  if (args != nullptr && !args->is_null() && !args->is_object()) {
    return Refuse(r, 400, -32602, "tools/call's params.arguments must be an object");
  }
  if (args != nullptr && args->is_object()) msg->args = args->get_object();
  msg->kind = McpMessage::Kind::kToolCall;
  return true;
}

}  // namespace

std::optional<std::string> HeaderOf(const Headers& h, std::string_view name) {
  auto it = h.find(name);
  if (it == h.end()) return std::nullopt;
  return it->second;
}

bool ForwardedClientMethod(std::string_view m) {
  return OneOf(m, {"initialize",
                   "ping",
                   "tools/list",
                   "resources/list",
                   "resources/templates/list",
                   "resources/read",
                   "resources/subscribe",
                   "resources/unsubscribe",
                   "prompts/list",
                   "prompts/get",
                   "completion/complete",
                   "logging/setLevel",
                   "tasks/get",
                   "tasks/result",
                   "tasks/list",
                   "tasks/cancel",
                   "tasks/update",
                   "server/discover",
                   "subscriptions/listen",
                   "notifications/initialized",
                   "notifications/cancelled",
                   "notifications/progress",
                   "notifications/roots/list_changed",
                   "notifications/tasks/status"});
}

bool LooksLikeToolsCall(std::string_view method) {
  std::string folded;
  for (size_t i = 0; i < method.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(method[i]);
    // Fullwidth ASCII (U+FF01..U+FF5E: EF BC 81..EF BD 9E) and the long s (U+017F: C5 BF).
    if (c == 0xEF && i + 2 < method.size()) {
      const unsigned char b1 = static_cast<unsigned char>(method[i + 1]);
      const unsigned char b2 = static_cast<unsigned char>(method[i + 2]);
      if (b1 == 0xBC || b1 == 0xBD) {
        c = static_cast<unsigned char>((b1 == 0xBC ? b2 - 0x80 : b2 - 0x40) + 0x20);
        i += 2;
      }
    } else if (c == 0xC5 && i + 1 < method.size() &&
               static_cast<unsigned char>(method[i + 1]) == 0xBF) {
      c = 's';
      ++i;
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c + ('a' - 'A'));
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      folded.push_back(static_cast<char>(c));
      if (folded.size() > 9) return false;
    }
  }
  return folded == "toolscall";
}

bool ReadMcpMessage(std::string_view body, const Headers& headers, size_t max_bytes,
                    McpMessage* msg, McpRefusal* refusal) {
  if (auto name = HeaderOf(headers, "mcp-name")) {
    if (auto plain = DecodeMcpHeaderValue(*name); plain.ok()) refusal->tool = plain->substr(0, 128);
  }
  Result<json::value> doc = ParseJsonStrict(body, {.max_bytes = max_bytes});
  if (!doc.ok()) return Refuse(refusal, 400, kParseError, "parse error: " + doc.error().message);
  if (doc->is_array()) {
    return Refuse(refusal, 400, kInvalidRequest, "JSON-RPC batches are not accepted (MCP)");
  }
  if (!doc->is_object()) return Refuse(refusal, 400, kInvalidRequest, "not a JSON-RPC message");
  const json::object& o = doc->get_object();
  if (!Classify(o, msg, refusal)) return false;
  static const json::object kNoParams;
  const json::value* p = o.if_contains("params");
  if (p != nullptr && !p->is_object() && msg->kind != McpMessage::Kind::kResponse) {
    return Refuse(refusal, 400, kInvalidRequest, "params must be an object");
  }
  const json::object& params = p != nullptr && p->is_object() ? p->get_object() : kNoParams;
  const McpRequestHeaders h{HeaderOf(headers, "mcp-protocol-version"),
                            HeaderOf(headers, "mcp-method"), HeaderOf(headers, "mcp-name")};
  const McpBodyKind kind = msg->kind == McpMessage::Kind::kRequest ? McpBodyKind::kRequest
                           : msg->kind == McpMessage::Kind::kNotification
                               ? McpBodyKind::kNotification
                               : McpBodyKind::kOther;
  const std::optional<std::string> mv = McpMetaProtocolVersion(o);
  msg->modern = kind != McpBodyKind::kOther &&
                ((h.protocol_version && *h.protocol_version == kModernRevision) ||
                 (mv && *mv == kModernRevision));
  if (msg->method == "tools/call") {
    if (const json::value* n = params.if_contains("name"); n != nullptr && n->is_string()) {
      refusal->tool = std::string(n->get_string()).substr(0, 128);
    }
  }
  // The one header rule of every MCP door (common/mcp_headers.h).
  if (Status hs = CheckMcpRequestHeaders(h, kind, msg->method, o, msg->modern); !hs.ok()) {
    return Refuse(refusal, 400, kHeaderMismatch, hs.error().message);
  }
  if (msg->kind == McpMessage::Kind::kResponse) return true;
  if (msg->method != "tools/call") {
    if (LooksLikeToolsCall(msg->method)) {
      return Refuse(refusal, 400, kInvalidRequest,
                    "method '" + msg->method.substr(0, 64) +
                        "' could be taken for tools/call; it is refused, never forwarded");
    }
    return true;
  }
  if (msg->kind == McpMessage::Kind::kNotification) {
    return Refuse(refusal, 400, kInvalidRequest, "tools/call must be a request (it has no id)");
  }
  return ReadToolCall(params, msg, refusal);
}

}  // namespace interlock::doors::ext_authz
