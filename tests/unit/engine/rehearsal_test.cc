// Tests that `rehearse:` loads with file:line:column errors and that the engine asks for a
// rehearsal only where the policy lets a call proceed, decides the real call on its outcome
// (REHEARSAL_FAILED with the error text), and spends one step for both: the ask is the step
// (docs/policy.md#rehearsal).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/engine.h"
#include "policy/loader.h"
#include "policy_text.h"
#include "rehearsal_policy.h"

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
      rehearse: {args: {dry_run: true, plan: {depth: 2, tags: ["a", 1]}}}
    - name: "drop"
      requires_approval: true
      rehearse: {upstream: "staging"}
  blocked:
    - "rm"
)";

ToolCall Deploy() {
  ToolCall c;
  c.tool = "deploy";
  c.args = boost::json::object{{"target", "web"}, {"dry_run", false}};
  return c;
}

// Tests that an allowed call without a rehearsal outcome is REHEARSAL_REQUIRED with the
// merged arguments (the rule's keys replace the call's), spending the call's one step and
// no records.
TEST(Rehearsal, AllowedCallFirstNeedsItsRehearsalAndSpendsItsStep) {
  auto p = ParsePolicy(kPolicy);
  ASSERT_NE(p, nullptr);
  Evaluation ev = Evaluate(p.get(), RunState{}, Deploy(), EvalContext{});
  EXPECT_EQ(ev.decision.verdict, Verdict::kRehearsalRequired);
  EXPECT_EQ(ev.decision.code, Code::kRehearsalRequired);
  ASSERT_TRUE(ev.decision.rehearsal.has_value());
  EXPECT_EQ(ev.decision.rehearsal->args.at("dry_run"), true);
  EXPECT_EQ(ev.decision.rehearsal->args.at("target"), "web");
  EXPECT_EQ(ev.decision.rehearsal->args.at("plan").at("tags").at(1), 1);
  EXPECT_EQ(ev.effects.steps, 1u);
  EXPECT_EQ(ev.effects.records, 0u);
  EXPECT_FALSE(ev.effects.consume_records);
  EXPECT_THAT(ev.decision.rule, HasSubstr(".rehearse"));
}

