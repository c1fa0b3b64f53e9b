#include "mcp/framing.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "common/json.h"

namespace interlock::mcp {

namespace json = boost::json;

namespace {

// An id both sides read as the same value: a string, or an integer no JavaScript number
// rounds (|id| <= 2^53 - 1).
bool ExactId(const json::value& id) {
  if (id.is_string()) return true;
  if (id.is_int64()) return id.get_int64() >= -kMaxExactId && id.get_int64() <= kMaxExactId;
  if (id.is_uint64()) return id.get_uint64() <= static_cast<uint64_t>(kMaxExactId);
  return false;
}

}  // namespace

Result<Message> ParseMessage(std::string_view line, size_t max_bytes, int* rpc_code) {
  JsonLimits limits;
  limits.max_bytes = max_bytes;
  limits.max_depth = kMaxMessageDepth;
  if (rpc_code != nullptr) *rpc_code = kParseError;
  auto doc = ParseJsonStrict(line, limits);
  if (!doc.ok()) return doc.error();
  if (rpc_code != nullptr) *rpc_code = kInvalidRequest;
  Message m;
  if (doc->is_array()) {
    m.kind = MessageKind::kBatch;
    m.doc = std::move(doc).value();
    return m;
  }
  if (!doc->is_object()) return Error::Invalid("a JSON-RPC message must be an object");
  const json::object& o = doc->get_object();
  const json::value* version = o.if_contains("jsonrpc");
  if (version == nullptr || !version->is_string() || version->get_string() != "2.0") {
    return Error::Invalid("\"jsonrpc\" must be \"2.0\"");
  }
  const json::value* id = o.if_contains("id");
  if (id != nullptr && !(id->is_null() && o.contains("error"))) {
    if (!id->is_string() && !id->is_int64() && !id->is_uint64()) {
      return Error::Invalid("\"id\" must be a string or an integer");
    }
    if (!ExactId(*id)) {
      return Error::Invalid(
          "an integer \"id\" must lie within -(2^53-1)..2^53-1 (larger "
          "integers are rounded by JavaScript SDKs into other ids)");
    }
  }
  if (const json::value* method = o.if_contains("method")) {
    if (!method->is_string()) return Error::Invalid("\"method\" must be a string");
    if (o.contains("result") || o.contains("error")) {
      return Error::Invalid("a message cannot be both a request and a response");
    }
    if (const json::value* params = o.if_contains("params");
        params != nullptr && !params->is_object() && !params->is_array()) {
      return Error::Invalid("\"params\" must be an object or an array");
    }
    m.method = std::string(method->get_string());
    m.kind = id != nullptr ? MessageKind::kRequest : MessageKind::kNotification;
  } else {
    if (id == nullptr) return Error::Invalid("a message needs \"method\" or \"id\"");
    if (o.contains("result") == o.contains("error")) {
      return Error::Invalid("a response needs exactly one of \"result\" and \"error\"");
    }
    m.kind = MessageKind::kResponse;
  }
  if (id != nullptr) m.id = *id;
  m.doc = std::move(doc).value();
  return m;
}

namespace {

bool OneOf(std::string_view m, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (m == n) return true;
  }
  return false;
}

// The next code point of valid UTF-8 at s[*i], advancing *i.
char32_t NextCodePoint(std::string_view s, size_t* i) {
  const auto b = static_cast<unsigned char>(s[*i]);
  const int len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
  char32_t cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
  for (int k = 1; k < len && *i + k < s.size(); ++k) {
    cp = (cp << 6) | (static_cast<unsigned char>(s[*i + k]) & 0x3F);
  }
  *i += len;
  return cp;
}

}  // namespace

bool IsClientRequestMethod(std::string_view m) {
  return OneOf(m, {"initialize", "ping", "tools/list", "tools/call", "resources/list",
                   "resources/templates/list", "resources/read", "resources/subscribe",
                   "resources/unsubscribe", "prompts/list", "prompts/get", "completion/complete",
                   "logging/setLevel", "tasks/get", "tasks/result", "tasks/list", "tasks/cancel",
                   "tasks/update"});
}

