// Tests that rules over sequences (workflow, labels and flows, rate limits and quotas)
// decide as docs/policy.md says, on the shipped examples release-agent, inbox-agent and
// notifier-agent. Sequences are simulated as a store would: each decision's effects are
// applied to the RunState, and reported results go through ApplyResult().
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/call_parser.h"
#include "engine/engine.h"
#include "policy/loader.h"
#include "policy/workflow.h"
#include "policy_text.h"
#include "seed_policy.h"

namespace interlock::engine {
namespace INTERLOCK_TEST_NS {

using ::interlock::testing::TestNow;
using ::testing::HasSubstr;

std::shared_ptr<const policy::AgentPolicy> LoadExample(const std::string& name) {
  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet(
      {std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies/" + name}, &diags, {});
  EXPECT_TRUE(set.ok()) << (set.ok() ? "" : set.error().message);
  if (!set.ok() || (*set)->agents.size() != 1) return nullptr;
  return (*set)->agents.begin()->second;
}

using ::interlock::testing::ParsePolicy;

ToolCall Call(std::string_view json) {
  Result<ToolCall> c = ParseToolCall(json);
  if (!c.ok()) {
    ADD_FAILURE() << "test bug: " << json;
    return {};
  }
  return *c;
}

EvalContext Ctx(std::optional<AgentUsage> usage = AgentUsage{}) {
  EvalContext ctx;
  ctx.now = TestNow();
  ctx.usage = usage;
  return ctx;
}

// One step of a scenario: a call and the code it must get, or a result report of the
// most recent call that proceeded.
struct Step {
  enum Kind { kCall, kOk, kError };
  Kind kind = kCall;
  const char* call = "";
  Code code = Code::kAllowed;
  const char* reason = "";  // substring of the reason
  const char* state = "";   // the workflow state after the step ("" = not checked)
};

Step C(const char* call, Code code, const char* reason = "", const char* state = "") {
  return {Step::kCall, call, code, reason, state};
}
Step Ok(const char* state = "") { return {Step::kOk, "", Code::kAllowed, "", state}; }
Step Err(const char* state = "") { return {Step::kError, "", Code::kAllowed, "", state}; }

struct Scenario {
  const char* name;
  const char* file;
  std::vector<Step> steps;
};

void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

std::string StateName(const policy::AgentPolicy& p, const RunState& s) {
  if (p.workflow == nullptr) return "";
  return s.workflow_state.empty() ? p.workflow->initial : s.workflow_state;
}

// Runs the steps as a store would: evaluate, apply effects, apply reported results.
void RunSteps(const policy::AgentPolicy& p, const std::vector<Step>& steps) {
  RunState state;
  std::optional<ToolCall> last;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    SCOPED_TRACE("step " + std::to_string(i) + ": " + s.call);
    if (s.kind == Step::kCall) {
      ToolCall call = Call(s.call);
      const Evaluation ev = Evaluate(&p, state, call, Ctx());
      EXPECT_EQ(CodeName(ev.decision.code), CodeName(s.code)) << ev.decision.reason;
      EXPECT_THAT(ev.decision.reason, HasSubstr(s.reason));
      ApplyEffects(ev.effects, call.tool, &state);
      if (ev.effects.consume_records) last = call;
    } else {
      ASSERT_TRUE(last.has_value()) << "test bug: a result with no call before it";
      state = ApplyResult(&p, state, *last, s.kind == Step::kOk);
    }
    if (*s.state != '\0') {
      EXPECT_EQ(StateName(p, state), s.state);
    }
  }
}

class SequenceScenarioTest : public ::testing::TestWithParam<Scenario> {};

// Tests that each scenario of the shipped examples decides every step as pinned.
TEST_P(SequenceScenarioTest, DecidesEveryStepAsPinned) {
  const Scenario& sc = GetParam();
  auto p = LoadExample(sc.file);
  ASSERT_NE(p, nullptr);
  RunSteps(*p, sc.steps);
}

constexpr const char* kRel = "release-agent.yaml";
constexpr const char* kInbox = "inbox-agent.yaml";

#define TESTS R"({"tool":"run_tests","args":{"version":")"
#define DEPLOY(env, v)                                                                           \
  R"({"tool":"deploy_service","args":{"environment":")" env R"(","service":"api","version":")" v \
  R"("}})"
constexpr const char* kStatus = R"({"tool":"get_deployment_status","args":{}})";
constexpr const char* kRollback =
    R"({"tool":"rollback_service","args":{"environment":"staging","service":"api"}})";
constexpr const char* kV1 = TESTS R"(v1.2.3"}})";
constexpr const char* kV2 = TESTS R"(v1.2.4"}})";
constexpr Code kWf = Code::kWorkflowViolation;
constexpr Code kAllow = Code::kAllowed;

