// Adversarial inputs end to end: bytes in, decision out (parse, then Evaluate).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include <boost/json.hpp>

#include "engine/call_parser.h"
#include "engine/engine.h"
#include "seed_policy.h"

namespace interlock::engine {
namespace INTERLOCK_TEST_NS {

using ::interlock::testing::SeedPolicy;
using ::interlock::testing::TestNow;
using ::testing::HasSubstr;

// The decision a front door gives for raw bytes: INVALID_REQUEST when they do not parse.
Decision DecideBytes(const policy::AgentPolicy& p, std::string_view text) {
  Result<ToolCall> call = ParseToolCall(text);
  if (!call.ok()) return DenyDecision(Code::kInvalidRequest, call.error().message, "request");
  return Evaluate(&p, RunState{}, *call, EvalContext{TestNow(), {}}).decision;
}

struct Row {
  const char* name;
  std::string text;
  Code code;
  const char* reason;
};

// Tests that crafted names and documents are denied with the right code, never mapped
// onto an allowed entry.
TEST(EngineAdversarialTest, CraftedInputs) {
  const policy::AgentPolicy p = SeedPolicy();
  const std::vector<Row> rows = {
      {"dup_tool_key", R"({"tool":"read_customer_record","tool":"delete_customer_record"})",
       Code::kInvalidRequest, "duplicate object key \"tool\""},
      {"dup_tool_key_reversed",
       R"({"tool":"delete_customer_record","tool":"read_customer_record"})", Code::kInvalidRequest,
       "duplicate"},
      {"dup_args_key",
       R"({"tool":"update_order_status","args":{"status":"refunded","status":"deleted"}})",
       Code::kInvalidRequest, "duplicate object key \"status\""},
      {"dup_nested_key",
       R"({"tool":"read_customer_record","args":{"q":{"a":1,"b":{"c":1,"c":2}}}})",
       Code::kInvalidRequest, "duplicate object key \"c\""},
      {"dup_key_escaped",
       R"({"tool":"update_order_status","args":{"status":"refunded","st\u0061tus":"deleted"}})",
       Code::kInvalidRequest, "duplicate"},
      {"nul_in_name", std::string("{\"tool\":\"read_customer_record\\u0000\"}"),
       Code::kInvalidRequest, "control character"},
      {"escaped_name_matches", R"({"tool":"read\u005fcustomer_record"})", Code::kAllowed,
       "allowed"},
      {"status_type_confusion",
       R"({"tool":"update_order_status","args":{"status":["refunded","deleted"]}})",
       Code::kConstraintViolated, "allowed"},
      {"status_as_object", R"({"tool":"update_order_status","args":{"status":{"refunded":true}}})",
       Code::kConstraintViolated, "allowed"},
      {"number_overflow", R"({"tool":"read_customer_record","args":{"n":1e400}})",
       Code::kInvalidRequest, "does not fit a double"},
      {"trailing_garbage", R"({"tool":"read_customer_record"} {"tool":"x"})", Code::kInvalidRequest,
       "trailing content"},
      {"invalid_utf8", "{\"tool\":\"read_customer_record\",\"args\":{\"x\":\"\xff\"}}",
       Code::kInvalidRequest, "invalid JSON"},
      {"overlong_utf8_slash", "{\"tool\":\"read\xc0\xaf\"}", Code::kInvalidRequest, "invalid JSON"},
      {"not_object", R"(["read_customer_record"])", Code::kInvalidRequest, "must be a JSON object"},
      {"scope_dup_field",
       R"({"tool":"read_customer_record","args":{"fields":["ssn"],"fields":[]}})",
       Code::kInvalidRequest, "duplicate"},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.name);
    const Decision d = DecideBytes(p, r.text);
    EXPECT_EQ(CodeName(d.code), CodeName(r.code)) << d.reason;
    EXPECT_THAT(d.reason, HasSubstr(r.reason));
    EXPECT_TRUE(d.verdict != Verdict::kAllow || r.code == Code::kAllowed);
  }
}

// Tests that a 100k-item array is counted as 100k records and denied by the record limit,
// without crashing or being slow.
// A name quoted in a reason is escaped whatever the position of its quote, backslash,
// control byte or DEL (the scan reads eight bytes at a time), so a crafted tool name
// cannot close the quote and forge the rest of the reason; bytes of 0x80 and up (UTF-8)
// are written as they are.
TEST(EngineAdversarialTest, QuoteInToolNameIsEscapedAtEveryPosition) {
  const policy::AgentPolicy p = SeedPolicy();
  const std::string base = "unknown_tool_name_of_24b";
  for (const char special : {'"', '\\', '\x01', '\x1f', '\x7f', '\xc3', '\x80', '\xff'}) {
    for (size_t at = 0; at <= base.size(); ++at) {
      ToolCall call;
      call.tool = base;
      call.tool.insert(at, 1, special);
      const Decision d = Evaluate(&p, RunState{}, call, EvalContext{TestNow(), {}}).decision;
      ASSERT_EQ(d.code, Code::kToolNotAllowed);
      const auto b = static_cast<unsigned char>(special);
      const std::string quoted = b >= 0x80 ? "\"" + call.tool + "\""
                                           : boost::json::serialize(boost::json::string(call.tool));
      EXPECT_THAT(d.reason, HasSubstr("tool " + quoted + " is not in")) << int(b) << " at " << at;
    }
  }
}

TEST(EngineAdversarialTest, HugeArrayCountsRecords) {
  const policy::AgentPolicy p = SeedPolicy();
  std::string text = R"({"tool":"update_order_status","args":{"status":"refunded","ids":[)";
  for (int i = 0; i < 100000; ++i) text += (i ? ",1" : "1");
  text += "]}}";
  Result<ToolCall> call = ParseToolCall(text);
  ASSERT_TRUE(call.ok()) << call.error().message;
  const Evaluation ev = Evaluate(&p, RunState{}, *call, EvalContext{TestNow(), {}});
  EXPECT_EQ(ev.effects.records, 100000u);
  EXPECT_EQ(ev.decision.code, Code::kRecordLimitExceeded);
  EXPECT_THAT(ev.decision.reason, HasSubstr("100000 records"));
}

// Tests that deep nesting in args is an error at the depth limit, not a stack overflow.
TEST(EngineAdversarialTest, DeepNestingIsRejected) {
  const std::string text =
      R"({"tool":"read_customer_record","args":{"x":)" + std::string(100000, '[');
  Result<ToolCall> call = ParseToolCall(text);
  ASSERT_FALSE(call.ok());
  EXPECT_THAT(call.error().message, HasSubstr("deeper than 64"));
}

// Tests that an oversized document is refused before parsing.
TEST(EngineAdversarialTest, OversizedInputIsRejected) {
  std::string text = R"({"tool":"read_customer_record","args":{"pad":")";
  text += std::string(2 << 20, 'a');
  text += "\"}}";
  Result<ToolCall> call = ParseToolCall(text);
  ASSERT_FALSE(call.ok());
  EXPECT_THAT(call.error().message, HasSubstr("the limit is 1048576"));
}

// Tests that a huge number in a range-constrained argument neither wraps nor passes.
TEST(EngineAdversarialTest, HugeNumbersNeverWrap) {
  policy::AgentPolicy p = SeedPolicy();
  policy::ArgConstraint c;
  c.argument = "quantity";
  c.rule = R"(tools.allowed["update_order_status"].constraints.quantity)";
  c.max = 10;
  c.min = 0;
  p.allowed.at("update_order_status").constraints.push_back(c);
  for (const char* q : {"1e308", "18446744073709551615", "9223372036854775807", "-1e308",
                        "-9223372036854775808", "10.000000000000002"}) {
    SCOPED_TRACE(q);
    const std::string text =
        std::string(R"({"tool":"update_order_status","args":{"status":"refunded","quantity":)") +
        q + "}}";
    EXPECT_EQ(DecideBytes(p, text).code, Code::kConstraintViolated);
  }
  EXPECT_EQ(DecideBytes(p, R"({"tool":"update_order_status","args":{"status":"refunded",
                              "quantity":10}})")
                .code,
            Code::kAllowed);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::engine