bool IsClientNotificationMethod(std::string_view m) {
  return OneOf(m, {"notifications/initialized", "notifications/cancelled", "notifications/progress",
                   "notifications/roots/list_changed", "notifications/tasks/status"});
}

bool IsServerRequestMethod(std::string_view m) {
  return OneOf(m, {"ping", "sampling/createMessage", "elicitation/create", "roots/list",
                   "tasks/get", "tasks/result", "tasks/list", "tasks/cancel"});
}

bool IsServerNotificationMethod(std::string_view m) {
  return OneOf(m, {"notifications/cancelled", "notifications/progress", "notifications/message",
                   "notifications/resources/updated", "notifications/resources/list_changed",
                   "notifications/tools/list_changed", "notifications/prompts/list_changed",
                   "notifications/tasks/status", "notifications/elicitation/complete"});
}

bool LooksLikeToolsCall(std::string_view method) {
  constexpr std::string_view kFolded = "toolscall";
  std::string folded;
  for (size_t i = 0; i < method.size();) {
    char32_t cp = NextCodePoint(method, &i);
    if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;  // fullwidth ASCII forms
    if (cp == 0x017F) cp = 's';                      // LATIN SMALL LETTER LONG S
    if (cp >= 'A' && cp <= 'Z') cp += 'a' - 'A';
    if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) {
      folded.push_back(static_cast<char>(cp));
      if (folded.size() > kFolded.size()) return false;
    }
  }
  return folded == kFolded;
}

Status ValidForwardMethod(std::string_view method) {
  if (method.empty() || method.size() > 128) {
    return Error::Invalid("a forwarded method name must be 1 to 128 characters");
  }
  for (char c : method) {
    if (c <= 0x20 || c >= 0x7f) {
      return Error::Invalid("a forwarded method name must be printable ASCII without spaces");
    }
  }
  if (LooksLikeToolsCall(method)) {
    return Error::Invalid("\"" + std::string(method) +
                          "\" could be taken for tools/call, which is always decided, never "
                          "forwarded by configuration");
  }
  return Status::Ok();
}

std::string IdKey(const json::value& id) { return CanonicalJson(id); }

json::object ErrorResponse(const json::value& id, int code, std::string_view message) {
  return json::object{{"jsonrpc", "2.0"},
                      {"id", id},
                      {"error", json::object{{"code", code}, {"message", message}}}};
}

json::object ResultResponse(const json::value& id, json::value result) {
  return json::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

LineReader::Status LineReader::Next(std::string* line) {
  for (;;) {
    // A complete line already buffered?
    if (size_t nl = buf_.find('\n', pos_); nl != std::string::npos) {
      const bool was_dropping = dropping_;
      dropping_ = false;
      if (was_dropping) {
        pos_ = nl + 1;
        return Status::kOversized;
      }
      line->assign(buf_, pos_, nl - pos_);
      pos_ = nl + 1;
      if (!line->empty() && line->back() == '\r') line->pop_back();
      if (line->size() > max_) return Status::kOversized;
      return Status::kLine;
    }
    // Compact, and drop the partial line once it is over the cap.
    buf_.erase(0, pos_);
    pos_ = 0;
    if (buf_.size() > max_) {
      dropping_ = true;
      buf_.clear();
    }
    if (eof_) {
      if (!buf_.empty() && !dropping_) {  // last line without '\n'
        line->swap(buf_);
        buf_.clear();
        return Status::kLine;
      }
      return Status::kClosed;
    }
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int n = poll(fds, wake_fd_ >= 0 ? 2 : 1, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::kClosed;
    }
    if (wake_fd_ >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      return Status::kClosed;
    }
    char chunk[65536];
    const ssize_t r = read(fd_, chunk, sizeof chunk);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      eof_ = true;
    } else if (r == 0) {
      eof_ = true;
    } else {
      buf_.append(chunk, static_cast<size_t>(r));
    }
  }
}

}  // namespace interlock::mcp
