// Sequences (issue 15) kept by every RunStore backend, through the real Guard and the
// shipped example policies: a run's workflow state, variables and labels persist (across
// a reopen for the durable stores), results reported through the store move workflows,
// and rate limits and quotas are counted in the store, exactly under concurrency and
// across the runs of one agent. Typed over MemoryRunStore, SQLite and PostgreSQL (a
// private cluster per test binary, tests/support/pg_cluster.h).
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include <sqlite3.h>

#include "audit/replay.h"
#include "core/app/policy_source.h"
#include "core/guard.h"
#include "core/ports/run_store.h"
#include "policy/loader.h"
#include "run_store_backends.h"
#include "store/postgres_store.h"
#include "store/sqlite_audit_read.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace interlock {
// A namespace of this file's own rather than INTERLOCK_TEST_NS: the typed tests' names carry
// their backend's type, which reads the same in every build this way.
namespace sequence_store_test {

namespace fs = std::filesystem;
using core::GuardResponse;
using core::RunStore;

TimePoint T0() { return testing::RunStoreBackendNow(); }

using ::interlock::testing::TempDir;

// The shared backends (run_store_backends.h), named here so that the typed tests print the
// names they always printed. kApprovals: APPROVAL_REQUIRED is recorded as such.
struct MemoryBackend : testing::MemoryRunStoreBackend {
  static constexpr bool kApprovals = true;
  using MemoryRunStoreBackend::MemoryRunStoreBackend;
};
struct SqliteBackend : testing::SqliteRunStoreBackend</*kCallerCommits=*/false> {
  static constexpr bool kApprovals = true;
  using SqliteRunStoreBackend::SqliteRunStoreBackend;
};
struct PostgresBackend : testing::PostgresRunStoreBackend {
  static constexpr bool kApprovals = false;  // not on PostgreSQL yet: STORE_UNAVAILABLE
  using PostgresRunStoreBackend::PostgresRunStoreBackend;
};

std::shared_ptr<const policy::PolicySet> Examples() {
  const std::string dir = std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies/";
  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet(
      {dir + "release-agent.yaml", dir + "inbox-agent.yaml", dir + "notifier-agent.yaml"}, &diags,
      {});
  EXPECT_TRUE(set.ok()) << (set.ok() ? "" : set.error().message);
  return set.ok() ? *set : nullptr;
}

template <class B>
class SequenceStore : public ::testing::Test {
 protected:
  SequenceStore() : backend_(dir_), policies_(Examples()), clock_(T0()) { MakeGuard(); }
  void MakeGuard() {
    guard_ = std::make_unique<core::Guard>(&policies_, &store(), &clock_, nullptr);
  }
  RunStore& store() { return backend_.get(); }
  void Reopen() {
    guard_.reset();
    ASSERT_TRUE(backend_.Reopen());
    MakeGuard();
  }

  std::string NewRun(const std::string& agent) {
    Result<core::RunInfo> r = store().CreateRun(agent, "", clock_.Now());
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r->run_id : std::string();
  }
  GuardResponse Call(const std::string& agent, const std::string& run, const std::string& tool,
                     boost::json::object args, int64_t cost_micros = 0) {
    ToolCall c;
    c.tool = tool;
    c.args = std::move(args);
    c.usage.cost_micros = cost_micros;
    return guard_->Decide(agent, agent, run, std::move(c));
  }
  Status Report(const std::string& agent, const std::string& call_id, bool ok,
                int64_t cost_micros = 0) {
    core::CallResult r;
    r.ok = ok;
    r.usage.cost_micros = cost_micros;
    r.policies = guard_->Policies();
    return store().RecordResult(call_id, agent, agent, r, clock_.Now());
  }
  std::string WorkflowState(const std::string& run) {
    Result<core::RunInfo> r = store().GetRun(run);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->state.workflow_state : "?";
  }

