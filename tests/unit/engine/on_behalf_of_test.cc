// Tests that a tool's `on_behalf_of:` rule (docs/policy.md#on-behalf-of) loads strictly and
// denies ON_BEHALF_OF_REQUIRED every call made for nobody, for someone not listed, or for
// someone outside the required groups, while tools without the rule ignore the human.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "policy/loader.h"
#include "policy_text.h"

namespace interlock::engine {
namespace INTERLOCK_TEST_NS {

using ::testing::HasSubstr;

using ::interlock::testing::ParsePolicy;

constexpr char kPolicy[] = R"(agent:
  id: "ops"
  identity: "ops@x"
  autonomy: audit_based
tools:
  allowed:
    - name: "deploy"
      on_behalf_of: {groups: ["deployers"]}
    - name: "restart"
      on_behalf_of: {required: true}
    - name: "rollback"
      on_behalf_of: {in: ["alice", "bob"]}
    - name: "status"
)";

Evaluation For(const policy::AgentPolicy& p, std::string tool, std::string_view human,
               const std::vector<std::string>& groups = {}) {
  ToolCall c;
  c.tool = std::move(tool);
  EvalContext ctx;
  ctx.on_behalf_of = human;
  ctx.on_behalf_of_groups = &groups;
  return Evaluate(&p, RunState{}, c, ctx);
}

// Tests that an agent acting for no human (an Interlock token, a JWT without the claim)
// cannot deploy, and the deny names the rule and the code.
TEST(OnBehalfOf, AgentWithoutAHumanCannotDeploy) {
  auto p = ParsePolicy(kPolicy);
  ASSERT_NE(p, nullptr);
  for (const char* tool : {"deploy", "restart", "rollback"}) {
    const Decision d = For(*p, tool, "").decision;
    EXPECT_EQ(d.verdict, Verdict::kDeny) << tool;
    EXPECT_EQ(CodeName(d.code), "ON_BEHALF_OF_REQUIRED") << tool;
    EXPECT_THAT(d.rule, HasSubstr(".on_behalf_of")) << d.rule;
    EXPECT_THAT(d.reason, HasSubstr("names none"));
  }
  // Without the rule the human does not matter.
  EXPECT_EQ(For(*p, "status", "").decision.verdict, Verdict::kAllow);
}

// Tests that a human outside the required group cannot have the agent deploy, and that a
// member can; a missing groups list (no claim configured) is not membership.
TEST(OnBehalfOf, HumanOutsideTheGroupCannotHaveTheAgentDeploy) {
  auto p = ParsePolicy(kPolicy);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(CodeName(For(*p, "deploy", "mallory", {"interns"}).decision.code),
            "ON_BEHALF_OF_REQUIRED");
  EXPECT_EQ(CodeName(For(*p, "deploy", "mallory").decision.code), "ON_BEHALF_OF_REQUIRED");
  ToolCall c;
  c.tool = "deploy";
  EvalContext ctx;
  ctx.on_behalf_of = "mallory";  // groups pointer unset
  EXPECT_EQ(Evaluate(p.get(), RunState{}, c, ctx).decision.verdict, Verdict::kDeny);
  EXPECT_EQ(For(*p, "deploy", "alice", {"x", "deployers"}).decision.verdict, Verdict::kAllow);
}

// Tests that only the listed humans may have the agent roll back (exact, case-sensitive).
TEST(OnBehalfOf, UnlistedHumanCannotHaveTheAgentRollBack) {
  auto p = ParsePolicy(kPolicy);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(For(*p, "rollback", "alice").decision.verdict, Verdict::kAllow);
  EXPECT_EQ(For(*p, "rollback", "Alice").decision.verdict, Verdict::kDeny);
  EXPECT_THAT(For(*p, "rollback", "mallory").decision.reason, HasSubstr("\"mallory\""));
  EXPECT_EQ(For(*p, "restart", "anyone").decision.verdict, Verdict::kAllow);
}

// Tests that a rule that would require nobody, an empty list, or an unknown key is a load
// error with its location, never a silently open tool.
TEST(OnBehalfOf, RuleThatRequiresNobodyIsRefusedAtLoad) {
  for (const char* rule :
       {"{required: false}", "{in: []}", "{groups: []}", "{group: [a]}", "{in: [\"\"]}", "true"}) {
    std::string yaml = std::string(R"(agent: {id: "ops", identity: "ops@x"}
tools:
  allowed:
    - name: "deploy"
      on_behalf_of: )") +
                       rule + "\n";
    std::string errors;
    EXPECT_EQ(ParsePolicy(yaml, &errors), nullptr) << rule;
    EXPECT_THAT(errors, HasSubstr("t.yaml:5")) << rule << errors;
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::engine
