// GuardEnforcer (standalone `interlock mcp`) on a real in-memory store.
#include "mcp/guard_enforcer.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "core/guard.h"
#include "core/policy_source.h"
#include "store/sqlite_store.h"

namespace interlock::mcp {
namespace INTERLOCK_TEST_NS {

// Tests that standalone, a call needing approval is denied at once with a reason saying
// there is no approval service and no reviewer page, and that the approval the store
// created for it is withdrawn instead of left pending in the queue for nobody.
TEST(GuardEnforcerTest, StandaloneApprovalIsDeniedAndWithdrawnNotOrphaned) {
  auto agent = std::make_shared<policy::AgentPolicy>();
  agent->id = "a";
  agent->identity = "a@test";
  policy::ToolRule deploy;
  deploy.name = "deploy";
  deploy.requires_approval = true;
  agent->allowed.emplace(deploy.name, deploy);
  agent->execution.max_steps = 100;
  auto set = std::make_shared<policy::PolicySet>();
  set->agents["a"] = agent;
  set->sha256 = std::string(64, 'b');
  core::PolicySource source(set);
  ManualClock clock(TimePoint(std::chrono::seconds(1795341600)));
  store::StoreOptions o;
  o.path = ":memory:";
  o.audit_key = "k";
  o.clock = &clock;
  auto store = store::SqliteStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.error().message;
  core::Guard guard(&source, store->get(), &clock, nullptr);
  auto run = (*store)->CreateRun("a", "", clock.Now());
  ASSERT_TRUE(run.ok());
  GuardEnforcer enforcer(&guard, store->get(), &clock, "a", run->run_id);

  ToolCall call;
  call.tool = "deploy";
  Enforcer::Outcome out = enforcer.Decide(call);
  EXPECT_EQ(out.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(out.decision.code, Code::kApprovalRequired);
  EXPECT_NE(out.decision.reason.find("no reviewer page"), std::string::npos) << out.decision.reason;
  ASSERT_FALSE(out.approval_id.empty());
  auto approval = (*store)->GetApproval(out.approval_id);
  ASSERT_TRUE(approval.ok()) << approval.error().message;
  EXPECT_EQ(approval->state, core::ApprovalState::kWithdrawn);
  auto pending = (*store)->ListApprovals(core::ApprovalFilter{});
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
}

// Tests that with an MCP client that can elicit, the approval stays pending for the person
// at the client, and that the self-approval rule still holds there: a local user whose
// name is the agent's identity cannot approve the agent's call (denied, never allowed),
// while another local user can.
TEST(GuardEnforcerTest, AnswerAtClientKeepsTheSelfApprovalRule) {
  auto agent = std::make_shared<policy::AgentPolicy>();
  agent->id = "a";
  agent->identity = "a@test";
  policy::ToolRule deploy;
  deploy.name = "deploy";
  deploy.requires_approval = true;
  agent->allowed.emplace(deploy.name, deploy);
  agent->execution.max_steps = 100;
  auto set = std::make_shared<policy::PolicySet>();
  set->agents["a"] = agent;
  set->sha256 = std::string(64, 'b');
  core::PolicySource source(set);
  ManualClock clock(TimePoint(std::chrono::seconds(1795341600)));
  store::StoreOptions o;
  o.path = ":memory:";
  o.audit_key = "k";
  o.clock = &clock;
  auto store = store::SqliteStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.error().message;
  core::Guard guard(&source, store->get(), &clock, nullptr);
  auto run = (*store)->CreateRun("a", "", clock.Now());
  ASSERT_TRUE(run.ok());
  GuardEnforcer enforcer(&guard, store->get(), &clock, "a", run->run_id);
  enforcer.SetClientElicitation(true);

  ToolCall call;
  call.tool = "deploy";
  Enforcer::Outcome pending = enforcer.Decide(call);
  ASSERT_EQ(pending.decision.verdict, Verdict::kApprovalRequired);
  ASSERT_TRUE(pending.ask_client);
  EXPECT_GT(pending.time_left.count(), 0);
  enforcer.set_local_reviewer("A@test");  // the agent's identity, another case
  Enforcer::Outcome self = enforcer.AnswerAtClient(
      pending, {Enforcer::ClientAnswer::Kind::kApprove, "approving myself"});
  EXPECT_EQ(self.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(self.decision.code, Code::kApprovalDenied) << self.decision.reason;
  auto approval = (*store)->GetApproval(pending.approval_id);
  ASSERT_TRUE(approval.ok());
  EXPECT_NE(approval->state, core::ApprovalState::kGranted);

  Enforcer::Outcome second = enforcer.Decide(call);
  ASSERT_TRUE(second.ask_client);
  enforcer.set_local_reviewer("local:alice");
  Enforcer::Outcome ok =
      enforcer.AnswerAtClient(second, {Enforcer::ClientAnswer::Kind::kApprove, "fine"});
  EXPECT_EQ(ok.decision.verdict, Verdict::kAllow) << ok.decision.reason;
  auto granted = (*store)->GetApproval(second.approval_id);
  ASSERT_TRUE(granted.ok());
  EXPECT_EQ(granted->state, core::ApprovalState::kGranted);
  ASSERT_EQ(granted->votes.size(), 1u);
  EXPECT_EQ(granted->votes[0].reviewer, "local:alice");
}

// Tests that the approval of a state issued over MRTR (standalone: asked at the client) is
// looked up without waiting: pending until its deadline (asked again), then timed out in the
// store, never left pending for nobody nor allowed.
TEST(GuardEnforcerTest, CheckApprovalTimesOutAnUnansweredMrtrApproval) {
  auto agent = std::make_shared<policy::AgentPolicy>();
  agent->id = "a";
  agent->identity = "a@test";
  policy::ToolRule deploy;
  deploy.name = "deploy";
  deploy.requires_approval = true;
  agent->allowed.emplace(deploy.name, deploy);
  agent->execution.max_steps = 100;
  auto set = std::make_shared<policy::PolicySet>();
  set->agents["a"] = agent;
  set->sha256 = std::string(64, 'b');
  core::PolicySource source(set);
  ManualClock clock(TimePoint(std::chrono::seconds(1795341600)));
  store::StoreOptions o;
  o.path = ":memory:";
  o.audit_key = "k";
  o.clock = &clock;
  auto store = store::SqliteStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.error().message;
  core::Guard guard(&source, store->get(), &clock, nullptr);
  auto run = (*store)->CreateRun("a", "", clock.Now());
  ASSERT_TRUE(run.ok());
  GuardEnforcer enforcer(&guard, store->get(), &clock, "a", run->run_id);
  enforcer.SetClientElicitation(true);
  EXPECT_EQ(enforcer.RunId(), run->run_id);

  ToolCall call;
  call.tool = "deploy";
  Enforcer::Outcome pending = enforcer.Decide(call);
  ASSERT_TRUE(pending.ask_client);
  Enforcer::Outcome now = enforcer.CheckApproval(pending);
  EXPECT_EQ(now.decision.verdict, Verdict::kApprovalRequired);
  EXPECT_TRUE(now.ask_client);
  EXPECT_EQ(now.time_left, pending.time_left);
  clock.Advance(pending.time_left + std::chrono::seconds(1));
  Enforcer::Outcome late = enforcer.CheckApproval(pending);
  EXPECT_EQ(late.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(late.decision.code, Code::kApprovalTimeout) << late.decision.reason;
  auto approval = (*store)->GetApproval(pending.approval_id);
  ASSERT_TRUE(approval.ok());
  EXPECT_NE(approval->state, core::ApprovalState::kPending);
  EXPECT_NE(approval->state, core::ApprovalState::kGranted);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::mcp
