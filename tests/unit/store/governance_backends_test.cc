// Governance over either backend (issue 14): the console's Governance page (drift, trust
// evidence with approval fatigue, what-if) reads history through Store::ForEachRecord, so
// the same history written through the Guard into a SQLite store and into a PostgreSQL
// store (a private cluster, tests/support/pg_cluster.h) must give equal reports.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "common/json.h"
#include "common/time.h"
#include "core/app/policy_source.h"
#include "core/guard.h"
#include "governance/drift.h"
#include "governance/fatigue.h"
#include "governance/trust.h"
#include "governance/what_if.h"
#include "pg_cluster.h"
#include "policy/loader.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kPolicy = R"(agent:
  id: gov-agent
  identity: gov-agent@test.iam
tools:
  allowed:
    - name: read_record
      constraints:
        allowed_statuses: [open, closed, archived]
    - name: send_email
      requires_approval: true
      approval_timeout_seconds: 120
    - name: never_called
  blocked:
    - drop_table
execution:
  max_steps: 50
trust:
  graduation_threshold: 2
)";

TimePoint T0() { return FromUnixMillis(1'700'000'000'000); }

std::shared_ptr<const policy::PolicySet> Policies() {
  std::vector<policy::Diagnostic> diags;
  auto agent = policy::ParseAgentPolicy(kPolicy, "gov.yaml", &diags);
  EXPECT_TRUE(agent.ok()) << (agent.ok() ? "" : agent.error().message);
  auto set = std::make_shared<policy::PolicySet>();
  if (agent.ok()) set->agents[(*agent)->id] = *agent;
  set->sha256 = std::string(64, 'e');
  return set;
}

// The same history through the Guard into `store`: two runs of reads (an argument value
// the policy allows but nobody uses), a blocked call, and two approvals granted by two
// reviewers, one in a second and one after a careful read.
void WriteHistory(core::Store& store, ManualClock& clock,
                  std::shared_ptr<const policy::PolicySet> set) {
  core::PolicySource source(set);
  core::Guard guard(&source, &store, &clock, nullptr);
  for (int r = 0; r < 2; ++r) {
    clock.Advance(std::chrono::hours(24));
    Result<core::RunInfo> run = store.CreateRun("gov-agent", "", clock.Now());
    ASSERT_TRUE(run.ok()) << run.error().message;
    for (const char* status : {"open", "closed", "open"}) {
      clock.Advance(1s);
      ToolCall call;
      call.tool = "read_record";
      call.args = boost::json::object{{"status", status}};
      call.usage = Usage{100, 2500};
      core::GuardResponse g = guard.Decide("gov-agent", "gov-agent", run->run_id, call);
      ASSERT_EQ(g.decision.code, Code::kAllowed);
      ASSERT_TRUE(
          store.RecordResult(g.call_id, "gov-agent", "gov-agent", core::CallResult{}, clock.Now())
              .ok());
    }
    clock.Advance(1s);
    ToolCall drop;
    drop.tool = "drop_table";
    ASSERT_EQ(guard.Decide("gov-agent", "gov-agent", run->run_id, drop).decision.code,
              Code::kToolBlocked);
    clock.Advance(1s);
    ToolCall email;
    email.tool = "send_email";
    email.args = boost::json::object{{"to", "a@b"}, {"n", r}};
    core::GuardResponse pending = guard.Decide("gov-agent", "gov-agent", run->run_id, email);
    ASSERT_EQ(pending.decision.code, Code::kApprovalRequired);
    clock.Advance(r == 0 ? 1s : 30s);
    core::VoteRequest v;
    v.approval_id = core::ApprovalIdForCall(pending.call_id);
    v.reviewer = core::Principal{"tok", r == 0 ? "speedy" : "careful", core::Role::kReviewer, ""};
    v.approve = true;
    v.now = clock.Now();
    v.policy = core::PolicyFactsLookup(set);
    Result<core::VoteOutcome> voted = store.Vote(v);
    ASSERT_TRUE(voted.ok()) << voted.error().message;
    ASSERT_TRUE(voted->settled);
    ASSERT_TRUE(store.EndRun(run->run_id, "gov-agent", clock.Now()).ok());
  }
}

