// The canonical style of the one JSON writer family (common/json_write.h) and the audit
// record shapes (audit/canonical.h) against boost::json::serialize, the objects they stand
// for, and literal bytes written by the writers they replaced: the audit chain hashes
// their output, so it must never change.
#include "audit/canonical.h"

#include <random>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/crypto.h"
#include "common/json.h"
#include "common/json_write.h"

namespace interlock::audit {
namespace INTERLOCK_TEST_NS {

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

std::string Canon(const boost::json::value& v) {
  std::string out;
  AppendJson(v, JsonStyle::kCanonical, &out);
  return out;
}

// Tests that every single byte, and random byte strings (invalid UTF-8 included), are
// escaped exactly as boost::json::serialize escapes them.
TEST(CanonicalTest, StringsEscapeLikeBoost) {
  for (int c = 0; c < 256; ++c) {
    const std::string s(1, static_cast<char>(c));
    EXPECT_EQ(Str(s), boost::json::serialize(boost::json::string_view(s))) << c;
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 40, '\0');
    for (char& ch : s) ch = static_cast<char>(rng() % 256);
    ASSERT_EQ(Str(s), boost::json::serialize(boost::json::string_view(s))) << i;
  }
  EXPECT_EQ(Str(""), "\"\"");
  EXPECT_EQ(Str("a\"b\\c\u00e9"), "\"a\\\"b\\\\c\u00e9\"");
}

// Tests that AppendJson(kCanonical) equals CanonicalJson for nested values of every kind,
// numbers at their limits, doubles, and objects larger than the on-stack sort buffer.
TEST(CanonicalTest, ValuesMatchCanonicalJson) {
  boost::json::object big;
  for (int i = 0; i < 40; ++i) big["k" + std::to_string((i * 7) % 40)] = i;
  const boost::json::value values[] = {
      nullptr,
      true,
      false,
      0,
      -1,
      INT64_MIN,
      INT64_MAX,
      UINT64_MAX,
      0.0,
      -0.0,
      0.02,
      1e300,
      123456.789,
      "",
      "x\n\x01\x7f\xff",
      boost::json::array{},
      boost::json::object{},
      boost::json::array{1, "a", nullptr, boost::json::object{{"b", 1}, {"a", 2}}},
      boost::json::object{{"z", 1},
                          {"a", {{"y", "\t"}, {"b", 0.5}}},
                          {"\xc3\xa9", 1},
                          {"B", 2},
                          {"", 3},
                          {"m", boost::json::array{1, "x"}}},
      big,
  };
  for (const boost::json::value& v : values) {
    EXPECT_EQ(Canon(v), CanonicalJson(v)) << boost::json::serialize(v);
  }
}

Decision Sample(int variant) {
  Decision d;
  d.verdict = Verdict::kAllow;
  d.code = Code::kAllowed;
  d.reason = "allowed by \"tools.allowed\"\n";
  d.rule = "tools.allowed[\"read\"]";
  if (variant % 2 == 1) {
    d.at = "a.yaml:3:5";
    d.agent_id = "agent-\u00e9";
    d.tool = "read";
  }
  if (variant == 2) {
    d.verdict = Verdict::kApprovalRequired;
    d.code = Code::kApprovalRequired;
    d.approval_timeout_seconds = 30;
    d.auto_deny_on_timeout = false;
    d.approvals_required = 2;
  }
  if (variant == 3) {
    d.shadow_verdict = Verdict::kDeny;
    d.shadow_code = Code::kToolBlocked;
  }
  if (variant == 4) d.shadow_verdict = Verdict::kApprovalRequired;
  if (variant == 5) {
    d.verdict = Verdict::kDeny;
    d.code = Code::kBudgetExceeded;
    d.notifications.push_back({Notification::Kind::kEscalation,
                               "#oncall",
                               {"a@example.com", "b\t"},
                               "halted",
                               "",
                               "",
                               ""});
    d.notifications.push_back({Notification::Kind::kFlagged, "", {}, "", "", "", ""});
  }
  return d;
}

// Tests that the decision writer equals CanonicalJson(DecisionToJson(d)) for plain,
// approval, shadow and notifying decisions, with and without the optional fields.
TEST(CanonicalTest, DecisionMatchesDecisionToJson) {
  for (int v = 0; v <= 5; ++v) {
    const Decision d = Sample(v);
    std::string out;
    AppendDecisionJson(d, JsonStyle::kCanonical, &out);
    EXPECT_EQ(out, CanonicalJson(boost::json::value(DecisionToJson(d)))) << v;
  }
}

// Tests that the usage and run-state writers equal the objects the audit log used to
// build ({"tokens","cost_usd"} and {"steps","tokens","cost_usd","elapsed_s","halted",
// "records"}).
TEST(CanonicalTest, UsageAndStateMatchTheirObjects) {
  Usage u{1234, 20000};
  std::string out;
  AppendCanonicalUsage(&out, u);
  EXPECT_EQ(out,
            CanonicalJson(boost::json::object{
                {"tokens", u.tokens}, {"cost_usd", static_cast<double>(u.cost_micros) / 1e6}}));
  RunState s;
  s.steps = 7;
  s.tokens = UINT64_MAX;
  s.cost_micros = 1;
  s.elapsed_ms = 1500;
  s.halted = true;
  s.records = {{"write", 2}, {"read", 5}, {"Z\"", 1}, {"\xc3\xa9", 3}};
  boost::json::object records;
  for (const auto& [k, n] : s.records) records[k] = n;
  out.clear();
  AppendCanonicalAuditState(&out, s);
  EXPECT_EQ(
      out, CanonicalJson(boost::json::object{{"steps", s.steps},
                                             {"tokens", s.tokens},
                                             {"cost_usd", static_cast<double>(s.cost_micros) / 1e6},
                                             {"elapsed_s", static_cast<double>(s.elapsed_ms) / 1e3},
                                             {"halted", s.halted},
                                             {"records", records}}));
}

// A decision record's event whose ids and principal need escaping and whose data holds a
// nested object, a double and a null.
AuditEvent SampleDecisionEvent() {
  AuditEvent e;
  e.type = kDecision;
  e.time = FromUnixMillis(1795341600123);
  e.run_id = "run_1";
  e.call_id = "call_\"1";
  e.agent_id = "a";
  e.principal = "p\x01";
  e.data = {{"tool", "read"}, {"args", {{"path", "/x"}, {"a", 1.5}}}, {"usage", nullptr}};
  return e;
}

// Tests that a record whose data comes pre-serialised (data_json) has the same body, and
// so the same hash, as the record built from the object.
TEST(CanonicalTest, PreSerialisedDataGivesTheSameRecord) {
  const AuditEvent e = SampleDecisionEvent();
  AuditEvent pre = e;
  pre.data = {};
  pre.data_json = CanonicalJson(boost::json::value(e.data));
  EXPECT_EQ(AuditRecordBody(9, pre, kGenesisHash), AuditRecordBody(9, e, kGenesisHash));
  const std::string body = AuditRecordBody(9, e, kGenesisHash);
  std::string buf = "interlock.audit.v1";
  buf.push_back('\0');
  buf.append(kGenesisHash);
  buf.push_back('\0');
  buf.append(body);
  EXPECT_EQ(AuditRecordHash(kGenesisHash, body), Sha256Hex(buf));
}

// Tests that the canonical bytes are exactly those the audit chain has always hashed: a
// decision with every member, a value with every kind and number form, the run state,
// usage, and a whole record body and its hash, each written by the writers this family
// replaced (audit::AppendCanonical*, before the fold) and pinned here literally. A change
// here breaks `audit verify` of every existing store.
TEST(CanonicalTest, CanonicalBytesAreFrozen) {
  Decision d;
  d.verdict = Verdict::kApprovalRequired;
  d.code = Code::kApprovalRequired;
  d.reason = "needs \"approval\"\n\x01 caf\xc3\xa9";
  d.rule = "tools.allowed[\"refund\"].requires_approval";
  d.at = "p.yaml:7:9";
  d.agent_id = "agent-1";
  d.tool = "refund";
  d.shadow_verdict = Verdict::kDeny;
  d.shadow_code = Code::kToolBlocked;
  d.approval_timeout_seconds = 300;
  d.auto_deny_on_timeout = true;
  d.approvals_required = 2;
  d.retry_after_s = 12;
  d.declared_labels = {"pii", "x\ty"};
  Rehearsal r;
  r.args = boost::json::object{{"z", 0.02}, {"a", {1, 2.5, "s"}}, {"m", 1e300}};
  r.upstream = "staging";
  r.args_sha256 = "ab";
  d.rehearsal = r;
  d.covered_by = "appr_1";
  d.notifications.push_back(
      {Notification::Kind::kEscalation, "#oncall", {"a@example.com", "b"}, "halted", "", "", ""});
  d.notifications.push_back({Notification::Kind::kFlagged, "", {}, "", "", "", ""});
  std::string out;
  AppendDecisionJson(d, JsonStyle::kCanonical, &out);
  EXPECT_EQ(out,
            "{\"agent\":\"agent-1\",\"approval\":{\"approvals_required\":2,\"auto_deny_on_"
            "timeout\":true,\"timeout_seconds\":300},\"at\":\"p.yaml:7:9\",\"code\":\"APPROVAL_"
            "REQUIRED\",\"covered_by\":\"appr_1\",\"decision\":\"approval_required\",\"declared_"
            "labels\":[\"pii\",\"x\\ty\"],\"notify\":[{\"channel\":\"#oncall\",\"contacts\":[\"a@"
            "example.com\",\"b\"],\"kind\":\"escalation\",\"text\":\"halted\"},{\"channel\":\"\","
            "\"contacts\":[],\"kind\":\"flagged\",\"text\":\"\"}],\"reason\":\"needs "
            "\\\"approval\\\"\\n\\u0001 caf\xc3\xa9\",\"rehearsal\":{\"args\":{\"a\":[1,2.5E0,"
            "\"s\"],\"m\":1E300,\"z\":2E-2},\"args_sha256\":\"ab\",\"upstream\":\"staging\"},"
            "\"retry_after_s\":12,\"rule\":\"tools.allowed[\\\"refund\\\"].requires_approval\","
            "\"shadow\":true,\"shadow_code\":\"TOOL_BLOCKED\",\"shadow_decision\":\"deny\","
            "\"tool\":\"refund\"}");
  out.clear();
  AppendDecisionJson(DenyDecision(Code::kToolNotAllowed, "no", "default_deny"),
                     JsonStyle::kCanonical, &out);
  EXPECT_EQ(out,
            "{\"code\":\"TOOL_NOT_ALLOWED\",\"decision\":\"deny\",\"reason\":\"no\",\"rule\":"
            "\"default_deny\"}");

  const boost::json::value v = boost::json::parse(
      R"({"z":[1,-2,0.5,1e-7,123456.789,-0.0,18446744073709551615,-9223372036854775808,)"
      R"(true,null],"a":{"y":"\t\u0001\u00e9","b":{}},"":[],"B":1e21})");
  EXPECT_EQ(Canon(v),
            "{\"\":[],\"B\":1E21,\"a\":{\"b\":{},\"y\":\"\\t\\u0001\xc3\xa9\"},\"z\":[1,-2,5E-1,"
            "1E-7,1.23456789E5,-0E0,18446744073709551615,-9223372036854775808,true,null]}");

  RunState s;
  s.steps = 7;
  s.tokens = 100;
  s.cost_micros = 20000;
  s.elapsed_ms = 1500;
  s.halted = true;
  s.records = {{"write", 2}, {"read", 5}};
  s.labels = {"pii"};
  s.workflow_state = "review";
  s.workflow_vars = {{"n", boost::json::value(1.5)}, {"a", boost::json::value("x")}};
  out.clear();
  AppendCanonicalAuditState(&out, s);
  EXPECT_EQ(out,
            "{\"cost_usd\":2E-2,\"elapsed_s\":1.5E0,\"halted\":true,\"labels\":[\"pii\"],"
            "\"records\":{\"read\":5,\"write\":2},\"steps\":7,\"tokens\":100,\"workflow\":{"
            "\"state\":\"review\",\"vars\":{\"a\":\"x\",\"n\":1.5E0}}}");
  out.clear();
  AppendCanonicalUsage(&out, Usage{1234, 20000});
  EXPECT_EQ(out, "{\"cost_usd\":2E-2,\"tokens\":1234}");

  const AuditEvent e = SampleDecisionEvent();
  const std::string body = AuditRecordBody(9, e, kGenesisHash);
  EXPECT_EQ(body,
            "{\"agent_id\":\"a\",\"call_id\":\"call_\\\"1\",\"data\":{\"args\":{\"a\":1.5E0,"
            "\"path\":\"/x\"},\"tool\":\"read\",\"usage\":null},\"prev\":\"00000000000000000000"
            "00000000000000000000000000000000000000000000\",\"principal\":\"p\\u0001\","
            "\"run_id\":\"run_1\",\"seq\":9,\"time\":\"2026-11-22T10:00:00.123Z\",\"type\":"
            "\"decision\"}");
  EXPECT_EQ(AuditRecordHash(kGenesisHash, body),
            "8483b0ef26b9e5f784ca6f98d11c904c6f6a128914e2fb86c1a3558e4afb1692");
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::audit