const Scenario kScenarios[] = {
    {"StatusIsAllowedInEveryState",
     kRel,
     {C(kStatus, kAllow, "", "untested"), C(kV1, kAllow), Ok("tested"), C(kStatus, kAllow),
      C(DEPLOY("staging", "v1.2.3"), kAllow), Ok("staged"), C(kStatus, kAllow),
      C(DEPLOY("production", "v1.2.3"), Code::kApprovalRequired)}},
    {"DeployBeforeTestsIsAWorkflowViolation",
     kRel,
     {C(DEPLOY("staging", "v1.2.3"), kWf, "in workflow state \"untested\""),
      C(DEPLOY("production", "v1.2.3"), kWf, "the state permits \"run_tests\""),
      C(kV1, kAllow, "", "untested")}},
    {"FailedTestsLeaveTheRunWhereItWas",
     kRel,
     {C(kV1, kAllow), Err("untested"), C(DEPLOY("staging", "v1.2.3"), kWf), C(kV1, kAllow),
      Ok("tested"), C(DEPLOY("staging", "v1.2.3"), kAllow)}},
    {"ProductionBeforeStagingIsAWorkflowViolation",
     kRel,
     {C(kV1, kAllow), Ok("tested"),
      C(DEPLOY("production", "v1.2.3"), kWf, "argument \"environment\"")}},
    {"StagingAnotherVersionThanTestedIsAWorkflowViolation",
     kRel,
     {C(kV1, kAllow), Ok("tested"),
      C(DEPLOY("staging", "v9.9.9"), kWf, "must equal the remembered \"tested_version\""),
      C(DEPLOY("staging", "v1.2.3"), kAllow, "", "tested")}},
    {"FailedStagingDeployMayRetry",
     kRel,
     {C(kV1, kAllow), Ok("tested"), C(DEPLOY("staging", "v1.2.3"), kAllow), Err("tested"),
      C(DEPLOY("production", "v1.2.3"), kWf), C(DEPLOY("staging", "v1.2.3"), kAllow),
      Ok("staged")}},
    {"ProductionAfterStagingNeedsApprovalForTheTestedVersionOnly",
     kRel,
     {C(kV1, kAllow), Ok(), C(DEPLOY("staging", "v1.2.3"), kAllow), Ok("staged"),
      C(DEPLOY("production", "v1.2.3"), Code::kApprovalRequired, "workflow state \"staged\""),
      C(DEPLOY("production", "v1.2.4"), kWf, "remembered \"tested_version\"")}},
    {"RetestingANewerVersionShipsThatOne",
     kRel,
     {C(kV1, kAllow), Ok(), C(kV2, kAllow), Ok("tested"), C(DEPLOY("staging", "v1.2.3"), kWf),
      C(DEPLOY("staging", "v1.2.4"), kAllow)}},
    {"RollbackOnlyAfterStaging",
     kRel,
     {C(kRollback, kWf), C(kV1, kAllow), Ok(), C(kRollback, kWf),
      C(DEPLOY("staging", "v1.2.3"), kAllow), C(kRollback, kWf), Ok("staged"),
      C(kRollback, kAllow)}},
    {"DeleteEnvironmentIsBlockedInEveryState",
     kRel,
     {C(R"({"tool":"delete_environment","args":{"environment":"staging"}})", Code::kToolBlocked),
      C(kV1, kAllow), Ok(),
      C(R"({"tool":"delete_environment","args":{"environment":"staging"}})", Code::kToolBlocked)}},
    {"ToolArgumentConstraintsStillApplyAfterTheWorkflow",
     kRel,
     {C(TESTS R"(latest"}})", Code::kConstraintViolated)}},

    {"EmailInAFreshRunIsAllowed",
     kInbox,
     {C(R"({"tool":"send_email","args":{"to":"a@b.c","subject":"s","body":"b"}})", kAllow)}},
    {"EmailAfterOnlyReadingTheInboxIsAllowed",
     kInbox,
     {C(R"({"tool":"read_inbox","args":{"folder":"inbox"}})", kAllow),
      C(R"({"tool":"read_inbox","args":{"folder":"support"}})", kAllow),
      C(R"({"tool":"send_email","args":{"to":"a@b.c","subject":"s","body":"b"}})", kAllow)}},
    {"EmailAfterOnlySearchingCustomersIsAllowed",
     kInbox,
     {C(R"({"tool":"search_customers","args":{"query":"acme"}})", kAllow),
      C(R"({"tool":"send_email","args":{"to":"a@b.c","subject":"s","body":"b"}})", kAllow)}},
    {"EmailAfterInboxThenCustomersNeedsApproval",
     kInbox,
     {C(R"({"tool":"read_inbox","args":{"folder":"inbox"}})", kAllow),
      C(R"({"tool":"add_internal_note","args":{"text":"t"}})", kAllow),
      C(R"({"tool":"search_customers","args":{"query":"acme"}})", kAllow),
      C(R"({"tool":"add_internal_note","args":{"text":"t"}})", kAllow),
      C(R"({"tool":"send_email","args":{"to":"a@b.c","subject":"s","body":"b"}})",
        Code::kApprovalRequired, "flow \"lethal-trifecta\""),
      C(R"({"tool":"add_internal_note","args":{"text":"t"}})", kAllow)}},
    {"EmailAfterCustomersThenInboxNeedsApproval",
     kInbox,
     {C(R"({"tool":"search_customers","args":{"query":"acme"}})", kAllow),
      C(R"({"tool":"read_inbox","args":{"folder":"inbox"}})", kAllow),
      C(R"({"tool":"send_email","args":{"to":"a@b.c","subject":"s","body":"b"}})",
        Code::kApprovalRequired,
        "the run has seen private_data and untrusted_content and tool \"send_email\" carries "
        "external_communication")}},
    {"ADeniedReadAddsNoLabel",
     kInbox,
     {C(R"({"tool":"search_customers","args":{"query":"acme"}})", kAllow),
      C(R"({"tool":"read_inbox","args":{"folder":"spam"}})", Code::kConstraintViolated),
      C(R"({"tool":"send_email","args":{"to":"a@b.c","subject":"s","body":"b"}})", kAllow)}},
};

