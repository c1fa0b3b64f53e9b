// Approvals "for the rest of this run" (docs/approvals.md): the core's rules. A grant in
// the run's state covers a later call of its tool that needs only an approval; nothing
// else is waived, another run or tool is never covered, and the policy is asked again
// each time (core::CoverByRunGrant, core::RunGrantRefusal, core::RevokeRunGrant, and
// PlanVote's checks of a vote for the run).
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "core/approval_rules.h"
#include "core/run_txn.h"
#include "policy/loader.h"

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

constexpr const char* kPolicy = R"(
agent:
  id: "ops"
tools:
  allowed:
    - name: "restart_service"
      requires_approval: true
      constraints:
        arguments:
          service: {one_of: ["web", "worker"]}
    - name: "drop_table"
      requires_approval: true
      reversible: false
    - name: "wire_money"
      requires_approval: true
      approvals_required: 2
    - name: "read_logs"
execution:
  max_steps: 3
)";

constexpr const char* kIrreversible = R"(
agent:
  id: "ops"
tools:
  allowed:
    - name: "restart_service"
      requires_approval: true
      reversible: false
)";

std::shared_ptr<const policy::AgentPolicy> Policy(const char* text = kPolicy) {
  std::vector<policy::Diagnostic> diags;
  auto p = policy::ParseAgentPolicy(text, "ops.yaml", &diags);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? *p : nullptr;
}

TimePoint T0() { return FromUnixMillis(1'700'000'000'000); }

RunState WithGrant(std::string tool) {
  RunState s;
  s.grants.emplace(std::move(tool), RunState::RunGrant{"apr_1", "rita", 1'700'000'000'000});
  return s;
}

// What the core decides for one call (the Guard's step: the engine, then the grant).
engine::Evaluation Decide(const policy::AgentPolicy* agent, const RunState& state, std::string tool,
                          std::string_view args) {
  ToolCall call;
  call.tool = std::move(tool);
  call.args = json::parse(args).as_object();
  engine::Evaluation ev =
      engine::Evaluate(agent, state, call, engine::EvalContext{T0(), std::nullopt, {}});
  CoverByRunGrant(agent, state, call, &ev);
  return ev;
}

// Tests that a grant covers a later call of its tool: allowed, covered by the approval,
// the reason says so, and the call proceeds (records consumed, effects applied).
TEST(RunGrant, LaterCallOfTheToolIsCoveredAndSaysSo) {
  auto agent = Policy();
  ASSERT_NE(agent, nullptr);
  engine::Evaluation ev =
      Decide(agent.get(), WithGrant("restart_service"), "restart_service", R"({"service":"web"})");
  EXPECT_EQ(ev.decision.verdict, Verdict::kAllow);
  EXPECT_EQ(ev.decision.code, Code::kAllowed);
  EXPECT_EQ(ev.decision.covered_by, "apr_1");
  EXPECT_NE(ev.decision.reason.find("covered by approval apr_1"), std::string::npos);
  EXPECT_TRUE(ev.effects.consume_records);
  // Without the grant the same call asks.
  engine::Evaluation ask =
      Decide(agent.get(), RunState{}, "restart_service", R"({"service":"web"})");
  EXPECT_EQ(ask.decision.verdict, Verdict::kApprovalRequired);
  EXPECT_TRUE(ask.decision.covered_by.empty());
}

