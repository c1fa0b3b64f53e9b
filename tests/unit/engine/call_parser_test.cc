// Tests of the strict tool-call parser (call_parser.h).
#include "engine/call_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include <boost/json/serialize.hpp>

namespace interlock::engine {
namespace {

using ::testing::HasSubstr;

// Tests that a full call parses into its fields, with cost in micro-dollars.
TEST(CallParserTest, ParsesFullCall) {
  Result<ToolCall> c = ParseToolCall(
      R"({"tool":"update_order_status","args":{"status":"refunded","ids":[1,2]},
          "usage":{"tokens":1200,"cost_usd":0.0123455},"elapsed_s":12.5,"trace":"x"})");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->tool, "update_order_status");
  EXPECT_EQ(boost::json::serialize(c->args), R"({"status":"refunded","ids":[1,2]})");
  EXPECT_EQ(c->usage.tokens, 1200u);
  EXPECT_EQ(c->usage.cost_micros, 12346);  // llround(12345.5)
  ASSERT_TRUE(c->elapsed_s.has_value());
  EXPECT_DOUBLE_EQ(*c->elapsed_s, 12.5);
}

// Tests the minimal call: args absent means an empty object; usage absent means zero.
TEST(CallParserTest, ParsesMinimalCall) {
  Result<ToolCall> c = ParseToolCall(R"({"tool":"t"})");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->args.empty());
  EXPECT_EQ(c->usage.tokens, 0u);
  EXPECT_EQ(c->usage.cost_micros, 0);
  EXPECT_FALSE(c->elapsed_s.has_value());
}

struct Good {
  const char* text;
  uint64_t tokens;
  int64_t cost_micros;
};

// Tests accepted usage encodings: uint64 tokens, integer and exponent cost, the maximum.
TEST(CallParserTest, AcceptedUsage) {
  const std::vector<Good> rows = {
      {R"({"tool":"t","usage":{"tokens":18446744073709551615}})", UINT64_MAX, 0},
      {R"({"tool":"t","usage":{"tokens":0,"cost_usd":2}})", 0, 2000000},
      {R"({"tool":"t","usage":{"cost_usd":1e9}})", 0, 1000000000000000},
      {R"({"tool":"t","usage":{"cost_usd":1e-7}})", 0, 0},
      {R"({"tool":"t","usage":{"cost_usd":0.0000005}})", 0, 1},
      {R"({"tool":"t","usage":{}})", 0, 0},
  };
  for (const Good& g : rows) {
    SCOPED_TRACE(g.text);
    Result<ToolCall> c = ParseToolCall(g.text);
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->usage.tokens, g.tokens);
    EXPECT_EQ(c->usage.cost_micros, g.cost_micros);
  }
}

struct Bad {
  const char* name;
  std::string text;
  const char* message;
};

