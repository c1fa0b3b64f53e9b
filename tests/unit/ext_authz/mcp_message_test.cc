// Reading the MCP message a gateway forwards (doors/ext_authz/mcp_message.h).
#include "doors/ext_authz/mcp_message.h"

#include <string>

#include <gtest/gtest.h>

namespace interlock::doors::ext_authz {
namespace {

constexpr size_t kMax = 1 << 16;

bool ReadOk(const std::string& body, const Headers& h, McpMessage* m, McpRefusal* r) {
  return ReadMcpMessage(body, h, kMax, m, r);
}

// Tests that a tools/call of either revision reads its tool, arguments and id.
TEST(McpMessageTest, ToolCallReadsToolArgumentsAndId) {
  McpMessage m;
  McpRefusal r;
  ASSERT_TRUE(ReadOk(R"({"jsonrpc":"2.0","id":"a","method":"tools/call",)"
                     R"("params":{"name":"read_file","arguments":{"path":"/x"}}})",
                     {}, &m, &r))
      << r.message;
  EXPECT_EQ(m.kind, McpMessage::Kind::kToolCall);
  EXPECT_EQ(m.tool, "read_file");
  EXPECT_EQ(m.args.at("path").as_string(), "/x");
  EXPECT_EQ(m.id.as_string(), "a");
  EXPECT_FALSE(m.modern);
  McpMessage modern;
  ASSERT_TRUE(ReadOk(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t",)"
                     R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}})",
                     {{"mcp-protocol-version", "2026-07-28"},
                      {"mcp-method", "tools/call"},
                      {"mcp-name", "=?base64?dA==?="}},
                     &modern, &r))
      << r.message;
  EXPECT_TRUE(modern.modern);
}

// Tests that a body that is not a JSON-RPC message is refused with the right code.
TEST(McpMessageTest, MalformedBodiesAreRefused) {
  const struct {
    const char* body;
    int code;
  } kCases[] = {
      {"{", -32700},
      {R"({"a":1,"a":2})", -32700},
      {"[]", -32600},
      {"7", -32600},
      {R"({"id":1,"method":"tools/call"})", -32600},
      {R"({"jsonrpc":"2.0","id":1.5,"method":"x"})", -32600},
      {R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":[]})", -32600},
      {R"({"jsonrpc":"2.0","method":"tools/call","params":{"name":"x"}})", -32600},
      {R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}})", -32602},
      {R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":1}})",
       -32602},
      {R"({"jsonrpc":"2.0","id":1,"method":"tools/ca ll","params":{"name":"x"}})", -32600},
  };
  for (const auto& k : kCases) {
    McpMessage m;
    McpRefusal r;
    EXPECT_FALSE(ReadOk(k.body, {}, &m, &r)) << k.body;
    EXPECT_EQ(r.rpc_code, k.code) << k.body << ": " << r.message;
  }
}

// Tests that headers disagreeing with the body are refused (-32020), and that the refusal
// still names the tool the body aimed at, for the audit record.
TEST(McpMessageTest, HeadersDisagreeingWithTheBodyAreRefused) {
  const std::string call = R"({"jsonrpc":"2.0","id":1,"method":"tools/call",)"
                           R"("params":{"name":"delete_all"}})";
  for (const Headers& h :
       {Headers{{"mcp-name", "read_file"}}, Headers{{"mcp-method", "tools/list"}},
        Headers{{"mcp-protocol-version", "2026-07-28"}}, Headers{{"mcp-name", "=?base64?!!?="}}}) {
    McpMessage m;
    McpRefusal r;
    EXPECT_FALSE(ReadOk(call, h, &m, &r));
    EXPECT_EQ(r.rpc_code, -32020) << r.message;
    EXPECT_EQ(r.tool, "delete_all");
  }
  McpMessage m;
  McpRefusal r;
  EXPECT_FALSE(
      ReadOk(R"({"jsonrpc":"2.0","id":1,"result":{}})", {{"mcp-method", "tools/call"}}, &m, &r));
}

// Tests the methods forwarded unread, and that a look-alike of tools/call is caught.
TEST(McpMessageTest, ForwardedMethodsAndLookalikes) {
  EXPECT_TRUE(ForwardedClientMethod("tools/list"));
  EXPECT_TRUE(ForwardedClientMethod("initialize"));
  EXPECT_FALSE(ForwardedClientMethod("tools/call"));
  EXPECT_TRUE(LooksLikeToolsCall("Tools/Call"));
  EXPECT_TRUE(LooksLikeToolsCall("tools_call"));
  EXPECT_TRUE(LooksLikeToolsCall("\xEF\xBD\x94ools/call"));  // a full-width t
  EXPECT_FALSE(LooksLikeToolsCall("tools/list"));
}

}  // namespace
}  // namespace interlock::doors::ext_authz