// Tests that a failed rehearsal denies with REHEARSAL_FAILED naming the rehearsal's call and
// its error, and a successful one gives the policy's own verdict (approval stays approval).
TEST(Rehearsal, OutcomeDecidesTheRealCall) {
  auto p = ParsePolicy(kPolicy);
  ASSERT_NE(p, nullptr);
  ToolCall failed = Deploy();
  failed.rehearsal = ToolCall::RehearsalOutcome{"c-1", false, "", "would delete 14 resources"};
  Evaluation f = Evaluate(p.get(), RunState{}, failed, EvalContext{});
  EXPECT_EQ(f.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(f.decision.code, Code::kRehearsalFailed);
  EXPECT_THAT(f.decision.reason, HasSubstr("c-1"));
  EXPECT_THAT(f.decision.reason, HasSubstr("would delete 14 resources"));
  EXPECT_EQ(f.effects.steps, 0u);  // the ask was its step

  ToolCall ok = Deploy();
  ok.rehearsal = ToolCall::RehearsalOutcome{"c-1", true, "\"fine\"", ""};
  Evaluation a = Evaluate(p.get(), RunState{}, ok, EvalContext{});
  EXPECT_EQ(a.decision.verdict, Verdict::kAllow);
  ASSERT_TRUE(a.decision.rehearsal.has_value());
  EXPECT_EQ(a.decision.rehearsal->call_id, "c-1");

  ToolCall drop;
  drop.tool = "drop";
  Evaluation first = Evaluate(p.get(), RunState{}, drop, EvalContext{});
  EXPECT_EQ(first.decision.verdict, Verdict::kRehearsalRequired);
  EXPECT_EQ(first.decision.rehearsal->upstream, "staging");
  drop.rehearsal = ToolCall::RehearsalOutcome{"c-2", true, "\"14 rows\"", ""};
  EXPECT_EQ(Evaluate(p.get(), RunState{}, drop, EvalContext{}).decision.verdict,
            Verdict::kApprovalRequired);
}

// Tests that a call the policy denies is denied without any rehearsal (nothing is sent for
// a blocked tool or a halted run), and that a kill switch beats a successful rehearsal.
TEST(Rehearsal, DeniedCallsAreNeverRehearsedAndKillSwitchWins) {
  auto p = ParsePolicy(kPolicy);
  ASSERT_NE(p, nullptr);
  RunState halted;
  halted.halted = true;
  EXPECT_EQ(Evaluate(p.get(), halted, Deploy(), EvalContext{}).decision.code, Code::kRunHalted);
  ToolCall ok = Deploy();
  ok.rehearsal = ToolCall::RehearsalOutcome{"c-1", true, "", ""};
  EvalContext kill;
  kill.kill = KillSwitch{"global", "incident"};
  EXPECT_EQ(Evaluate(p.get(), RunState{}, ok, kill).decision.code, Code::kKillSwitch);
}

// Tests that an agent cannot ask for rehearsals without limit: each REHEARSAL_REQUIRED
// spends a step, so with max_steps 3 the 4th ask is a BUDGET_EXCEEDED denial.
TEST(Rehearsal, AskingAgainAndAgainSpendsSteps) {
  auto p = ParsePolicy(::interlock::testing::kBoundedRehearsalPolicy);
  ASSERT_NE(p, nullptr);
  RunState state;
  for (int i = 0; i < 3; ++i) {
    Evaluation ev = Evaluate(p.get(), state, Deploy(), EvalContext{});
    ASSERT_EQ(ev.decision.verdict, Verdict::kRehearsalRequired) << i;
    ApplyEffects(ev.effects, "deploy", &state);
  }
  EXPECT_EQ(state.steps, 3u);
  Evaluation fourth = Evaluate(p.get(), state, Deploy(), EvalContext{});
  EXPECT_EQ(fourth.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(fourth.decision.code, Code::kBudgetExceeded);
  EXPECT_THAT(fourth.decision.rule, HasSubstr("max_steps"));
}

// Tests that a rehearsed call is exactly one step: the real call after the last step's
// ask is not refused for the step the ask spent, and spends none of its own.
TEST(Rehearsal, CompletedRehearsedCallIsStillOneStep) {
  auto p = ParsePolicy(::interlock::testing::kBoundedRehearsalPolicy);
  ASSERT_NE(p, nullptr);
  RunState state;
  state.steps = 2;
  Evaluation ask = Evaluate(p.get(), state, Deploy(), EvalContext{});
  ASSERT_EQ(ask.decision.verdict, Verdict::kRehearsalRequired);
  ApplyEffects(ask.effects, "deploy", &state);
  ASSERT_EQ(state.steps, 3u);
  ToolCall real = Deploy();
  real.rehearsal = ToolCall::RehearsalOutcome{"c-1", true, "\"plan ok\"", ""};
  Evaluation done = Evaluate(p.get(), state, real, EvalContext{});
  EXPECT_EQ(done.decision.verdict, Verdict::kAllow) << done.decision.reason;
  ApplyEffects(done.effects, "deploy", &state);
  EXPECT_EQ(state.steps, 3u);
  // A plain call now: the budget is spent.
  ToolCall plain = Deploy();
  EXPECT_EQ(Evaluate(p.get(), state, plain, EvalContext{}).decision.code, Code::kBudgetExceeded);
}

// Tests that the loader refuses a rehearse without args or upstream, a non-mapping args, an
// empty args and unknown keys, each with its position.
TEST(Rehearsal, LoaderErrorsHavePositions) {
  auto with = [](const std::string& rehearse) {
    return std::string(
               "agent:\n  id: \"a\"\n  identity: \"a@x\"\ntools:\n  allowed:\n"
               "    - name: \"t\"\n      rehearse: ") +
           rehearse + "\n";
  };
  for (const std::string& bad :
       {std::string("{}"), std::string("{args: [1]}"), std::string("{args: {}}"),
        std::string("{upstream: \"\"}"), std::string("{args: {a: 1}, dryrun: true}"),
        std::string("true")}) {
    std::string errors;
    EXPECT_EQ(ParsePolicy(with(bad), &errors), nullptr) << bad;
    EXPECT_THAT(errors, HasSubstr("t.yaml:7:")) << bad << "\n" << errors;
  }
  std::string errors;
  EXPECT_NE(ParsePolicy(with("{args: {a: 1}, upstream: \"s\"}"), &errors), nullptr) << errors;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::engine