// Tests that every malformed call is an error with a message naming the problem.
TEST(CallParserTest, RejectsMalformedCalls) {
  const std::vector<Bad> rows = {
      {"not_json", "tool=x", "invalid JSON"},
      {"empty", "", "invalid JSON"},
      {"array", R"([{"tool":"t"}])", "must be a JSON object, got an array"},
      {"string_doc", R"("t")", "must be a JSON object"},
      {"no_tool", R"({"args":{}})", "no \"tool\""},
      {"tool_number", R"({"tool":7})", "\"tool\" must be a string, got a number"},
      {"tool_null", R"({"tool":null})", "must be a string"},
      {"tool_empty", R"({"tool":""})", "must not be empty"},
      {"tool_long", R"({"tool":")" + std::string(257, 'a') + "\"}", "the limit is 256"},
      {"tool_newline", R"({"tool":"a\nb"})", "control character"},
      {"tool_nul", R"({"tool":"a\u0000"})", "control character"},
      {"tool_del", "{\"tool\":\"a\x7f\"}", "control character"},
      {"args_array", R"({"tool":"t","args":[]})", "\"args\" must be an object, got an array"},
      {"args_null", R"({"tool":"t","args":null})", "must be an object, got null"},
      {"args_string", R"({"tool":"t","args":"{}"})", "must be an object"},
      {"usage_array", R"({"tool":"t","usage":[]})", "usage must be an object"},
      {"tokens_negative", R"({"tool":"t","usage":{"tokens":-1}})", "must not be negative"},
      {"tokens_string", R"({"tool":"t","usage":{"tokens":"10"}})", "got a string"},
      {"tokens_fraction", R"({"tool":"t","usage":{"tokens":1.5}})", "fractional"},
      {"tokens_double_integral", R"({"tool":"t","usage":{"tokens":10.0}})", "fractional"},
      {"tokens_overflow", R"({"tool":"t","usage":{"tokens":18446744073709551616}})",
       "non-negative integer"},
      {"tokens_1e400", R"({"tool":"t","usage":{"tokens":1e400}})", "does not fit a double"},
      {"cost_negative", R"({"tool":"t","usage":{"cost_usd":-0.01}})", "must not be negative"},
      {"cost_string", R"({"tool":"t","usage":{"cost_usd":"0.01"}})", "must be a number"},
      {"cost_huge", R"({"tool":"t","usage":{"cost_usd":1e10}})", "exceeds 1e9"},
      {"cost_overflow", R"({"tool":"t","usage":{"cost_usd":1e400}})", "does not fit"},
      {"cost_neg_overflow", R"({"tool":"t","usage":{"cost_usd":-1e400}})", "does not fit"},
      {"cost_nan", R"({"tool":"t","usage":{"cost_usd":NaN}})", "invalid JSON"},
      {"usage_unknown", R"({"tool":"t","usage":{"token":5}})", "unknown key \"token\""},
      {"usage_dup", R"({"tool":"t","usage":{"tokens":1,"tokens":99999}})", "duplicate"},
      {"elapsed_negative", R"({"tool":"t","elapsed_s":-1})", "finite number >= 0"},
      {"elapsed_string", R"({"tool":"t","elapsed_s":"5"})", "must be a number"},
      {"trailing", R"({"tool":"t"}x)", "trailing content"},
      {"comment", R"({"tool":"t"/*c*/})", "invalid JSON"},
      {"trailing_comma", R"({"tool":"t",})", "invalid JSON"},
      {"dup_unknown_key", R"({"tool":"t","x":1,"x":2})", "duplicate object key \"x\""},
  };
  for (const Bad& b : rows) {
    SCOPED_TRACE(b.name);
    Result<ToolCall> c = ParseToolCall(b.text);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_THAT(c.error().message, HasSubstr(b.message));
  }
}

// Tests that limits are honoured: a smaller max_bytes and max_depth reject earlier.
TEST(CallParserTest, HonoursLimits) {
  const std::string text = R"({"tool":"t","args":{"a":{"b":{"c":1}}}})";
  EXPECT_TRUE(ParseToolCall(text).ok());
  EXPECT_FALSE(ParseToolCall(text, JsonLimits{10, 64}).ok());
  EXPECT_FALSE(ParseToolCall(text, JsonLimits{1 << 20, 3}).ok());
  EXPECT_TRUE(ParseToolCall(text, JsonLimits{1 << 20, 4}).ok());
}

// Tests that ToolCallFromJson applies the same checks to an already-parsed document and
// leaves it untouched.
TEST(CallParserTest, FromJsonMatchesParse) {
  boost::json::value doc = {{"tool", "t"}, {"args", {{"a", 1}}}};
  Result<ToolCall> c = ToolCallFromJson(doc);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(boost::json::serialize(c->args), R"({"a":1})");
  EXPECT_EQ(boost::json::serialize(doc), R"({"tool":"t","args":{"a":1}})");
  EXPECT_FALSE(ToolCallFromJson(boost::json::value(nullptr)).ok());
  EXPECT_FALSE(UsageFromJson(boost::json::value(1)).ok());
  Result<Usage> u = UsageFromJson(boost::json::value{{"tokens", 3}, {"cost_usd", 0.5}});
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->tokens, 3u);
  EXPECT_EQ(u->cost_micros, 500000);
}

// Tests that a front door's refusal travels in the HTTP body and that a malformed one is
// rejected (the rule is a short identifier, the reason non-empty).
TEST(CallParserTest, ParsesRefusal) {
  auto ok = ParseToolCall(
      R"({"tool":"t","refusal":{"rule":"mcp.gateway","reason":"sent as a notification"}})");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->refusal_rule, "mcp.gateway");
  EXPECT_EQ(ok->refusal_reason, "sent as a notification");
  for (const char* bad : {R"({"tool":"t","refusal":"x"})", R"({"tool":"t","refusal":{"rule":"r"}})",
                          R"({"tool":"t","refusal":{"rule":"a b","reason":"x"}})",
                          R"({"tool":"t","refusal":{"rule":"r","reason":""}})",
                          R"({"tool":"t","refusal":{"rule":"r","reason":"x","extra":1}})"}) {
    EXPECT_FALSE(ParseToolCall(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace interlock::engine
