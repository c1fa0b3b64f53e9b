#include "mcp/framing.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "common/json.h"

namespace interlock::mcp {

namespace json = boost::json;

Result<Message> ParseMessage(std::string_view line, size_t max_bytes) {
  JsonLimits limits;
  limits.max_bytes = max_bytes;
  limits.max_depth = kMaxMessageDepth;
  auto doc = ParseJsonStrict(line, limits);
  if (!doc.ok()) return doc.error();
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
  if (id != nullptr && !id->is_string() && !id->is_int64() && !id->is_uint64() &&
      !(id->is_null() && o.contains("error"))) {
    return Error::Invalid("\"id\" must be a string or an integer");
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

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t w = write(fd, data.data(), data.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(w));
  }
  return true;
}

}  // namespace interlock::mcp
