// Table-driven tests of the decision contract (engine.h) against the seed policy.
#include "engine/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <re2/re2.h>

#include "seed_policy.h"

namespace interlock::engine {
namespace INTERLOCK_TEST_NS {

using ::interlock::testing::Decide;
using ::interlock::testing::SeedPolicy;
using ::interlock::testing::TestNow;
using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Case {
  const char* name;
  const char* call;
  Verdict verdict;
  Code code;
  const char* rule;
  const char* at;      // expected Decision.at, "" when none
  const char* reason;  // substring of the reason
};

class SeedTableTest : public ::testing::TestWithParam<Case> {};

// Tests that each seed-policy call gets the documented verdict, code, rule, location and
// a reason naming the specifics.
TEST_P(SeedTableTest, DecidesAsDocumented) {
  const Case& c = GetParam();
  const policy::AgentPolicy p = SeedPolicy();
  const Evaluation ev = Decide(&p, RunState{}, c.call);
  const Decision& d = ev.decision;
  EXPECT_EQ(d.verdict, c.verdict) << d.reason;
  EXPECT_EQ(CodeName(d.code), CodeName(c.code)) << d.reason;
  EXPECT_EQ(d.rule, c.rule);
  EXPECT_EQ(d.at, c.at);
  EXPECT_THAT(d.reason, HasSubstr(c.reason));
  EXPECT_EQ(d.agent_id, "support-agent-v2");
  EXPECT_FALSE(d.tool.empty());
  EXPECT_EQ(ev.effects.steps, 1u);
  EXPECT_EQ(ev.effects.consume_records, d.verdict == Verdict::kAllow);
  EXPECT_FALSE(ev.effects.halt);
}

constexpr const char* kFile = "agent-policy.yaml";

INSTANTIATE_TEST_SUITE_P(
    Seed, SeedTableTest,
    ::testing::Values(
        Case{"read_allowed", R"({"tool":"read_customer_record","args":{"customer_id":"c1"}})",
             Verdict::kAllow, Code::kAllowed, R"(tools.allowed["read_customer_record"])",
             "agent-policy.yaml:8:7", "is allowed"},
        Case{"read_scoped_fields",
             R"({"tool":"read_customer_record","args":{"fields":["customer_id","contact_info"]}})",
             Verdict::kAllow, Code::kAllowed, R"(tools.allowed["read_customer_record"])",
             "agent-policy.yaml:8:7", "is allowed"},
        Case{"read_out_of_scope",
             R"({"tool":"read_customer_record","args":{"fields":["customer_id","ssn"]}})",
             Verdict::kDeny, Code::kScopeViolated, R"(tools.allowed["read_customer_record"].scope)",
             "agent-policy.yaml:8:7", R"(field "ssn" is outside the scope)"},
        Case{"read_scope_not_array",
             R"({"tool":"read_customer_record","args":{"fields":"customer_id"}})", Verdict::kDeny,
             Code::kScopeViolated, R"(tools.allowed["read_customer_record"].scope)",
             "agent-policy.yaml:8:7", "must be an array of field names, got a string"},
        Case{"read_scope_non_string_item",
             R"({"tool":"read_customer_record","args":{"fields":["customer_id",7]}})",
             Verdict::kDeny, Code::kScopeViolated, R"(tools.allowed["read_customer_record"].scope)",
             "agent-policy.yaml:8:7", "item 1 must be a field name, got a number"},
        Case{"update_allowed_status",
             R"({"tool":"update_order_status","args":{"order_id":"o1","status":"refunded"}})",
             Verdict::kAllow, Code::kAllowed, R"(tools.allowed["update_order_status"])",
             "agent-policy.yaml:10:7", "is allowed"},
        Case{"update_bad_status",
             R"({"tool":"update_order_status","args":{"order_id":"o1","status":"deleted"}})",
             Verdict::kDeny, Code::kConstraintViolated,
             R"(tools.allowed["update_order_status"].constraints.allowed_statuses)",
             "agent-policy.yaml:13:9",
             R"(argument "status" is "deleted"; allowed: "cancelled", "refunded", "processing")"},
        Case{"update_missing_status", R"({"tool":"update_order_status","args":{"order_id":"o1"}})",
             Verdict::kDeny, Code::kConstraintViolated,
             R"(tools.allowed["update_order_status"].constraints.allowed_statuses)",
             "agent-policy.yaml:13:9", R"(argument "status" is missing)"},
        Case{"update_null_status", R"({"tool":"update_order_status","args":{"status":null}})",
             Verdict::kDeny, Code::kConstraintViolated,
             R"(tools.allowed["update_order_status"].constraints.allowed_statuses)",
             "agent-policy.yaml:13:9", R"(argument "status" is null)"},
        Case{"update_status_wrong_type",
             R"({"tool":"update_order_status","args":{"status":["refunded"]}})", Verdict::kDeny,
             Code::kConstraintViolated,
             R"(tools.allowed["update_order_status"].constraints.allowed_statuses)",
             "agent-policy.yaml:13:9", R"(is ["refunded"]; allowed:)"},
        Case{"update_case_variant_status",
             R"({"tool":"update_order_status","args":{"status":"Refunded"}})", Verdict::kDeny,
             Code::kConstraintViolated,
             R"(tools.allowed["update_order_status"].constraints.allowed_statuses)",
             "agent-policy.yaml:13:9", R"(is "Refunded")"},
        Case{"update_too_many_records",
             R"({"tool":"update_order_status","args":{"status":"cancelled",
                 "order_ids":[1,2,3,4,5,6,7,8,9,10,11]}})",
             Verdict::kDeny, Code::kRecordLimitExceeded,
             R"(tools.allowed["update_order_status"].constraints.max_records_per_run)",
             "agent-policy.yaml:12:9", "call touches 11 records"},
        Case{"update_ten_records",
             R"({"tool":"update_order_status","args":{"status":"cancelled",
                 "order_ids":[1,2,3,4,5,6,7,8,9,10]}})",
             Verdict::kAllow, Code::kAllowed, R"(tools.allowed["update_order_status"])",
             "agent-policy.yaml:10:7", "is allowed"},
        Case{"email_needs_approval",
             R"({"tool":"send_customer_email","args":{"to":"c@example.com"}})",
             Verdict::kApprovalRequired, Code::kApprovalRequired,
             R"(tools.allowed["send_customer_email"].requires_approval)", "agent-policy.yaml:14:7",
             R"(tool "send_customer_email" requires human approval)"},
        Case{"delete_blocked", R"({"tool":"delete_customer_record","args":{"id":"c1"}})",
             Verdict::kDeny, Code::kToolBlocked, R"(tools.blocked["delete_customer_record"])",
             "agent-policy.yaml:19:7", R"(tool "delete_customer_record" is blocked)"},
        Case{"payment_blocked", R"({"tool":"access_payment_raw"})", Verdict::kDeny,
             Code::kToolBlocked, R"(tools.blocked["access_payment_raw"])", "agent-policy.yaml:20:7",
             "is blocked"},
        Case{"bulk_email_blocked", R"({"tool":"bulk_send_email"})", Verdict::kDeny,
             Code::kToolBlocked, R"(tools.blocked["bulk_send_email"])", "agent-policy.yaml:21:7",
             "is blocked"},
        Case{"unknown_tool", R"({"tool":"search_web"})", Verdict::kDeny, Code::kToolNotAllowed,
             "default_deny", "", R"(tool "search_web" is not in the allowed list)"},
        Case{"case_variant_blocked", R"({"tool":"Delete_customer_record"})", Verdict::kDeny,
             Code::kToolNotAllowed, "default_deny", "", R"("Delete_customer_record")"},
        Case{"trailing_space_blocked", R"({"tool":"delete_customer_record "})", Verdict::kDeny,
             Code::kToolNotAllowed, "default_deny", "", R"("delete_customer_record ")"},
        Case{"leading_space_allowed", R"({"tool":" read_customer_record"})", Verdict::kDeny,
             Code::kToolNotAllowed, "default_deny", "", "default deny"},
        // "delete_customer_record" with a Cyrillic 'е' (U+0435) and 'о' (U+043E).
        Case{"homoglyph_blocked", "{\"tool\":\"d\xd0\xb5lete_customer_rec\xd0\xberd\"}",
             Verdict::kDeny, Code::kToolNotAllowed, "default_deny", "", "default deny"},
        Case{"homoglyph_allowed", "{\"tool\":\"r\xd0\xb5\x61\x64_customer_record\"}",
             Verdict::kDeny, Code::kToolNotAllowed, "default_deny", "", "default deny"},
        Case{"fullwidth_allowed", "{\"tool\":\"read_customer_recor\xef\xbd\x84\"}", Verdict::kDeny,
             Code::kToolNotAllowed, "default_deny", "", "default deny"}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