  TempDir dir_;
  B backend_;
  core::PolicySource policies_;
  ManualClock clock_;
  std::unique_ptr<core::Guard> guard_;
};

using Backends = ::testing::Types<MemoryBackend, SqliteBackend, PostgresBackend>;
TYPED_TEST_SUITE(SequenceStore, Backends);

boost::json::object Deploy(const std::string& env, const std::string& version) {
  return {{"environment", env}, {"service", "api"}, {"version", version}};
}

TYPED_TEST(SequenceStore, ResultsAdvanceTheReleaseWorkflowAndItSurvivesReopen) {
  const std::string run = this->NewRun("release-agent");
  const std::string a = "release-agent";
  EXPECT_EQ(this->Call(a, run, "deploy_service", Deploy("staging", "v1.2.3")).decision.code,
            Code::kWorkflowViolation);
  GuardResponse tests = this->Call(a, run, "run_tests", {{"version", "v1.2.3"}});
  ASSERT_EQ(tests.decision.verdict, Verdict::kAllow);
  // Reported as an error: the run stays where it was.
  GuardResponse again = this->Call(a, run, "run_tests", {{"version", "v1.2.3"}});
  ASSERT_TRUE(this->Report(a, again.call_id, false).ok());
  EXPECT_EQ(this->WorkflowState(run), "");
  ASSERT_TRUE(this->Report(a, tests.call_id, true).ok());
  EXPECT_EQ(this->WorkflowState(run), "tested");
  if (TypeParam::kDurable) this->Reopen();
  Result<core::RunInfo> info = this->store().GetRun(run);
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(info->state.workflow_vars.contains("tested_version"));
  EXPECT_EQ(info->state.workflow_vars.at("tested_version"), boost::json::value("v1.2.3"));
  EXPECT_EQ(this->Call(a, run, "deploy_service", Deploy("production", "v1.2.3")).decision.code,
            Code::kWorkflowViolation);
  EXPECT_EQ(this->Call(a, run, "deploy_service", Deploy("staging", "v9.9.9")).decision.code,
            Code::kWorkflowViolation);
  EXPECT_EQ(this->Call(a, run, "rollback_service", {{"environment", "staging"}, {"service", "api"}})
                .decision.code,
            Code::kWorkflowViolation);
  GuardResponse staging = this->Call(a, run, "deploy_service", Deploy("staging", "v1.2.3"));
  ASSERT_EQ(staging.decision.verdict, Verdict::kAllow);
  ASSERT_TRUE(this->Report(a, staging.call_id, true).ok());
  EXPECT_EQ(this->WorkflowState(run), "staged");
  if (TypeParam::kDurable) this->Reopen();
  EXPECT_EQ(this->Call(a, run, "rollback_service", {{"environment", "staging"}, {"service", "api"}})
                .decision.verdict,
            Verdict::kAllow);
  EXPECT_EQ(this->Call(a, run, "deploy_service", Deploy("production", "v9.9.9")).decision.code,
            Code::kWorkflowViolation);
}

TYPED_TEST(SequenceStore, ResultOfAnotherAgentMovesNothing) {
  const std::string run = this->NewRun("release-agent");
  GuardResponse tests = this->Call("release-agent", run, "run_tests", {{"version", "v1.2.3"}});
  ASSERT_EQ(tests.decision.verdict, Verdict::kAllow);
  EXPECT_FALSE(this->Report("notifier-agent", tests.call_id, true).ok());
  EXPECT_EQ(this->WorkflowState(run), "");
}

TYPED_TEST(SequenceStore, FlowLabelsPersistAcrossCallsAndReopen) {
  const std::string a = "inbox-agent";
  const std::string run = this->NewRun(a);
  ASSERT_EQ(this->Call(a, run, "read_inbox", {{"folder", "inbox"}}).decision.verdict,
            Verdict::kAllow);
  if (TypeParam::kDurable) this->Reopen();
  ASSERT_EQ(this->Call(a, run, "search_customers", {{"query", "acme"}}).decision.verdict,
            Verdict::kAllow);
  if (TypeParam::kDurable) this->Reopen();
  Result<core::RunInfo> info = this->store().GetRun(run);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->state.labels.size(), 2u);
  GuardResponse send = this->Call(a, run, "send_email",
                                  {{"to", "x@example.com"}, {"subject", "hi"}, {"body", "data"}});
  EXPECT_NE(send.decision.verdict, Verdict::kAllow);
  if (TypeParam::kApprovals) {
    EXPECT_EQ(send.decision.code, Code::kApprovalRequired);
  }
  EXPECT_EQ(this->Call(a, run, "add_internal_note", {{"text", "ok"}}).decision.verdict,
            Verdict::kAllow);
}

