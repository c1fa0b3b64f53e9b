// GuardEnforcer (standalone `interlock mcp`) on a real in-memory store.
#include "mcp/guard_enforcer.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "core/guard.h"
#include "core/policy_source.h"
#include "store/sqlite_store.h"

namespace interlock::mcp {
namespace {

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
  EXPECT_EQ(approval->state, store::ApprovalState::kWithdrawn);
  auto pending = (*store)->ListApprovals(store::ApprovalFilter{});
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());
}

}  // namespace
}  // namespace interlock::mcp