// Tests that a NUL byte inside a tool name (possible from a ToolCall built in code) is a
// different name, never truncated onto a blocked or allowed one.
TEST(EngineTest, NulInNameIsNotAllowed) {
  const policy::AgentPolicy p = SeedPolicy();
  for (std::string name :
       {std::string("read_customer_record\0x", 22), std::string("delete_customer_record\0", 23)}) {
    ToolCall call;
    call.tool = name;
    const Evaluation ev = Evaluate(&p, RunState{}, call, EvalContext{TestNow(), {}});
    EXPECT_EQ(ev.decision.code, Code::kToolNotAllowed);
    EXPECT_THAT(ev.decision.reason, HasSubstr("\\u0000"));
  }
}

// Tests that a resolution handed in by the caller (EvalContext::resolved) never changes a
// decision: every pair of (call's tool, tool the resolution was made for) over an allowed,
// a blocked and an unknown tool decides exactly as Evaluate resolving the tool itself,
// so a stale or mismatched resolution cannot turn a blocked or unknown tool into an allow.
TEST(EngineTest, CallerResolutionNeverChangesTheDecision) {
  const policy::AgentPolicy p = SeedPolicy();
  const std::vector<std::string> tools = {"read_customer_record", "update_order_status",
                                          "delete_customer_record", "drop_table"};
  for (const std::string& tool : tools) {
    ToolCall call;
    call.tool = tool;
    call.args["customer_id"] = "C-1";
    const Evaluation own = Evaluate(&p, RunState{}, call, EvalContext{TestNow(), {}});
    for (const std::string& resolved_for : tools) {
      const policy::ToolResolution given = p.Resolve(resolved_for);
      EvalContext ctx{TestNow(), {}};
      ctx.resolved = &given;
      const Evaluation ev = Evaluate(&p, RunState{}, call, ctx);
      SCOPED_TRACE(tool + " resolved as " + resolved_for);
      EXPECT_EQ(ev.decision.verdict, own.decision.verdict);
      EXPECT_EQ(ev.decision.code, own.decision.code);
      EXPECT_EQ(ev.decision.rule, own.decision.rule);
      EXPECT_EQ(ev.decision.at, own.decision.at);
      EXPECT_EQ(ev.decision.reason, own.decision.reason);
    }
  }
}

// Tests that a front door's refusal (ToolCall::refusal_reason) is decided INVALID_REQUEST
// with its rule before every other check, even a kill switch, an unknown agent or shadow
// mode, so a refused MCP message can never turn into an allow.
TEST(EngineTest, FrontDoorRefusalDecidesFirst) {
  policy::AgentPolicy p = SeedPolicy();
  ToolCall call;
  call.tool = "read_customer_record";
  call.refusal_reason = "a tools/call sent as a notification";
  call.refusal_rule = "mcp.gateway";
  EvalContext kill{TestNow(), KillSwitch{"global", "x"}};
  for (const policy::AgentPolicy* policy : {static_cast<const policy::AgentPolicy*>(&p),
                                            static_cast<const policy::AgentPolicy*>(nullptr)}) {
    const Evaluation ev = Evaluate(policy, RunState{}, call, kill);
    EXPECT_EQ(ev.decision.verdict, Verdict::kDeny);
    EXPECT_EQ(ev.decision.code, Code::kInvalidRequest);
    EXPECT_EQ(ev.decision.rule, "mcp.gateway");
    EXPECT_EQ(ev.decision.reason, call.refusal_reason);
  }
  p.mode = policy::Mode::kShadow;
  const Evaluation shadow = Evaluate(&p, RunState{}, call, EvalContext{TestNow(), {}});
  EXPECT_EQ(shadow.decision.verdict, Verdict::kDeny);
}

