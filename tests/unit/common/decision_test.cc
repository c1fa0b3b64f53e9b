// Tests of the decision codes and their JSON shape (interlock/decision.h).
#include "interlock/decision.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include <boost/json/serialize.hpp>

namespace interlock {
namespace {

// Tests that every code has a unique name that parses back to it (the codes are a
// stable contract) and that unknown names do not parse.
TEST(DecisionTest, CodeNamesRoundTrip) {
  std::set<std::string_view> names;
  for (int i = 0; i < kCodeCount; ++i) {
    const Code c = static_cast<Code>(i);
    const std::string_view name = CodeName(c);
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_EQ(ParseCode(name), c);
  }
  EXPECT_EQ(CodeName(Code::kAllowed), "ALLOWED");
  EXPECT_EQ(CodeName(Code::kRecordLimitExceeded), "RECORD_LIMIT_EXCEEDED");
  EXPECT_EQ(CodeName(Code::kAuditUnavailable), "AUDIT_UNAVAILABLE");
  EXPECT_FALSE(ParseCode("allowed").has_value());
  EXPECT_FALSE(ParseCode("").has_value());
  for (Verdict v : {Verdict::kAllow, Verdict::kDeny, Verdict::kApprovalRequired}) {
    EXPECT_EQ(ParseVerdict(VerdictName(v)), v);
  }
  EXPECT_FALSE(ParseVerdict("Allow").has_value());
}

// Tests the JSON of a plain deny: required fields present, optional ones absent.
TEST(DecisionTest, DenyJson) {
  const Decision d =
      DenyDecision(Code::kToolBlocked, "tool \"x\" is blocked", "tools.blocked[\"x\"]");
  EXPECT_EQ(boost::json::serialize(DecisionToJson(d)),
            R"({"decision":"deny","code":"TOOL_BLOCKED","reason":"tool \"x\" is blocked",)"
            R"("rule":"tools.blocked[\"x\"]"})");
}

// Tests the JSON of an approval with shadow fields and notifications.
TEST(DecisionTest, FullJson) {
  Decision d;
  d.verdict = Verdict::kApprovalRequired;
  d.code = Code::kApprovalRequired;
  d.reason = "r";
  d.rule = "x";
  d.at = "f.yaml:1:2";
  d.agent_id = "a";
  d.tool = "t";
  d.approval_timeout_seconds = 300;
  d.notifications.push_back({Notification::Kind::kEscalation, "#oncall", {"c1", "c2"}, "halt", ""});
  d.notifications.push_back({Notification::Kind::kFlagged, "#ch", {}, "flag", ""});
  const boost::json::object o = DecisionToJson(d);
  EXPECT_EQ(o.at("decision"), "approval_required");
  EXPECT_EQ(o.at("at"), "f.yaml:1:2");
  EXPECT_EQ(o.at("agent"), "a");
  EXPECT_EQ(o.at("tool"), "t");
  EXPECT_EQ(boost::json::serialize(o.at("approval")),
            R"({"timeout_seconds":300,"auto_deny_on_timeout":true,"approvals_required":1})");
  EXPECT_EQ(boost::json::serialize(o.at("notify")),
            R"([{"kind":"escalation","channel":"#oncall","contacts":["c1","c2"],"text":"halt"},)"
            R"({"kind":"flagged","channel":"#ch","contacts":[],"text":"flag"}])");
  EXPECT_FALSE(o.contains("shadow"));

  Decision s;
  s.verdict = Verdict::kAllow;
  s.code = Code::kAllowed;
  s.shadow_verdict = Verdict::kDeny;
  s.shadow_code = Code::kToolBlocked;
  const boost::json::object so = DecisionToJson(s);
  EXPECT_EQ(so.at("shadow"), true);
  EXPECT_EQ(so.at("shadow_decision"), "deny");
  EXPECT_EQ(so.at("shadow_code"), "TOOL_BLOCKED");
  EXPECT_FALSE(so.contains("approval"));
}

// Tests that a default-constructed Decision fails closed.
TEST(DecisionTest, DefaultIsDeny) {
  const Decision d;
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.code, Code::kInvalidRequest);
}

}  // namespace
}  // namespace interlock
