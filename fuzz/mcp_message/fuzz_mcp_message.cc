// libFuzzer target for the MCP stdio framing: mcp::LineReader splits the input (written to
// a pipe) into bounded lines, and mcp::ParseMessage classifies each one. Checks that a
// line never holds '\n', an oversized line is never returned, and a parsed message's
// kind agrees with its fields.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mcp/framing.h"

namespace {

using interlock::mcp::LineReader;
using interlock::mcp::Message;
using interlock::mcp::MessageKind;

constexpr size_t kMaxLine = 4096;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

void CheckMessage(std::string_view line) {
  interlock::Result<Message> m = interlock::mcp::ParseMessage(line, kMaxLine);
  if (!m.ok()) {
    Check(!m.error().message.empty(), "errors carry a message");
    return;
  }
  Check(line.size() <= kMaxLine, "an oversized message is refused");
  switch (m->kind) {
    case MessageKind::kRequest:
      Check(!m->method.empty() || m->doc.as_object().contains("method"), "a request has a method");
      Check(m->id.is_string() || m->id.is_number(), "a request id is a string or a number");
      break;
    case MessageKind::kNotification:
      Check(!m->doc.as_object().contains("id"), "a notification has no id");
      break;
    case MessageKind::kResponse:
      Check(m->method.empty(), "a response has no method");
      break;
    case MessageKind::kBatch:
      Check(m->doc.is_array(), "a batch is an array");
      break;
  }
  if (m->kind != MessageKind::kBatch) {
    (void)interlock::mcp::IdKey(m->id);
    (void)interlock::mcp::ErrorResponse(m->id, interlock::mcp::kInvalidRequest, "x");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckMessage(input);  // the whole input as one line, '\n' and all
  // The same bytes through the line reader. The pipe holds 64 KiB, so the whole input is
  // written before reading; the write end is closed so the reader sees EOF.
  if (size > 60000) return 0;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return 0;
  Check(write(fds[1], data, size) == static_cast<ssize_t>(size), "pipe write");
  close(fds[1]);
  LineReader reader(fds[0], kMaxLine);
  std::string line;
  size_t lines = 0;
  for (;;) {
    const LineReader::Status s = reader.Next(&line);
    if (s == LineReader::Status::kClosed) break;
    Check(++lines <= size + 1, "the reader ends");
    if (s == LineReader::Status::kOversized) continue;
    Check(line.find('\n') == std::string::npos, "a line holds no newline");
    Check(line.size() <= kMaxLine, "a returned line is within the bound");
    CheckMessage(line);
  }
  close(fds[0]);
  return 0;
}
