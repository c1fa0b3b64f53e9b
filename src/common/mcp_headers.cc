#include "common/mcp_headers.h"

#include <algorithm>

#include <boost/json.hpp>

#include "common/base64.h"

namespace interlock {

namespace json = boost::json;

namespace {

constexpr std::string_view kSentinelStart = "=?base64?";
constexpr std::string_view kSentinelEnd = "?=";

bool PlainHeaderValue(std::string_view v) {
  return std::all_of(v.begin(), v.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u >= 0x20 && u <= 0x7e) || u == '\t';
  });
}

std::string Capped(std::string_view v) {
  std::string out(v.substr(0, 80));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  }
  return "'" + out + (v.size() > 80 ? "...'" : "'");
}

// The body value Mcp-Name mirrors: params.name, params.uri or (the tasks extension's
// requests) params.taskId (nullopt: the method has none).
std::optional<std::string_view> NameSourceOf(std::string_view method, const json::object& message,
                                             bool* missing) {
  const char* field = McpNameField(method);
  *missing = false;
  if (field == nullptr) return std::nullopt;
  const json::value* params = message.if_contains("params");
  const json::value* v =
      params != nullptr && params->is_object() ? params->get_object().if_contains(field) : nullptr;
  if (v == nullptr || !v->is_string()) {
    *missing = true;
    return std::nullopt;
  }
  return std::string_view(v->get_string());
}

Status Mismatch(std::string what) { return Error::Invalid("Header mismatch: " + what); }

}  // namespace

const char* McpNameField(std::string_view method) {
  if (method == "tools/call" || method == "prompts/get") return "name";
  if (method == "resources/read") return "uri";
  if (method == "tasks/get" || method == "tasks/update" || method == "tasks/cancel")
    return "taskId";
  return nullptr;
}

Result<std::string> DecodeMcpHeaderValue(std::string_view value) {
  if (!PlainHeaderValue(value)) return Error::Invalid("the header value has invalid characters");
  if (!(value.size() >= kSentinelStart.size() + kSentinelEnd.size() &&
        value.starts_with(kSentinelStart) && value.ends_with(kSentinelEnd))) {
    return std::string(value);
  }
  std::string b64(value.substr(kSentinelStart.size(),
                               value.size() - kSentinelStart.size() - kSentinelEnd.size()));
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  if (b64.find_first_of("-_") != std::string::npos) {
    return Error::Invalid("the header value's Base64 is not the standard alphabet");
  }
  for (char& c : b64) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  auto decoded = Base64UrlDecode(b64);
  if (!decoded.ok()) return Error::Invalid("the header value's Base64 does not decode");
  return std::move(decoded).value();
}

std::optional<std::string> McpMetaProtocolVersion(const json::object& message) {
  const json::value* params = message.if_contains("params");
  if (params == nullptr || !params->is_object()) return std::nullopt;
  const json::value* meta = params->get_object().if_contains("_meta");
  if (meta == nullptr || !meta->is_object()) return std::nullopt;
  const json::value* v = meta->get_object().if_contains(kMcpMetaProtocolVersion);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

Status CheckMcpRequestHeaders(const McpRequestHeaders& h, McpBodyKind kind, std::string_view method,
                              const json::object& body, bool modern) {
  if (kind == McpBodyKind::kOther) {
    // A response (or a batch, refused elsewhere) has no method and no name: a header
    // claiming one would let a router act on what the body is not.
    if (h.method || h.name) {
      return Mismatch("Mcp-Method/Mcp-Name header on a message that is not a request");
    }
    return Status::Ok();
  }
  if (modern) {
    if (!h.protocol_version) return Mismatch("the MCP-Protocol-Version header is missing");
    const std::optional<std::string> named = McpMetaProtocolVersion(body);
    if (kind == McpBodyKind::kRequest && named != h.protocol_version) {
      return Mismatch("MCP-Protocol-Version header value " + Capped(*h.protocol_version) +
                      " does not match body value " +
                      (named ? Capped(*named) : std::string("(none in params._meta)")));
    }
  }
  if (h.method) {
    if (!PlainHeaderValue(*h.method))
      return Mismatch("the Mcp-Method header has invalid characters");
    if (*h.method != method) {
      return Mismatch("Mcp-Method header value " + Capped(*h.method) +
                      " does not match body value " + Capped(method));
    }
  } else if (modern && kind == McpBodyKind::kRequest) {
    return Mismatch("the Mcp-Method header is missing");
  }
  bool source_missing = false;
  const std::optional<std::string_view> source = NameSourceOf(method, body, &source_missing);
  if (h.name) {
    auto decoded = DecodeMcpHeaderValue(*h.name);
    if (!decoded.ok()) return Mismatch("Mcp-Name: " + decoded.error().message);
    if (source_missing) {
      return Mismatch("Mcp-Name header value " + Capped(*decoded) + " but the body names nothing");
    }
    if (source && *decoded != *source) {
      return Mismatch("Mcp-Name header value " + Capped(*decoded) + " does not match body value " +
                      Capped(*source));
    }
  } else if (modern && (source || source_missing) && kind == McpBodyKind::kRequest) {
    return Mismatch("the Mcp-Name header is missing (required for " + std::string(method) + ")");
  }
  return Status::Ok();
}

}  // namespace interlock
