// libFuzzer target for what the ext_authz door reads of a gateway's Check before the core
// sees anything: the request's gRPC message taken from DATA frames of the sizes the input
// picks (GrpcMessageReader, within its limit and a connection's room), the CheckRequest
// parsed from it, read into HttpAttributes (AttributesOf), and the forwarded MCP body read
// against its headers (ReadMcpMessage). Checks that nothing past the limit is held, that a
// whole message is exactly what its prefix named, that header names are lower-cased, and
// that a refused body always says why.
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <google/protobuf/stubs/logging.h>

#include "doors/ext_authz/grpc_message.h"
#include "doors/ext_authz/mcp_message.h"

namespace {

namespace ea = interlock::doors::ext_authz;

constexpr size_t kMaxMessage = 1 << 14;
constexpr size_t kRoom = 1 << 15;
constexpr size_t kMaxBody = 1 << 12;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

void ReadAsTheDoorDoes(std::string_view message) {
  envoy::service::auth::v3::CheckRequest request;
  if (!request.ParseFromArray(message.data(), static_cast<int>(message.size()))) return;
  const ea::HttpAttributes a = ea::AttributesOf(request);
  for (const auto& [name, value] : a.headers) {
    for (char ch : name) {
      Check(std::tolower(static_cast<unsigned char>(ch)) == static_cast<unsigned char>(ch),
            "header names are lower-cased");
    }
  }
  ea::McpMessage msg;
  ea::McpRefusal refusal;
  if (ea::ReadMcpMessage(a.body, a.headers, kMaxBody, &msg, &refusal)) {
    Check(a.body.size() <= kMaxBody, "a body over the limit is refused");
    Check(msg.kind != ea::McpMessage::Kind::kToolCall || !msg.tool.empty(),
          "a tools/call names its tool");
  } else {
    Check(!refusal.message.empty(), "a refusal says why");
    Check(refusal.http_status >= 400 || refusal.http_status == 200, "a refusal's status");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool kQuiet = [] {
    google::protobuf::SetLogHandler(nullptr);  // as the door: no line per non-UTF-8 string
    return true;
  }();
  (void)kQuiet;
  if (size == 0) return 0;
  // The first byte picks the DATA frames' size (1..256), the rest is the request's bytes.
  const size_t step = size_t{data[0]} + 1;
  ++data;
  --size;
  ea::GrpcMessageReader reader(kMaxMessage);
  bool refused = false;
  for (size_t at = 0; at < size && !refused; at += step) {
    const size_t n = std::min(step, size - at);
    refused =
        reader.Feed(data + at, n, kRoom - reader.held()) != ea::GrpcMessageReader::Refusal::kNone;
    Check(reader.held() <= kMaxMessage, "no more than the limit is held");
  }
  if (!refused && reader.Complete()) {
    const uint32_t named = (uint32_t{data[1]} << 24) | (uint32_t{data[2]} << 16) |
                           (uint32_t{data[3]} << 8) | uint32_t{data[4]};
    Check(reader.message().size() == named, "a whole message is the length its prefix names");
    Check(size == ea::kGrpcPrefixBytes + named, "nothing past the one message");
    ReadAsTheDoorDoes(reader.message());
  }
  // The same bytes as a message already framed, so the search reaches the readers behind.
  ReadAsTheDoorDoes(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
