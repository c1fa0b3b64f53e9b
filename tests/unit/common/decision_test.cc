// Tests of the decision codes and their JSON shape (interlock/decision.h).
#include "interlock/decision.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <boost/json/serialize.hpp>

#include "common/decision_json.h"
#include "common/json.h"
#include "common/json_write.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

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
  EXPECT_EQ(CodeName(Code::kWorkflowViolation), "WORKFLOW_VIOLATION");
  EXPECT_EQ(CodeName(Code::kFlowViolation), "FLOW_VIOLATION");
  EXPECT_EQ(CodeName(Code::kRateLimited), "RATE_LIMITED");
  EXPECT_EQ(CodeName(Code::kQuotaExceeded), "QUOTA_EXCEEDED");
  EXPECT_EQ(ParseCode("QUOTA_EXCEEDED"), Code::kQuotaExceeded);
  EXPECT_FALSE(ParseCode("allowed").has_value());
  EXPECT_FALSE(ParseCode("").has_value());
  for (Verdict v : {Verdict::kAllow, Verdict::kDeny, Verdict::kApprovalRequired}) {
    EXPECT_EQ(ParseVerdict(VerdictName(v)), v);
  }
  EXPECT_FALSE(ParseVerdict("Allow").has_value());
}

// Tests that every name the decision writer puts in JSON without escaping
// (JsonObjectWriter::Word) is a plain word that needs none: its quoted form is the one
// AppendJsonString writes.
TEST(DecisionTest, NamesWrittenAsWordsNeedNoEscaping) {
  std::vector<std::string_view> words;
  for (int i = 0; i < kCodeCount; ++i) words.push_back(CodeName(static_cast<Code>(i)));
  for (Verdict v : {Verdict::kAllow, Verdict::kDeny, Verdict::kApprovalRequired}) {
    words.push_back(VerdictName(v));
  }
  for (std::string_view w : words) {
    std::string escaped;
    AppendJsonString(w, &escaped);
    EXPECT_EQ(escaped, "\"" + std::string(w) + "\"") << w;
    std::string text;
    JsonObjectWriter o(JsonStyle::kCanonical, &text);
    o.Word("code", w);
    o.End();
    EXPECT_EQ(text, "{\"code\":" + escaped + "}");
  }
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
  d.notifications.push_back(
      {Notification::Kind::kEscalation, "#oncall", {"c1", "c2"}, "halt", "", "", ""});
  d.notifications.push_back({Notification::Kind::kFlagged, "#ch", {}, "flag", "", "", ""});
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

// Tests that the decision `interlock decide` writes straight into its output buffer is
// byte for byte the object every other door prints (ToJsonText(DecisionToJson)), over a
// corpus of every verdict and code, optional members on and off, and texts with quotes,
// backslashes, control characters, non-ASCII and invalid UTF-8 a hostile call could put
// into a reason. A drift would let `decide` show a different decision than the daemon.
TEST(DecisionTest, AppendedMembersMatchDecisionToJson) {
  const std::vector<std::string> texts = {"",
                                          "plain",
                                          "tool \"x\" is blocked",
                                          "back\\slash",
                                          "ctl\x01\x1f\b\f\n\r\t",
                                          "caf\xc3\xa9 \xe2\x80\xa8",
                                          "bad \xff\xfe utf8",
                                          std::string("nul\0byte", 8),
                                          std::string(300, 'z')};
  size_t cases = 0;
  for (int v = 0; v < 3; ++v) {
    for (int c = 0; c < kCodeCount; ++c) {
      for (size_t t = 0; t < texts.size(); ++t) {
        Decision d;
        d.verdict = static_cast<Verdict>(v);
        d.code = static_cast<Code>(c);
        d.reason = texts[t];
        d.rule = texts[(t + 1) % texts.size()];
        d.at = texts[(t + 2) % texts.size()];
        d.agent_id = texts[(t + 3) % texts.size()];
        d.tool = texts[(t + 4) % texts.size()];
        if ((c + t) % 3 == 0) d.shadow_verdict = static_cast<Verdict>((v + 1) % 3);
        if ((c + t) % 3 == 0 && t % 2 == 0) d.shadow_code = static_cast<Code>((c + 3) % kCodeCount);
        d.approval_timeout_seconds = static_cast<int>(t) * 37 - 5;
        d.auto_deny_on_timeout = t % 2 == 0;
        d.approvals_required = static_cast<int>(t % 4);
        for (size_t n = 0; n < (c + t) % 3; ++n) {
          Notification no;
          no.kind = n % 2 == 0 ? Notification::Kind::kEscalation : Notification::Kind::kFlagged;
          no.channel = texts[(t + n) % texts.size()];
          for (size_t k = 0; k < n + t % 3; ++k)
            no.contacts.push_back(texts[(t + k) % texts.size()]);
          no.text = texts[(t + 5) % texts.size()];
          no.event = "approval_requested";
          d.notifications.push_back(no);
        }
        std::string appended = "{";
        AppendDecisionJsonMembers(d, &appended);
        appended += "}";
        ASSERT_EQ(appended, ToJsonText(DecisionToJson(d)))
            << "verdict " << v << " code " << c << " text " << t;
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 3u * kCodeCount * texts.size());
}

// Tests the scalar writers against the value printer, doubles included (readable form,
// non-finite as Boost prints them), so that `decide`'s run totals match too.
TEST(DecisionTest, ScalarWritersMatchToJsonText) {
  for (double d : {0.0, -0.0, 0.5, 0.02, 1e-7, 1e-300, 1e300, 123456789.125, 0.0001, 2.0,
                   std::numeric_limits<double>::infinity(), std::nan("")}) {
    std::string out;
    AppendJsonDouble(d, JsonStyle::kReadable, &out);
    EXPECT_EQ(out, ToJsonText(boost::json::value(d))) << d;
  }
  for (int64_t i : {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    std::string out;
    AppendJsonInt(i, &out);
    EXPECT_EQ(out, ToJsonText(boost::json::value(i)));
  }
  for (uint64_t u : {uint64_t{0}, std::numeric_limits<uint64_t>::max()}) {
    std::string out;
    AppendJsonUint(u, &out);
    EXPECT_EQ(out, ToJsonText(boost::json::value(u)));
  }
}

// A decision with every member the serialiser writes, doubles in its JSON values included.
Decision EveryMember() {
  Decision d;
  d.verdict = Verdict::kApprovalRequired;
  d.code = Code::kApprovalRequired;
  d.reason = "needs \"approval\"\n\x01 caf\xc3\xa9";
  d.rule = "tools.allowed[\"refund\"]";
  d.at = "p.yaml:7:9";
  d.agent_id = "agent-1";
  d.tool = "refund";
  d.shadow_verdict = Verdict::kDeny;
  d.shadow_code = Code::kToolBlocked;
  d.approval_timeout_seconds = 300;
  d.approvals_required = 2;
  d.retry_after_s = 12;
  d.declared_labels = {"pii", "x\ty"};
  Rehearsal r;
  r.args = boost::json::object{{"z", 0.02}, {"a", {1, 2.5, "s"}}};
  r.upstream = "staging";
  d.rehearsal = r;
  d.arguments = boost::json::object{{"amount", 12.5}, {"to", "acct"}};
  d.covered_by = "appr_1";
  d.notifications.push_back({Notification::Kind::kEscalation, "#oncall", {"a@x"}, "t", "", "", ""});
  return d;
}

// Tests that every door writes a decision with the same bytes: the HTTP API and the MCP
// gateway print DecisionToJson's object, `interlock decide` and the egress proxy write the
// text straight into their buffers, the audit log writes the canonical form, and the API
// differs only in naming the agent "agent_id". Rehearsal arguments with doubles included:
// `decide` used to print them as Boost.JSON does ("2E-2") while the daemon printed "0.02".
TEST(DecisionTest, EveryDoorWritesTheSameDecision) {
  std::vector<Decision> corpus = {EveryMember(), DenyDecision(Code::kToolBlocked, "no", "r"),
                                  Decision{}};
  Decision allow = EveryMember();
  allow.verdict = Verdict::kAllow;
  allow.code = Code::kAllowed;
  allow.shadow_verdict.reset();
  corpus.push_back(allow);
  for (const Decision& d : corpus) {
    const std::string object_door = ToJsonText(DecisionToJson(d));  // API, MCP, idempotency
    std::string text_door;                                          // egress proxy
    AppendDecisionJson(d, JsonStyle::kReadable, &text_door);
    std::string decide_door = "{";  // `interlock decide` adds its own members after these
    AppendDecisionJsonMembers(d, &decide_door);
    decide_door += "}";
    EXPECT_EQ(text_door, object_door);
    EXPECT_EQ(decide_door, object_door);

    std::string audit;  // the record the audit chain hashes
    AppendDecisionJson(d, JsonStyle::kCanonical, &audit);
    EXPECT_EQ(audit, CanonicalJson(boost::json::value(DecisionToJson(d))));

    std::string api;
    AppendDecisionJson(d, JsonStyle::kReadable, &api, "agent_id");
    EXPECT_EQ(api, ToJsonText(DecisionToJson(d, "agent_id")));
    std::string renamed = object_door;
    if (auto at = renamed.find("\"agent\":"); at != std::string::npos) {
      renamed.replace(at, 8, "\"agent_id\":");
    }
    EXPECT_EQ(api, renamed);

    // And every reader gets the same decision back.
    const std::optional<Decision> back = DecisionFromJson(DecisionToJson(d));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(ToJsonText(DecisionToJson(*back)), object_door);
  }
  std::string text;
  AppendDecisionJson(EveryMember(), JsonStyle::kReadable, &text);
  EXPECT_NE(text.find("\"z\":0.02"), std::string::npos) << text;
  EXPECT_NE(text.find("\"amount\":12.5"), std::string::npos) << text;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