INSTANTIATE_TEST_SUITE_P(Examples, SequenceScenarioTest, ::testing::ValuesIn(kScenarios),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- Rate limits and quotas (notifier-agent) ----

// The store's counting, simulated: allowed send_notification calls across "runs" with
// their times, and the agent's day cost.
struct FakeCounter {
  std::deque<int64_t> sends_ms;
  int64_t day_cost_micros = 0;
  AgentUsage At(int64_t now_ms, int64_t window_ms) {
    while (!sends_ms.empty() && sends_ms.front() <= now_ms - window_ms) sends_ms.pop_front();
    AgentUsage u;
    u.window_calls = sends_ms.size();
    u.window_oldest_ms = sends_ms.empty() ? 0 : now_ms - sends_ms.front();
    u.day_cost_micros = day_cost_micros;
    return u;
  }
};

constexpr const char* kSend =
    R"({"tool":"send_notification","args":{"channel":"#ops","text":"hi"}})";
constexpr const char* kInfo = R"({"tool":"get_channel_info","args":{"channel":"#ops"}})";

// Tests that a fourth notification within 60 s, from any run, is RATE_LIMITED with the
// seconds until the oldest of the three leaves the window.
TEST(RateLimit, FourthNotificationInAMinuteAcrossRunsIsRateLimited) {
  auto p = LoadExample("notifier-agent.yaml");
  ASSERT_NE(p, nullptr);
  std::string key;
  const policy::RateLimit* r = RateLimitFor(p.get(), "send_notification", &key);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(key, "send_notification");
  EXPECT_EQ(RateLimitFor(p.get(), "get_channel_info"), nullptr);
  FakeCounter counter;
  const int64_t window_ms = r->per_seconds * 1000;
  RunState runs[3];  // three runs of the same agent
  for (int i = 0; i < 3; ++i) {
    const Evaluation ev =
        Evaluate(p.get(), runs[i], Call(kSend), Ctx(counter.At(i * 10000, window_ms)));
    ASSERT_EQ(ev.decision.code, Code::kAllowed) << ev.decision.reason;
    counter.sends_ms.push_back(i * 10000);
  }
  Evaluation ev = Evaluate(p.get(), runs[0], Call(kSend), Ctx(counter.At(25000, window_ms)));
  EXPECT_EQ(ev.decision.code, Code::kRateLimited);
  EXPECT_EQ(ev.decision.retry_after_s, 35);
  EXPECT_THAT(ev.decision.reason, HasSubstr("3 calls per 60 seconds"));
  EXPECT_EQ(DecisionToJson(ev.decision).at("retry_after_s").as_int64(), 35);
  // A denied call is not counted, and get_channel_info has no limit.
  for (int i = 0; i < 20; ++i) {
    ev = Evaluate(p.get(), runs[1], Call(kInfo), Ctx(counter.At(26000, window_ms)));
    EXPECT_EQ(ev.decision.code, Code::kAllowed);
  }
  // Once the first send leaves the window, one more fits.
  ev = Evaluate(p.get(), runs[2], Call(kSend), Ctx(counter.At(60000, window_ms)));
  EXPECT_EQ(ev.decision.code, Code::kAllowed) << ev.decision.reason;
}

// Tests that usage reported through any run counts against the agent's daily cost quota.
TEST(Quota, DailyCostAcrossRunsIsQuotaExceeded) {
  auto p = LoadExample("notifier-agent.yaml");
  ASSERT_NE(p, nullptr);
  AgentUsage u;
  u.day_cost_micros = 999'999;
  EXPECT_EQ(Evaluate(p.get(), RunState{}, Call(kInfo), Ctx(u)).decision.code, Code::kAllowed);
  u.day_cost_micros = 1'000'000;
  const Evaluation ev = Evaluate(p.get(), RunState{}, Call(kInfo), Ctx(u));
  EXPECT_EQ(ev.decision.code, Code::kQuotaExceeded);
  EXPECT_THAT(ev.decision.reason, HasSubstr("quotas.cost_usd_per_day is $1.00"));
  EXPECT_EQ(ev.decision.rule, "quotas.cost_usd_per_day");
  EXPECT_GT(ev.decision.retry_after_s, 0);  // the next UTC midnight
  EXPECT_EQ(Evaluate(p.get(), RunState{}, Call(kSend), Ctx(u)).decision.code, Code::kQuotaExceeded);
}

// Tests that an enforcement point that does not count across runs cannot let a
// rate-limited tool or a quota'd agent through unchecked (fail closed).
TEST(RateLimit, NoCountsFailsClosed) {
  auto p = LoadExample("notifier-agent.yaml");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(Evaluate(p.get(), RunState{}, Call(kSend), Ctx(std::nullopt)).decision.code,
            Code::kRateLimited);
  EXPECT_EQ(Evaluate(p.get(), RunState{}, Call(kInfo), Ctx(std::nullopt)).decision.code,
            Code::kQuotaExceeded);
}

// Tests the order of checks: a workflow violation wins over an argument constraint, a
// constraint over a rate limit, a rate limit over a flow.
TEST(SequenceOrder, WorkflowThenArgumentsThenRateLimitsThenFlows) {
  std::string errors;
  auto p = ParsePolicy(R"(
agent: {id: "o"}
tools:
  allowed:
    - name: "read"
      labels: [untrusted_content]
    - name: "send"
      labels: [external_communication]
      rate_limit: {calls: 1, per_seconds: 10}
      constraints: {arguments: {to: {one_of: ["a"]}}}
flows:
  - {name: "f", from: [untrusted_content], to: [external_communication], action: deny}
workflow:
  initial: s
  states:
    s:
      allow: ["read", {tool: "send", when: {mode: "x"}}]
)",
                       &errors);
  ASSERT_NE(p, nullptr) << errors;
  RunState seen;
  seen.labels.insert("untrusted_content");
  AgentUsage full;
  full.window_calls = 1;
  auto code = [&](const char* call, const AgentUsage& u) {
    return Evaluate(p.get(), seen, Call(call), Ctx(u)).decision.code;
  };
  EXPECT_EQ(code(R"({"tool":"send","args":{"mode":"y","to":"b"}})", full), kWf);
  EXPECT_EQ(code(R"({"tool":"send","args":{"mode":"x","to":"b"}})", full),
            Code::kConstraintViolated);
  EXPECT_EQ(code(R"({"tool":"send","args":{"mode":"x","to":"a"}})", full), Code::kRateLimited);
  EXPECT_EQ(code(R"({"tool":"send","args":{"mode":"x","to":"a"}})", AgentUsage{}),
            Code::kFlowViolation);
  EXPECT_EQ(
      Evaluate(p.get(), RunState{}, Call(R"({"tool":"send","args":{"mode":"x","to":"a"}})"), Ctx())
          .decision.code,
      Code::kAllowed);
}