// Tests the order of checks: each row sets up two or more failing checks and expects the
// earlier one to decide.
TEST(EngineTest, FirstApplicableCheckDecides) {
  const policy::AgentPolicy p = SeedPolicy();
  RunState halted;
  halted.halted = true;
  halted.halt_reason = "step budget exhausted";
  halted.steps = 100;
  RunState over_budget;
  over_budget.steps = 25;
  EvalContext kill{TestNow(), KillSwitch{"global", "incident 42"}};

  // Kill switch beats unknown agent, halted run and blocked tool.
  Evaluation ev = Decide(nullptr, halted, R"({"tool":"delete_customer_record"})", kill);
  EXPECT_EQ(ev.decision.code, Code::kKillSwitch);
  EXPECT_EQ(ev.decision.rule, "kill_switch.global");
  EXPECT_THAT(ev.decision.reason, HasSubstr("incident 42"));
  ev = Decide(&p, halted, R"({"tool":"delete_customer_record"})",
              EvalContext{TestNow(), KillSwitch{"run", ""}});
  EXPECT_EQ(ev.decision.rule, "kill_switch.run");
  EXPECT_EQ(ev.decision.agent_id, "support-agent-v2");
  EXPECT_EQ(ev.decision.tool, "delete_customer_record");

  // Unknown agent beats halted run.
  ev = Decide(nullptr, halted, R"({"tool":"read_customer_record"})");
  EXPECT_EQ(ev.decision.code, Code::kUnknownAgent);
  EXPECT_EQ(ev.decision.rule, "agents");
  EXPECT_EQ(ev.decision.tool, "read_customer_record");

  // Halted beats budgets and blocked; the reason carries the halt reason.
  ev = Decide(&p, halted, R"({"tool":"delete_customer_record"})");
  EXPECT_EQ(ev.decision.code, Code::kRunHalted);
  EXPECT_EQ(ev.decision.rule, "run.halted");
  EXPECT_THAT(ev.decision.reason, HasSubstr("step budget exhausted"));
  EXPECT_FALSE(ev.effects.halt);

  // Budgets beat blocked.
  ev = Decide(&p, over_budget, R"({"tool":"delete_customer_record"})");
  EXPECT_EQ(ev.decision.code, Code::kBudgetExceeded);

  // Blocked beats everything about the tool's arguments.
  ev = Decide(&p, RunState{}, R"({"tool":"delete_customer_record","args":{"fields":["x"]}})");
  EXPECT_EQ(ev.decision.code, Code::kToolBlocked);

  // Constraint beats scope beats records beats approval.
  policy::AgentPolicy q = SeedPolicy();
  policy::ToolRule& u = q.allowed.at("update_order_status");
  u.scope = std::vector<std::string>{"status"};
  u.requires_approval = true;
  ev = Decide(&q, RunState{},
              R"({"tool":"update_order_status","args":{"status":"x","fields":["y"],
                  "ids":[1,2,3,4,5,6,7,8,9,10,11]}})");
  EXPECT_EQ(ev.decision.code, Code::kConstraintViolated);
  ev = Decide(&q, RunState{},
              R"({"tool":"update_order_status","args":{"status":"refunded","fields":["y"],
                  "ids":[1,2,3,4,5,6,7,8,9,10,11]}})");
  EXPECT_EQ(ev.decision.code, Code::kScopeViolated);
  ev = Decide(&q, RunState{},
              R"({"tool":"update_order_status","args":{"status":"refunded","fields":["status"],
                  "ids":[1,2,3,4,5,6,7,8,9,10,11]}})");
  EXPECT_EQ(ev.decision.code, Code::kRecordLimitExceeded);
  ev = Decide(&q, RunState{},
              R"({"tool":"update_order_status","args":{"status":"refunded","ids":[1]}})");
  EXPECT_EQ(ev.decision.code, Code::kApprovalRequired);

  // Freeze beats argument checks.
  policy::FreezeWindow w;
  w.name = "black-friday";
  w.at = {kFile, 30, 3};
  w.start = TestNow() - std::chrono::hours(1);
  w.end = TestNow() + std::chrono::hours(1);
  w.tools = {"update_order_status"};
  q.freezes.push_back(w);
  ev = Decide(&q, RunState{}, R"({"tool":"update_order_status","args":{"status":"x"}})");
  EXPECT_EQ(ev.decision.code, Code::kFrozen);
}

// Tests that with max_steps 25 the 26th call is denied, that the denial halts the run and
// escalates, and that every later call gets RUN_HALTED once the effects are applied.
TEST(EngineTest, StepBudgetHaltsAndEscalates) {
  const policy::AgentPolicy p = SeedPolicy();
  RunState state;
  for (int i = 1; i <= 25; ++i) {
    const Evaluation ev = Decide(&p, state, R"({"tool":"read_customer_record"})");
    ASSERT_EQ(ev.decision.code, Code::kAllowed) << "call " << i;
    ApplyEffects(ev.effects, "read_customer_record", &state);
  }
  EXPECT_EQ(state.steps, 25u);
  Evaluation ev = Decide(&p, state, R"({"tool":"read_customer_record"})");
  EXPECT_EQ(ev.decision.code, Code::kBudgetExceeded);
  EXPECT_EQ(ev.decision.rule, "execution.max_steps");
  EXPECT_EQ(ev.decision.at, "agent-policy.yaml:22:1");
  EXPECT_THAT(ev.decision.reason, HasSubstr("made 25 calls"));
  EXPECT_TRUE(ev.effects.halt);
  EXPECT_EQ(ev.effects.halt_reason, ev.decision.reason);
  EXPECT_FALSE(ev.effects.consume_records);
  ASSERT_EQ(ev.decision.notifications.size(), 1u);
  const Notification& n = ev.decision.notifications[0];
  EXPECT_EQ(n.kind, Notification::Kind::kEscalation);
  EXPECT_EQ(n.channel, "#oncall-agents");
  EXPECT_EQ(n.contacts, (std::vector<std::string>{"alice@myco.example", "bob@myco.example"}));
  EXPECT_THAT(n.text, HasSubstr("support-agent-v2"));
  ApplyEffects(ev.effects, "read_customer_record", &state);
  EXPECT_EQ(state.steps, 26u);
  EXPECT_TRUE(state.halted);
  ev = Decide(&p, state, R"({"tool":"read_customer_record"})");
  EXPECT_EQ(ev.decision.code, Code::kRunHalted);
  EXPECT_THAT(ev.decision.reason, HasSubstr("step budget exhausted"));
  EXPECT_EQ(ev.effects.steps, 1u);
}

struct BudgetCase {
  const char* name;
  RunState state;
  bool exceeded;
  const char* rule;
  const char* reason;
};

class BudgetTableTest : public ::testing::TestWithParam<BudgetCase> {};

// Tests each budget at, just below and above its limit (>= is exhausted).
TEST_P(BudgetTableTest, ComparesWithLimit) {
  const BudgetCase& c = GetParam();
  const policy::AgentPolicy p = SeedPolicy();
  const Evaluation ev = Decide(&p, c.state, R"({"tool":"read_customer_record"})");
  if (!c.exceeded) {
    EXPECT_EQ(ev.decision.code, Code::kAllowed) << ev.decision.reason;
    return;
  }
  EXPECT_EQ(ev.decision.code, Code::kBudgetExceeded);
  EXPECT_EQ(ev.decision.rule, c.rule);
  EXPECT_THAT(ev.decision.reason, HasSubstr(c.reason));
}

