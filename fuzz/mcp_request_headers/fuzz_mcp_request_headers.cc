// libFuzzer target for the 2026-07-28 request headers checked against the body
// (mcp/request_headers.h). The input is split at the first three NUL bytes into
// MCP-Protocol-Version, Mcp-Method, Mcp-Name (an empty part: the header is absent) and the
// body. Checks that an accepted request's Mcp-Method is exactly its method, that a
// decoded Mcp-Name re-encodes to nothing longer than its input, and that every refusal
// carries a message.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "mcp/framing.h"
#include "mcp/request_headers.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

std::optional<std::string> Part(std::string_view* in) {
  const size_t nul = in->find('\0');
  std::string_view p = in->substr(0, nul);
  *in = nul == std::string_view::npos ? std::string_view() : in->substr(nul + 1);
  if (p.empty()) return std::nullopt;
  return std::string(p);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  interlock::mcp::RequestHeaders h;
  h.protocol_version = Part(&in);
  h.method = Part(&in);
  h.name = Part(&in);
  if (h.name) {
    auto decoded = interlock::mcp::DecodeHeaderValue(*h.name);
    if (decoded.ok()) Check(decoded->size() <= h.name->size(), "decoding never grows a value");
  }
  auto msg = interlock::mcp::ParseMessage(in, 1 << 16);
  if (!msg.ok() || msg->kind == interlock::mcp::MessageKind::kBatch) return 0;
  for (bool modern : {false, true}) {
    interlock::Status s = interlock::mcp::CheckRequestHeaders(h, *msg, modern);
    if (!s.ok()) {
      Check(!s.error().message.empty(), "a refusal says why");
      continue;
    }
    if (h.method) Check(*h.method == msg->method, "an accepted Mcp-Method is the body's method");
    if (modern && msg->kind == interlock::mcp::MessageKind::kRequest) {
      Check(h.method.has_value() && h.protocol_version.has_value(),
            "a modern request is accepted only with its headers");
    }
  }
  return 0;
}
