// McpEnforcer (the daemon's MCP sessions) on a real in-memory store: what approvals over
// MRTR ask of it (CheckApproval, RunId).
#include "doors/mcp_http/mcp_enforcer.h"

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "core/app/approvals.h"
#include "core/app/call_waiters.h"
#include "core/app/calls.h"
#include "deploy_approval_world.h"

namespace interlock::server {
namespace INTERLOCK_TEST_NS {

// The deploy-needs-approval world with the daemon's calls, its waiters and a run of agent "a".
class McpEnforcerTest : public testing::DeployApprovalWorld {
 protected:
  void SetUp() override {
    DeployApprovalWorld::SetUp();
    if (HasFatalFailure()) return;
    calls_ = std::make_unique<core::Calls>(store_.get(), &source_, &clock_);
    auto run = calls_->StartRun("a");
    ASSERT_TRUE(run.ok()) << run.error().message;
    run_id_ = run->run_id;
  }

  // Reviewer bob approves `approval_id`: this call, or with `for_run` the rest of the run.
  void ApproveAsBob(const std::string& approval_id, bool for_run) {
    core::Approvals approvals(store_.get(), &clock_);
    core::Approvals::VoteAsk ask;
    ask.approval_id = approval_id;
    ask.reviewer = core::Principal{"tok_bob", "bob", core::Role::kReviewer, ""};
    ask.approve = true;
    ask.policies = policies_;
    ask.for_run = for_run;
    auto vote = approvals.Vote(ask);
    ASSERT_TRUE(vote.ok()) << vote.error().message;
  }

  std::unique_ptr<core::Calls> calls_;
  core::CallWaiters waiters_;
  std::string run_id_;
};

// Tests that the approval of a call answered over MRTR is looked up without waiting: pending
// with the reviewer page's link until a reviewer votes, then the reviewer's allow (the call
// released), in the run the enforcer decides in.
TEST_F(McpEnforcerTest, CheckApprovalAnswersTheReviewersVerdictWithoutWaiting) {
  McpEnforcer enforcer(
      guard_.get(), calls_.get(), &waiters_, "a", "a", run_id_, std::chrono::seconds(1),
      [](std::string_view id) { return "http://ui.test/#/approvals/" + std::string(id); });
  EXPECT_EQ(enforcer.RunId(), run_id_);

  ToolCall call;
  call.tool = "deploy";
  mcp::Enforcer::Outcome pending = enforcer.Decide(call);
  ASSERT_EQ(pending.decision.verdict, Verdict::kApprovalRequired) << pending.decision.reason;
  pending.decision.tool = "deploy";
  mcp::Enforcer::Outcome now = enforcer.CheckApproval(pending);
  EXPECT_EQ(now.decision.verdict, Verdict::kApprovalRequired);
  EXPECT_EQ(now.approval_url, "http://ui.test/#/approvals/" + pending.approval_id);
  EXPECT_FALSE(now.ask_client);

  ASSERT_NO_FATAL_FAILURE(ApproveAsBob(pending.approval_id, /*for_run=*/false));
  mcp::Enforcer::Outcome granted = enforcer.CheckApproval(pending);
  EXPECT_EQ(granted.decision.verdict, Verdict::kAllow) << granted.decision.reason;
  EXPECT_EQ(granted.decision.tool, "deploy");
}

// Tests that one grant runs one call: two identical calls held at once attach to one
// pending approval (one call id), and when a reviewer grants it only the first delivery is
// an allow; the second, and any later read (a requestState replayed to another daemon or
// after a restart), is a deny saying the approval already ran its call, so the gateway
// never forwards the call twice. A grant for the rest of the run lets a new call through.
TEST_F(McpEnforcerTest, OneGrantReleasesOnlyOneOfTwoIdenticalAttachedCalls) {
  McpEnforcer enforcer(guard_.get(), calls_.get(), &waiters_, "a", "a", run_id_,
                       std::chrono::milliseconds(10));

  ToolCall call;
  call.tool = "deploy";
  call.args = boost::json::object{{"env", "prod"}};
  mcp::Enforcer::Outcome first = enforcer.Decide(call);
  mcp::Enforcer::Outcome second = enforcer.Decide(call);
  ASSERT_EQ(first.decision.verdict, Verdict::kApprovalRequired) << first.decision.reason;
  ASSERT_EQ(second.decision.verdict, Verdict::kApprovalRequired) << second.decision.reason;
  ASSERT_EQ(first.call_id, second.call_id) << "the identical call attaches to the pending one";
  first.decision.tool = second.decision.tool = "deploy";

  ASSERT_NO_FATAL_FAILURE(ApproveAsBob(first.approval_id, /*for_run=*/true));

  mcp::Enforcer::Outcome a = enforcer.AwaitApproval(first, {}, {});
  EXPECT_EQ(a.decision.verdict, Verdict::kAllow) << a.decision.reason;
  mcp::Enforcer::Outcome b = enforcer.AwaitApproval(second, {}, {});
  EXPECT_EQ(b.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(b.decision.code, Code::kApprovalDenied);
  EXPECT_EQ(b.decision.rule, core::kReleasedBeforeRule);
  EXPECT_NE(b.decision.reason.find("already released"), std::string::npos) << b.decision.reason;
  mcp::Enforcer::Outcome c = enforcer.CheckApproval(first);
  EXPECT_EQ(c.decision.verdict, Verdict::kDeny) << "a later read is no release either";
  // The grant was for the rest of the run: the agent's new call is allowed on its own.
  mcp::Enforcer::Outcome again = enforcer.Decide(call);
  EXPECT_EQ(again.decision.verdict, Verdict::kAllow) << again.decision.reason;
  EXPECT_NE(again.call_id, first.call_id);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::server
