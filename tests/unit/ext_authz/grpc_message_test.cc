// The ext_authz door's wire below HTTP/2 (doors/ext_authz/grpc_message.h): a request's gRPC
// message read from DATA frames of any size within bounds, an answer's framing, and what a
// CheckRequest becomes for the door.
#include "doors/ext_authz/grpc_message.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace interlock::doors::ext_authz {
namespace INTERLOCK_TEST_NS {

using Refusal = GrpcMessageReader::Refusal;

std::string Prefix(uint8_t flag, uint32_t length) {
  std::string p(kGrpcPrefixBytes, '\0');
  p[0] = static_cast<char>(flag);
  for (int i = 0; i < 4; ++i) p[1 + i] = static_cast<char>((length >> (24 - 8 * i)) & 0xff);
  return p;
}

// Feeds `bytes` in pieces of `step` (the last shorter), the room what `room` leaves of what
// the reader holds (as the server charges its connection); the first refusal, or kNone.
Refusal FeedInSteps(GrpcMessageReader* r, const std::string& bytes, size_t step,
                    size_t room = SIZE_MAX) {
  for (size_t at = 0; at < bytes.size(); at += step) {
    const size_t n = std::min(step, bytes.size() - at);
    const Refusal f =
        r->Feed(reinterpret_cast<const uint8_t*>(bytes.data() + at), n, room - r->held());
    if (f != Refusal::kNone) return f;
  }
  return Refusal::kNone;
}

// Tests each way a request's DATA can end, whatever the frames' sizes: one whole message is
// complete; compressed, oversized, a second message, no room, or a message cut short are
// refused or incomplete, and never read as a message.
TEST(GrpcMessageReaderTest, EachRequestShapeIsReadOrRefusedInPiecesOfAnySize) {
  struct Case {
    const char* name;
    std::string bytes;
    size_t room;
    Refusal refusal;
    bool complete;
  };
  const std::string hello = "hello";
  const std::vector<Case> cases = {
      {"one message", Prefix(0, 5) + hello, SIZE_MAX, Refusal::kNone, true},
      {"an empty message", Prefix(0, 0), SIZE_MAX, Refusal::kNone, true},
      {"compressed", Prefix(1, 5) + hello, SIZE_MAX, Refusal::kCompressed, false},
      {"any flag but 0", Prefix(0x80, 5) + hello, SIZE_MAX, Refusal::kCompressed, false},
      {"over the limit", Prefix(0, 65) + std::string(65, 'x'), SIZE_MAX, Refusal::kTooLarge, false},
      {"length 2^32-1", Prefix(0, 0xffffffff), SIZE_MAX, Refusal::kTooLarge, false},
      {"a second message", Prefix(0, 5) + hello + Prefix(0, 5) + hello, SIZE_MAX,
       Refusal::kSecondMessage, false},
      {"one byte too many", Prefix(0, 5) + hello + "!", SIZE_MAX, Refusal::kSecondMessage, false},
      {"no room left", Prefix(0, 5) + hello, 2, Refusal::kNoRoom, false},
      {"cut short", Prefix(0, 5) + "hel", SIZE_MAX, Refusal::kNone, false},
      {"the prefix cut short", Prefix(0, 5).substr(0, 3), SIZE_MAX, Refusal::kNone, false},
      {"nothing", "", SIZE_MAX, Refusal::kNone, false},
  };
  for (const Case& c : cases) {
    for (size_t step : {size_t{1}, size_t{2}, size_t{5}, size_t{7}, size_t{1000}}) {
      GrpcMessageReader r(/*max_bytes=*/64);
      EXPECT_EQ(FeedInSteps(&r, c.bytes, step, c.room), c.refusal) << c.name << " step " << step;
      EXPECT_EQ(r.Complete(), c.complete) << c.name << " step " << step;
      if (c.complete) {
        EXPECT_EQ(r.message(), c.bytes.substr(kGrpcPrefixBytes)) << c.name;
      }
      EXPECT_LE(r.held(), size_t{64}) << c.name;
    }
  }
}

// Tests that a refused reader stays refused: bytes after a refusal are neither kept nor read
// as the start of another message.
TEST(GrpcMessageReaderTest, RefusalIsFinal) {
  GrpcMessageReader r(64);
  const std::string compressed = Prefix(1, 1) + "x";
  EXPECT_EQ(FeedInSteps(&r, compressed, 100), Refusal::kCompressed);
  const std::string good = Prefix(0, 1) + "y";
  EXPECT_EQ(FeedInSteps(&r, good, 100), Refusal::kCompressed);
  EXPECT_FALSE(r.Complete());
  EXPECT_EQ(r.held(), 0u);
}

// Tests that an answer's framing is read back by the reader as the same message.
TEST(GrpcMessageReaderTest, FramedAnswerReadsBackWhole) {
  for (const std::string& m : {std::string(), std::string("a"), std::string(300, 'z')}) {
    const std::string framed = FramedGrpcMessage(m);
    ASSERT_EQ(framed.size(), m.size() + kGrpcPrefixBytes);
    GrpcMessageReader r(1000);
    EXPECT_EQ(FeedInSteps(&r, framed, 3), Refusal::kNone);
    EXPECT_TRUE(r.Complete());
    EXPECT_EQ(r.message(), m);
  }
}

// Tests what the door reads of a CheckRequest: header_map over headers, names lower-cased,
// a repeated header joined as Envoy joins it, raw_body over body, and a body the gateway cut
// (by its header, or shorter than the size it names) marked partial.
TEST(GrpcMessageTest, AttributesAreReadAsEnvoySendsThem) {
  envoy::service::auth::v3::CheckRequest req;
  auto* http = req.mutable_attributes()->mutable_request()->mutable_http();
  http->set_method("POST");
  http->set_path("/mcp?x=1");
  http->set_host("tools.internal");
  (*http->mutable_headers())["Ignored"] = "when header_map is sent";
  for (const auto& [k, v] :
       {std::pair{"Authorization", "Bearer a"}, std::pair{"x-a", "1"}, std::pair{"X-A", "2"}}) {
    auto* h = http->mutable_header_map()->add_headers();
    h->set_key(k);
    h->set_raw_value(v);
  }
  http->set_body("text body");
  http->set_raw_body("raw body");
  HttpAttributes a = AttributesOf(req);
  EXPECT_EQ(a.method, "POST");
  EXPECT_EQ(a.path, "/mcp?x=1");
  EXPECT_EQ(a.host, "tools.internal");
  EXPECT_EQ(a.headers.count("ignored"), 0u);
  EXPECT_EQ(a.headers.at("authorization"), "Bearer a");
  EXPECT_EQ(a.headers.at("x-a"), "1,2");
  EXPECT_EQ(a.body, "raw body");
  EXPECT_FALSE(a.partial_body);

  http->set_size(100);  // the gateway says the body was longer than what it sent
  EXPECT_TRUE(AttributesOf(req).partial_body);
  http->set_size(0);
  auto* cut = http->mutable_header_map()->add_headers();
  cut->set_key("X-Envoy-Auth-Partial-Body");
  cut->set_raw_value("TRUE");
  EXPECT_TRUE(AttributesOf(req).partial_body);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::doors::ext_authz