RunState With(uint64_t steps, uint64_t tokens, int64_t cost, int64_t ms) {
  RunState s;
  s.steps = steps;
  s.tokens = tokens;
  s.cost_micros = cost;
  s.elapsed_ms = ms;
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Seed, BudgetTableTest,
    ::testing::Values(BudgetCase{"steps_below", With(24, 0, 0, 0), false, "", ""},
                      BudgetCase{"steps_at", With(25, 0, 0, 0), true, "execution.max_steps",
                                 "max_steps is 25"},
                      BudgetCase{"steps_huge", With(UINT64_MAX, 0, 0, 0), true,
                                 "execution.max_steps", "18446744073709551615 calls"},
                      BudgetCase{"tokens_below", With(0, 49999, 0, 0), false, "", ""},
                      BudgetCase{"tokens_at", With(0, 50000, 0, 0), true,
                                 "execution.max_tokens_per_run", "used 50000 tokens"},
                      BudgetCase{"tokens_huge", With(0, UINT64_MAX, 0, 0), true,
                                 "execution.max_tokens_per_run", "18446744073709551615"},
                      BudgetCase{"cost_below", With(0, 0, 1999999, 0), false, "", ""},
                      BudgetCase{"cost_at", With(0, 0, 2000000, 0), true, "execution.max_cost_usd",
                                 "cost $2.00 and execution.max_cost_usd is $2.00"},
                      BudgetCase{"cost_over", With(0, 0, 2000001, 0), true,
                                 "execution.max_cost_usd", "$2.000001"},
                      BudgetCase{"clock_below", With(0, 0, 0, 119999), false, "", ""},
                      BudgetCase{"clock_at", With(0, 0, 0, 120000), true,
                                 "execution.max_wall_clock_seconds", "going for 120 s"},
                      BudgetCase{"clock_over", With(0, 0, 0, 120500), true,
                                 "execution.max_wall_clock_seconds", "120.5 s"},
                      BudgetCase{"steps_first", With(30, 60000, 3000000, 200000), true,
                                 "execution.max_steps", "steps"}),
    [](const ::testing::TestParamInfo<BudgetCase>& info) { return std::string(info.param.name); });

// Tests that on_budget_exceeded deny denies without halting, every time, and that halt
// halts without escalating.
TEST(EngineTest, BudgetActions) {
  policy::AgentPolicy p = SeedPolicy();
  p.execution.on_budget_exceeded = policy::BudgetAction::kDeny;
  RunState state = With(25, 0, 0, 0);
  for (int i = 0; i < 3; ++i) {
    const Evaluation ev = Decide(&p, state, R"({"tool":"read_customer_record"})");
    EXPECT_EQ(ev.decision.code, Code::kBudgetExceeded);
    EXPECT_FALSE(ev.effects.halt);
    EXPECT_TRUE(ev.decision.notifications.empty());
    ApplyEffects(ev.effects, "read_customer_record", &state);
    EXPECT_FALSE(state.halted);
  }
  p.execution.on_budget_exceeded = policy::BudgetAction::kHalt;
  const Evaluation ev = Decide(&p, state, R"({"tool":"read_customer_record"})");
  EXPECT_EQ(ev.decision.code, Code::kBudgetExceeded);
  EXPECT_TRUE(ev.effects.halt);
  EXPECT_TRUE(ev.decision.notifications.empty());
}

// Tests record counting (longest array, at least 1, scope list excluded) and that only
// calls that proceed consume records.
TEST(EngineTest, RecordsAreCountedAndConsumedOnlyWhenAllowed) {
  policy::AgentPolicy p = SeedPolicy();
  RunState state;
  Evaluation ev = Decide(&p, state,
                         R"({"tool":"update_order_status","args":{"status":"refunded",
                             "ids":[1,2,3,4],"tags":["a"]}})");
  EXPECT_EQ(ev.effects.records, 4u);
  EXPECT_TRUE(ev.effects.consume_records);
  ApplyEffects(ev.effects, "update_order_status", &state);
  ApplyEffects(ev.effects, "update_order_status", &state);
  EXPECT_EQ(state.records.at("update_order_status"), 8u);

  // A denied call counts its records but consumes none.
  ev = Decide(&p, state, R"({"tool":"update_order_status","args":{"status":"x","ids":[1,2]}})");
  EXPECT_EQ(ev.effects.records, 2u);
  EXPECT_FALSE(ev.effects.consume_records);
  ApplyEffects(ev.effects, "update_order_status", &state);
  EXPECT_EQ(state.records.at("update_order_status"), 8u);

  // 8 + 2 == 10 fits; 8 + 3 does not.
  ev = Decide(&p, state,
              R"({"tool":"update_order_status","args":{"status":"refunded","ids":[1,2]}})");
  EXPECT_EQ(ev.decision.code, Code::kAllowed);
  ev = Decide(&p, state,
              R"({"tool":"update_order_status","args":{"status":"refunded","ids":[1,2,3]}})");
  EXPECT_EQ(ev.decision.code, Code::kRecordLimitExceeded);
  EXPECT_THAT(ev.decision.reason, HasSubstr("already touched 8"));

  // No array, or an empty one: one record.
  ev = Decide(&p, RunState{}, R"({"tool":"update_order_status","args":{"status":"refunded"}})");
  EXPECT_EQ(ev.effects.records, 1u);
  ev = Decide(&p, RunState{},
              R"({"tool":"update_order_status","args":{"status":"refunded","ids":[]}})");
  EXPECT_EQ(ev.effects.records, 1u);

  // The scope field list is not a record list.
  ev = Decide(&p, RunState{},
              R"({"tool":"read_customer_record","args":{"fields":["customer_id",
                  "order_history","contact_info"]}})");
  EXPECT_EQ(ev.effects.records, 1u);

  // Approval-required calls consume nothing.
  p.allowed.at("update_order_status").requires_approval = true;
  ev = Decide(&p, RunState{},
              R"({"tool":"update_order_status","args":{"status":"refunded","ids":[1,2]}})");
  EXPECT_EQ(ev.decision.code, Code::kApprovalRequired);
  EXPECT_EQ(ev.effects.records, 2u);
  EXPECT_FALSE(ev.effects.consume_records);
}

// Tests that the record limit cannot wrap: a near-max used count plus a call is refused.
TEST(EngineTest, RecordLimitDoesNotWrap) {
  policy::AgentPolicy p = SeedPolicy();
  p.allowed.at("update_order_status").max_records_per_run = UINT64_MAX;
  RunState state;
  state.records["update_order_status"] = UINT64_MAX;
  const Evaluation ev =
      Decide(&p, state, R"({"tool":"update_order_status","args":{"status":"refunded"}})");
  EXPECT_EQ(ev.decision.code, Code::kRecordLimitExceeded);
  ApplyEffects(Effects{1, 5, true, false, ""}, "update_order_status", &state);
  EXPECT_EQ(state.records.at("update_order_status"), UINT64_MAX);
}

