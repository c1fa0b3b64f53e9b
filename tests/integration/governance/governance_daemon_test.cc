// Governance from a history made by the real daemon over HTTP: agent calls and results,
// and human approvals through POST /v1/approvals — then drift, trust report (approval
// fatigue included) and promotion, run as a user would.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <tuple>

#include <boost/json.hpp>

#include "daemon_harness.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "wait.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr const char* kPolicy = R"(# Governance end to end.
agent:
  id: gov-agent
  identity: gov-agent@test.iam
tools:
  allowed:
    - name: read_record
      constraints:
        allowed_statuses: [open, closed]
    - name: send_email
      requires_approval: true
      approval_timeout_seconds: 120
    - name: never_called
  blocked:
    - drop_table
execution:
  max_steps: 50
escalation:
  contacts: ["alice@test"]
trust:
  graduation_threshold: 3
)";

json::value Json(const ProcessResult& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.out, ec);
  EXPECT_FALSE(ec) << r.out << r.err;
  return v;
}

// Tests drift, approval fatigue and promotion over a history recorded by the real
// daemon, with approvals granted by real reviewers over HTTP (one fast, one careful).
TEST(GovernanceDaemonTest, HistoryFromTheDaemon) {
  TempDir dir;
  const std::string policy = dir.Write("policies/gov.yaml", kPolicy);
  Daemon daemon(dir.path(), dir.path() + "/policies");
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  const std::string agent = CreateToken(daemon.store(), "--agent", "gov-agent");
  const std::string speedy = CreateToken(daemon.store(), "--reviewer", "speedy");
  const std::string careful = CreateToken(daemon.store(), "--reviewer", "careful");

  HttpClient c(daemon.port());
  HttpResult run = c.Request("POST", "/v1/runs", "", agent);
  ASSERT_EQ(run.status, 201) << run.body;
  const std::string calls = "/v1/runs/" + std::string(run.json.at("run_id").as_string()) + "/calls";
  for (int i = 0; i < 4; ++i) {
    HttpResult r =
        c.Request("POST", calls, R"({"tool":"read_record","args":{"status":"open"}})", agent);
    ASSERT_EQ(r.json.at("code").as_string(), "ALLOWED") << r.body;
    const std::string id(r.json.at("call_id").as_string());
    EXPECT_EQ(c.Request("POST", "/v1/calls/" + id + "/result", R"({"ok":true,"output":"x"})", agent)
                  .status,
              204);
  }
  EXPECT_EQ(c.Request("POST", calls, R"({"tool":"drop_table"})", agent).json.at("code"),
            "TOOL_BLOCKED");
  // Two approvals: one granted at once, one after a careful read.
  // Two calls with other arguments: an identical one would redeem the first's unused grant
  // (docs/approvals.md, an identical call retried).
  for (const auto& [token, wait, to] :
       {std::tuple{speedy, 0ms, "a@b"}, std::tuple{careful, 2500ms, "c@d"}}) {
    HttpResult r =
        c.Request("POST", calls,
                  R"({"tool":"send_email","args":{"to":")" + std::string(to) + R"("}})", agent);
    ASSERT_EQ(r.json.at("code").as_string(), "APPROVAL_REQUIRED") << r.body;
    const std::string approval(r.json.at("approval_id").as_string());
    std::this_thread::sleep_for(wait);  // pace: a reviewer who takes their time
    HttpResult v = c.Request("POST", "/v1/approvals/" + approval,
                             R"({"verdict":"approve","comment":"ok"})", token);
    EXPECT_EQ(v.status, 200) << v.body;
  }
  ASSERT_EQ(daemon.Stop(), 0) << daemon.log();
  const std::string bin = std::string(INTERLOCK_BINARY_DIR) + "/interlock";

  // Drift: the tool never called and the status never used.
  json::value drift = Json(RunProcess({bin, "drift", "--days", "30", "--policy", policy, "--store",
                                       daemon.store(), "--format", "json"}));
  const json::object& a = drift.at("agents").as_array().at(0).as_object();
  EXPECT_EQ(json::serialize(a.at("unused_tools")), R"(["never_called"])");
  ASSERT_EQ(a.at("unused_values").as_array().size(), 1u);
  EXPECT_EQ(json::serialize(a.at("unused_values").at(0).at("values")), R"(["\"closed\""])");

  // Trust: read_record earned graduation; the fast reviewer is flagged, the careful not.
  json::value report = Json(RunProcess(
      {bin, "trust", "report", "--policy", policy, "--store", daemon.store(), "--format", "json"}));
  std::map<std::string, bool> flagged;
  for (const json::value& r : report.at("reviewers").as_array()) {
    flagged[std::string(r.at("reviewer").as_string())] = r.at("flagged").as_bool();
  }
  EXPECT_TRUE(flagged.at("speedy"));
  EXPECT_FALSE(flagged.at("careful"));
  bool read_eligible = false;
  for (const json::value& t : report.at("tools").as_array()) {
    if (t.at("tool").as_string() == "read_record") read_eligible = t.at("eligible").as_bool();
  }
  EXPECT_TRUE(read_eligible) << json::serialize(report);

  // What-if: with max_steps 3 the 4th to 7th recorded calls would have been denied.
  std::string tighter = kPolicy;
  tighter.replace(tighter.find("max_steps: 50"), 13, "max_steps: 3");
  const std::string tighter_path = dir.Write("tighter/gov.yaml", tighter);
  ProcessResult wi = RunProcess({bin, "replay", "--what-if", "--policy", tighter_path, "--store",
                                 daemon.store(), "--format", "json"});
  EXPECT_EQ(wi.exit_code, 1) << wi.out << wi.err;
  EXPECT_EQ(Json(wi).at("changes").as_array().size(), 4u) << wi.out;
  ProcessResult same =
      RunProcess({bin, "replay", "--what-if", "--policy", policy, "--store", daemon.store()});
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;

  // Promotion: refused for send_email (no clean completions), accepted for read_record;
  // the edited policy keeps its comment and passes check; the chain still verifies.
  EXPECT_EQ(RunProcess({bin, "trust", "promote", "--agent", "gov-agent", "--tool", "send_email",
                        "--to", "audit_based", "--reviewer", "rita", "--policy", policy, "--store",
                        daemon.store()})
                .exit_code,
            1);
  ProcessResult p = RunProcess({bin, "trust", "promote", "--agent", "gov-agent", "--tool",
                                "read_record", "--to", "audit_based", "--reviewer", "rita",
                                "--policy", policy, "--store", daemon.store()});
  EXPECT_EQ(p.exit_code, 0) << p.out << p.err;
  std::ifstream in(policy);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("# Governance end to end."), std::string::npos);
  EXPECT_NE(text.find("autonomy: audit_based"), std::string::npos) << text;
  EXPECT_EQ(RunProcess({bin, "check", policy}).exit_code, 0);
  EXPECT_EQ(RunProcess({bin, "audit", "verify", "--store", daemon.store()}).exit_code, 0);
}

