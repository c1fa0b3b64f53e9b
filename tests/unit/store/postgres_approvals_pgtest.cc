// Approvals on PostgreSQL with several stores (daemons) on one database: the two-person
// rule, one approval one execution, timeouts, withdrawals, kill switches and wake-ups hold
// across them. A private cluster per test binary (tests/support/pg_cluster.h), a fresh
// database per test.
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "pg_cluster.h"
#include "store/postgres_store.h"
#include "wait.h"

namespace interlock::store {
namespace INTERLOCK_TEST_NS {

using core::CallRecord;
using core::DecideRequest;
using std::chrono::milliseconds;
using testing::WaitUntil;

TimePoint T0() { return FromUnixMillis(1'700'000'000'000); }
TimePoint At(int64_t s) { return T0() + std::chrono::seconds(s); }

class PgApprovals : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    uri_ = testing::PgTestEnvironment::Instance()->NewDatabase(&error, &cluster_);
    ASSERT_FALSE(uri_.empty()) << error;
    db_ = uri_.substr(uri_.rfind('/') + 1);
    a_ = Open();
    b_ = Open();
    ASSERT_TRUE(a_ && b_);
  }

  std::unique_ptr<PostgresStore> Open() {
    PostgresOptions o;
    o.uri = uri_;
    o.approval_default_timeout_seconds = 60;
    Result<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? std::move(s).value() : nullptr;
  }

  std::string Sql(const std::string& sql) {
    std::string error;
    std::string out = cluster_->Psql(db_, sql, &error);
    EXPECT_EQ(error, "");
    return out;
  }

  // The approval records of `event` in the audit log.
  int Events(const std::string& event) {
    return std::stoi(
        Sql("SELECT count(*) FROM audit_records WHERE type = 'approval' AND body LIKE "
            "'%\"event\":\"" +
            event + "\"%'"));
  }

  static DecideRequest Request(const std::string& run, const std::string& approval_id = "") {
    DecideRequest rq;
    rq.run_id = run;
    rq.agent_id = "agent";
    rq.principal = "agent";
    rq.policy_sha256 = std::string(64, 'a');
    rq.now = T0();
    rq.call.tool = "deploy";
    rq.call.args = boost::json::object{{"env", "prod"}};
    rq.call.approval_id = approval_id;
    return rq;
  }

  // A call in `run` on `s` that the policy sends for `required` approvals.
  static Result<CallRecord> NeedsApproval(PostgresStore& s, const std::string& run,
                                          int required = 1, int timeout_s = 0,
                                          const std::string& approval_id = "") {
    return s.Decide(Request(run, approval_id), [=](const ToolCall& call, const RunState&,
                                                   const std::optional<engine::KillSwitch>& kill,
                                                   const std::optional<engine::AgentUsage>&) {
      engine::Evaluation ev;
      if (kill) {
        ev.decision = DenyDecision(Code::kKillSwitch, kill->reason);
        return ev;
      }
      ev.decision.verdict = Verdict::kApprovalRequired;
      ev.decision.code = Code::kApprovalRequired;
      ev.decision.tool = call.tool;
      ev.decision.approvals_required = required;
      ev.decision.approval_timeout_seconds = timeout_s;
      return ev;
    });
  }

  static Result<core::VoteOutcome> Vote(PostgresStore& s, const std::string& approval_id,
                                        const std::string& reviewer, bool approve = true) {
    core::VoteRequest v;
    v.approval_id = approval_id;
    v.reviewer = core::Principal{"tok_" + reviewer, reviewer, core::Role::kReviewer, ""};
    v.approve = approve;
    v.now = At(1);
    return s.Vote(v);
  }

  std::string NewRun(PostgresStore& s) {
    Result<core::RunInfo> r = s.CreateRun("agent", "", T0());
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->run_id : "";
  }

  testing::PgCluster* cluster_ = nullptr;
  std::string uri_, db_;
  std::unique_ptr<PostgresStore> a_, b_;
};

