// The approval operations (core/approval_txn.h) against the in-memory row port
// (core/memory_approval_rows.h): what a vote, a release, a withdrawal and the sweep write,
// whichever backend runs them.
#include "core/approval_txn.h"

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include "core/memory_approval_rows.h"

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

const TimePoint kT0 = FromUnixMillis(1'700'000'000'000);

// A StateTxn over a map of runs and MemoryApprovalRows; audit events are kept in order.
class FakeTxn final : public StateTxn {
 public:
  Result<RunRow> LoadRunForUpdate(std::string_view run_id) override {
    auto it = runs.find(std::string(run_id));
    if (it == runs.end()) return Error::NotFound("no run " + std::string(run_id));
    return it->second;
  }
  Status SaveRun(std::string_view run_id, const RunRow& row) override {
    RunRow& r = runs.at(std::string(run_id));
    if (r.version != row.version) return Error::Unavailable("conflict");
    r = row;
    ++r.version;
    return Status::Ok();
  }
  Result<std::optional<engine::KillSwitch>> EngagedKill(std::string_view,
                                                        std::string_view) override {
    return std::optional<engine::KillSwitch>();
  }
  Result<std::string> InsertCall(const NewCall&) override { return Unused(); }
  Result<CallRecord> LoadCall(std::string_view) override { return Unused(); }
  Result<CallResultRow> LoadCallForResult(std::string_view) override { return Unused(); }
  Status SaveCallResult(std::string_view, std::string_view, TimePoint) override { return Unused(); }
  Result<engine::AgentUsage> CountAgentUsage(std::string_view, const CountQuery&,
                                             TimePoint) override {
    return Unused();
  }
  Status AddAgentUsage(std::string_view, std::string_view, bool, const Usage&, TimePoint) override {
    return Unused();
  }
  void AppendAudit(audit::AuditEvent event) override { events.push_back(std::move(event)); }
  ApprovalRows& approvals() override { return rows; }

  // The "event" of every "approval" record, in order.
  std::vector<std::string> ApprovalEvents() const {
    std::vector<std::string> out;
    for (const audit::AuditEvent& e : events) {
      if (const boost::json::value* v = e.data.if_contains("event"); v && v->is_string()) {
        out.emplace_back(v->get_string());
      }
    }
    return out;
  }

  std::map<std::string, RunRow> runs;
  MemoryApprovalRows rows;
  std::vector<audit::AuditEvent> events;

 private:
  static Error Unused() { return Error::Internal("not used by approvals"); }
};

// A run "r1" of agent "bot" and a pending approval of its call "call_1" (tool "export",
// touching `records` records, needing `required` approvers).
void Seed(FakeTxn& txn, uint64_t records = 2, int required = 1) {
  txn.runs["r1"] = RunRow{"bot", kT0, RunState{}, false, 1};
  Approval a;
  a.approval_id = ApprovalIdForCall("call_1");
  a.call_id = "call_1";
  a.run_id = "r1";
  a.agent_id = "bot";
  a.principal = "bot";
  a.tool = "export";
  a.args_sha256 = "00";
  a.required = required;
  a.records = records;
  a.created = kT0;
  a.deadline = kT0 + std::chrono::minutes(5);
  a.hard_deadline = a.deadline;
  a.timeout_seconds = 300;
  ASSERT_TRUE(txn.rows.Insert(a).ok());
  txn.rows.decisions["call_1"] =
      R"({"decision":"approval_required","code":"APPROVAL_REQUIRED","reason":"ask"})";
}

VoteRequest Vote(std::string reviewer, bool approve, std::optional<uint64_t> max_records = {}) {
  VoteRequest v;
  v.approval_id = "apr_1";
  v.reviewer = Principal{"tok", std::move(reviewer), Role::kReviewer, ""};
  v.approve = approve;
  v.now = kT0 + std::chrono::seconds(10);
  v.policy = [max_records](std::string_view, std::string_view) {
    ApprovalPolicyFacts f;
    f.identity = "bot@corp";
    f.max_records_per_run = max_records;
    return f;
  };
  return v;
}

