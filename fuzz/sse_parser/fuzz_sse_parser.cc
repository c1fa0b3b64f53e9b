// libFuzzer target for mcp::SseParser (the parser of HTTP upstreams' event streams).
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "mcp/sse.h"

namespace {

constexpr size_t kCap = 4096;

struct Outcome {
  std::vector<interlock::mcp::SseEvent> events;
  bool failed = false;
};

Outcome Run(std::string_view input, size_t piece) {
  interlock::mcp::SseParser p(kCap);
  Outcome o;
  for (size_t i = 0; i < input.size() && !o.failed; i += piece) {
    o.failed = !p.Feed(input.substr(i, piece), &o.events).ok();
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 16;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Outcome whole = Run(input, input.size() == 0 ? 1 : input.size());
  const Outcome split = Run(input, piece);
  if (whole.failed != split.failed) std::abort();
  if (!whole.failed) {
    if (whole.events.size() != split.events.size()) std::abort();
    for (size_t i = 0; i < whole.events.size(); ++i) {
      if (whole.events[i].data != split.events[i].data ||
          whole.events[i].type != split.events[i].type ||
          whole.events[i].last_event_id != split.events[i].last_event_id) {
        std::abort();
      }
    }
  }
  for (const auto& e : split.events) {
    if (e.data.size() > kCap) std::abort();
  }
  // Formatting any data and parsing it back gives the data with line ends normalised.
  const std::string framed = interlock::mcp::FormatSseEvent(input);
  interlock::mcp::SseParser back(1 << 20);
  std::vector<interlock::mcp::SseEvent> events;
  if (!back.Feed(framed, &events).ok() || events.size() != 1) std::abort();
  return 0;
}
