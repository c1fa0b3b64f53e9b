// McpEnforcer (the daemon's MCP sessions) on a real in-memory store: what approvals over
// MRTR ask of it (CheckApproval, RunId).
#include "server/mcp_enforcer.h"

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "core/app/approvals.h"
#include "core/app/calls.h"
#include "core/guard.h"
#include "core/policy_source.h"
#include "server/call_waiters.h"
#include "store/sqlite_store.h"

namespace interlock::server {
namespace {

// Tests that the approval of a call answered over MRTR is looked up without waiting: pending
// with the reviewer page's link until a reviewer votes, then the reviewer's allow (the call
// released), in the run the enforcer decides in.
TEST(McpEnforcerTest, CheckApprovalAnswersTheReviewersVerdictWithoutWaiting) {
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
  core::Calls calls(store->get(), &source, &clock);
  CallWaiters waiters;
  auto run = calls.StartRun("a");
  ASSERT_TRUE(run.ok()) << run.error().message;
  McpEnforcer enforcer(
      &guard, &calls, &waiters, "a", "a", run->run_id, std::chrono::seconds(1),
      [](std::string_view id) { return "http://ui.test/#/approvals/" + std::string(id); });
  EXPECT_EQ(enforcer.RunId(), run->run_id);

  ToolCall call;
  call.tool = "deploy";
  mcp::Enforcer::Outcome pending = enforcer.Decide(call);
  ASSERT_EQ(pending.decision.verdict, Verdict::kApprovalRequired) << pending.decision.reason;
  pending.decision.tool = "deploy";
  mcp::Enforcer::Outcome now = enforcer.CheckApproval(pending);
  EXPECT_EQ(now.decision.verdict, Verdict::kApprovalRequired);
  EXPECT_EQ(now.approval_url, "http://ui.test/#/approvals/" + pending.approval_id);
  EXPECT_FALSE(now.ask_client);

  core::Approvals approvals(store->get(), &clock);
  core::Approvals::VoteAsk ask;
  ask.approval_id = pending.approval_id;
  ask.reviewer = core::Principal{"tok_bob", "bob", core::Role::kReviewer, ""};
  ask.approve = true;
  ask.policies = set;
  auto vote = approvals.Vote(ask);
  ASSERT_TRUE(vote.ok()) << vote.error().message;
  mcp::Enforcer::Outcome granted = enforcer.CheckApproval(pending);
  EXPECT_EQ(granted.decision.verdict, Verdict::kAllow) << granted.decision.reason;
  EXPECT_EQ(granted.decision.tool, "deploy");
}

}  // namespace
}  // namespace interlock::server