std::string DecisionOf(FakeTxn& txn) {
  const std::string& d = txn.rows.decisions.at("call_1");
  return std::string(boost::json::parse(d).at("decision").as_string());
}

// Tests that a decided APPROVAL_REQUIRED call queues one pending approval, bound to the
// call, with its "requested" record; any other decision queues none.
TEST(ApprovalTxnTest, ApprovalRequiredQueuesOnePendingApproval) {
  FakeTxn txn;
  DecideRequest rq;
  rq.run_id = "r1";
  rq.agent_id = "bot";
  rq.principal = "bot";
  rq.now = kT0;
  rq.call.tool = "export";
  engine::Evaluation ev;
  ev.decision.verdict = Verdict::kAllow;
  ASSERT_TRUE(AfterDecideInTxn(txn, rq, "call_7", ev).ok());
  EXPECT_TRUE(txn.rows.approvals.empty());
  ev.decision.verdict = Verdict::kApprovalRequired;
  ev.effects.records = 3;
  ASSERT_TRUE(AfterDecideInTxn(txn, rq, "call_7", ev).ok());
  ASSERT_EQ(txn.rows.approvals.count("apr_7"), 1u);
  const Approval& a = txn.rows.approvals.at("apr_7");
  EXPECT_EQ(a.state, ApprovalState::kPending);
  EXPECT_EQ(a.records, 3u);
  EXPECT_EQ(a.args_sha256, ArgsSha256(rq));
  EXPECT_EQ(txn.ApprovalEvents(), std::vector<std::string>{"requested"});
}

// Tests that a grant settles the call as allow and consumes the records it touches in the
// run, in the same transaction.
TEST(ApprovalTxnTest, GrantSettlesTheCallAndConsumesItsRecords) {
  FakeTxn txn;
  Seed(txn);
  VoteOutcome out;
  ASSERT_TRUE(VoteInTxn(txn, Vote("rita", true, 5), nullptr, &out).ok());
  EXPECT_TRUE(out.settled);
  EXPECT_EQ(out.approval.state, ApprovalState::kGranted);
  EXPECT_EQ(txn.rows.approvals.at("apr_1").votes.size(), 1u);
  EXPECT_EQ(DecisionOf(txn), "allow");
  EXPECT_EQ(txn.runs.at("r1").state.records.at("export"), 2u);
  EXPECT_EQ(txn.ApprovalEvents(), std::vector<std::string>{"granted"});
}

// Tests that a grant re-checks max_records_per_run against the run as it is now: over the
// limit, the approval is denied RECORD_LIMIT_EXCEEDED and the run's records are untouched.
TEST(ApprovalTxnTest, GrantOverTheRecordLimitIsDenied) {
  FakeTxn txn;
  Seed(txn, /*records=*/2);
  txn.runs["r1"].state.records["export"] = 4;
  VoteOutcome out;
  ASSERT_TRUE(VoteInTxn(txn, Vote("rita", true, 5), nullptr, &out).ok());
  EXPECT_TRUE(out.settled);
  EXPECT_EQ(out.approval.state, ApprovalState::kDenied);
  EXPECT_EQ(DecisionOf(txn), "deny");
  EXPECT_EQ(txn.runs.at("r1").state.records.at("export"), 4u);
  EXPECT_EQ(txn.ApprovalEvents(), std::vector<std::string>{"denied"});
}

