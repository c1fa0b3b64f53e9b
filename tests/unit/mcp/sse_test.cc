// The SSE formatter and incremental parser (src/mcp/sse.h).
#include "mcp/sse.h"

#include <gtest/gtest.h>

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

std::vector<SseEvent> ParseAll(std::string_view text, size_t chunk = 0) {
  SseParser p(1 << 20);
  std::vector<SseEvent> out;
  if (chunk == 0) chunk = text.size() == 0 ? 1 : text.size();
  for (size_t i = 0; i < text.size(); i += chunk) {
    EXPECT_TRUE(p.Feed(text.substr(i, chunk), &out).ok());
  }
  return out;
}

// Tests that a formatted event parses back to its data, id and type.
TEST(SseTest, FormatRoundTrips) {
  const std::string e = FormatSseEvent(R"({"jsonrpc":"2.0","id":1})", "7", "message");
  EXPECT_EQ(e, "id: 7\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1}\n\n");
  auto events = ParseAll(e);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, R"({"jsonrpc":"2.0","id":1})");
  EXPECT_EQ(events[0].last_event_id, "7");
  EXPECT_EQ(events[0].type, "message");
}

// Tests that line breaks inside data become several data lines joined again by the parser.
TEST(SseTest, MultiLineDataIsSplitAndJoined) {
  const std::string e = FormatSseEvent("a\nb\r\nc\rd");
  EXPECT_EQ(e, "data: a\ndata: b\ndata: c\ndata: d\n\n");
  auto events = ParseAll(e);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "a\nb\nc\nd");
}

// Tests that CRLF, CR and LF line ends all work, also when a CRLF is split across feeds.
TEST(SseTest, AllLineEndingsAndSplitCrlf) {
  const std::string text = "data: one\r\n\r\ndata: two\r\rdata: three\n\n";
  for (size_t chunk : {1u, 2u, 3u, 5u, 100u}) {
    auto events = ParseAll(text, chunk);
    ASSERT_EQ(events.size(), 3u) << chunk;
    EXPECT_EQ(events[0].data, "one");
    EXPECT_EQ(events[1].data, "two");
    EXPECT_EQ(events[2].data, "three");
  }
}

// Tests comments, unknown fields, the optional space, events without data, a BOM and retry.
TEST(SseTest, CommentsFieldsBomAndRetry) {
  const std::string text =
      "\xEF\xBB\xBF: keep-alive\n\nid: 1\nfoo: bar\ndata:x\nretry: 1500\n\n"
      "event: ping\n\nid: 2\ndata\n\nretry: 12a\n\n";
  for (size_t chunk : {1u, 2u, 1000u}) {
    SseParser p(1 << 20);
    std::vector<SseEvent> out;
    for (size_t i = 0; i < text.size(); i += chunk) {
      ASSERT_TRUE(p.Feed(std::string_view(text).substr(i, chunk), &out).ok());
    }
    ASSERT_EQ(out.size(), 2u) << chunk;
    EXPECT_EQ(out[0].data, "x");
    EXPECT_EQ(out[0].last_event_id, "1");
    EXPECT_EQ(out[1].data, "");  // a bare "data" line dispatches an empty event
    EXPECT_EQ(out[1].last_event_id, "2");
    EXPECT_EQ(p.retry_ms(), 1500u);
  }
}

// Tests that an event without a blank line after it is not dispatched yet.
TEST(SseTest, IncompleteEventWaits) {
  SseParser p(1 << 20);
  std::vector<SseEvent> out;
  ASSERT_TRUE(p.Feed("data: {\"a\":", &out).ok());
  ASSERT_TRUE(p.Feed("1}\n", &out).ok());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(p.Feed("\n", &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "{\"a\":1}");
}

// Tests that an oversized line or event fails the parser for good.
TEST(SseTest, OversizedEventFails) {
  SseParser p(16);
  std::vector<SseEvent> out;
  EXPECT_FALSE(p.Feed("data: 0123456789abcdef0123\n", &out).ok());
  EXPECT_FALSE(p.Feed("\n", &out).ok());
  SseParser q(16);
  EXPECT_TRUE(q.Feed("data: 01234567\n", &out).ok());
  EXPECT_FALSE(q.Feed("data: 01234567\n", &out).ok());
  EXPECT_TRUE(out.empty());
}

// Tests that comments used as keep-alives never break the line structure.
TEST(SseTest, CommentFormatting) {
  EXPECT_EQ(FormatSseComment("keep\nalive"), ": keep alive\n\n");
  EXPECT_TRUE(ParseAll(FormatSseComment("x")).empty());
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