// A policy with one tool "t" carrying the given constraint.
policy::AgentPolicy WithConstraint(policy::ArgConstraint c) {
  policy::AgentPolicy p;
  p.id = "a";
  policy::ToolRule t;
  t.name = "t";
  c.rule = R"(tools.allowed["t"].constraints.c)";
  c.at = {kFile, 5, 5};
  t.constraints.push_back(std::move(c));
  p.allowed.emplace("t", std::move(t));
  return p;
}

struct ArgCase {
  const char* name;
  const char* args;
  bool ok;
  const char* reason;  // substring when !ok
};

struct ConstraintSuite {
  const char* name;
  policy::ArgConstraint constraint;
  std::vector<ArgCase> cases;
};

policy::ArgConstraint OneOf(std::vector<boost::json::value> values) {
  policy::ArgConstraint c;
  c.argument = "x";
  c.one_of = std::move(values);
  return c;
}

policy::ArgConstraint Range(std::optional<double> min, std::optional<double> max) {
  policy::ArgConstraint c;
  c.argument = "x";
  c.min = min;
  c.max = max;
  return c;
}

policy::ArgConstraint Paths(std::vector<std::string> prefixes) {
  policy::ArgConstraint c;
  c.argument = "x";
  c.path_prefixes = std::move(prefixes);
  return c;
}