// Tests that the agent's own identity cannot approve its call, and that the refused vote
// writes nothing: no vote row, no audit record, the approval still pending.
TEST(ApprovalTxnTest, SelfApprovalWritesNothing) {
  FakeTxn txn;
  Seed(txn);
  VoteOutcome out;
  Status s = VoteInTxn(txn, Vote("bot@corp", true), nullptr, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_TRUE(txn.rows.approvals.at("apr_1").votes.empty());
  EXPECT_EQ(txn.rows.approvals.at("apr_1").state, ApprovalState::kPending);
  EXPECT_TRUE(txn.events.empty());
}

// Tests that an approval needing two people is settled only by the second distinct one.
TEST(ApprovalTxnTest, TwoPersonRuleWaitsForTheSecondReviewer) {
  FakeTxn txn;
  Seed(txn, 1, /*required=*/2);
  VoteOutcome out;
  ASSERT_TRUE(VoteInTxn(txn, Vote("rita", true), nullptr, &out).ok());
  EXPECT_FALSE(out.settled);
  Status again = VoteInTxn(txn, Vote("Rita", true), nullptr, &out);
  EXPECT_FALSE(again.ok()) << "one person, one vote";
  ASSERT_TRUE(VoteInTxn(txn, Vote("sam", true), nullptr, &out).ok());
  EXPECT_TRUE(out.settled);
  EXPECT_EQ(DecisionOf(txn), "allow");
}

// Tests that a granted call is released once: the first delivery releases it, any later
// one (a second read, an identical call attached to it) releases nothing more.
TEST(ApprovalTxnTest, GrantedCallIsReleasedOnce) {
  FakeTxn txn;
  Seed(txn);
  VoteOutcome out;
  ASSERT_TRUE(VoteInTxn(txn, Vote("rita", true), nullptr, &out).ok());
  const ReleaseContext ctx{std::nullopt, false, false, "", kT0 + std::chrono::seconds(20)};
  bool first = false, second = false;
  ASSERT_TRUE(ReleaseInTxn(txn, "call_1", ctx, &first).ok());
  ASSERT_TRUE(ReleaseInTxn(txn, "call_1", ctx, &second).ok());
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  EXPECT_EQ(txn.rows.approvals.at("apr_1").used_call_id, "call_1");
  EXPECT_EQ(txn.ApprovalEvents(), (std::vector<std::string>{"granted", "released"}));
}

// The identical retry of call_1 (tool "export", no arguments) by `principal` at `now`,
// with call_1's approval bound to exactly those arguments.
DecideRequest Retry(FakeTxn& txn, std::string principal, TimePoint now) {
  DecideRequest rq;
  rq.run_id = "r1";
  rq.agent_id = "bot";
  rq.principal = std::move(principal);
  rq.now = now;
  rq.call.tool = "export";
  txn.rows.approvals.at("apr_1").args_sha256 = ArgsSha256(rq);
  return rq;
}

// Tests that a granted approval answers an identical retry (any envelope: a new Claude Code
// tool_use_id) with a redemption only until it is released, only for the identity it was
// made for, and only within its timeout after the grant; a pending one is not a verdict.
TEST(ApprovalTxnTest, GrantRedeemsOneIdenticalRetryOfItsIdentityWithinItsTimeout) {
  FakeTxn txn;
  Seed(txn);
  const TimePoint soon = kT0 + std::chrono::seconds(20);
  Result<TwinVerdict> pending = DecidedTwinInTxn(txn, Retry(txn, "bot", soon));
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->call_id, "");
  VoteOutcome out;
  ASSERT_TRUE(VoteInTxn(txn, Vote("rita", true), nullptr, &out).ok());
  Result<TwinVerdict> granted = DecidedTwinInTxn(txn, Retry(txn, "bot", soon));
  ASSERT_TRUE(granted.ok());
  EXPECT_EQ(granted->call_id, "call_1");
  EXPECT_TRUE(granted->redeem);
  EXPECT_EQ(DecidedTwinInTxn(txn, Retry(txn, "bot on behalf of mallory", soon))->call_id, "");
  // The grant was at kT0 + 10 s; its timeout is 300 s.
  const TimePoint late = kT0 + std::chrono::seconds(311);
  EXPECT_EQ(DecidedTwinInTxn(txn, Retry(txn, "bot", late))->call_id, "");
  const ReleaseContext ctx{std::nullopt, false, false, "", soon};
  bool released = false;
  ASSERT_TRUE(ReleaseInTxn(txn, "call_1", ctx, &released).ok());
  ASSERT_TRUE(released);
  EXPECT_EQ(DecidedTwinInTxn(txn, Retry(txn, "bot", soon))->call_id, "");
}

