// ParseHookInput: the Claude Code PreToolUse input, table-driven over good and bad input.
#include "doors/claude_code/contract.h"

#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace interlock::claude_code {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(INTERLOCK_SOURCE_DIR) +
                   "/tests/integration/mcp/fixtures/claude_code_hook/" + name);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Tests that a recorded Claude Code input yields the session, tool and tool_input, and
// nothing of the envelope (cwd, transcript_path, tool_use_id) leaks into the call.
TEST(HookInputTest, RecordedInputParses) {
  auto in = ParseHookInput(Fixture("edit.json"));
  ASSERT_TRUE(in.ok()) << in.error().message;
  EXPECT_EQ(in->session_id, "4f6a2c1e-8d3b-4a52-9e71-0c5b2d9f3a18");
  EXPECT_EQ(in->tool_name, "Edit");
  EXPECT_EQ(in->tool_input.at("file_path"), "/home/dev/shop/src/cart.ts");
  EXPECT_FALSE(in->tool_input.contains("tool_use_id"));
}

// Tests that a retry of the same call (Claude Code gives it a new tool_use_id) yields an
// identical call, so the daemon can attach it to the pending approval of the first one.
TEST(HookInputTest, RetryWithANewToolUseIdIsTheIdenticalCall) {
  json::value first = json::parse(Fixture("bash.json"));
  json::value retry = first;
  retry.as_object()["tool_use_id"] = "toolu_01ZZZZZZZZZZZZZZZZZZZZZZ";
  auto a = ParseHookInput(json::serialize(first));
  auto b = ParseHookInput(json::serialize(retry));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->tool_name, b->tool_name);
  EXPECT_EQ(json::serialize(a->tool_input), json::serialize(b->tool_input));
}

// Tests that malformed inputs are errors with a reason, never a call.
TEST(HookInputTest, BadInputsAreErrors) {
  const std::string deep = std::string(200, '[') + std::string(200, ']');
  for (const std::string& bad : std::vector<std::string>{
           "", "{tool_name: Read", "[1,2]", "null",
           R"({"session_id":"s","tool_name":"Read","tool_name":"Write"})",
           R"({"session_id":"s","tool_input":{}})", R"({"tool_name":"Read"})",
           R"({"session_id":"","tool_name":"Read"})", R"({"session_id":"s","tool_name":7})",
           R"({"session_id":"s","tool_name":"Read","tool_input":"rm -rf /"})",
           R"({"session_id":"s","hook_event_name":"PostToolUse","tool_name":"Read"})",
           R"({"session_id":"s","tool_name":"Read","tool_input":{"a":)" + deep + "}}",
           std::string(kMaxHookInputBytes + 1, ' ')}) {
    auto in = ParseHookInput(bad);
    EXPECT_FALSE(in.ok()) << bad.substr(0, 80);
    if (!in.ok()) {
      EXPECT_FALSE(in.error().message.empty());
    }
  }
  EXPECT_TRUE(ParseHookInput(R"({"session_id":"s","tool_name":"Read"})").ok());
}

// Tests that a recorded PostToolUse input yields the call and the tool's response, and
// that a PreToolUse input (or one without an event name) is never read as a report that
// the tool ran.
TEST(HookInputTest, PostToolUseNeedsItsOwnEvent) {
  auto in = ParseHookInput(Fixture("post_tool_use/bash.json"), HookEvent::kPostToolUse);
  ASSERT_TRUE(in.ok()) << in.error().message;
  EXPECT_EQ(in->tool_name, "Bash");
  EXPECT_EQ(in->tool_input.at("command"), "npm test -- --watch=false");
  EXPECT_EQ(in->tool_response.at("interrupted"), false);
  EXPECT_FALSE(ParseHookInput(Fixture("bash.json"), HookEvent::kPostToolUse).ok());
  EXPECT_FALSE(ParseHookInput(R"({"session_id":"s","tool_name":"Bash","tool_response":{}})",
                              HookEvent::kPostToolUse)
                   .ok());
  EXPECT_FALSE(ParseHookInput(Fixture("post_tool_use/bash.json")).ok());
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::claude_code