std::vector<ConstraintSuite> ConstraintSuites() {
  std::vector<ConstraintSuite> s;
  s.push_back({"one_of_numbers",
               OneOf({10, 2.5}),
               {{"int", R"({"x":10})", true, ""},
                {"double_equal", R"({"x":10.0})", true, ""},
                {"exp_equal", R"({"x":1e1})", true, ""},
                {"double_member", R"({"x":2.5})", true, ""},
                {"string_ten", R"({"x":"10"})", false, R"(argument "x" is "10"; allowed: 10, 2.5)"},
                {"bool", R"({"x":true})", false, "is true"},
                {"near", R"({"x":10.000001})", false, "allowed"},
                {"huge", R"({"x":18446744073709551615})", false, "18446744073709551615"},
                {"missing", R"({})", false, R"(argument "x" is missing)"}}});
  s.push_back({"one_of_strings",
               OneOf({"10", "a"}),
               {{"string", R"({"x":"10"})", true, ""},
                {"int_ten", R"({"x":10})", false, R"(argument "x" is 10; allowed: "10", "a")"},
                {"case", R"({"x":"A"})", false, "allowed"},
                {"space", R"({"x":"a "})", false, "allowed"}}});
  s.push_back({"one_of_uint64",
               OneOf({boost::json::value(uint64_t{18446744073709551615u})}),
               {{"same", R"({"x":18446744073709551615})", true, ""},
                {"neighbour", R"({"x":18446744073709551614})", false, "allowed"},
                {"negative", R"({"x":-1})", false, "allowed"}}});
  s.push_back({"range",
               Range(-5, 10),
               {{"in", R"({"x":3})", true, ""},
                {"at_max", R"({"x":10})", true, ""},
                {"at_min", R"({"x":-5.0})", true, ""},
                {"over_double", R"({"x":10.5})", false, "the maximum is 10"},
                {"over_uint64", R"({"x":18446744073709551615})", false, "the maximum is 10"},
                {"over_1e308", R"({"x":1e308})", false, "the maximum is 10"},
                {"under", R"({"x":-9223372036854775808})", false, "the minimum is -5"},
                {"string_five", R"({"x":"5"})", false, "must be a number, got a string"},
                {"bool", R"({"x":false})", false, "must be a number"},
                {"null", R"({"x":null})", false, "is null"}}});
  s.push_back({"range_precise",
               Range(std::nullopt, 9007199254740992.0),  // 2^53
               {{"at", R"({"x":9007199254740992})", true, ""},
                {"one_above", R"({"x":9007199254740993})", false, "maximum"},
                {"uint_above", R"({"x":9223372036854775808})", false, "maximum"}}});
  {
    policy::ArgConstraint c;
    c.argument = "x";
    c.optional = true;
    c.max_length = 3;
    s.push_back({"optional_max_length",
                 c,
                 {{"absent", R"({})", true, ""},
                  {"null", R"({"x":null})", true, ""},
                  {"short", R"({"x":"abc"})", true, ""},
                  {"long", R"({"x":"abcd"})", false, "4 bytes long; the maximum is 3"},
                  {"utf8_bytes", "{\"x\":\"\xc3\xa9\xc3\xa9\"}", false, "4 bytes"},
                  {"number", R"({"x":123})", false, "must be a string"}}});
  }
  {
    policy::ArgConstraint c;
    c.argument = "x";
    c.max_items = 2;
    s.push_back({"max_items",
                 c,
                 {{"two", R"({"x":[1,2]})", true, ""},
                  {"three", R"({"x":[1,2,3]})", false, "has 3 items; the maximum is 2"},
                  {"string", R"({"x":"ab"})", false, "must be an array"}}});
  }
  {
    policy::ArgConstraint c;
    c.argument = "x";
    c.pattern = std::make_shared<const re2::RE2>("[a-z]+-[0-9]+");
    s.push_back({"pattern",
                 c,
                 {{"match", R"({"x":"ord-12"})", true, ""},
                  {"partial", R"({"x":"ord-12; rm -rf /"})", false, "does not match the pattern"},
                  {"prefix", R"({"x":"xord-12"})", true, ""},
                  {"number", R"({"x":12})", false, "must be a string"}}});
  }
  s.push_back({"path_prefixes",
               Paths({"/srv/data", "/tmp/agent"}),
               {{"inside", R"({"x":"/srv/data/report.csv"})", true, ""},
                {"exact", R"({"x":"/srv/data"})", true, ""},
                {"second_prefix", R"({"x":"/tmp/agent/x"})", true, ""},
                {"dot_segments", R"({"x":"/srv/./data//a/../b"})", true, ""},
                {"climb_out", R"({"x":"/srv/data/../etc/passwd"})", false,
                 R"(resolves to "/srv/etc/passwd")"},
                {"double_slash", R"({"x":"//etc/passwd"})", false, "outside"},
                {"sibling", R"({"x":"/srv/database/x"})", false, "outside"},
                {"percent", R"({"x":"/srv/data/%2e%2e/etc"})", false, "percent"},
                {"backslash", R"({"x":"/srv/data\\..\\etc"})", false, "backslash"},
                {"nul", R"({"x":"/srv/data/a\u0000b"})", false, "NUL"},
                {"relative", R"({"x":"srv/data/a"})", false, "outside"},
                {"relative_climb", R"({"x":"../srv/data"})", false, "climbs"},
                {"empty", R"({"x":""})", false, "empty"},
                {"root_climb", R"({"x":"/../../srv/data/a"})", true, ""},
                {"array", R"({"x":["/srv/data/a"]})", false, "must be a string"}}});
  return s;
}

// Tests every constraint kind with passing, failing and wrong-type arguments.
TEST(EngineTest, ConstraintTable) {
  for (const ConstraintSuite& suite : ConstraintSuites()) {
    const policy::AgentPolicy p = WithConstraint(suite.constraint);
    for (const ArgCase& c : suite.cases) {
      SCOPED_TRACE(std::string(suite.name) + "/" + c.name);
      const std::string call = std::string(R"({"tool":"t","args":)") + c.args + "}";
      const Evaluation ev = Decide(&p, RunState{}, call);
      if (c.ok) {
        EXPECT_EQ(ev.decision.code, Code::kAllowed) << ev.decision.reason;
      } else {
        EXPECT_EQ(ev.decision.code, Code::kConstraintViolated);
        EXPECT_EQ(ev.decision.rule, R"(tools.allowed["t"].constraints.c)");
        EXPECT_EQ(ev.decision.at, "agent-policy.yaml:5:5");
        EXPECT_THAT(ev.decision.reason, HasSubstr(c.reason));
      }
    }
  }
}

// Tests the approval derivation: autonomy, requires_approval, reversible, and that the
// approval parameters come from the tool.
TEST(EngineTest, ApprovalDerivation) {
  struct Row {
    const char* name;
    policy::Autonomy agent;
    std::optional<policy::Autonomy> tool;
    std::optional<bool> requires_approval;
    std::optional<bool> reversible;
    Code code;
    const char* rule;
  };
  const std::vector<Row> rows = {
      {"default",
       policy::Autonomy::kExceptionBased,
       {},
       {},
       {},
       Code::kAllowed,
       R"(tools.allowed["t"])"},
      {"agent_gate_all",
       policy::Autonomy::kGateAll,
       {},
       false,
       true,
       Code::kApprovalRequired,
       "agent.autonomy"},
      {"tool_gate_all",
       policy::Autonomy::kAuditBased,
       policy::Autonomy::kGateAll,
       false,
       {},
       Code::kApprovalRequired,
       R"(tools.allowed["t"].autonomy)"},
      {"tool_overrides_agent",
       policy::Autonomy::kGateAll,
       policy::Autonomy::kExceptionBased,
       {},
       {},
       Code::kAllowed,
       R"(tools.allowed["t"])"},
      {"requires",
       policy::Autonomy::kExceptionBased,
       {},
       true,
       {},
       Code::kApprovalRequired,
       R"(tools.allowed["t"].requires_approval)"},
      {"requires_false_beats_irreversible",
       policy::Autonomy::kExceptionBased,
       {},
       false,
       false,
       Code::kAllowed,
       R"(tools.allowed["t"])"},
      {"irreversible",
       policy::Autonomy::kAuditBased,
       {},
       {},
       false,
       Code::kApprovalRequired,
       R"(tools.allowed["t"].reversible)"},
      {"reversible",
       policy::Autonomy::kExceptionBased,
       {},
       {},
       true,
       Code::kAllowed,
       R"(tools.allowed["t"])"},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.name);
    policy::AgentPolicy p;
    p.id = "a";
    p.autonomy = r.agent;
    policy::ToolRule t;
    t.name = "t";
    t.autonomy = r.tool;
    t.requires_approval = r.requires_approval;
    t.reversible = r.reversible;
    t.approval_timeout_seconds = 60;
    t.auto_deny_on_timeout = false;
    t.approvals_required = 2;
    p.allowed.emplace("t", t);
    const Evaluation ev = Decide(&p, RunState{}, R"({"tool":"t"})");
    EXPECT_EQ(ev.decision.code, r.code) << ev.decision.reason;
    EXPECT_EQ(ev.decision.rule, r.rule);
    if (r.code == Code::kApprovalRequired) {
      EXPECT_EQ(ev.decision.verdict, Verdict::kApprovalRequired);
      EXPECT_EQ(ev.decision.approval_timeout_seconds, 60);
      EXPECT_FALSE(ev.decision.auto_deny_on_timeout);
      EXPECT_EQ(ev.decision.approvals_required, 2);
      EXPECT_FALSE(ev.effects.consume_records);
    }
  }
  // The seed's send_customer_email carries its 300 s timeout and auto-deny.
  const policy::AgentPolicy seed = SeedPolicy();
  const Evaluation ev = Decide(&seed, RunState{}, R"({"tool":"send_customer_email"})");
  EXPECT_EQ(ev.decision.approval_timeout_seconds, 300);
  EXPECT_TRUE(ev.decision.auto_deny_on_timeout);
  EXPECT_EQ(ev.decision.approvals_required, 1);
}

// Tests that allowed large-blast-radius reversible calls are flagged to the on-call
// channel unless autonomy is audit_based.
TEST(EngineTest, LargeBlastRadiusIsFlagged) {
  policy::AgentPolicy p = SeedPolicy();
  policy::ToolRule& r = p.allowed.at("read_customer_record");
  r.blast_radius = policy::BlastRadius::kLarge;
  Evaluation ev = Decide(&p, RunState{}, R"({"tool":"read_customer_record"})");
  EXPECT_EQ(ev.decision.code, Code::kAllowed);
  ASSERT_EQ(ev.decision.notifications.size(), 1u);
  EXPECT_EQ(ev.decision.notifications[0].kind, Notification::Kind::kFlagged);
  EXPECT_EQ(ev.decision.notifications[0].channel, "#oncall-agents");
  EXPECT_EQ(ev.decision.notifications[0].contacts.size(), 2u);

  r.autonomy = policy::Autonomy::kAuditBased;
  ev = Decide(&p, RunState{}, R"({"tool":"read_customer_record"})");
  EXPECT_TRUE(ev.decision.notifications.empty());

  r.autonomy.reset();
  r.reversible = false;
  r.requires_approval = false;
  ev = Decide(&p, RunState{}, R"({"tool":"read_customer_record"})");
  EXPECT_EQ(ev.decision.code, Code::kAllowed);
  EXPECT_TRUE(ev.decision.notifications.empty());

  // Small blast radius: no flag.
  ev = Decide(&p, RunState{}, R"({"tool":"update_order_status","args":{"status":"refunded"}})");
  EXPECT_TRUE(ev.decision.notifications.empty());
}

// Tests freeze windows: [start, end), by name or "*", with the window's rule and reason.
TEST(EngineTest, FreezeWindows) {
  policy::AgentPolicy p = SeedPolicy();
  policy::FreezeWindow w;
  w.name = "code-freeze";
  w.at = {kFile, 40, 3};
  w.start = TestNow();
  w.end = TestNow() + std::chrono::hours(2);
  w.tools = {"update_order_status"};
  w.reason = "year-end close";
  p.freezes.push_back(w);
  const char* update = R"({"tool":"update_order_status","args":{"status":"refunded"}})";
  const auto at = [](std::chrono::system_clock::time_point t) { return EvalContext{t, {}}; };

  Evaluation ev = Decide(&p, RunState{}, update, at(TestNow()));
  EXPECT_EQ(ev.decision.code, Code::kFrozen);
  EXPECT_EQ(ev.decision.rule, R"(freeze["code-freeze"])");
  EXPECT_EQ(ev.decision.at, "agent-policy.yaml:40:3");
  EXPECT_THAT(ev.decision.reason, HasSubstr("until 2026-11-22T12:00:00.000Z: year-end close"));
  ev = Decide(&p, RunState{}, update, at(TestNow() - std::chrono::milliseconds(1)));
  EXPECT_EQ(ev.decision.code, Code::kAllowed);
  ev = Decide(&p, RunState{}, update, at(w.end - std::chrono::milliseconds(1)));
  EXPECT_EQ(ev.decision.code, Code::kFrozen);
  ev = Decide(&p, RunState{}, update, at(w.end));
  EXPECT_EQ(ev.decision.code, Code::kAllowed);
  ev = Decide(&p, RunState{}, R"({"tool":"read_customer_record"})", at(TestNow()));
  EXPECT_EQ(ev.decision.code, Code::kAllowed);

  p.freezes[0].tools = {"*"};
  ev = Decide(&p, RunState{}, R"({"tool":"read_customer_record"})", at(TestNow()));
  EXPECT_EQ(ev.decision.code, Code::kFrozen);
  // Blocked and unknown tools keep their own codes.
  ev = Decide(&p, RunState{}, R"({"tool":"bulk_send_email"})", at(TestNow()));
  EXPECT_EQ(ev.decision.code, Code::kToolBlocked);
  ev = Decide(&p, RunState{}, R"({"tool":"nope"})", at(TestNow()));
  EXPECT_EQ(ev.decision.code, Code::kToolNotAllowed);
}

// Tests shadow mode: would-be denials and approvals become allows carrying the enforce
// outcome, the deciding rule stays, and effects apply as for a real run.
TEST(EngineTest, ShadowMode) {
  policy::AgentPolicy p = SeedPolicy();
  p.mode = policy::Mode::kShadow;

  Evaluation ev = Decide(&p, RunState{}, R"({"tool":"delete_customer_record"})");
  EXPECT_EQ(ev.decision.verdict, Verdict::kAllow);
  EXPECT_EQ(ev.decision.code, Code::kAllowed);
  EXPECT_EQ(ev.decision.shadow_verdict, Verdict::kDeny);
  EXPECT_EQ(ev.decision.shadow_code, Code::kToolBlocked);
  EXPECT_EQ(ev.decision.rule, R"(tools.blocked["delete_customer_record"])");
  EXPECT_EQ(ev.decision.at, "agent-policy.yaml:19:7");
  EXPECT_THAT(ev.decision.reason, StartsWith("shadow mode: would have denied (TOOL_BLOCKED): "));
  EXPECT_TRUE(ev.effects.consume_records);

  ev = Decide(&p, RunState{}, R"({"tool":"send_customer_email"})");
  EXPECT_EQ(ev.decision.verdict, Verdict::kAllow);
  EXPECT_EQ(ev.decision.shadow_verdict, Verdict::kApprovalRequired);
  EXPECT_THAT(ev.decision.reason, StartsWith("shadow mode: would have required approval"));

  // A genuine allow carries no shadow fields.
  ev = Decide(&p, RunState{}, R"({"tool":"read_customer_record"})");
  EXPECT_FALSE(ev.decision.shadow_verdict.has_value());
  EXPECT_FALSE(ev.decision.shadow_code.has_value());

  // Budget: the halt is recorded and escalated, the call still proceeds.
  RunState state = With(25, 0, 0, 0);
  ev = Decide(&p, state, R"({"tool":"update_order_status","args":{"status":"x","ids":[1,2]}})");
  EXPECT_EQ(ev.decision.verdict, Verdict::kAllow);
  EXPECT_EQ(ev.decision.shadow_code, Code::kBudgetExceeded);
  EXPECT_TRUE(ev.effects.halt);
  EXPECT_TRUE(ev.effects.consume_records);
  EXPECT_EQ(ev.effects.records, 2u);
  EXPECT_EQ(ev.decision.notifications.size(), 1u);
  ApplyEffects(ev.effects, "update_order_status", &state);
  EXPECT_TRUE(state.halted);
  EXPECT_EQ(state.records.at("update_order_status"), 2u);
  ev = Decide(&p, state, R"({"tool":"read_customer_record"})");
  EXPECT_EQ(ev.decision.verdict, Verdict::kAllow);
  EXPECT_EQ(ev.decision.shadow_code, Code::kRunHalted);

  // The kill switch is never shadowed.
  ev = Decide(&p, RunState{}, R"({"tool":"read_customer_record"})",
              EvalContext{TestNow(), KillSwitch{"agent", "stop"}});
  EXPECT_EQ(ev.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(ev.decision.code, Code::kKillSwitch);
  EXPECT_EQ(ev.decision.rule, "kill_switch.agent");
  EXPECT_FALSE(ev.decision.shadow_code.has_value());
  EXPECT_FALSE(ev.effects.consume_records);
}

// Tests ApplyEffects: steps always, records only when consumed, the first halt reason wins.
TEST(EngineTest, ApplyEffects) {
  RunState s;
  ApplyEffects(Effects{1, 3, false, false, ""}, "t", &s);
  EXPECT_EQ(s.steps, 1u);
  EXPECT_TRUE(s.records.empty());
  ApplyEffects(Effects{1, 3, true, true, "first"}, "t", &s);
  ApplyEffects(Effects{1, 1, true, true, "second"}, "t", &s);
  EXPECT_EQ(s.steps, 3u);
  EXPECT_EQ(s.records.at("t"), 4u);
  EXPECT_TRUE(s.halted);
  EXPECT_EQ(s.halt_reason, "first");
  s.steps = UINT64_MAX;
  ApplyEffects(Effects{}, "t", &s);
  EXPECT_EQ(s.steps, UINT64_MAX);
}

// Tests that usage added with AddUsage then evaluated trips the token and cost budgets
// ("the state passed in already includes this call's reported usage").
TEST(EngineTest, ReportedUsageCountsTowardsBudgets) {
  const policy::AgentPolicy p = SeedPolicy();
  RunState s;
  AddUsage(Usage{49999, 0}, &s);
  EXPECT_EQ(Decide(&p, s, R"({"tool":"read_customer_record"})").decision.code, Code::kAllowed);
  AddUsage(Usage{1, 0}, &s);
  EXPECT_EQ(Decide(&p, s, R"({"tool":"read_customer_record"})").decision.code,
            Code::kBudgetExceeded);
  RunState c;
  AddUsage(Usage{0, INT64_MAX}, &c);
  AddUsage(Usage{0, INT64_MAX}, &c);
  EXPECT_EQ(c.cost_micros, INT64_MAX);
  EXPECT_EQ(Decide(&p, c, R"({"tool":"read_customer_record"})").decision.rule,
            "execution.max_cost_usd");
}

// Tests that AssignRunState (how every store saves a run into its cached row) leaves the
// destination equal to the source in every member, whether the maps share their keys (values
// assigned in place) or not (copied), starting from an empty, an equal-keyed and a
// different-keyed destination.
TEST(EngineTest, AssignRunStateCopiesEveryMember) {
  auto same = [](const RunState& a, const RunState& b) {
    return a.steps == b.steps && a.tokens == b.tokens && a.cost_micros == b.cost_micros &&
           a.elapsed_ms == b.elapsed_ms && a.halted == b.halted && a.halt_reason == b.halt_reason &&
           a.records == b.records && a.workflow_state == b.workflow_state &&
           a.workflow_vars == b.workflow_vars && a.labels == b.labels &&
           a.grants.size() == b.grants.size() &&
           std::equal(a.grants.begin(), a.grants.end(), b.grants.begin(),
                      [](const auto& x, const auto& y) {
                        return x.first == y.first && x.second.approval_id == y.second.approval_id &&
                               x.second.reviewer == y.second.reviewer &&
                               x.second.at_ms == y.second.at_ms;
                      });
  };
  RunState src;
  src.steps = 7;
  src.tokens = 70;
  src.cost_micros = 700;
  src.elapsed_ms = 7000;
  src.halted = true;
  src.halt_reason = "step budget exhausted: the run has made 7 calls";
  src.records = {{"read_customer_record", 3}, {"update_order_status", 1}};
  src.workflow_state = "tested";
  src.workflow_vars = {{"version", boost::json::value("v1.2.3")}};
  src.labels = {"pii", "external"};
  src.grants = {{"send_email", RunState::RunGrant{"ap-1", "alice", 5}}};

  RunState equal_keys = src;
  equal_keys.records["read_customer_record"] = 99;
  equal_keys.workflow_vars["version"] = "v0";
  equal_keys.grants["send_email"].reviewer = "bob";
  RunState other_keys;
  other_keys.records = {{"drop_table", 1}};
  other_keys.workflow_vars = {{"a", 1}, {"b", 2}};
  other_keys.labels = {"x"};
  other_keys.grants = {{"deploy", RunState::RunGrant{"ap-9", "carol", 1}}};
  other_keys.halt_reason = std::string(200, 'x');
  for (RunState dst : {RunState{}, equal_keys, other_keys}) {
    AssignRunState(src, &dst);
    EXPECT_TRUE(same(dst, src));
  }
  RunState emptied = src;
  AssignRunState(RunState{}, &emptied);
  EXPECT_TRUE(same(emptied, RunState{}));
}

// Tests that the texts a loaded policy carries (AgentPolicy::PrepareTexts: one_of and scope
// lists, rule ids, allow reasons) give exactly the reasons and rule ids the engine writes
// for a policy built by hand without them, on every path that quotes them, names with
// quotes, backslashes and trailing spaces included.
TEST(EngineTest, PreparedTextsGiveTheSameReasonsAsUnprepared) {
  policy::AgentPolicy plain = SeedPolicy();
  policy::ToolRule odd;
  odd.name = "we\"ird\\tool ";
  odd.at = {"agent-policy.yaml", 30, 7};
  odd.scope = std::vector<std::string>{"a\"b", "c"};
  policy::ArgConstraint c;
  c.argument = "mode";
  c.rule = "tools.allowed[odd].constraints.mode";
  c.one_of = {"x\"y", 3, boost::json::value(nullptr)};
  odd.constraints.push_back(c);
  plain.allowed.emplace(odd.name, odd);
  plain.IndexToolPatterns();
  policy::AgentPolicy prepared = plain;
  prepared.PrepareTexts();
  ASSERT_FALSE(prepared.allowed.at("read_customer_record").scope_text.empty());
  ASSERT_TRUE(plain.allowed.at("read_customer_record").scope_text.empty());
  for (const char* call : {
           R"({"tool":"read_customer_record","args":{"fields":["order_history"]}})",
           R"({"tool":"read_customer_record","args":{"fields":["payment_details"]}})",
           R"({"tool":"update_order_status","args":{"order_id":"o","status":"shipped"}})",
           R"({"tool":"update_order_status","args":{"order_id":"o","status":"refunded"}})",
           R"({"tool":"we\"ird\\tool ","args":{"mode":"z"}})",
           R"({"tool":"we\"ird\\tool ","args":{"mode":3,"fields":["a\"b","d"]}})",
           R"({"tool":"we\"ird\\tool ","args":{"mode":null}})",
       }) {
    const Decision a = Decide(&plain, RunState{}, call).decision;
    const Decision b = Decide(&prepared, RunState{}, call).decision;
    EXPECT_EQ(a.code, b.code) << call;
    EXPECT_EQ(a.reason, b.reason) << call;
    EXPECT_EQ(a.rule, b.rule) << call;
    EXPECT_EQ(a.at, b.at) << call;
  }
}

