// Tests of the strict tool-call parser (call_parser.h).
#include "engine/call_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <boost/json/serialize.hpp>

namespace interlock::engine {
namespace INTERLOCK_TEST_NS {

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

// The strict path that ParseToolCall takes for anything its fast path leaves: the document,
// then the same checks as an HTTP body. The reference for the comparison below.
Result<ToolCall> StrictPath(std::string_view text, const JsonLimits& limits) {
  Result<boost::json::value> doc = ParseJsonStrict(text, limits);
  if (!doc.ok()) return doc.error();
  return ToolCallFromJson(*doc);
}

// Everything of a parsed call, numbers' kinds included (serialize prints 1 and 1.0 apart);
// or the error's message.
std::string Describe(const Result<ToolCall>& c) {
  if (!c.ok()) return "error: " + c.error().message;
  uint64_t elapsed_bits = 0;
  if (c->elapsed_s) std::memcpy(&elapsed_bits, &*c->elapsed_s, sizeof elapsed_bits);
  std::string labels;
  for (const std::string& l : c->declared_labels) labels += l + ",";
  return "tool=" + c->tool + " args=" + boost::json::serialize(c->args) +
         " tokens=" + std::to_string(c->usage.tokens) +
         " micros=" + std::to_string(c->usage.cost_micros) +
         " elapsed=" + (c->elapsed_s ? std::to_string(elapsed_bits) : "none") +
         " approval=" + c->approval_id + " refusal=" + c->refusal_rule + "/" + c->refusal_reason +
         " labels=" + labels;
}

// Tests that the fast path of ParseToolCall (the common shape, parsed without a document)
// gives exactly what the strict path gives, call or error message, on many generated
// lines: the common shapes, and each mutated (unicode, escapes, control bytes, huge and
// negative numbers, -0, exponents, duplicate keys, deep nesting, truncation, trailing
// bytes, whitespace, other members), under the default limits and tight ones.
TEST(CallParserTest, FastPathMatchesStrictPath) {
  std::mt19937_64 rng(12);
  auto pick = [&rng](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  const std::vector<std::string> strings = {
      R"("")",
      R"("a")",
      R"("read_customer_record")",
      R"("C-123")",
      R"("caf\u00e9")",
      "\"caf\xc3\xa9\"",
      "\"\xff\"",
      R"("a\"b")",
      R"("a\\b")",
      R"("tab\there")",
      "\"raw\ttab\"",
      "\"del\x7f\"",
      R"("\ud83d\ude00")",
      R"("\ud800")",
      "\"\xe2\x80\xa8\"",
      R"("order_history")",
      R"("a very long string that is longer than any SSO buffer")"};
  const std::vector<std::string> numbers = {
      "0", "-0", "1", "-1", "12", "007", "1.5", "-2.25", "0.0001", "1e3", "1E-7", "2.5e+2",
      "999999999999999999", "-999999999999999999", "9223372036854775807", "9223372036854775808",
      "18446744073709551615", "18446744073709551616", "123456789012345678901234567890", "1e400",
      "-1e400", "1e-400", "4.9e-324", "1.", ".5", "-", "1e", "0.1e", "1.7976931348623157e308",
      "0.30000000000000004", "-0.0", "1e9", "1000000001",
      // exponents Boost.JSON refuses past INT_MAX (exponent_overflow), even of a zero
      "-0E7199254740993", "0e2147483648", "0e-2147483649", "0e99999", "1e00000000000000000001"};
  std::function<std::string(int)> value = [&](int depth) -> std::string {
    switch (rng() % (depth > 4 ? 5 : 8)) {
      case 0:
      case 1:
        return pick(strings);
      case 2:
      case 3:
        return pick(numbers);
      case 4:
        return pick({"true", "false", "null", "nul", "tru"});
      case 5: {
        std::string o = "{";
        const int n = static_cast<int>(rng() % 4);
        for (int i = 0; i < n; ++i) {
          if (i > 0) o += ",";
          o += pick({R"("k")", R"("a")", R"("b")", R"("customer_id")", R"("k\n")"}) + ":" +
               value(depth + 1);
        }
        return o + "}";
      }
      default: {
        std::string a = "[";
        const int n = static_cast<int>(rng() % 4);
        for (int i = 0; i < n; ++i) a += (i > 0 ? "," : "") + value(depth + 1);
        return a + "]";
      }
    }
  };
  auto member = [&]() -> std::string {
    switch (rng() % 12) {
      case 0:
        return R"("tool":)" + pick(strings);
      case 1:
        return R"("args":{"n":)" + pick(numbers) + R"(,"s":)" + pick(strings) + "}";
      case 2:
        return R"("tool":)" + value(2);
      case 3:
      case 4:
        return R"("args":{"customer_id":)" + pick(strings) + R"(,"fields":[)" + pick(strings) +
               "]}";
      case 5:
        return R"("args":)" + value(2);
      case 6:
        return R"("usage":{"tokens":)" + pick(numbers) + R"(,"cost_usd":)" + pick(numbers) + "}";
      case 7:
        return R"("usage":)" + value(2);
      case 8:
        return R"("elapsed_s":)" + pick(numbers);
      case 9:
        return pick({R"("approval_id":"ap_1")", R"("trace":"x")",
                     R"("refusal":{"rule":"r","reason":"x"})",
                     R"("declared_labels":["destructive"])", R"("tool\u0020":1)"});
      default:
        return R"("tool":"t","args":{})";
    }
  };
  std::vector<std::string> lines = {
      R"({"tool":"read_customer_record","args":{"customer_id":"C-1","fields":["order_history"]},"usage":{"tokens":1,"cost_usd":0.0001}})",
      R"({"tool":"drop_table","args":{}})",
      R"( {"tool" : "t" , "args" : { } } )",
      R"({"tool":"t","args":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":{"l":{"m":{"n":{"o":{"p":1}}}}}}}}}}}}}}}}})",
      R"({"tool":"t","args":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]})",
      R"({"tool":"t"})",
      R"({"tool":"t","tool":"u"})",
      R"({"tool":"t","args":{"a":1,"a":2}})",
      R"({})",
      R"([])",
      R"({"tool":"t"} x)",
      R"({"tool":"t"}{})",
      R"({"tool":"t",})",
      R"({"tool":"t","args":{"a":[1,]}})",
      "{\"tool\":\"t\"}\r",
      "\xef\xbb\xbf{\"tool\":\"t\"}",
      R"({"tool":"t","usage":{"tokens":-1}})",
      R"({"tool":"t","usage":{"cost_usd":1e10}})",
      R"({"tool":"t","elapsed_s":-1})"};
  for (int i = 0; i < 20000; ++i) {
    // Mostly the common members, each at most once, in any order; some lines add any
    // member (another, or one repeated).
    std::vector<std::string> members;
    if (rng() % 8 != 0) {
      members.push_back(R"("tool":)" +
                        (rng() % 4 != 0 ? pick({R"("t")", R"("read_customer_record")", R"("a b")"})
                                        : pick(strings)));
    }
    if (rng() % 3 != 0) {
      std::string args = "{";
      const int n = static_cast<int>(rng() % 4);
      for (int m = 0; m < n; ++m) {
        args += (m > 0 ? "," : "") + pick({R"("customer_id")", R"("n")", R"("s")", R"("k")"}) +
                ":" + value(3);
      }
      members.push_back(R"("args":)" + args + "}");
    }
    if (rng() % 3 == 0) {
      members.push_back(R"("usage":{"tokens":)" + pick(numbers) + R"(,"cost_usd":)" +
                        pick(numbers) + "}");
    }
    if (rng() % 4 == 0) members.push_back(R"("elapsed_s":)" + pick(numbers));
    if (rng() % 6 == 0) members.push_back(member());
    std::shuffle(members.begin(), members.end(), rng);
    std::string line = "{";
    for (size_t m = 0; m < members.size(); ++m) line += (m > 0 ? "," : "") + members[m];
    line += "}";
    switch (rng() % 8) {  // some lines damaged
      case 0:
        line.resize(rng() % (line.size() + 1));
        break;
      case 1:
        line.insert(rng() % (line.size() + 1), 1, " \t\r\n,:{}[]\"\\x0-"[rng() % 16]);
        break;
      case 2:
        line = " \n" + line + " \t";
        break;
      default:
        break;
    }
    lines.push_back(std::move(line));
  }
  const std::vector<JsonLimits> limits = {{},
                                          {.max_bytes = 40, .max_depth = 64},
                                          {.max_bytes = 1 << 20, .max_depth = 1},
                                          {.max_bytes = 1 << 20, .max_depth = 2},
                                          {.max_bytes = 1 << 20, .max_depth = 3},
                                          {.max_bytes = 1 << 20, .max_depth = 0}};
  size_t accepted = 0;
  size_t common = 0;
  for (const std::string& line : lines) {
    for (const JsonLimits& l : limits) {
      const Result<ToolCall> fast = ParseToolCall(line, l);
      ASSERT_EQ(Describe(fast), Describe(StrictPath(line, l)))
          << line << " (max_bytes " << l.max_bytes << ", max_depth " << l.max_depth << ")";
      accepted += fast.ok() ? 1 : 0;
      // The fast path alone (the HTTP door's): what it takes is the strict path's call.
      ToolCall call;
      if (ParseCommonToolCall(line, l, &call)) {
        ASSERT_EQ(Describe(Result<ToolCall>(std::move(call))), Describe(StrictPath(line, l)))
            << line << " (max_bytes " << l.max_bytes << ", max_depth " << l.max_depth << ")";
        ++common;
      }
    }
  }
  EXPECT_GT(accepted, 1000u);  // both outcomes are exercised
  EXPECT_GT(common, 1000u);
}