TYPED_TEST(SequenceStore, DeniedCallsChangeNoWorkflowStateOrLabel) {
  const std::string a = "inbox-agent";
  const std::string run = this->NewRun(a);
  // Denied (an argument constraint; a blocked tool): no label, even across a reopen.
  EXPECT_EQ(this->Call(a, run, "read_inbox", {{"folder", "spam"}}).decision.verdict,
            Verdict::kDeny);
  EXPECT_EQ(this->Call(a, run, "export_customers", {}).decision.verdict, Verdict::kDeny);
  if (TypeParam::kDurable) this->Reopen();
  Result<core::RunInfo> info = this->store().GetRun(run);
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->state.labels.empty());
  const std::string r = this->NewRun("release-agent");
  EXPECT_EQ(
      this->Call("release-agent", r, "run_tests", {{"version", "not-a-version"}}).decision.verdict,
      Verdict::kDeny);
  EXPECT_EQ(this->WorkflowState(r), "");
  EXPECT_TRUE(this->store().GetRun(r)->state.workflow_vars.empty());
}

boost::json::object Note() { return {{"channel", "#ops"}, {"text", "hello"}}; }

TYPED_TEST(SequenceStore, RateLimitIsExactUnderConcurrencyAcrossRuns) {
  const std::string a = "notifier-agent";
  constexpr int kThreads = 8, kEach = 3;  // 24 attempts, limit 3 per 60 s
  std::vector<std::string> runs;
  for (int t = 0; t < kThreads; ++t) runs.push_back(this->NewRun(a));
  std::atomic<int> allowed{0}, limited{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        GuardResponse r = this->Call(a, runs[t], "send_notification", Note());
        if (r.decision.verdict == Verdict::kAllow) {
          ++allowed;
        } else if (r.decision.code == Code::kRateLimited && r.decision.retry_after_s > 0) {
          ++limited;
        } else {
          ++other;
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 3);
  EXPECT_EQ(limited.load(), kThreads * kEach - 3);
  EXPECT_EQ(other.load(), 0);
  // Other tools of the agent have no limit.
  EXPECT_EQ(this->Call(a, runs[0], "get_channel_info", {{"channel", "#ops"}}).decision.verdict,
            Verdict::kAllow);
}

TYPED_TEST(SequenceStore, DeniedCallsDoNotCountAndTheWindowSlides) {
  const std::string a = "notifier-agent";
  const std::string run = this->NewRun(a);
  for (int i = 0; i < 5; ++i) {  // denied by an argument constraint: never counted
    EXPECT_EQ(this->Call(a, run, "send_notification", {{"channel", "no-hash"}, {"text", "x"}})
                  .decision.verdict,
              Verdict::kDeny);
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(this->Call(a, run, "send_notification", Note()).decision.verdict, Verdict::kAllow);
    this->clock_.Advance(std::chrono::seconds(10));
  }
  GuardResponse over = this->Call(a, run, "send_notification", Note());
  EXPECT_EQ(over.decision.code, Code::kRateLimited);
  EXPECT_EQ(over.decision.retry_after_s, 30);  // the first call leaves the window in 30 s
  this->clock_.Advance(std::chrono::seconds(31));
  EXPECT_EQ(this->Call(a, run, "send_notification", Note()).decision.verdict, Verdict::kAllow);
}

TYPED_TEST(SequenceStore, DailyCostQuotaCountsUsageReportedThroughEveryRun) {
  // RunStore::AddUsage takes no time: the store's clock (the real one) dates it. Decide at
  // the same time, so that all of it falls on one UTC day.
  this->clock_.Set(std::chrono::system_clock::now());
  const std::string a = "notifier-agent";
  const std::string r1 = this->NewRun(a), r2 = this->NewRun(a), r3 = this->NewRun(a);
  GuardResponse first = this->Call(a, r1, "get_channel_info", {{"channel", "#a"}}, 400'000);
  ASSERT_EQ(first.decision.verdict, Verdict::kAllow);
  ASSERT_TRUE(this->Report(a, first.call_id, true, 200'000).ok());     // a result's usage counts
  ASSERT_TRUE(this->store().AddUsage(r2, a, Usage{0, 300'000}).ok());  // so does usage alone
  if (TypeParam::kDurable) this->Reopen();
  // 0.90 so far today: a call reporting 0.05 more is allowed, one reporting 0.10 is not.
  EXPECT_EQ(this->Call(a, r3, "get_channel_info", {{"channel", "#a"}}, 50'000).decision.verdict,
            Verdict::kAllow);
  GuardResponse over = this->Call(a, r3, "get_channel_info", {{"channel", "#a"}}, 50'000);
  EXPECT_EQ(over.decision.code, Code::kQuotaExceeded);
  EXPECT_GT(over.decision.retry_after_s, 0);
  // The next UTC day starts afresh.
  this->clock_.Advance(std::chrono::hours(24));
  const std::string r4 = this->NewRun(a);
  EXPECT_EQ(this->Call(a, r4, "get_channel_info", {{"channel", "#a"}}).decision.verdict,
            Verdict::kAllow);
}

// Tests that usage reported past the database's integer range (a call's tokens are any
// uint64) holds the day's total at its maximum on every backend: the day is over its quota,
// never wrapped to a small number, and the store never fails the write ("bigint out of
// range" failed every decision batched with it on PostgreSQL).
TYPED_TEST(SequenceStore, HugeReportedTokensHoldTheDayPastItsQuota) {
  this->clock_.Set(std::chrono::system_clock::now());
  std::vector<policy::Diagnostic> diags;
  auto agent = policy::ParseAgentPolicy(
      "agent:\n  id: \"token-agent\"\n  identity: \"token-agent@test\"\n"
      "tools:\n  allowed:\n    - name: \"read\"\n"
      "quotas:\n  tokens_per_day: 1000\n",
      "token-agent.yaml", &diags);
  ASSERT_TRUE(agent.ok()) << agent.error().message;
  auto set = std::make_shared<policy::PolicySet>();
  set->agents["token-agent"] = *agent;
  core::PolicySource policies(set);
  // A guard over the store as it is now (Reopen replaces it).
  auto decide = [&](const std::string& run, uint64_t tokens) {
    core::Guard guard(&policies, &this->store(), &this->clock_, nullptr);
    ToolCall c;
    c.tool = "read";
    c.usage.tokens = tokens;
    return guard.Decide("token-agent", "token-agent", run, std::move(c));
  };
  const std::string a = "token-agent";
  const std::string r1 = this->NewRun(a), r2 = this->NewRun(a);
  constexpr uint64_t kHuge = std::numeric_limits<uint64_t>::max() - 1;
  ASSERT_TRUE(this->store().AddUsage(r1, a, Usage{kHuge, 0}).ok());
  ASSERT_TRUE(this->store().AddUsage(r2, a, Usage{kHuge, 0}).ok());
  GuardResponse over = decide(r2, kHuge);
  EXPECT_EQ(over.decision.code, Code::kQuotaExceeded) << over.decision.reason;
  if (TypeParam::kDurable) this->Reopen();
  GuardResponse still = decide(r1, 0);
  EXPECT_EQ(still.decision.code, Code::kQuotaExceeded) << still.decision.reason;
}

// A tool that declares its own labels (MCP annotations; the policy writes none) and needs
// approval: released by a reviewer, it adds the labels it declared when it was decided, so
// a flow over them still fires afterwards. Without them a human-approved fetch of
// untrusted content would be forgotten by the run, and the send after it would pass.
TEST(SequenceRelease, ApprovedCallKeepsTheLabelsItsToolDeclared) {
  for (const bool by_resubmission : {true, false}) {
    TempDir dir;
    SqliteBackend b(dir);
    const std::string yaml =
        "agent:\n  id: \"web-agent\"\n  identity: \"web@test\"\n  autonomy: audit_based\n"
        "tools:\n  allowed:\n"
        "    - name: \"fetch_page\"\n      requires_approval: true\n"
        "    - name: \"send\"\n      labels: [\"external_communication\"]\n"
        "flows:\n  - name: \"no-exfiltration\"\n    from: [\"untrusted_content\"]\n"
        "    to: [\"external_communication\"]\n    action: deny\n";
    const std::string path = dir.File("web.yaml");
    { std::ofstream(path) << yaml; }
    std::vector<policy::Diagnostic> diags;
    auto set = policy::LoadPolicySet({path}, &diags, {});
    ASSERT_TRUE(set.ok()) << set.error().message;
    core::PolicySource policies(*set);
    ManualClock clock(T0());
    core::Guard guard(&policies, b.store.get(), &clock, nullptr);
    const std::string a = "web-agent";
    Result<core::RunInfo> run = b.store->CreateRun(a, "", clock.Now());
    ASSERT_TRUE(run.ok());
    auto call = [&](const std::string& tool, std::vector<std::string> declared,
                    const std::string& approval = "") {
      ToolCall c;
      c.tool = tool;
      c.args = boost::json::object{{"url", "https://example.com/"}};
      c.declared_labels = std::move(declared);
      c.approval_id = approval;
      return guard.Decide(a, a, run->run_id, std::move(c));
    };
    GuardResponse gated = call("fetch_page", {"untrusted_content"});
    ASSERT_EQ(gated.decision.code, Code::kApprovalRequired) << gated.decision.reason;
    EXPECT_EQ(gated.decision.declared_labels, std::vector<std::string>{"untrusted_content"});
    const std::string approval = core::ApprovalIdForCall(gated.call_id);
    core::VoteRequest vote;
    vote.approval_id = approval;
    vote.reviewer = core::Principal{"t1", "rita", core::Role::kReviewer, ""};
    vote.approve = true;
    vote.now = clock.Now();
    ASSERT_TRUE(b.store->Vote(vote).ok());
    if (by_resubmission) {
      // Re-sent without its labels (a client that lost them): the decided ones count.
      EXPECT_EQ(call("fetch_page", {}, approval).decision.verdict, Verdict::kAllow);
    } else {
      auto read = b.store->ReleaseCall(gated.call_id, a, a, clock.Now(), guard.Policies());
      ASSERT_TRUE(read.ok()) << read.error().message;
    }
    Result<core::RunInfo> after = b.store->GetRun(run->run_id);
    ASSERT_TRUE(after.ok());
    EXPECT_TRUE(after->state.labels.contains("untrusted_content")) << by_resubmission;
    EXPECT_EQ(call("send", {}).decision.code, Code::kFlowViolation) << by_resubmission;
  }
}

}  // namespace sequence_store_test
}  // namespace interlock

namespace interlock {
namespace sequence_store_test {

// The release of an approved call (SQLite: the store with approvals) applies what the
// call adds to the run: the approved send_email of the inbox flow carries its label from
// then on, whichever way it is delivered (re-submission with approval_id, or the agent's
// read of the call).
TEST(SequenceRelease, ApprovedCallAddsItsLabelsWhenReleased) {
  for (const bool by_resubmission : {true, false}) {
    TempDir dir;
    SqliteBackend b(dir);
    core::PolicySource policies(Examples());
    ManualClock clock(T0());
    core::Guard guard(&policies, b.store.get(), &clock, nullptr);
    const std::string a = "inbox-agent";
    Result<core::RunInfo> run = b.store->CreateRun(a, "", clock.Now());
    ASSERT_TRUE(run.ok());
    auto call = [&](const std::string& tool, boost::json::object args,
                    const std::string& approval = "") {
      ToolCall c;
      c.tool = tool;
      c.args = std::move(args);
      c.approval_id = approval;
      return guard.Decide(a, a, run->run_id, std::move(c));
    };
    ASSERT_EQ(call("read_inbox", {{"folder", "inbox"}}).decision.verdict, Verdict::kAllow);
    ASSERT_EQ(call("search_customers", {{"query", "x"}}).decision.verdict, Verdict::kAllow);
    const boost::json::object email{{"to", "a@example.com"}, {"subject", "s"}, {"body", "b"}};
    GuardResponse gated = call("send_email", email);
    ASSERT_EQ(gated.decision.code, Code::kApprovalRequired);
    const std::string approval = core::ApprovalIdForCall(gated.call_id);
    core::VoteRequest vote;
    vote.approval_id = approval;
    vote.reviewer = core::Principal{"t1", "rita", core::Role::kReviewer, ""};
    vote.approve = true;
    vote.now = clock.Now();
    Result<core::VoteOutcome> voted = b.store->Vote(vote);
    ASSERT_TRUE(voted.ok()) << voted.error().message;
    Result<core::RunInfo> before = b.store->GetRun(run->run_id);
    ASSERT_TRUE(before.ok());
    EXPECT_FALSE(before->state.labels.contains("external_communication"));  // granted only
    if (by_resubmission) {
      EXPECT_EQ(call("send_email", email, approval).decision.verdict, Verdict::kAllow);
    } else {
      auto read = b.store->ReleaseCall(gated.call_id, a, a, clock.Now(), guard.Policies());
      ASSERT_TRUE(read.ok()) << read.error().message;
      EXPECT_EQ(read->record.decision.verdict, Verdict::kAllow);
    }
    Result<core::RunInfo> after = b.store->GetRun(run->run_id);
    ASSERT_TRUE(after.ok());
    EXPECT_TRUE(after->state.labels.contains("external_communication")) << by_resubmission;
  }
}

}  // namespace sequence_store_test
}  // namespace interlock

namespace interlock {
namespace sequence_store_test {

// The audit trail shows a run's sequence state (replay reads it back): each decision's
// state_after carries the workflow and labels, and a result's record the move it made.
TEST(SequenceAudit, ReplayShowsWorkflowMovesAndState) {
  TempDir dir;
  SqliteBackend b(dir);
  core::PolicySource policies(Examples());
  ManualClock clock(T0());
  core::Guard guard(&policies, b.store.get(), &clock, nullptr);
  const std::string a = "release-agent";
  Result<core::RunInfo> run = b.store->CreateRun(a, "", clock.Now());
  ASSERT_TRUE(run.ok());
  ToolCall tests;
  tests.tool = "run_tests";
  tests.args = {{"version", "v1.2.3"}};
  GuardResponse r = guard.Decide(a, a, run->run_id, tests);
  ASSERT_EQ(r.decision.verdict, Verdict::kAllow);
  core::CallResult ok;
  ok.policies = guard.Policies();
  ASSERT_TRUE(b.store->RecordResult(r.call_id, a, a, ok, clock.Now()).ok());
  ToolCall status;
  status.tool = "get_deployment_status";
  ASSERT_EQ(guard.Decide(a, a, run->run_id, status).decision.verdict, Verdict::kAllow);
  b.store.reset();  // everything committed
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(b.path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  Result<audit::RunReplay> replay = audit::ReplayRun(db, run->run_id);
  sqlite3_close(db);
  ASSERT_TRUE(replay.ok()) << replay.error().message;
  ASSERT_EQ(replay->calls.size(), 2u);
  EXPECT_EQ(boost::json::serialize(replay->calls[1].state_after.at("workflow")),
            R"({"state":"tested","vars":{"tested_version":"v1.2.3"}})");
  const std::string text = audit::ReplayToText(*replay);
  EXPECT_NE(text.find("workflow (initial) -> tested"), std::string::npos) << text;
  EXPECT_NE(text.find("workflow tested vars {\"tested_version\":\"v1.2.3\"}"), std::string::npos)
      << text;
}

}  // namespace sequence_store_test
}  // namespace interlock

namespace interlock {
namespace sequence_store_test {

// Two enforcement points on one store (two daemons on one PostgreSQL database, or two
// processes on one SQLite file): the rate limit holds across them, exactly.
template <class Open>
void RateLimitAcrossTwoStores(Open open) {
  std::unique_ptr<RunStore> s1 = open(), s2 = open();
  ASSERT_NE(s1, nullptr);
  ASSERT_NE(s2, nullptr);
  core::PolicySource policies(Examples());
  ManualClock clock(T0());
  core::Guard g1(&policies, s1.get(), &clock, nullptr), g2(&policies, s2.get(), &clock, nullptr);
  const std::string a = "notifier-agent";
  std::atomic<int> allowed{0}, limited{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    core::Guard* g = t % 2 == 0 ? &g1 : &g2;
    RunStore* s = t % 2 == 0 ? s1.get() : s2.get();
    Result<core::RunInfo> run = s->CreateRun(a, "", clock.Now());
    ASSERT_TRUE(run.ok());
    threads.emplace_back([&, g, id = run->run_id] {
      for (int i = 0; i < 4; ++i) {
        ToolCall c;
        c.tool = "send_notification";
        c.args = {{"channel", "#ops"}, {"text", "hi"}};
        GuardResponse r = g->Decide(a, a, id, std::move(c));
        if (r.decision.verdict == Verdict::kAllow) ++allowed;
        if (r.decision.code == Code::kRateLimited) ++limited;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(allowed.load(), 3);
  EXPECT_EQ(limited.load(), 21);
}

TEST(SequenceFleet, RateLimitIsExactAcrossTwoSqliteStoresOnOneFile) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  RateLimitAcrossTwoStores([&]() -> std::unique_ptr<RunStore> {
    store::StoreOptions o;
    o.path = path;
    o.durable_full = false;
    o.busy_timeout_ms = 10000;
    auto s = store::SqliteStore::Open(o);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? std::move(s).value() : nullptr;
  });
}

TEST(SequenceFleet, RateLimitIsExactAcrossTwoPostgresStoresOnOneDatabase) {
  std::string error;
  const std::string uri = testing::PgTestEnvironment::Instance()->NewDatabase(&error);
  ASSERT_FALSE(uri.empty()) << error;
  RateLimitAcrossTwoStores([&]() -> std::unique_ptr<RunStore> {
    store::PostgresOptions o;
    o.uri = uri;
    auto s = store::PostgresStore::Open(o);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? std::move(s).value() : nullptr;
  });
}

}  // namespace sequence_store_test
}  // namespace interlock