// Tests the one tool-visibility rule every door uses: allowed and not blocked, every tool
// in shadow mode, nothing for an unknown agent; the scope comes only with a visible tool.
TEST(ViewToolTest, AllowedUnblockedShadowAndUnknown) {
  policy::AgentPolicy p;
  p.id = "a";
  policy::ToolRule read;
  read.name = "read";
  read.scope = std::vector<std::string>{"id"};
  p.allowed.emplace(read.name, read);
  policy::ToolRule both;
  both.name = "both";
  p.allowed.emplace(both.name, both);
  p.blocked.emplace("both", policy::Location{});
  p.blocked.emplace("drop", policy::Location{});
  EXPECT_TRUE(ViewTool(&p, "read").visible);
  EXPECT_EQ(ViewTool(&p, "read").scope, std::vector<std::string>{"id"});
  EXPECT_FALSE(ToolVisible(&p, "both"));  // blocked wins over allowed
  EXPECT_FALSE(ToolVisible(&p, "drop"));
  EXPECT_FALSE(ToolVisible(&p, "unlisted"));
  EXPECT_FALSE(ViewTool(&p, "unlisted").scope.has_value());
  EXPECT_FALSE(ToolVisible(nullptr, "read"));
  p.mode = policy::Mode::kShadow;  // shadow records, never enforces
  EXPECT_TRUE(ToolVisible(&p, "drop"));
  EXPECT_TRUE(ToolVisible(&p, "unlisted"));
  EXPECT_EQ(ViewTool(&p, "read").scope, std::vector<std::string>{"id"});
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::engine