// The console's three reports and what-if over `source`, as JSON.
std::string Reports(const core::HistorySource& source, const policy::PolicySet& set) {
  governance::DriftOptions drift_options;
  drift_options.min_runs = 1;
  drift_options.min_days = 0;
  Result<governance::DriftReport> drift = governance::RunDrift(source, set, drift_options);
  EXPECT_TRUE(drift.ok()) << drift.error().message;
  governance::TrustOptions trust_options;
  Result<governance::TrustEvidence> trust = governance::CollectTrustEvidence(source, trust_options);
  EXPECT_TRUE(trust.ok()) << trust.error().message;
  Result<governance::FatigueReport> fatigue =
      governance::CollectFatigue(source, governance::FatigueOptions{});
  EXPECT_TRUE(fatigue.ok()) << fatigue.error().message;
  Result<governance::WhatIfReport> what_if = governance::RunWhatIf(source, set, {});
  EXPECT_TRUE(what_if.ok()) << what_if.error().message;
  if (!drift.ok() || !trust.ok() || !fatigue.ok() || !what_if.ok()) return "";
  boost::json::object all;
  all["drift"] = governance::DriftToJson(*drift);
  all["trust"] = governance::TrustReportToJson(governance::TrustRows(*trust, set, ""), *trust,
                                               trust_options.fatigue_floor_s);
  all["fatigue"] = governance::FatigueToJson(*fatigue);
  all["what_if"] = governance::WhatIfToJson(*what_if);
  return CanonicalJson(all);
}

// Tests that drift, trust evidence, approval fatigue and what-if over the same history are
// equal whether the history is read from SQLite or from PostgreSQL, and non-trivial.
TEST(GovernanceBackendsTest, ReportsOverTheSameHistoryAreEqualOnSqliteAndPostgres) {
  const auto set = Policies();
  const fs::path dir =
      fs::temp_directory_path() / ("il-gov-backends-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  store::StoreOptions so;
  so.path = (dir / "s.db").string();
  so.durable_full = false;
  auto sqlite = store::SqliteStore::Open(so);
  ASSERT_TRUE(sqlite.ok()) << sqlite.error().message;
  ManualClock sqlite_clock(T0());
  WriteHistory(**sqlite, sqlite_clock, set);

  std::string error;
  testing::PgCluster* cluster = testing::PgTestEnvironment::Instance()->Cluster(&error);
  ASSERT_NE(cluster, nullptr) << error;
  store::PostgresOptions po;
  po.uri = cluster->NewDatabase(&error);
  ASSERT_FALSE(po.uri.empty()) << error;
  auto pg = store::PostgresStore::Open(po);
  ASSERT_TRUE(pg.ok()) << pg.error().message;
  ManualClock pg_clock(T0());
  WriteHistory(**pg, pg_clock, set);

  const std::string from_sqlite = Reports(**sqlite, *set);
  const std::string from_pg = Reports(**pg, *set);
  EXPECT_EQ(from_sqlite, from_pg);
  EXPECT_NE(from_sqlite.find("speedy"), std::string::npos) << from_sqlite;    // fatigue
  EXPECT_NE(from_sqlite.find("archived"), std::string::npos) << from_sqlite;  // drift
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// Tests that `trust promote` is refused while one of the agent's decision records cannot be
// read (a damaged or altered log: it may hide a denial or a failure of the tool), and that
// the policy file is left as it was.
TEST(GovernanceBackendsTest, TrustPromoteIsRefusedWhileADecisionRecordIsUnreadable) {
  const auto set = Policies();
  const fs::path dir =
      fs::temp_directory_path() / ("il-gov-unreadable-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string policy_file = (dir / "gov.yaml").string();
  { std::ofstream(policy_file) << kPolicy; }
  store::StoreOptions so;
  so.path = (dir / "s.db").string();
  so.durable_full = false;
  auto sqlite = store::SqliteStore::Open(so);
  ASSERT_TRUE(sqlite.ok()) << sqlite.error().message;
  ManualClock clock(T0());
  WriteHistory(**sqlite, clock, set);
  std::vector<audit::AuditEvent> bad;
  bad.push_back(audit::AuditEvent{audit::kDecision, T0(), "run_bad", "call_bad", "gov-agent",
                                  "gov-agent", boost::json::object{{"tool", "read_record"}}});
  ASSERT_TRUE((*sqlite)->AppendRecords(std::move(bad)).ok());

  governance::PromoteRequest rq;
  rq.agent_id = "gov-agent";
  rq.tool = "read_record";
  rq.to_stage = "audit_based";
  rq.reviewer = "carol";
  rq.policy_path = policy_file;
  rq.now = T0();
  Result<governance::PromoteOutcome> out = governance::PromoteTool(**sqlite, rq);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(out->refused);
  EXPECT_NE(out->message.find("1 decision record(s) of gov-agent could not be read"),
            std::string::npos)
      << out->message;
  std::ifstream in(policy_file);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), kPolicy);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
