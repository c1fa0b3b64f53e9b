// GuardEnforcer (standalone `interlock mcp`) on a real in-memory store.
#include "mcp/guard_enforcer.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "deploy_approval_world.h"

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

// The deploy-needs-approval world with a run of agent "a" and the standalone enforcer in it.
class GuardEnforcerTest : public testing::DeployApprovalWorld {
 protected:
  void SetUp() override {
    DeployApprovalWorld::SetUp();
    if (HasFatalFailure()) return;
    auto run = store_->CreateRun("a", "", clock_.Now());
    ASSERT_TRUE(run.ok());
    run_id_ = run->run_id;
    enforcer_ = std::make_unique<GuardEnforcer>(guard_.get(), store_.get(), &clock_, "a", run_id_);
  }

  std::string run_id_;
  std::unique_ptr<GuardEnforcer> enforcer_;
};

// Tests that standalone, a call needing approval is denied at once with a reason saying
// there is no approval service and no reviewer page, and that the approval the store
// created for it is withdrawn instead of left pending in the queue for nobody.
TEST_F(GuardEnforcerTest, StandaloneApprovalIsDeniedAndWithdrawnNotOrphaned) {
  ToolCall call;
  call.tool = "deploy";
  Enforcer::Outcome out = enforcer_->Decide(call);
  EXPECT_EQ(out.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(out.decision.code, Code::kApprovalRequired);
  EXPECT_NE(out.decision.reason.find("no reviewer page"), std::string::npos) << out.decision.reason;
  ASSERT_FALSE(out.approval_id.empty());
  auto approval = store_->GetApproval(out.approval_id);
  ASSERT_TRUE(approval.ok()) << approval.error().message;
  EXPECT_EQ(approval->state, core::ApprovalState::kWithdrawn);
  auto pending = store_->ListApprovals(core::ApprovalFilter{});
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
}

// Tests that with an MCP client that can elicit, the approval stays pending for the person
// at the client, and that the self-approval rule still holds there: a local user whose
// name is the agent's identity cannot approve the agent's call (denied, never allowed),
// while another local user can.
TEST_F(GuardEnforcerTest, AnswerAtClientKeepsTheSelfApprovalRule) {
  enforcer_->SetClientElicitation(true);

  ToolCall call;
  call.tool = "deploy";
  Enforcer::Outcome pending = enforcer_->Decide(call);
  ASSERT_EQ(pending.decision.verdict, Verdict::kApprovalRequired);
  ASSERT_TRUE(pending.ask_client);
  EXPECT_GT(pending.time_left.count(), 0);
  enforcer_->set_local_reviewer("A@test");  // the agent's identity, another case
  Enforcer::Outcome self = enforcer_->AnswerAtClient(
      pending, {Enforcer::ClientAnswer::Kind::kApprove, "approving myself"});
  EXPECT_EQ(self.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(self.decision.code, Code::kApprovalDenied) << self.decision.reason;
  auto approval = store_->GetApproval(pending.approval_id);
  ASSERT_TRUE(approval.ok());
  EXPECT_NE(approval->state, core::ApprovalState::kGranted);

  Enforcer::Outcome second = enforcer_->Decide(call);
  ASSERT_TRUE(second.ask_client);
  enforcer_->set_local_reviewer("local:alice");
  Enforcer::Outcome ok =
      enforcer_->AnswerAtClient(second, {Enforcer::ClientAnswer::Kind::kApprove, "fine"});
  EXPECT_EQ(ok.decision.verdict, Verdict::kAllow) << ok.decision.reason;
  auto granted = store_->GetApproval(second.approval_id);
  ASSERT_TRUE(granted.ok());
  EXPECT_EQ(granted->state, core::ApprovalState::kGranted);
  ASSERT_EQ(granted->votes.size(), 1u);
  EXPECT_EQ(granted->votes[0].reviewer, "local:alice");
}

// Tests that the approval of a state issued over MRTR (standalone: asked at the client) is
// looked up without waiting: pending until its deadline (asked again), then timed out in the
// store, never left pending for nobody nor allowed.
TEST_F(GuardEnforcerTest, CheckApprovalTimesOutAnUnansweredMrtrApproval) {
  enforcer_->SetClientElicitation(true);
  EXPECT_EQ(enforcer_->RunId(), run_id_);

  ToolCall call;
  call.tool = "deploy";
  Enforcer::Outcome pending = enforcer_->Decide(call);
  ASSERT_TRUE(pending.ask_client);
  Enforcer::Outcome now = enforcer_->CheckApproval(pending);
  EXPECT_EQ(now.decision.verdict, Verdict::kApprovalRequired);
  EXPECT_TRUE(now.ask_client);
  EXPECT_EQ(now.time_left, pending.time_left);
  clock_.Advance(pending.time_left + std::chrono::seconds(1));
  Enforcer::Outcome late = enforcer_->CheckApproval(pending);
  EXPECT_EQ(late.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(late.decision.code, Code::kApprovalTimeout) << late.decision.reason;
  auto approval = store_->GetApproval(pending.approval_id);
  ASSERT_TRUE(approval.ok());
  EXPECT_NE(approval->state, core::ApprovalState::kPending);
  EXPECT_NE(approval->state, core::ApprovalState::kGranted);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