// Tests that two reviewers voting at the same moment through two daemons on a call that
// needs two approvals grant it exactly once, with both votes counted (no lost update), and
// that one person voting through both daemons at once is counted once.
TEST_F(PgApprovals, TwoDaemonsVotingAtOnceCountTheTwoPersonRuleExactly) {
  constexpr int kCalls = 12;
  for (int i = 0; i < kCalls; ++i) {
    const std::string run = NewRun(*a_);
    Result<CallRecord> c = NeedsApproval(*a_, run, /*required=*/2);
    ASSERT_TRUE(c.ok()) << c.error().message;
    const std::string id = core::ApprovalIdForCall(c->call_id);
    const bool same_person = i % 2 == 1;
    auto va = std::async(std::launch::async, [&] { return Vote(*a_, id, "rita"); });
    auto vb =
        std::async(std::launch::async, [&] { return Vote(*b_, id, same_person ? "Rita" : "bob"); });
    Result<core::VoteOutcome> ra = va.get(), rb = vb.get();
    Result<core::Approval> after = b_->GetApproval(id);
    ASSERT_TRUE(after.ok());
    if (same_person) {
      EXPECT_NE(ra.ok(), rb.ok()) << "one person, one vote";
      EXPECT_EQ(after->state, core::ApprovalState::kPending);
      EXPECT_EQ(after->votes.size(), 1u);
      EXPECT_EQ(a_->GetCall(c->call_id)->record.decision.verdict, Verdict::kApprovalRequired);
    } else {
      ASSERT_TRUE(ra.ok() && rb.ok());
      EXPECT_EQ(int(ra->settled) + int(rb->settled), 1) << "granted by exactly one vote";
      EXPECT_EQ(after->state, core::ApprovalState::kGranted);
      EXPECT_EQ(after->votes.size(), 2u);
      EXPECT_EQ(b_->GetCall(c->call_id)->record.decision.verdict, Verdict::kAllow);
    }
  }
  EXPECT_EQ(Events("granted"), kCalls / 2);
}

// Tests one approval, one execution across daemons: the granted call re-submitted with its
// approval_id through both daemons at once is released once; both answer the same call.
TEST_F(PgApprovals, GrantedCallIsReleasedOnceAcrossDaemons) {
  const std::string run = NewRun(*a_);
  Result<CallRecord> c = NeedsApproval(*a_, run);
  ASSERT_TRUE(c.ok());
  const std::string id = core::ApprovalIdForCall(c->call_id);
  ASSERT_TRUE(Vote(*b_, id, "rita").ok());
  const uint64_t steps = a_->GetRun(run)->state.steps;
  auto ra = std::async(std::launch::async, [&] { return NeedsApproval(*a_, run, 1, 0, id); });
  auto rb = std::async(std::launch::async, [&] { return NeedsApproval(*b_, run, 1, 0, id); });
  Result<CallRecord> x = ra.get(), y = rb.get();
  ASSERT_TRUE(x.ok() && y.ok());
  EXPECT_TRUE(x->existing && y->existing);
  EXPECT_EQ(x->call_id, c->call_id);
  EXPECT_EQ(y->call_id, c->call_id);
  EXPECT_EQ(x->decision.verdict, Verdict::kAllow);
  EXPECT_EQ(Events("released"), 1);
  EXPECT_EQ(a_->GetRun(run)->state.steps, steps) << "a re-submission spends nothing";
  EXPECT_TRUE(b_->GetApproval(id)->used.has_value());
  // ReleaseCall through the other daemon afterwards: the same call, nothing released again.
  Result<core::StoredCall> again = b_->ReleaseCall(c->call_id, "agent", "agent", At(3));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->record.decision.verdict, Verdict::kAllow);
  EXPECT_EQ(Events("released"), 1);
}

// Tests that a deadline is acted on once when every daemon's sweeper runs at once: one
// timed_out change and one audit record in all.
TEST_F(PgApprovals, TimeoutIsRecordedOnceAcrossDaemons) {
  const std::string run = NewRun(*a_);
  Result<CallRecord> c = NeedsApproval(*a_, run, 1, /*timeout_s=*/10);
  ASSERT_TRUE(c.ok());
  auto ea = std::async(std::launch::async, [&] { return a_->ExpireApprovals(At(10)); });
  auto eb = std::async(std::launch::async, [&] { return b_->ExpireApprovals(At(10)); });
  auto x = ea.get();
  auto y = eb.get();
  ASSERT_TRUE(x.ok() && y.ok());
  EXPECT_EQ(x->size() + y->size(), 1u);
  EXPECT_EQ(Events("timed_out"), 1);
  EXPECT_EQ(b_->GetCall(c->call_id)->record.decision.code, Code::kApprovalTimeout);
  EXPECT_EQ(Vote(*b_, core::ApprovalIdForCall(c->call_id), "rita").error().kind,
            ErrorKind::kAlreadyExists);
}

