// JSON-RPC framing: classification, strictness and the bounded line reader.
#include "mcp/framing.h"

#include <unistd.h>

#include <gtest/gtest.h>

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

// Tests that messages are classified and malformed ones rejected.
TEST(FramingTest, ParseAndClassify) {
  auto req = ParseMessage(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})", 1024);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->kind, MessageKind::kRequest);
  EXPECT_EQ(req->method, "tools/list");
  auto note = ParseMessage(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", 1024);
  ASSERT_TRUE(note.ok());
  EXPECT_EQ(note->kind, MessageKind::kNotification);
  auto resp = ParseMessage(R"({"jsonrpc":"2.0","id":"a","result":{}})", 1024);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->kind, MessageKind::kResponse);
  auto batch = ParseMessage(R"([{"jsonrpc":"2.0","id":1,"method":"x"}])", 1024);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->kind, MessageKind::kBatch);

  for (const char* bad : {
           R"({"jsonrpc":"2.0","id":1,"method":"a","method":"b"})",  // duplicate key
           R"({"id":1,"method":"a"})",                               // no jsonrpc
           R"({"jsonrpc":"1.0","id":1,"method":"a"})",
           R"({"jsonrpc":"2.0","id":1.5,"method":"a"})",
           R"({"jsonrpc":"2.0","id":1,"result":{},"error":{}})",
           R"({"jsonrpc":"2.0","id":1,"method":"a","params":3})",
           R"("str")",
           "{",
       }) {
    EXPECT_FALSE(ParseMessage(bad, 1024).ok()) << bad;
  }
  EXPECT_FALSE(ParseMessage(R"({"jsonrpc":"2.0","id":1,"method":"aaaaaaaa"})", 10).ok());
}

// Tests that an id a JavaScript SDK would round into another one is refused as an Invalid
// Request (-32600), not a parse error: integers beyond +-(2^53-1), fractions, exponents;
// strings and every exact integer pass, and text that is not JSON is a parse error.
TEST(FramingTest, IdsOutsideTheExactRangeAreInvalidRequests) {
  for (const char* ok : {"9007199254740991", "-9007199254740991", "0", R"("9007199254740993")"}) {
    int code = 0;
    auto m = ParseMessage(std::string(R"({"jsonrpc":"2.0","id":)") + ok + R"(,"method":"ping"})",
                          1024, &code);
    EXPECT_TRUE(m.ok()) << ok;
  }
  for (const char* bad : {"9007199254740992", "9007199254740993", "-9007199254740992",
                          "18446744073709551615", "1.0", "2e0", "true", "{}"}) {
    int code = 0;
    auto m = ParseMessage(std::string(R"({"jsonrpc":"2.0","id":)") + bad + R"(,"method":"ping"})",
                          1024, &code);
    EXPECT_FALSE(m.ok()) << bad;
    EXPECT_EQ(code, kInvalidRequest) << bad;
  }
  int code = 0;
  EXPECT_FALSE(ParseMessage("{", 1024, &code).ok());
  EXPECT_EQ(code, kParseError);
}

// Tests that the reader splits lines, drops oversized ones whole and stays in sync.
TEST(FramingTest, LineReaderBounded) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  const std::string data = "one\r\n" + std::string(100, 'x') + "\ntwo\nlast";
  ASSERT_TRUE(WriteAll(p[1], data));
  close(p[1]);
  LineReader r(p[0], 50);
  std::string line;
  ASSERT_EQ(r.Next(&line), LineReader::Status::kLine);
  EXPECT_EQ(line, "one");
  EXPECT_EQ(r.Next(&line), LineReader::Status::kOversized);
  ASSERT_EQ(r.Next(&line), LineReader::Status::kLine);
  EXPECT_EQ(line, "two");
  ASSERT_EQ(r.Next(&line), LineReader::Status::kLine);
  EXPECT_EQ(line, "last");
  EXPECT_EQ(r.Next(&line), LineReader::Status::kClosed);
  close(p[0]);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
