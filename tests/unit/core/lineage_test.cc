// Child runs (core/lineage.h): a child holds no more than its parent, whatever its own
// policy says, draws on its parent's budget, and stops with it.
#include "core/lineage.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/guard.h"
#include "core/memory_run_store.h"
#include "policy/loader.h"

namespace interlock::core {
namespace INTERLOCK_TEST_NS {

constexpr const char* kParent = R"(
agent:
  id: "cc"
tools:
  allowed:
    - name: "Read"
    - name: "Write"
    - name: "Agent"
execution:
  max_steps: 4
)";

// A read-only reviewer.
constexpr const char* kReviewer = R"(
agent:
  id: "cc/reviewer"
tools:
  allowed:
    - name: "Read"
)";

// A role whose own policy is wider than its parent's.
constexpr const char* kWide = R"(
agent:
  id: "cc/wide"
tools:
  allowed:
    - name: "Read"
    - name: "Write"
    - name: "Delete"
)";

std::shared_ptr<const policy::PolicySet> Set() {
  auto set = std::make_shared<policy::PolicySet>();
  for (const char* text : {kParent, kReviewer, kWide}) {
    std::vector<policy::Diagnostic> diags;
    auto p = policy::ParseAgentPolicy(text, "p.yaml", &diags);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
    if (p.ok()) set->agents[(*p)->id] = *p;
  }
  set->sha256 = std::string(64, 'a');
  return set;
}

ToolCall Call(std::string tool) {
  ToolCall c;
  c.tool = std::move(tool);
  return c;
}

class LineageTest : public ::testing::Test {
 protected:
  LineageTest() : source_(Set()), guard_(&source_, &store_, &clock_, nullptr) {
    EXPECT_TRUE(store_.CreateRun("cc", "parent", clock_.Now()).ok());
  }
  Result<RunInfo> Child(std::string id, std::string role, std::string parent = "parent",
                        ChildRunLimits limits = {}, std::string agent = "cc") {
    ChildRunRequest rq;
    rq.agent_id = std::move(agent);
    rq.run_id = std::move(id);
    rq.parent_run_id = std::move(parent);
    rq.role = std::move(role);
    rq.limits = limits;
    rq.now = clock_.Now();
    return store_.CreateChildRun(rq);
  }
  GuardResponse Decide(const std::string& run, const std::string& tool) {
    return guard_.Decide("cc", "cc", run, Call(tool));
  }

  PolicySource source_;
  ManualClock clock_;
  MemoryRunStore store_;
  Guard guard_;
};