// Tests that an approval the agent withdrew through one daemon refuses a late vote given
// through the other, and the call stays denied.
TEST_F(PgApprovals, WithdrawnOnOneDaemonRefusesALateVoteOnTheOther) {
  const std::string run = NewRun(*a_);
  Result<CallRecord> c = NeedsApproval(*a_, run);
  ASSERT_TRUE(c.ok());
  const std::string id = core::ApprovalIdForCall(c->call_id);
  ASSERT_TRUE(a_->WithdrawApproval(id, "agent", "agent", "client went away", At(1)).ok());
  Result<core::VoteOutcome> late = Vote(*b_, id, "rita");
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().kind, ErrorKind::kAlreadyExists);
  EXPECT_EQ(b_->GetCall(c->call_id)->record.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(b_->GetApproval(id)->state, core::ApprovalState::kWithdrawn);
}

// Tests that a verdict committed through one daemon reaches the other's listener (its
// long polls) within a second, by the call's id.
TEST_F(PgApprovals, VerdictOnOneDaemonWakesTheOtherWithinASecond) {
  std::mutex mu;
  std::set<std::string> woken;
  std::condition_variable cv;
  a_->SetCallListener([&](std::string_view id) {
    std::lock_guard lock(mu);
    woken.insert(std::string(id));
    cv.notify_all();
  });
  ASSERT_TRUE(
      WaitUntil([&] { return a_->Listening(); }, std::chrono::seconds(5), milliseconds(10)));
  const std::string run = NewRun(*a_);
  Result<CallRecord> c = NeedsApproval(*a_, run);
  ASSERT_TRUE(c.ok());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(Vote(*b_, core::ApprovalIdForCall(c->call_id), "rita").ok());
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(1), [&] {
    return woken.contains(c->call_id);
  })) << "no wake-up within 1 s";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  lock.unlock();
  a_->SetCallListener(nullptr);
}

// Tests that when the listening connection is dropped (a restart, a failover), the store
// reconnects and wakes every waiter to re-read ("" = every call), so a verdict committed
// while nobody listened is not missed.
TEST_F(PgApprovals, DroppedListenConnectionReconnectsAndWakesEveryWaiter) {
  std::atomic<int> all{0};
  a_->SetCallListener([&](std::string_view id) {
    if (id.empty()) all.fetch_add(1);
  });
  auto wait_for = [](auto pred) {
    return WaitUntil(pred, std::chrono::seconds(5), milliseconds(10));
  };
  ASSERT_TRUE(wait_for([&] { return a_->Listening(); }));
  const int before = all.load();
  Sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'");
  ASSERT_TRUE(wait_for([&] { return all.load() > before; }))
      << "the reconnected listener woke nobody";
  EXPECT_TRUE(a_->Listening());
  a_->SetCallListener(nullptr);
}

// Tests that a kill switch engaged through one daemon denies the next call on the other
// (the switch is read in every decision's transaction), and cancels a pending approval.
TEST_F(PgApprovals, KillSwitchOnOneDaemonDeniesTheNextCallOnTheOther) {
  const std::string run = NewRun(*a_);
  Result<CallRecord> pending = NeedsApproval(*b_, run);
  ASSERT_TRUE(pending.ok());
  ASSERT_TRUE(a_->SetKill({"global", "", true, "incident", "root", At(1)}).ok());
  const std::string run2 = NewRun(*b_);
  Result<CallRecord> next = NeedsApproval(*b_, run2);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->decision.code, Code::kKillSwitch);
  EXPECT_EQ(b_->GetApproval(core::ApprovalIdForCall(pending->call_id))->state,
            core::ApprovalState::kCancelled);
  EXPECT_EQ(b_->GetCall(pending->call_id)->record.decision.verdict, Verdict::kDeny);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::store
