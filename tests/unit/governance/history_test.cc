// The targeted JSON reader governance uses instead of parsing whole record bodies.
#include <gtest/gtest.h>

#include "governance/history.h"

namespace interlock::governance {
namespace INTERLOCK_TEST_NS {

// Tests that decision fields are extracted from a canonical decision body.
TEST(HistoryTest, ParsesDecisionFields) {
  const char* data =
      R"({"args":{"a":[1,{"b":"}"}]},"decision":{"code":"ALLOWED","decision":"allow",)"
      R"("reason":"x \"q\"","rule":"r"},"policy_sha256":"h","state_after":{"cost_usd":0.25,)"
      R"("elapsed_s":1.5,"halted":true,"records":{"t":3},"steps":7,"tokens":9},"tool":"t"})";
  DecisionFields f;
  ASSERT_TRUE(ParseDecisionFields(data, &f));
  EXPECT_EQ(f.tool, "\"t\"");
  EXPECT_EQ(f.args, R"({"a":[1,{"b":"}"}]})");
  EXPECT_EQ(f.code, "\"ALLOWED\"");
  EXPECT_EQ(f.steps_after, 7u);
  EXPECT_EQ(f.tokens, 9u);
  EXPECT_EQ(f.cost_micros, 250000);
  EXPECT_EQ(f.elapsed_ms, 1500);
  EXPECT_TRUE(f.halted_after);
  std::string_view t;
  ASSERT_TRUE(FindMember(f.records_after, "t", &t));
  EXPECT_EQ(t, "3");
  EXPECT_FALSE(ParseDecisionFields(R"({"tool":"t"})", &f));
  EXPECT_FALSE(ParseDecisionFields(R"({"tool":"t",)", &f));
}

// Tests the --since forms.
TEST(HistoryTest, ParsesSince) {
  EXPECT_EQ(*ParseSince("30d", 100 * 86400000LL), 70 * 86400000LL);
  EXPECT_EQ(*ParseSince("2h", 3 * 3600000LL), 3600000LL);
  EXPECT_EQ(*ParseSince("1970-01-02", 0), 86400000LL);
  EXPECT_FALSE(ParseSince("soon", 0).ok());
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::governance