// Tests that a reviewer sub-agent with a read-only policy is denied Write, which its
// parent may do, and may Read.
TEST_F(LineageTest, ReadOnlyRoleIsDeniedWriteItsParentMayDo) {
  ASSERT_TRUE(Child("rev", "reviewer").ok());
  EXPECT_EQ(Decide("parent", "Write").decision.verdict, Verdict::kAllow);
  GuardResponse w = Decide("rev", "Write");
  EXPECT_EQ(w.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(w.decision.code, Code::kToolNotAllowed);
  EXPECT_EQ(Decide("rev", "Read").decision.verdict, Verdict::kAllow);
}

// Tests that a child whose own policy allows a tool its parent's does not is denied it,
// with the parent run and policy named in the reason.
TEST_F(LineageTest, ChildCannotDoWhatItsParentMayNot) {
  ASSERT_TRUE(Child("wide", "wide").ok());
  GuardResponse d = Decide("wide", "Delete");
  EXPECT_EQ(d.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(d.decision.code, Code::kToolNotAllowed);
  EXPECT_NE(d.decision.reason.find("parent run parent (policy cc)"), std::string::npos)
      << d.decision.reason;
  EXPECT_EQ(Decide("wide", "Write").decision.verdict, Verdict::kAllow);
}

// Tests that a role without a policy of its own runs under its parent's.
TEST_F(LineageTest, RoleWithoutPolicyRunsUnderTheParents) {
  ASSERT_TRUE(Child("gp", "general-purpose").ok());
  EXPECT_EQ(Decide("gp", "Write").decision.verdict, Verdict::kAllow);
  EXPECT_EQ(Decide("gp", "Delete").decision.verdict, Verdict::kDeny);
}

// Tests the daemon's role_policies: a role mapped to a policy decides under it (here the
// read-only reviewer's for the role "explore", which has no "cc/explore" of its own), and a
// role mapped to a policy that is not loaded is denied, never run under its parent's.
TEST_F(LineageTest, RoleMappedByTheConfigRunsUnderTheNamedPolicyAndAMissingOneIsDenied) {
  const RolePolicies mapped = {{"cc/explore", "cc/reviewer"}, {"cc/ghost", "cc/not-loaded"}};
  guard_.SetRolePolicies(&mapped);
  ASSERT_TRUE(Child("ex", "explore").ok());
  EXPECT_EQ(Decide("ex", "Read").decision.verdict, Verdict::kAllow);
  EXPECT_EQ(Decide("ex", "Write").decision.verdict, Verdict::kDeny);
  ASSERT_TRUE(Child("gh", "ghost").ok());
  GuardResponse g = Decide("gh", "Read");
  EXPECT_EQ(g.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(g.decision.code, Code::kUnknownAgent) << g.decision.reason;
  // Unmapped roles keep the default rule.
  ASSERT_TRUE(Child("gp", "general-purpose").ok());
  EXPECT_EQ(Decide("gp", "Write").decision.verdict, Verdict::kAllow);
  guard_.SetRolePolicies(nullptr);
}

// Tests that a child's calls are steps of its parent too: the parent's max_steps bounds
// the whole tree, and the child is stopped when the parent's budget is spent.
TEST_F(LineageTest, ChildStepsCountAgainstTheParentsBudget) {
  ASSERT_TRUE(Child("rev", "reviewer").ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Decide("rev", "Read").decision.verdict, Verdict::kAllow) << i;
  }
  Result<RunInfo> parent = store_.GetRun("parent");
  ASSERT_TRUE(parent.ok());
  EXPECT_EQ(parent->state.steps, 3u);
  EXPECT_EQ(Decide("parent", "Read").decision.verdict, Verdict::kAllow);  // the fourth
  GuardResponse over = Decide("rev", "Read");
  EXPECT_EQ(over.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(over.decision.code, Code::kBudgetExceeded);
}

// Tests that usage reported in a child run is added to its parent's totals.
TEST_F(LineageTest, ChildUsageIsChargedToTheParent) {
  ASSERT_TRUE(Child("rev", "reviewer").ok());
  ASSERT_TRUE(store_.AddUsage("rev", "cc", Usage{1000, 5}).ok());
  EXPECT_EQ(store_.GetRun("parent")->state.tokens, 1000u);
  EXPECT_EQ(store_.GetRun("rev")->state.tokens, 1000u);
}

// Tests that a kill switch on the parent run stops the child's next call.
TEST_F(LineageTest, KillingTheParentStopsTheChild) {
  ASSERT_TRUE(Child("rev", "reviewer").ok());
  EXPECT_EQ(Decide("rev", "Read").decision.verdict, Verdict::kAllow);
  store_.SetKill("run", "parent", true, "stop everything");
  GuardResponse d = Decide("rev", "Read");
  EXPECT_EQ(d.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(d.decision.code, Code::kKillSwitch);
  EXPECT_FALSE(Child("rev2", "reviewer").ok());  // no new child of a killed run
}

// Tests that a child ends with its parent: its next call is refused, and no child starts.
TEST_F(LineageTest, ChildEndsWhenItsParentEnds) {
  ASSERT_TRUE(Child("rev", "reviewer").ok());
  ASSERT_TRUE(store_.EndRun("parent", "cc", clock_.Now()).ok());
  GuardResponse d = Decide("rev", "Read");
  EXPECT_EQ(d.decision.verdict, Verdict::kDeny);
  ASSERT_TRUE(d.error.has_value());
  EXPECT_EQ(*d.error, ErrorKind::kInvalidArgument);
  EXPECT_NE(d.decision.reason.find("parent run parent has ended"), std::string::npos);
  EXPECT_FALSE(Child("rev2", "reviewer").ok());
}

// Tests that the depth of a tree and the live children of a run are bounded, and that an
// ended child frees its place.
TEST_F(LineageTest, DepthAndLiveChildrenAreBounded) {
  ChildRunLimits limits{.max_depth = 2, .max_live_children = 2};
  ASSERT_TRUE(Child("a", "", "parent", limits).ok());
  ASSERT_TRUE(Child("b", "", "parent", limits).ok());
  Result<RunInfo> third = Child("c", "", "parent", limits);
  ASSERT_FALSE(third.ok());
  EXPECT_NE(third.error().message.find("runs.max_live_children"), std::string::npos);
  ASSERT_TRUE(store_.EndRun("b", "cc", clock_.Now()).ok());
  EXPECT_TRUE(Child("c", "", "parent", limits).ok());
  Result<RunInfo> grandchild = Child("a1", "", "a", limits);
  ASSERT_TRUE(grandchild.ok());
  EXPECT_EQ(grandchild->depth, 2);
  EXPECT_EQ(grandchild->parent_run_id, "a");
  Result<RunInfo> deeper = Child("a2", "", "a1", limits);
  ASSERT_FALSE(deeper.ok());
  EXPECT_NE(deeper.error().message.find("runs.max_depth"), std::string::npos);
}

// Tests that an agent cannot start a child of another agent's run it was not delegated,
// nor of a run that does not exist.
TEST_F(LineageTest, ChildOfAnotherAgentsRunIsRefused) {
  Result<RunInfo> r = Child("x", "", "parent", {}, "mallory");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kPermissionDenied);
  ChildRunRequest rq;
  rq.agent_id = "mallory";
  rq.run_id = "y";
  rq.parent_run_id = "parent";
  rq.delegating_agents = {"cc"};
  rq.now = clock_.Now();
  EXPECT_TRUE(store_.CreateChildRun(rq).ok());
  Result<RunInfo> none = Child("z", "", "nope");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind, ErrorKind::kNotFound);
}

// Tests that a role's policy id ("<agent>/<role>") is a valid agent id, and that other
// slashes are not.
TEST(LineagePolicyTest, RolePolicyIdsParse) {
  std::vector<policy::Diagnostic> diags;
  EXPECT_TRUE(policy::ParseAgentPolicy(kReviewer, "p.yaml", &diags).ok());
  for (const char* bad : {"/x", "x/", "a/b/c", "a//b"}) {
    std::string text = std::string("agent:\n  id: \"") + bad + "\"\ntools:\n  allowed: []\n";
    EXPECT_FALSE(policy::ParseAgentPolicy(text, "p.yaml", &diags).ok()) << bad;
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::core
