// Server-Sent Events (the WHATWG "event stream" format) as MCP's Streamable HTTP transport
// uses it: formatting events for the daemon's SSE responses, and an incremental parser for
// the SSE replies of HTTP upstream servers.
//
// The parser follows the WHATWG interpretation rules: lines end with CRLF, LF or CR (a
// CRLF split across two Feed() calls counts once), a leading U+FEFF is dropped, lines
// starting with ':' are comments, "field: value" loses one leading space, `data` lines are
// joined with '\n', a blank line dispatches the event (none when no data line was seen),
// `id` without NUL sets the last event id, `retry` takes ASCII digits only, unknown fields
// are ignored. An event whose data or a line longer than max_event_bytes is an error: the
// stream cannot be trusted after it, so the parser stays failed.
// Thread-safety: SseParser belongs to one thread; the free function is safe anywhere.
#ifndef INTERLOCK_MCP_SSE_H_
#define INTERLOCK_MCP_SSE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interlock/result.h"

namespace interlock::mcp {

// One event: "id: <id>\n" (when given), "event: <type>\n" (when given), one "data: " line
// per line of `data`, then a blank line.
std::string FormatSseEvent(std::string_view data, std::string_view id = {},
                           std::string_view event = {});

// A comment line the client ignores, for keep-alives: ": <text>\n\n".
std::string FormatSseComment(std::string_view text);

struct SseEvent {
  std::string type = "message";
  std::string data;
  std::string last_event_id;  // the stream's last event id when the event was dispatched
};

class SseParser {
 public:
  explicit SseParser(size_t max_event_bytes) : max_(max_event_bytes) {}

  // Appends every event completed by `bytes` to *events. After an error every later call
  // fails too.
  Status Feed(std::string_view bytes, std::vector<SseEvent>* events);

  const std::string& last_event_id() const { return last_event_id_; }
  std::optional<uint64_t> retry_ms() const { return retry_ms_; }

 private:
  Status Consume(std::string_view bytes, std::vector<SseEvent>* events);
  void Line(std::string_view line, std::vector<SseEvent>* events);

  size_t max_;
  std::string head_;  // the first bytes, until they are known not to be a BOM
  std::string line_;
  std::string data_;
  std::string type_;
  bool have_data_ = false;
  std::string last_event_id_;
  std::optional<uint64_t> retry_ms_;
  bool after_cr_ = false;
  bool started_ = false;
  bool failed_ = false;
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_SSE_H_
