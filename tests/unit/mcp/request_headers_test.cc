// The 2026-07-28 request headers (MCP-Protocol-Version, Mcp-Method, Mcp-Name) checked
// against the JSON-RPC body (mcp/request_headers.h).
#include "mcp/request_headers.h"

#include <gtest/gtest.h>

#include <string>

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

Message Parse(const std::string& line) {
  auto m = ParseMessage(line, kMaxClientMessageBytes);
  EXPECT_TRUE(m.ok()) << line;
  return m.ok() ? *m : Message{};
}

Message ModernCall(const std::string& tool, const std::string& version = "2026-07-28") {
  return Parse(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":")" + tool +
               R"(","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":")" +
               version + R"("}}})");
}

RequestHeaders Headers(std::optional<std::string> method, std::optional<std::string> name,
                       std::optional<std::string> version = "2026-07-28") {
  return RequestHeaders{std::move(version), std::move(method), std::move(name)};
}

// Tests that headers agreeing with the body pass, plain or in the Base64 sentinel form.
TEST(McpRequestHeadersTest, AgreeingHeadersPass) {
  EXPECT_TRUE(CheckRequestHeaders(Headers("tools/call", "echo"), ModernCall("echo"), true).ok());
  EXPECT_TRUE(
      CheckRequestHeaders(Headers("tools/call", "=?base64?ZWNobw==?="), ModernCall("echo"), true)
          .ok());
  EXPECT_TRUE(
      CheckRequestHeaders(Headers("tools/call", "=?base64?ZWNobw?="), ModernCall("echo"), true)
          .ok());
  // A legacy request without the headers is not held to them.
  EXPECT_TRUE(CheckRequestHeaders(Headers(std::nullopt, std::nullopt, std::nullopt),
                                  Parse(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})"), false)
                  .ok());
}

// Tests that a body calling a tool under headers saying tools/list is refused, and so is an
// Mcp-Name naming another tool, whatever the revision.
TEST(McpRequestHeadersTest, HeaderSayingToolsListOverAToolCallIsRefused) {
  for (bool modern : {true, false}) {
    EXPECT_FALSE(
        CheckRequestHeaders(Headers("tools/list", "echo"), ModernCall("echo"), modern).ok());
    EXPECT_FALSE(
        CheckRequestHeaders(Headers("tools/call", "echo"), ModernCall("read_text_file"), modern)
            .ok());
    EXPECT_FALSE(
        CheckRequestHeaders(Headers("Tools/Call", "echo"), ModernCall("echo"), modern).ok());
  }
}

// Tests that a modern request missing a required header, or whose version header disagrees
// with its _meta, is refused.
TEST(McpRequestHeadersTest, ModernRequestsNeedTheirHeaders) {
  EXPECT_FALSE(CheckRequestHeaders(Headers(std::nullopt, "echo"), ModernCall("echo"), true).ok());
  EXPECT_FALSE(
      CheckRequestHeaders(Headers("tools/call", std::nullopt), ModernCall("echo"), true).ok());
  EXPECT_FALSE(
      CheckRequestHeaders(Headers("tools/call", "echo", std::nullopt), ModernCall("echo"), true)
          .ok());
  EXPECT_FALSE(
      CheckRequestHeaders(Headers("tools/call", "echo", "2025-11-25"), ModernCall("echo"), true)
          .ok());
  EXPECT_FALSE(CheckRequestHeaders(Headers("tools/call", "echo"),
                                   Parse(R"({"jsonrpc":"2.0","id":1,"method":"tools/call",)"
                                         R"("params":{"name":"echo"}})"),
                                   true)
                   .ok());
  // resources/read mirrors params.uri.
  const Message read =
      Parse(R"({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a",)"
            R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}})");
  EXPECT_TRUE(CheckRequestHeaders(Headers("resources/read", "file:///a"), read, true).ok());
  EXPECT_FALSE(CheckRequestHeaders(Headers("resources/read", "file:///b"), read, true).ok());
}

// Tests that header values with control characters or broken Base64 are refused, and that
// the sentinel's markers must be exact.
TEST(McpRequestHeadersTest, MalformedHeaderValuesAreRefused) {
  EXPECT_FALSE(DecodeHeaderValue("ec\x01ho").ok());
  EXPECT_FALSE(DecodeHeaderValue("ec\nho").ok());
  EXPECT_FALSE(DecodeHeaderValue("=?base64?!!!?=").ok());
  EXPECT_FALSE(DecodeHeaderValue("=?base64?ZW-obw?=").ok());
  EXPECT_EQ(DecodeHeaderValue("=?BASE64?ZWNobw==?=").value(), "=?BASE64?ZWNobw==?=");
  EXPECT_FALSE(
      CheckRequestHeaders(Headers("tools/call", "=?base64?ZWNobw=X?="), ModernCall("echo"), true)
          .ok());
}

// Tests that a response (the client's answer to a server request) under a Mcp-Method or
// Mcp-Name header is refused: a router acting on the header would take it for a request the
// body is not (found by fuzz/mcp_request_headers).
TEST(McpRequestHeadersTest, MethodHeaderOverAResponseIsRefused) {
  const Message response = Parse(R"({"jsonrpc":"2.0","id":1,"result":{"content":[]}})");
  for (bool modern : {false, true}) {
    EXPECT_FALSE(CheckRequestHeaders(Headers("tools/list", std::nullopt), response, modern).ok());
    EXPECT_FALSE(CheckRequestHeaders(Headers(std::nullopt, "echo"), response, modern).ok());
  }
  EXPECT_TRUE(
      CheckRequestHeaders(Headers(std::nullopt, std::nullopt, std::nullopt), response, false).ok());
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
