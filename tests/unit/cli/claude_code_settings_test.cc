// The managed settings of `interlock claude-code setup`, exactly (docs/claude-code.md), and
// the URLs it accepts.
#include "cli/claude_code_settings.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace interlock::cli {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

json::value Hook(const std::string& url, bool blocks) {
  json::object hook{{"type", "http"},
                    {"url", url},
                    {"headers", {{"Authorization", "Bearer $INTERLOCK_TOKEN"}}},
                    {"allowedEnvVars", json::array{"INTERLOCK_TOKEN"}}};
  if (blocks) {
    hook["onFailure"] = "block";
    hook["timeout"] = 30;
  }
  return json::array{json::object{{"matcher", "*"}, {"hooks", json::array{hook}}}};
}

// Tests that the settings have exactly the documented shape: six HTTP hooks with the
// bearer from $INTERLOCK_TOKEN (listed in allowedEnvVars, else Claude Code sends an empty
// string), onFailure block on the deciding events, and allowManagedHooksOnly (hooks of
// agent-writable settings files ignored). A missing key here is a hole on every machine.
TEST(ClaudeCodeSettingsTest, ManagedSettingsHaveTheExactShape) {
  const std::string url = "https://il.example.com/v1/hooks/claude-code";
  ManagedSettingsOptions o;
  o.hook_url = url;
  const json::value expected = {{"allowManagedHooksOnly", true},
                                {"hooks",
                                 {{"PreToolUse", Hook(url, true)},
                                  {"PermissionRequest", Hook(url, true)},
                                  {"PostToolUse", Hook(url, false)},
                                  {"PermissionDenied", Hook(url, false)},
                                  {"SubagentStart", Hook(url, false)},
                                  {"SubagentStop", Hook(url, false)}}}};
  EXPECT_EQ(json::value(ManagedSettings(o)), expected) << json::serialize(ManagedSettings(o));
}

// Tests that another token variable and timeout are carried into every hook.
TEST(ClaudeCodeSettingsTest, TokenVariableAndTimeoutAreUsedInEveryHook) {
  ManagedSettingsOptions o;
  o.hook_url = "http://127.0.0.1:8181/v1/hooks/claude-code";
  o.token_env = "ACME_IL_TOKEN";
  o.timeout_seconds = 45;
  const json::object s = ManagedSettings(o);
  for (std::string_view event : kClaudeCodeHookEvents) {
    const json::object& hook = s.at("hooks").at(event).at(0).at("hooks").at(0).as_object();
    EXPECT_EQ(hook.at("headers").at("Authorization"), "Bearer $ACME_IL_TOKEN") << event;
    EXPECT_EQ(hook.at("allowedEnvVars"), json::array{"ACME_IL_TOKEN"}) << event;
    if (ClaudeCodeEventBlocks(event)) {
      EXPECT_EQ(hook.at("timeout"), 45) << event;
    }
  }
}

// Tests that the indented text parses back to the same settings.
TEST(ClaudeCodeSettingsTest, IndentedTextParsesBackToTheSameSettings) {
  ManagedSettingsOptions o;
  o.hook_url = "https://il.example.com/v1/hooks/claude-code";
  const json::value settings = ManagedSettings(o);
  const std::string text = IndentedJson(settings);
  EXPECT_EQ(json::parse(text), settings);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_NE(text.find("\n  \"hooks\": {\n"), std::string::npos) << text;
}

// Tests that a daemon reached over the network must be https: a plain http hook would send
// every developer's token and every tool call's arguments in clear text.
TEST(ClaudeCodeSettingsTest, PlainHttpToAnotherHostIsRefused) {
  auto r = ClaudeCodeHookUrl("http://interlock.example.com:8181");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("https is required"), std::string::npos) << r.error().message;
  EXPECT_FALSE(ClaudeCodeHookUrl("http://10.0.0.5:8181").ok());
}

// Tests that a host that starts like loopback but is another name is refused: Boost.URL
// reads "http://127.0.0.1.attacker.example" as host 127.0.0.1, Claude Code connects to
// attacker.example over plain http.
TEST(ClaudeCodeSettingsTest, LoopbackLookalikeHostIsRefused) {
  EXPECT_FALSE(ClaudeCodeHookUrl("http://127.0.0.1.attacker.example:8181").ok());
  EXPECT_FALSE(ClaudeCodeHookUrl("http://127.0.0.1.attacker.example").ok());
  EXPECT_FALSE(ClaudeCodeHookUrl("http://localhost.attacker.example").ok());
}

// Tests that loopback may be plain http and that the hook path is appended once.
TEST(ClaudeCodeSettingsTest, LoopbackHttpAndPrefixesGiveTheHookUrl) {
  EXPECT_EQ(*ClaudeCodeHookUrl("http://127.0.0.1:8181"),
            "http://127.0.0.1:8181/v1/hooks/claude-code");
  EXPECT_EQ(*ClaudeCodeHookUrl("http://localhost:8181/"),
            "http://localhost:8181/v1/hooks/claude-code");
  EXPECT_EQ(*ClaudeCodeHookUrl("http://[::1]:8181"), "http://[::1]:8181/v1/hooks/claude-code");
  EXPECT_EQ(*ClaudeCodeHookUrl("https://il.example.com/interlock"),
            "https://il.example.com/interlock/v1/hooks/claude-code");
  EXPECT_EQ(*ClaudeCodeHookUrl("https://il.example.com/v1/hooks/claude-code"),
            "https://il.example.com/v1/hooks/claude-code");
  EXPECT_EQ(DaemonBaseOfHookUrl("https://il.example.com/p/v1/hooks/claude-code?on_approval=defer"),
            "https://il.example.com/p");
  EXPECT_EQ(DaemonBaseOfHookUrl("https://evil.example.com/collect"), "");
}

// Tests that a URL smuggling credentials, a query or another scheme is refused.
TEST(ClaudeCodeSettingsTest, UserInfoQueryAndOtherSchemesAreRefused) {
  EXPECT_FALSE(ClaudeCodeHookUrl("https://user:pw@il.example.com").ok());
  EXPECT_FALSE(ClaudeCodeHookUrl("https://il.example.com/?x=1").ok());
  EXPECT_FALSE(ClaudeCodeHookUrl("https://il.example.com/#f").ok());
  EXPECT_FALSE(ClaudeCodeHookUrl("ftp://il.example.com").ok());
  EXPECT_FALSE(ClaudeCodeHookUrl("il.example.com:8181").ok());
  EXPECT_FALSE(ClaudeCodeHookUrl("").ok());
}

// Tests the environment variable names the headers may use.
TEST(ClaudeCodeSettingsTest, EnvironmentVariableNames) {
  EXPECT_TRUE(IsEnvVarName("INTERLOCK_TOKEN"));
  EXPECT_TRUE(IsEnvVarName("_x1"));
  EXPECT_FALSE(IsEnvVarName(""));
  EXPECT_FALSE(IsEnvVarName("1X"));
  EXPECT_FALSE(IsEnvVarName("A-B"));
  EXPECT_FALSE(IsEnvVarName("$A"));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::cli