// Tests that a grant waives only the approval: arguments outside the constraints are
// still denied.
TEST(RunGrant, ConstraintViolationStillDenied) {
  auto agent = Policy();
  engine::Evaluation ev =
      Decide(agent.get(), WithGrant("restart_service"), "restart_service", R"({"service":"db"})");
  EXPECT_EQ(ev.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(ev.decision.code, Code::kConstraintViolated);
  EXPECT_TRUE(ev.decision.covered_by.empty());
}

// Tests that budgets still count: a covered run out of steps is denied.
TEST(RunGrant, BudgetStillCounts) {
  auto agent = Policy();
  RunState s = WithGrant("restart_service");
  s.steps = 3;
  engine::Evaluation ev = Decide(agent.get(), s, "restart_service", R"({"service":"web"})");
  EXPECT_EQ(ev.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(ev.decision.code, Code::kBudgetExceeded);
}

// Tests that a grant of one tool never covers another tool of the run.
TEST(RunGrant, OtherToolIsNotCovered) {
  auto agent = Policy();
  engine::Evaluation ev = Decide(agent.get(), WithGrant("restart_service"), "drop_table", "{}");
  EXPECT_EQ(ev.decision.verdict, Verdict::kApprovalRequired);
  EXPECT_TRUE(ev.decision.covered_by.empty());
}

// Tests that another run (its own state, without the grant) is not covered.
TEST(RunGrant, OtherRunIsNotCovered) {
  auto agent = Policy();
  RunState other;  // the grant lives in one run's state only
  other.grants.emplace("read_logs", RunState::RunGrant{"apr_9", "rita", 0});
  engine::Evaluation ev = Decide(agent.get(), other, "restart_service", R"({"service":"web"})");
  EXPECT_EQ(ev.decision.verdict, Verdict::kApprovalRequired);
}

// Tests that irreversible and two-approver tools can never be approved for the run, and
// that a grant which somehow names one covers nothing (the call still asks).
TEST(RunGrant, IrreversibleToolCannotBeApprovedForTheRun) {
  auto agent = Policy();
  EXPECT_NE(RunGrantRefusal(agent->Resolve("drop_table").rule, 1).find("irreversible"),
            std::string::npos);
  EXPECT_EQ(RunGrantRefusal(agent->Resolve("restart_service").rule, 1), "");
  EXPECT_NE(RunGrantRefusal(nullptr, 1), "");
  engine::Evaluation ev = Decide(agent.get(), WithGrant("drop_table"), "drop_table", "{}");
  EXPECT_EQ(ev.decision.verdict, Verdict::kApprovalRequired);
  EXPECT_TRUE(ev.decision.covered_by.empty());
}

TEST(RunGrant, TwoApproverToolCannotBeApprovedForTheRun) {
  auto agent = Policy();
  EXPECT_NE(RunGrantRefusal(agent->Resolve("wire_money").rule, 1).find("2 approvers"),
            std::string::npos);
  EXPECT_NE(RunGrantRefusal(agent->Resolve("restart_service").rule, 2), "");
  engine::Evaluation ev = Decide(agent.get(), WithGrant("wire_money"), "wire_money", "{}");
  EXPECT_EQ(ev.decision.verdict, Verdict::kApprovalRequired);
}

// Tests that a policy reload which makes the tool irreversible voids the grant: the check
// is made at each call against the current policy.
TEST(RunGrant, PolicyReloadToIrreversibleVoidsGrant) {
  auto reloaded = Policy(kIrreversible);
  ASSERT_NE(reloaded, nullptr);
  engine::Evaluation ev = Decide(reloaded.get(), WithGrant("restart_service"), "restart_service",
                                 R"({"service":"web"})");
  EXPECT_EQ(ev.decision.verdict, Verdict::kApprovalRequired);
  EXPECT_TRUE(ev.decision.covered_by.empty());
}

// Tests that a revoked grant asks again, and that revoking twice is NotFound.
TEST(RunGrant, RevokedGrantAsksAgain) {
  auto agent = Policy();
  RunState s = WithGrant("restart_service");
  Result<audit::AuditEvent> ev =
      RevokeRunGrant(&s, "run_1", "ops", "restart_service", "carol", "enough", T0());
  ASSERT_TRUE(ev.ok());
  EXPECT_EQ(ev->type, audit::kApproval);
  EXPECT_EQ(ev->principal, "carol");
  EXPECT_TRUE(s.grants.empty());
  EXPECT_EQ(Decide(agent.get(), s, "restart_service", R"({"service":"web"})").decision.verdict,
            Verdict::kApprovalRequired);
  EXPECT_EQ(RevokeRunGrant(&s, "run_1", "ops", "restart_service", "carol", "", T0()).error().kind,
            ErrorKind::kNotFound);
}

// Tests PlanVote's checks of a vote for the run: only an approve, never for a tool the
// policy refuses it for, never for a call that needs two people; a grant carries the grant.
TEST(RunGrant, VoteForTheRunIsCheckedByTheCore) {
  VoteInput in;
  in.approval = ApprovalRef{"apr_1", "call_1", "run_1", "ops", "restart_service"};
  in.call_principal = "ops";
  in.reviewer = "rita";
  in.approve = true;
  in.now = T0();
  in.for_run = true;
  Result<VotePlan> ok = PlanVote(in);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->kind, VotePlan::Kind::kGranted);
  ASSERT_TRUE(ok->run_grant.has_value());
  EXPECT_EQ(ok->run_grant->approval_id, "apr_1");
  EXPECT_NE(ok->reason.find("for the rest of run run_1"), std::string::npos);

  in.approve = false;
  EXPECT_EQ(PlanVote(in).error().kind, ErrorKind::kInvalidArgument);
  in.approve = true;
  in.for_run_refusal = "tool \"drop_table\" is irreversible";
  EXPECT_EQ(PlanVote(in).error().kind, ErrorKind::kInvalidArgument);
  in.for_run_refusal = "";
  in.required = 2;
  EXPECT_EQ(PlanVote(in).error().kind, ErrorKind::kInvalidArgument);
}

// Tests that the grant survives the run row's codec (every backend stores it this way) and
// that a bad grant is refused as corrupt, never read as no grant.
TEST(RunGrant, GrantRoundTripsThroughTheRunRow) {
  RunState s = WithGrant("restart_service");
  RunState back;
  ASSERT_TRUE(ParseSequenceStoreJson(SequenceStoreJson(s), &back).ok());
  ASSERT_EQ(back.grants.size(), 1u);
  EXPECT_EQ(back.grants.at("restart_service").approval_id, "apr_1");
  EXPECT_EQ(back.grants.at("restart_service").reviewer, "rita");
  EXPECT_EQ(SequenceStoreJson(RunState{}), "{}");
  EXPECT_EQ(ParseSequenceStoreJson(R"({"grants":{"x":{"approval_id":1}}})", &back).error().kind,
            ErrorKind::kCorrupt);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