// Tests that a call carrying both ends of a flow is covered by it even in a fresh run.
TEST(Flows, ACallThatCarriesBothEndsIsCovered) {
  auto p = ParsePolicy(R"(
agent: {id: "o"}
tools:
  allowed:
    - {name: "fetch_and_post", labels: [untrusted_content, external_communication]}
flows:
  - {name: "f", from: [untrusted_content], to: [external_communication], action: deny}
)");
  ASSERT_NE(p, nullptr);
  const Evaluation ev =
      Evaluate(p.get(), RunState{}, Call(R"({"tool":"fetch_and_post","args":{}})"), Ctx());
  EXPECT_EQ(ev.decision.code, Code::kFlowViolation);
  EXPECT_EQ(ev.decision.rule, "flows[\"f\"]");
}

// Tests that shadow mode reports what the sequence rules would deny, and proceeds.
TEST(Shadow, ReportsWorkflowViolationAndProceeds) {
  auto p = ParsePolicy(R"(
agent: {id: "o", mode: shadow}
tools:
  allowed: ["a", "b"]
workflow:
  initial: s
  states:
    s:
      allow: ["a"]
      transitions: [{tool: "a", on: allowed, to: t}]
    t:
      final: true
      allow: ["b"]
)");
  ASSERT_NE(p, nullptr);
  const Evaluation ev = Evaluate(p.get(), RunState{}, Call(R"({"tool":"b","args":{}})"), Ctx());
  EXPECT_EQ(ev.decision.code, Code::kAllowed);
  ASSERT_TRUE(ev.decision.shadow_code.has_value());
  EXPECT_EQ(*ev.decision.shadow_code, kWf);
  EXPECT_THAT(ev.decision.reason, HasSubstr("shadow mode: would have denied (WORKFLOW_VIOLATION)"));
}