// GET /v1/governance/{report} is answered from the report kept by the daemon
// (daemon/report_cache.h): with governance.wait_ms 0 (as if every report were slow) the
// first ask is 202, the next ones the report with its age; records appended since make it
// not current but are not recomputed per request (min_interval); ?refresh=1 recomputes.
TEST(GovernanceDaemonTest, ReportIsKeptAndServedWithItsAgeNotRecomputedPerRequest) {
  TempDir dir;
  dir.Write("policies/gov.yaml", kPolicy);
  const std::string config =
      dir.Write("interlock.yaml", "governance:\n  wait_ms: 0\n  min_interval_seconds: 3600\n");
  Daemon daemon(dir.path(), dir.path() + "/policies", config);
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  const std::string agent = CreateToken(daemon.store(), "--agent", "gov-agent");
  const std::string admin = CreateToken(daemon.store(), "--admin", "ada");
  HttpClient c(daemon.port());
  auto calls_of = [&](const HttpResult& fatigue_or_trust) {
    uint64_t n = 0;
    for (const json::value& t : fatigue_or_trust.json.at("tools").as_array()) {
      n += t.at("evidence").at("calls").to_number<uint64_t>();
    }
    return n;
  };
  auto until = [&](const std::string& target, auto&& done) {
    HttpResult r;
    WaitUntil(
        [&] {
          r = c.Request("GET", target, "", admin);
          return r.status == 200 && done(r);
        },
        10s, 25ms);
    return r;
  };

  HttpResult first = c.Request("GET", "/v1/governance/trust", "", admin);
  ASSERT_EQ(first.status, 202) << first.body;
  EXPECT_EQ(first.json.at("status"), "computing");
  EXPECT_FALSE(first.json.at("queued_at").as_string().empty());
  HttpResult ready = until("/v1/governance/trust", [](const HttpResult&) { return true; });
  ASSERT_EQ(ready.status, 200) << ready.body;
  EXPECT_TRUE(ready.json.at("current").as_bool()) << ready.body;
  EXPECT_FALSE(ready.json.at("refreshing").as_bool());
  EXPECT_EQ(calls_of(ready), 0u);

  // A decision appended: the kept report is no longer current, and not recomputed per ask.
  HttpResult run = c.Request("POST", "/v1/runs", "", agent);
  ASSERT_EQ(run.status, 201) << run.body;
  const std::string calls = "/v1/runs/" + std::string(run.json.at("run_id").as_string()) + "/calls";
  ASSERT_EQ(c.Request("POST", calls, R"({"tool":"read_record","args":{"status":"open"}})", agent)
                .json.at("code"),
            "ALLOWED");
  for (int i = 0; i < 3; ++i) {
    HttpResult stale = c.Request("GET", "/v1/governance/trust", "", admin);
    ASSERT_EQ(stale.status, 200) << stale.body;
    EXPECT_FALSE(stale.json.at("current").as_bool()) << stale.body;
    EXPECT_FALSE(stale.json.at("refreshing").as_bool()) << stale.body;
    EXPECT_EQ(calls_of(stale), 0u);
    EXPECT_GE(stale.json.at("age_s").to_number<double>(), 0.0);
  }
  // Recompute now: the new decision is counted.
  HttpResult forced = c.Request("GET", "/v1/governance/trust?refresh=1", "", admin);
  EXPECT_EQ(forced.status, 200) << forced.body;
  HttpResult fresh = until("/v1/governance/trust",
                           [](const HttpResult& r) { return r.json.at("current").as_bool(); });
  ASSERT_EQ(fresh.status, 200) << fresh.body;
  EXPECT_EQ(calls_of(fresh), 1u) << fresh.body;
  // A bad refresh value is a 400 with a reason, not a recomputation.
  HttpResult bad = c.Request("GET", "/v1/governance/trust?refresh=yes", "", admin);
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(daemon.Stop(), 0) << daemon.log();
}

