// The canonical JSON writers of audit/canonical.h against the reference implementation
// (CanonicalJson over a boost::json tree, boost::json::serialize): the audit chain hashes
// their output, so they must agree byte for byte.
#include "audit/canonical.h"

#include <random>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "common/crypto.h"
#include "common/json.h"

namespace interlock::audit {
namespace {

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

std::string Canon(const boost::json::value& v) {
  std::string out;
  AppendCanonicalJson(&out, v);
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

// Tests that AppendCanonicalJson equals CanonicalJson for nested values of every kind,
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
    AppendCanonicalDecision(&out, d);
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

// Tests that a record whose data comes pre-serialised (data_json) has the same body, and
// so the same hash, as the record built from the object.
TEST(CanonicalTest, PreSerialisedDataGivesTheSameRecord) {
  AuditEvent e;
  e.type = kDecision;
  e.time = FromUnixMillis(1795341600123);
  e.run_id = "run_1";
  e.call_id = "call_\"1";
  e.agent_id = "a";
  e.principal = "p\x01";
  e.data = {{"tool", "read"}, {"args", {{"path", "/x"}, {"a", 1.5}}}, {"usage", nullptr}};
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

}  // namespace
}  // namespace interlock::audit