// Tests that a transition `on: allowed` moves the run when the call is allowed, and that
// remember binds the argument's value (absent: unbinds it).
TEST(Workflow, AllowedTransitionMovesAndRemembers) {
  auto p = ParsePolicy(R"(
agent: {id: "o"}
tools:
  allowed: ["open", "use"]
workflow:
  initial: closed
  states:
    closed:
      allow: ["open"]
      transitions: [{tool: "open", on: allowed, to: open, remember: {ticket: id}}]
    open:
      allow: [{tool: "use", require: {ticket: ticket}}, "open"]
      transitions: [{tool: "open", on: allowed, to: open, remember: {ticket: id}}]
)");
  ASSERT_NE(p, nullptr);
  RunState s;
  Evaluation ev = Evaluate(p.get(), s, Call(R"({"tool":"open","args":{"id":7}})"), Ctx());
  ASSERT_TRUE(ev.effects.sequence.move.has_value());
  ApplyEffects(ev.effects, "open", &s);
  EXPECT_EQ(s.workflow_state, "open");
  EXPECT_EQ(
      Evaluate(p.get(), s, Call(R"({"tool":"use","args":{"ticket":7.0}})"), Ctx()).decision.code,
      Code::kAllowed);
  EXPECT_EQ(
      Evaluate(p.get(), s, Call(R"({"tool":"use","args":{"ticket":"7"}})"), Ctx()).decision.code,
      kWf);
  ev = Evaluate(p.get(), s, Call(R"({"tool":"open","args":{}})"), Ctx());
  ApplyEffects(ev.effects, "open", &s);
  EXPECT_EQ(s.workflow_vars.count("ticket"), 0u);
  EXPECT_THAT(
      Evaluate(p.get(), s, Call(R"({"tool":"use","args":{"ticket":7}})"), Ctx()).decision.reason,
      HasSubstr("has no value in this run yet"));
}

