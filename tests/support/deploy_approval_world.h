// DeployApprovalWorld: the fixture the MCP enforcer tests decide in. One agent "a" (identity
// "a@test", 100 steps) whose one tool "deploy" needs approval, a SQLite store in memory on a
// manual clock, and the Guard over both. SetUp opens the store (a failure fails the test);
// a suite derives from it and adds its own enforcer. Everything is the test's own: no thread
// but the test's touches it.
#ifndef INTERLOCK_TESTS_SUPPORT_DEPLOY_APPROVAL_WORLD_H_
#define INTERLOCK_TESTS_SUPPORT_DEPLOY_APPROVAL_WORLD_H_

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "common/time.h"
#include "core/app/policy_source.h"
#include "core/guard.h"
#include "store/sqlite_store.h"

namespace interlock::testing {

// The policy: agent "a" may call "deploy" once a reviewer approves it.
inline std::shared_ptr<policy::PolicySet> DeployNeedsApprovalPolicy() {
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
  return set;
}

class DeployApprovalWorld : public ::testing::Test {
 protected:
  void SetUp() override {
    store::StoreOptions o;
    o.path = ":memory:";
    o.audit_key = "k";
    o.clock = &clock_;
    auto store = store::SqliteStore::Open(o);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    guard_ = std::make_unique<core::Guard>(&source_, store_.get(), &clock_, nullptr);
  }

  std::shared_ptr<policy::PolicySet> policies_ = DeployNeedsApprovalPolicy();
  core::PolicySource source_{policies_};
  ManualClock clock_{TimePoint(std::chrono::seconds(1795341600))};
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<core::Guard> guard_;
};

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_DEPLOY_APPROVAL_WORLD_H_
