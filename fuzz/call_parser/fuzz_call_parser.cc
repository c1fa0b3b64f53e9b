// Fuzzes ParseToolCall and, for every input that parses, Evaluate against a fixed policy
// that exercises every check. Aborts when an invariant of the decision contract breaks, or
// when the parser's fast path and its strict path disagree on an input.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string_view>

#include <boost/json/serialize.hpp>

#include "common/json.h"
#include "engine/call_parser.h"
#include "engine/engine.h"

namespace interlock {
namespace {

using engine::Evaluation;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

policy::AgentPolicy MakePolicy(policy::Mode mode) {
  policy::AgentPolicy p;
  p.id = "support-agent-v2";
  p.mode = mode;
  policy::ToolRule read;
  read.name = "read_customer_record";
  read.scope = std::vector<std::string>{"customer_id", "order_history", "contact_info"};
  p.allowed.emplace(read.name, read);

  policy::ToolRule update;
  update.name = "update_order_status";
  update.max_records_per_run = 10;
  policy::ArgConstraint status;
  status.argument = "status";
  status.rule = "status";
  status.one_of = {"cancelled", "refunded", "processing", 10, 2.5};
  update.constraints.push_back(status);
  policy::ArgConstraint qty;
  qty.argument = "qty";
  qty.rule = "qty";
  qty.optional = true;
  qty.min = -5;
  qty.max = 9007199254740993.0;
  update.constraints.push_back(qty);
  p.allowed.emplace(update.name, update);

  policy::ToolRule file;
  file.name = "read_file";
  file.blast_radius = policy::BlastRadius::kLarge;
  policy::ArgConstraint path;
  path.argument = "path";
  path.rule = "path";
  path.path_prefixes = {"/srv/data"};
  path.max_length = 200;
  path.pattern = std::make_shared<const re2::RE2>("/[a-z/._-]*");
  file.constraints.push_back(path);
  policy::ArgConstraint ids;
  ids.argument = "ids";
  ids.rule = "ids";
  ids.optional = true;
  ids.max_items = 50;
  file.constraints.push_back(ids);
  p.allowed.emplace(file.name, file);

  policy::ToolRule email;
  email.name = "send_customer_email";
  email.requires_approval = true;
  p.allowed.emplace(email.name, email);
  policy::ToolRule drop;
  drop.name = "drop_table";
  drop.reversible = false;
  p.allowed.emplace(drop.name, drop);

  for (const char* b : {"delete_customer_record", "access_payment_raw", "bulk_send_email"}) {
    p.blocked.emplace(b, policy::Location{});
  }
  p.execution.max_steps = 25;
  p.execution.max_tokens_per_run = 50000;
  p.execution.max_cost_micros = 2000000;
  p.execution.max_wall_clock_ms = 120000;
  p.execution.on_budget_exceeded = policy::BudgetAction::kHaltAndEscalate;
  p.execution.notify = "#oncall-agents";
  policy::FreezeWindow w;
  w.name = "freeze";
  w.start = std::chrono::system_clock::time_point(std::chrono::seconds(1000));
  w.end = std::chrono::system_clock::time_point(std::chrono::seconds(2000));
  w.tools = {"drop_table"};
  p.freezes.push_back(w);
  return p;
}

const policy::AgentPolicy& Enforce() {
  static const policy::AgentPolicy p = MakePolicy(policy::Mode::kEnforce);
  return p;
}
const policy::AgentPolicy& Shadow() {
  static const policy::AgentPolicy p = MakePolicy(policy::Mode::kShadow);
  return p;
}

void CheckEvaluation(const policy::AgentPolicy& p, const ToolCall& call, const RunState& state,
                     const Evaluation& ev) {
  const Decision& d = ev.decision;
  Check(d.tool == call.tool, "tool is echoed");
  Check(d.agent_id == p.id, "agent is echoed");
  Check(ev.effects.steps == 1, "every call is one step");
  Check(ev.effects.records >= 1, "a call touches at least one record");
  Check(ev.effects.consume_records == d.allowed(), "records consumed iff the call proceeds");
  Check(!d.rule.empty() && !d.reason.empty(), "rule and reason are set");
  const bool blocked = p.blocked.count(call.tool) != 0;
  const bool listed = p.allowed.count(call.tool) != 0;
  if (p.mode == policy::Mode::kEnforce) {
    Check(!(blocked && d.verdict != Verdict::kDeny), "a blocked tool is never allowed");
    Check(listed || d.verdict == Verdict::kDeny, "an unlisted tool is never allowed");
    Check(!state.halted || d.code == Code::kRunHalted, "a halted run stays halted");
    Check(!d.shadow_code && !d.shadow_verdict, "no shadow fields in enforce mode");
    if (d.allowed()) {
      Check(d.code == Code::kAllowed, "allow means ALLOWED");
      const auto it = state.records.find(call.tool);
      const uint64_t used = it == state.records.end() ? 0 : it->second;
      const auto& rule = p.allowed.find(call.tool)->second;
      const uint64_t n = ev.effects.records;
      Check(!rule.max_records_per_run ||
                (n <= *rule.max_records_per_run && used <= *rule.max_records_per_run - n),
            "an allowed call stays within the record limit");
      Check(!p.execution.max_steps || state.steps < *p.execution.max_steps,
            "an allowed call is within the step budget");
    }
  } else {
    Check(d.allowed(), "shadow mode never denies without a kill switch");
    Check(d.shadow_code.has_value() == (d.shadow_verdict.has_value()), "shadow fields pair up");
  }
  if (ev.effects.halt)
    Check(d.code == Code::kBudgetExceeded || d.shadow_code == Code::kBudgetExceeded,
          "only budgets halt");
}

}  // namespace
}  // namespace interlock

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace interlock;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const JsonLimits limits{1 << 16, 64};
  Result<ToolCall> call = engine::ParseToolCall(text, limits);
  // ParseToolCall's fast path (the common shape, no document) and the strict path (the
  // document, then the same checks as an HTTP body) agree: the same call or the same error.
  {
    Result<boost::json::value> doc = ParseJsonStrict(text, limits);
    Result<ToolCall> strict = doc.ok() ? engine::ToolCallFromJson(*doc) : doc.error();
    Check(call.ok() == strict.ok(), "fast and strict paths agree on acceptance");
    if (!call.ok()) {
      Check(call.error().message == strict.error().message,
            "fast and strict paths agree on errors");
    } else {
      Check(call->tool == strict->tool && call->args == strict->args &&
                boost::json::serialize(call->args) == boost::json::serialize(strict->args) &&
                call->usage.tokens == strict->usage.tokens &&
                call->usage.cost_micros == strict->usage.cost_micros &&
                call->elapsed_s.has_value() == strict->elapsed_s.has_value() &&
                (!call->elapsed_s ||
                 std::memcmp(&*call->elapsed_s, &*strict->elapsed_s, sizeof(double)) == 0) &&
                call->approval_id == strict->approval_id &&
                call->refusal_rule == strict->refusal_rule &&
                call->refusal_reason == strict->refusal_reason &&
                call->declared_labels == strict->declared_labels,
            "fast and strict paths build the same call");
    }
  }
  if (!call.ok()) {
    Check(!call.error().message.empty(), "errors carry a message");
    return 0;
  }
  Check(!call->tool.empty() && call->tool.size() <= engine::kMaxToolNameBytes, "tool name bounds");
  Check(call->usage.cost_micros >= 0, "cost is non-negative");
  // Canonical form is stable under a re-parse of the serialised arguments.
  const std::string canon = CanonicalJson(boost::json::value(call->args));
  Result<boost::json::value> again = ParseJsonStrict(boost::json::serialize(call->args));
  Check(again.ok() && CanonicalJson(*again) == canon, "canonical JSON is stable");

  // Derive a run state from the input so budgets, halts and records get exercised.
  const uint64_t h = std::hash<std::string_view>{}(text);
  RunState state;
  state.steps = h % 30;
  AddUsage(call->usage, &state);
  state.elapsed_ms = static_cast<int64_t>((h >> 8) % 130000);
  state.halted = (h >> 20) % 16 == 0;
  if ((h >> 24) % 2) state.records[call->tool] = (h >> 28) % 12;
  engine::EvalContext ctx;
  ctx.now = std::chrono::system_clock::time_point(std::chrono::seconds((h >> 32) % 3000));

  for (const policy::AgentPolicy* p : {&Enforce(), &Shadow()}) {
    const engine::Evaluation ev = engine::Evaluate(p, state, *call, ctx);
    CheckEvaluation(*p, *call, state, ev);
  }
  engine::EvalContext kill = ctx;
  kill.kill = engine::KillSwitch{"global", "fuzz"};
  const engine::Evaluation k = engine::Evaluate(&Shadow(), state, *call, kill);
  Check(k.decision.code == Code::kKillSwitch && !k.decision.allowed(), "kill switch denies");
  const engine::Evaluation u = engine::Evaluate(nullptr, state, *call, ctx);
  Check(u.decision.code == Code::kUnknownAgent && !u.decision.allowed(), "unknown agent denies");
  return 0;
}
