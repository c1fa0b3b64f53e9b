#include "seed_policy.h"

#include <cstdlib>
#include <iostream>

#include "engine/call_parser.h"

namespace interlock::testing {

policy::AgentPolicy SeedPolicy() {
  const std::string file = "agent-policy.yaml";
  policy::AgentPolicy p;
  p.id = "support-agent-v2";
  p.identity = "support-agent@myco.iam";
  p.file = file;

  policy::ToolRule read;
  read.name = "read_customer_record";
  read.at = {file, 8, 7};
  read.scope = std::vector<std::string>{"customer_id", "order_history", "contact_info"};
  p.allowed.emplace(read.name, read);

  policy::ToolRule update;
  update.name = "update_order_status";
  update.at = {file, 10, 7};
  update.max_records_per_run = 10;
  update.max_records_at = {file, 12, 9};
  policy::ArgConstraint status;
  status.argument = "status";
  status.rule = "tools.allowed[\"update_order_status\"].constraints.allowed_statuses";
  status.at = {file, 13, 9};
  status.one_of = {"cancelled", "refunded", "processing"};
  update.constraints.push_back(status);
  p.allowed.emplace(update.name, update);

  policy::ToolRule email;
  email.name = "send_customer_email";
  email.at = {file, 14, 7};
  email.requires_approval = true;
  email.approval_timeout_seconds = 300;
  email.auto_deny_on_timeout = true;
  p.allowed.emplace(email.name, email);

  p.blocked.emplace("delete_customer_record", policy::Location{file, 19, 7});
  p.blocked.emplace("access_payment_raw", policy::Location{file, 20, 7});
  p.blocked.emplace("bulk_send_email", policy::Location{file, 21, 7});

  p.execution.max_steps = 25;
  p.execution.max_tokens_per_run = 50000;
  p.execution.max_wall_clock_ms = 120'000;
  p.execution.max_cost_micros = 2'000'000;
  p.execution.on_budget_exceeded = policy::BudgetAction::kHaltAndEscalate;
  p.execution.notify = "#oncall-agents";
  p.execution.at = {file, 22, 1};
  p.escalation_contacts = {"alice@myco.example", "bob@myco.example"};
  return p;
}

std::chrono::system_clock::time_point TestNow() {
  return std::chrono::system_clock::time_point(std::chrono::seconds(1795341600));
}

engine::Evaluation Decide(const policy::AgentPolicy* p, const RunState& state,
                          std::string_view json, const engine::EvalContext& ctx) {
  Result<ToolCall> call = engine::ParseToolCall(json);
  if (!call.ok()) {
    std::cerr << "test bug: cannot parse " << json << ": " << call.error().message << "\n";
    std::abort();
  }
  engine::EvalContext c = ctx;
  if (c.now == std::chrono::system_clock::time_point{}) c.now = TestNow();
  return engine::Evaluate(p, state, *call, c);
}

}  // namespace interlock::testing