// Another policy is another question: a report kept for the old policy is never answered
// for the new one (the key holds the policy set's digest).
TEST(GovernanceDaemonTest, ReloadedPolicyIsNeverAnsweredFromTheOldPolicysReport) {
  TempDir dir;
  const std::string policy = dir.Write("policies/gov.yaml", kPolicy);
  const std::string config = dir.Write("interlock.yaml", "policy_poll_ms: 100\n");
  Daemon daemon(dir.path(), dir.path() + "/policies", config);
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  const std::string admin = CreateToken(daemon.store(), "--admin", "ada");
  HttpClient c(daemon.port());
  HttpResult before = c.Request("GET", "/v1/governance/drift", "", admin);
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_NE(before.body.find("never_called"), std::string::npos) << before.body;
  std::string text = kPolicy;
  text.replace(text.find("    - name: never_called\n"), 25, "    - name: also_never\n");
  { std::ofstream(policy) << text; }  // reloaded live (policy_poll_ms)
  HttpResult after;
  WaitUntil(
      [&] {
        after = c.Request("GET", "/v1/governance/drift", "", admin);
        return after.status == 200 && after.body.find("also_never") != std::string::npos;
      },
      10s, 25ms);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.body.find("never_called"), std::string::npos) << after.body;
  EXPECT_NE(after.body.find("also_never"), std::string::npos) << after.body;
  EXPECT_EQ(daemon.Stop(), 0) << daemon.log();
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