// Tests that ParseToolCallInto (`interlock decide`'s in-place parse) gives the call or the
// error ParseToolCall gives, and leaves nothing of a call the fast path started to fill
// before it gave up (non-ASCII, an escape, a duplicate key, a bad usage late in the line).
TEST(CallParserTest, InPlaceParseMatchesParseToolCall) {
  const std::vector<std::string> lines = {
      R"({"tool":"read_customer_record","args":{"customer_id":"C-1","fields":["order_history"]},"usage":{"tokens":1,"cost_usd":0.0001}})",
      R"({"tool":"t","args":{"a":1,"b":"caf\u00e9"}})",
      "{\"tool\":\"t\",\"args\":{\"a\":1,\"b\":\"caf\xc3\xa9\"}}",
      R"({"tool":"t","args":{"a":1},"usage":{"tokens":1},"approval_id":"ap_1"})",
      R"({"tool":"t","args":{"a":1,"a":2}})",
      R"({"tool":"t","args":{"a":1},"usage":{"tokens":-1}})",
      R"({"tool":"t","args":{"a":[1,2,3]},"elapsed_s":2.5})",
      R"({"tool":"","args":{}})",
      R"({"tool":"t","args":{"s":"x"}} trailing)",
      "not json",
      ""};
  for (const std::string& line : lines) {
    ToolCall into;
    const Status in_place = ParseToolCallInto(line, {}, &into);
    const Result<ToolCall> parsed = ParseToolCall(line);
    if (in_place.ok()) {
      EXPECT_EQ(Describe(Result<ToolCall>(std::move(into))), Describe(parsed)) << line;
    } else {
      EXPECT_EQ(Describe(Result<ToolCall>(in_place.error())), Describe(parsed)) << line;
      EXPECT_EQ(Describe(Result<ToolCall>(std::move(into))), Describe(Result<ToolCall>(ToolCall{})))
          << line;
    }
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::engine
