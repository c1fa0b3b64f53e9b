#include "mcp/sse.h"

#include <algorithm>

namespace interlock::mcp {

std::string FormatSseEvent(std::string_view data, std::string_view id, std::string_view event) {
  std::string out;
  out.reserve(data.size() + 16);
  if (!id.empty()) out.append("id: ").append(id).push_back('\n');
  if (!event.empty()) out.append("event: ").append(event).push_back('\n');
  size_t start = 0;
  for (;;) {
    // A CR or LF inside data would start a new line: split there (JSON text has none
    // outside strings, where they are escaped, but the format must hold for any input).
    const size_t nl = data.find_first_of("\r\n", start);
    out.append("data: ").append(data.substr(start, nl - start)).push_back('\n');
    if (nl == std::string_view::npos) break;
    start = nl + 1;
    if (data[nl] == '\r' && start < data.size() && data[start] == '\n') ++start;
  }
  out.push_back('\n');
  return out;
}

std::string FormatSseComment(std::string_view text) {
  std::string out = ": ";
  for (char c : text) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out.append("\n\n");
  return out;
}

Status SseParser::Feed(std::string_view bytes, std::vector<SseEvent>* events) {
  if (failed_) return Error::Invalid("the event stream already failed");
  if (!started_) {
    // U+FEFF (UTF-8) at the very start of the stream is dropped; it may arrive split.
    static constexpr std::string_view kBom = "\xEF\xBB\xBF";
    size_t take = 0;
    while (take < bytes.size() && head_.size() < kBom.size()) head_.push_back(bytes[take++]);
    if (head_.size() < kBom.size() && kBom.substr(0, head_.size()) == head_) {
      return Status::Ok();  // every byte so far may still be the BOM
    }
    started_ = true;
    bytes.remove_prefix(take);
    const std::string head = std::move(head_);
    head_.clear();
    if (head != kBom) {
      if (Status s = Consume(head, events); !s.ok()) return s;
    }
  }
  return Consume(bytes, events);
}

Status SseParser::Consume(std::string_view bytes, std::vector<SseEvent>* events) {
  for (const char c : bytes) {
    if (c == '\n' && after_cr_) {
      after_cr_ = false;  // the LF of a CRLF whose CR ended the line already
      continue;
    }
    after_cr_ = false;
    if (c == '\r' || c == '\n') {
      after_cr_ = c == '\r';
      Line(line_, events);
      line_.clear();
      if (failed_) return Error::Invalid("an event exceeds " + std::to_string(max_) + " bytes");
      continue;
    }
    line_.push_back(c);
    if (line_.size() > max_) {
      failed_ = true;
      return Error::Invalid("a line of the event stream exceeds " + std::to_string(max_) +
                            " bytes");
    }
  }
  return Status::Ok();
}

void SseParser::Line(std::string_view line, std::vector<SseEvent>* events) {
  if (line.empty()) {
    if (have_data_) {
      SseEvent e;
      if (!type_.empty()) e.type = type_;
      e.data = std::move(data_);
      if (!e.data.empty() && e.data.back() == '\n') e.data.pop_back();
      e.last_event_id = last_event_id_;
      events->push_back(std::move(e));
    }
    data_.clear();
    type_.clear();
    have_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // comment
  const size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > max_) {
      failed_ = true;
      return;
    }
    data_.append(value).push_back('\n');
    have_data_ = true;
  } else if (field == "event") {
    type_ = std::string(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_event_id_ = std::string(value);
  } else if (field == "retry") {
    if (!value.empty() && value.size() <= 18 &&
        std::all_of(value.begin(), value.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      retry_ms_ = std::stoull(std::string(value));
    }
  }
}

}  // namespace interlock::mcp