// Tests that a run in a state a reloaded policy no longer has is denied, not let through.
TEST(Workflow, UnknownCurrentStateFailsClosed) {
  auto p = LoadExample("release-agent.yaml");
  ASSERT_NE(p, nullptr);
  RunState s;
  s.workflow_state = "deleted_state";
  const Evaluation ev = Evaluate(p.get(), s, Call(kStatus), Ctx());
  EXPECT_EQ(ev.decision.code, kWf);
  EXPECT_THAT(ev.decision.reason, HasSubstr("no longer defines"));
}

// ---- Properties over random sequences of the three examples ----

const char* const kRandomCalls[] = {
    kStatus,
    kV1,
    kV2,
    TESTS R"(bad"}})",
    DEPLOY("staging", "v1.2.3"),
    DEPLOY("staging", "v1.2.4"),
    DEPLOY("production", "v1.2.3"),
    DEPLOY("production", "v1.2.4"),
    DEPLOY("dev", "v1.2.3"),
    kRollback,
    R"({"tool":"delete_environment","args":{"environment":"staging"}})",
    R"({"tool":"read_inbox","args":{"folder":"inbox"}})",
    R"({"tool":"read_inbox","args":{"folder":"spam"}})",
    R"({"tool":"search_customers","args":{"query":"x"}})",
    R"({"tool":"send_email","args":{"to":"a@b.c","subject":"s","body":"b"}})",
    R"({"tool":"add_internal_note","args":{"text":"t"}})",
    R"({"tool":"delete_customer","args":{}})",
    R"({"tool":"export_customers","args":{}})",
    kSend,
    kInfo,
};

// Tests that no sequence of calls and results ever makes a blocked tool allowed, and that
// a call that does not proceed changes no workflow state, variable or label.
TEST(SequenceProperty, BlockedStaysBlockedAndDeniedCallsChangeNothing) {
  std::mt19937_64 rng(20261123);
  for (const char* file : {kRel, kInbox, "notifier-agent.yaml"}) {
    auto p = LoadExample(file);
    ASSERT_NE(p, nullptr);
    for (int run = 0; run < 200; ++run) {
      RunState state;
      std::optional<ToolCall> last;
      for (int step = 0; step < 30; ++step) {
        const uint64_t pick = rng() % (std::size(kRandomCalls) + 2);
        if (pick >= std::size(kRandomCalls)) {
          if (last) state = ApplyResult(p.get(), state, *last, pick % 2 == 0);
          continue;
        }
        ToolCall call = Call(kRandomCalls[pick]);
        AgentUsage u;
        u.window_calls = rng() % 5;
        u.day_cost_micros = static_cast<int64_t>(rng() % 1'200'000);
        const Evaluation ev = Evaluate(p.get(), state, call, Ctx(u));
        if (p->blocked.count(call.tool) > 0) {
          ASSERT_FALSE(ev.decision.allowed()) << file << " " << call.tool;
          ASSERT_TRUE(ev.decision.code == Code::kToolBlocked ||
                      ev.decision.code == Code::kRunHalted ||
                      ev.decision.code == Code::kBudgetExceeded)
              << CodeName(ev.decision.code);
        }
        const RunState before = state;
        ApplyEffects(ev.effects, call.tool, &state);
        if (!ev.decision.allowed()) {
          ASSERT_EQ(state.workflow_state, before.workflow_state) << ev.decision.reason;
          ASSERT_EQ(state.workflow_vars, before.workflow_vars);
          ASSERT_EQ(state.labels, before.labels);
        } else {
          last = call;
        }
      }
      for (const auto& [tool, at] : p->blocked) {
        ToolCall call;
        call.tool = tool;
        const Decision d = Evaluate(p.get(), state, call, Ctx()).decision;
        ASSERT_FALSE(d.allowed()) << d.reason;
        if (!state.halted) {
          ASSERT_EQ(d.code, Code::kToolBlocked) << d.reason;
        }
      }
    }
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::engine