// Tests that a reviewer's deny answers an identical retry (refused, nobody asked again),
// while a timed-out approval answers none (the retry needs a new approval).
TEST(ApprovalTxnTest, DenyRefusesAnIdenticalRetryAndATimeoutDoesNot) {
  FakeTxn txn;
  Seed(txn);
  const TimePoint soon = kT0 + std::chrono::seconds(20);
  VoteOutcome out;
  ASSERT_TRUE(VoteInTxn(txn, Vote("rita", false), nullptr, &out).ok());
  Result<TwinVerdict> denied = DecidedTwinInTxn(txn, Retry(txn, "bot", soon));
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->call_id, "call_1");
  EXPECT_FALSE(denied->redeem);
  txn.rows.approvals.at("apr_1").state = ApprovalState::kTimedOut;
  EXPECT_EQ(DecidedTwinInTxn(txn, Retry(txn, "bot", soon))->call_id, "");
}

// Tests that a release finding its run halted cancels the granted call instead.
TEST(ApprovalTxnTest, ReleaseIntoAHaltedRunCancelsTheGrant) {
  FakeTxn txn;
  Seed(txn);
  VoteOutcome out;
  ASSERT_TRUE(VoteInTxn(txn, Vote("rita", true), nullptr, &out).ok());
  const ReleaseContext ctx{std::nullopt, true, false, "budget", kT0 + std::chrono::seconds(20)};
  bool released = false;
  ASSERT_TRUE(ReleaseInTxn(txn, "call_1", ctx, &released).ok());
  EXPECT_FALSE(released);
  EXPECT_EQ(txn.rows.approvals.at("apr_1").state, ApprovalState::kCancelled);
  EXPECT_EQ(DecisionOf(txn), "deny");
}

// Tests that only the agent's own identity withdraws its approval; another identity of
// the agent is refused and that refusal is recorded.
TEST(ApprovalTxnTest, WithdrawalByAnotherIdentityIsRecordedAndRefused) {
  FakeTxn txn;
  Seed(txn);
  Approval out;
  std::optional<Error> refused;
  ASSERT_TRUE(
      WithdrawInTxn(txn, "apr_1", "bot", "bot for mallory", "gone", kT0, &out, &refused).ok());
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->kind, ErrorKind::kPermissionDenied);
  EXPECT_EQ(txn.rows.approvals.at("apr_1").state, ApprovalState::kPending);
  ASSERT_TRUE(WithdrawInTxn(txn, "apr_1", "bot", "bot", "gone", kT0, &out, &refused).ok());
  EXPECT_FALSE(refused.has_value());
  EXPECT_EQ(out.state, ApprovalState::kWithdrawn);
  EXPECT_EQ(DecisionOf(txn), "deny");
  EXPECT_EQ(txn.ApprovalEvents(), (std::vector<std::string>{"withdraw_refused", "withdrawn"}));
}

// Tests that the sweep cancels what an engaged kill switch covers and times out what is due,
// and leaves everything else pending.
TEST(ApprovalTxnTest, SweepCancelsForKillsAndTimesOutWhatIsDue) {
  FakeTxn txn;
  Seed(txn);
  Approval other = txn.rows.approvals.at("apr_1");
  other.approval_id = "apr_2";
  other.call_id = "call_2";
  other.run_id = "r2";
  other.deadline = kT0 + std::chrono::hours(1);
  other.hard_deadline = other.deadline;
  ASSERT_TRUE(txn.rows.Insert(other).ok());
  txn.rows.decisions["call_2"] = txn.rows.decisions["call_1"];
  std::vector<ApprovalChange> changes;
  ASSERT_TRUE(ExpireInTxn(txn, kT0 + std::chrono::minutes(6), &changes).ok());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, ApprovalChange::Kind::kTimedOut);
  EXPECT_EQ(txn.rows.approvals.at("apr_2").state, ApprovalState::kPending);
  txn.rows.kills.push_back(KillEntry{"run", "r2", true, "incident", "ops", {}});
  ASSERT_TRUE(ExpireInTxn(txn, kT0 + std::chrono::minutes(7), &changes).ok());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].kind, ApprovalChange::Kind::kCancelled);
  EXPECT_EQ(txn.rows.approvals.at("apr_2").state, ApprovalState::kCancelled);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
