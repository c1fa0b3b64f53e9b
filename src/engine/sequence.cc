#include "engine/sequence.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace interlock::engine {
namespace {

namespace json = boost::json;
using internal::FormatUsd;
using internal::QuoteName;
using policy::AgentPolicy;
using policy::ArgConstraint;
using policy::TransitionOn;
using policy::Workflow;
using policy::WorkflowPermit;
using policy::WorkflowState;
using policy::WorkflowTransition;

constexpr int64_t kSecondsPerDay = 86400;

void Deny(Decision* d, Code code, std::string reason, std::string rule,
          const policy::Location& at) {
  d->verdict = Verdict::kDeny;
  d->code = code;
  d->reason = std::move(reason);
  d->rule = std::move(rule);
  d->at = at.ToString();
}

// The run's current state name: RunState::workflow_state, or the initial state.
std::string_view CurrentName(const Workflow& w, const RunState& state) {
  return state.workflow_state.empty() ? std::string_view(w.initial)
                                      : std::string_view(state.workflow_state);
}

bool ConditionsHold(const std::vector<ArgConstraint>& when, const json::object& args,
                    std::string* why) {
  for (const ArgConstraint& c : when) {
    if (!internal::CheckArgument(c, args, why)) return false;
  }
  return true;
}

// Each `require:` of the entry: the argument equals the remembered variable.
bool RequirementsHold(const WorkflowPermit& permit, const RunState& state, const json::object& args,
                      std::string* why) {
  for (const policy::WorkflowRequire& r : permit.require) {
    auto var = state.workflow_vars.find(r.variable);
    if (var == state.workflow_vars.end()) {
      *why = "argument " + QuoteName(r.argument) + " must equal the remembered " +
             QuoteName(r.variable) + ", which has no value in this run yet";
      return false;
    }
    const json::value* v = args.if_contains(r.argument);
    if (v == nullptr || !internal::JsonValuesEqual(*v, var->second)) {
      *why = "argument " + QuoteName(r.argument) + " must equal the remembered " +
             QuoteName(r.variable) + " (" + internal::ShowValue(var->second) + "), got " +
             (v == nullptr ? std::string("none") : internal::ShowValue(*v));
      return false;
    }
  }
  return true;
}

bool Mentions(const std::vector<std::string>& tools, std::string_view tool) {
  return std::any_of(tools.begin(), tools.end(),
                     [&](const std::string& t) { return policy::ToolPatternMatches(t, tool); });
}

// "\"run_tests\", \"get_deployment_status\" (in every state)" or "nothing".
std::string Permits(const Workflow& w, const WorkflowState& st) {
  std::string out;
  std::vector<std::string_view> seen;
  for (const WorkflowPermit& a : st.allow) {
    if (std::find(seen.begin(), seen.end(), a.tool) != seen.end()) continue;
    seen.push_back(a.tool);
    out += (out.empty() ? "" : ", ") + QuoteName(a.tool);
  }
  for (const std::string& t : w.always_allowed) {
    out += (out.empty() ? "" : ", ") + QuoteName(t) + " (in every state)";
  }
  return out.empty() ? "nothing" : out;
}

// The first transition of the current state for the call's tool, fired `on`, whose
// conditions hold.
const WorkflowTransition* FindTransition(const AgentPolicy* p, const RunState& state,
                                         const ToolCall& call, TransitionOn on) {
  if (p == nullptr || p->workflow == nullptr) return nullptr;
  const WorkflowState* st = p->workflow->Find(CurrentName(*p->workflow, state));
  if (st == nullptr) return nullptr;
  std::string why;
  for (const WorkflowTransition& t : st->transitions) {
    if (t.on != on || !policy::ToolPatternMatches(t.tool, call.tool)) continue;
    if (ConditionsHold(t.when, call.args, &why)) return &t;
  }
  return nullptr;
}

WorkflowMove MakeMove(const WorkflowTransition& t, const ToolCall& call) {
  WorkflowMove m;
  m.to = t.to;
  m.rule = t.rule;
  for (const policy::WorkflowRemember& r : t.remember) {
    const json::value* v = call.args.if_contains(r.argument);
    m.bind.emplace_back(
        r.variable, v == nullptr || v->is_null() ? std::nullopt : std::optional<json::value>(*v));
  }
  return m;
}

std::string Plural(uint64_t n, const char* one) {
  return std::to_string(n) + " " + one + (n == 1 ? "" : "s");
}

}  // namespace

namespace internal {

bool CheckWorkflow(const AgentPolicy& p, const RunState& state, const ToolCall& call,
                   const WorkflowPermit** permit, Decision* d) {
  *permit = nullptr;
  if (p.workflow == nullptr) return true;
  const Workflow& w = *p.workflow;
  const std::string_view name = CurrentName(w, state);
  const WorkflowState* st = w.Find(name);
  if (st == nullptr) {
    // A policy reload dropped the state the run is in: nothing is known to be safe.
    Deny(d, Code::kWorkflowViolation,
         "the run is in workflow state " + QuoteName(name) + ", which the policy no longer defines",
         "workflow.states", w.at);
    return false;
  }
  if (Mentions(w.always_allowed, call.tool)) return true;
  // The reason names the entry that came closest: one whose conditions held but whose
  // requirement failed ("the version tested") says more than "environment is not staging".
  const WorkflowPermit* first = nullptr;
  std::string first_why;
  bool first_conditions_held = false;
  for (const WorkflowPermit& a : st->allow) {
    if (!policy::ToolPatternMatches(a.tool, call.tool)) continue;
    std::string why;
    const bool held = ConditionsHold(a.when, call.args, &why);
    if (held && RequirementsHold(a, state, call.args, &why)) {
      *permit = &a;
      return true;
    }
    if (first == nullptr || (held && !first_conditions_held)) {
      first = &a;
      first_why = std::move(why);
      first_conditions_held = held;
    }
  }
  const std::string where =
      "in workflow state " + QuoteName(name) + ", tool " + QuoteName(call.tool);
  if (first == nullptr) {
    Deny(d, Code::kWorkflowViolation,
         where + " is not permitted; the state permits " + Permits(w, *st),
         "workflow.states[" + QuoteName(name) + "]", st->at);
  } else {
    Deny(d, Code::kWorkflowViolation,
         where + " is not permitted with these arguments: " + first_why, first->rule, first->at);
  }
  return false;
}

bool CheckRateAndQuotas(const AgentPolicy& p, const policy::ToolRule& rule, const EvalContext& ctx,
                        Decision* d) {
  const std::string tool_rule = "tools.allowed[" + QuoteName(rule.name) + "]";
  if (rule.rate_limit) {
    const policy::RateLimit& r = *rule.rate_limit;
    if (!ctx.usage) {
      Deny(d, Code::kRateLimited,
           "tool " + QuoteName(d->tool) +
               " has a rate limit and this enforcement point does not count calls across runs, "
               "so it cannot be checked (fail closed)",
           tool_rule + ".rate_limit", r.at);
      return false;
    }
    if (ctx.usage->window_calls >= r.calls) {
      const int64_t window_ms = r.per_seconds * 1000;
      const int64_t left_ms =
          window_ms - std::clamp<int64_t>(ctx.usage->window_oldest_ms, 0, window_ms);
      Deny(d, Code::kRateLimited,
           "tool " + QuoteName(d->tool) + " was called " + Plural(ctx.usage->window_calls, "time") +
               " in the last " + Plural(static_cast<uint64_t>(r.per_seconds), "second") +
               " across the agent's runs; its rate limit is " + Plural(r.calls, "call") + " per " +
               Plural(static_cast<uint64_t>(r.per_seconds), "second"),
           tool_rule + ".rate_limit", r.at);
      d->retry_after_s = std::max<int64_t>(1, (left_ms + 999) / 1000);
      return false;
    }
  }
  const policy::Quotas& q = p.quotas;
  if (!q.any()) return true;
  if (!ctx.usage) {
    Deny(d, Code::kQuotaExceeded,
         "agent " + QuoteName(p.id) +
             " has daily quotas and this enforcement point does not count usage across runs, "
             "so they cannot be checked (fail closed)",
         "quotas", q.at);
    return false;
  }
  const AgentUsage& u = *ctx.usage;
  std::string reason, rule_id;
  if (q.calls_per_day && u.day_calls >= *q.calls_per_day) {
    rule_id = "quotas.calls_per_day";
    reason = "daily call quota exhausted: the agent has made " + Plural(u.day_calls, "call") +
             " today (UTC) and quotas.calls_per_day is " + std::to_string(*q.calls_per_day);
  } else if (q.tokens_per_day && u.day_tokens >= *q.tokens_per_day) {
    rule_id = "quotas.tokens_per_day";
    reason = "daily token quota exhausted: the agent has used " + Plural(u.day_tokens, "token") +
             " today (UTC) and quotas.tokens_per_day is " + std::to_string(*q.tokens_per_day);
  } else if (q.cost_micros_per_day && u.day_cost_micros >= *q.cost_micros_per_day) {
    rule_id = "quotas.cost_usd_per_day";
    reason = "daily cost quota exhausted: the agent has cost " + FormatUsd(u.day_cost_micros) +
             " today (UTC) and quotas.cost_usd_per_day is " + FormatUsd(*q.cost_micros_per_day);
  } else {
    return true;
  }
  Deny(d, Code::kQuotaExceeded, std::move(reason), std::move(rule_id), q.at);
  // The quota resets at the next UTC midnight.
  const int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(ctx.now.time_since_epoch()).count();
  const int64_t into_day = ((now_s % kSecondsPerDay) + kSecondsPerDay) % kSecondsPerDay;
  d->retry_after_s = kSecondsPerDay - into_day;
  return false;
}

bool CheckFlows(const AgentPolicy& p, const RunState& state, const policy::ToolRule& rule,
                const ToolCall& call, Decision* d) {
  if (p.flows.empty()) return true;
  const std::vector<std::string>& labels = CallLabels(&rule, call);
  auto carries = [&](const std::string& l) {
    return std::find(labels.begin(), labels.end(), l) != labels.end();
  };
  auto seen = [&](const std::string& l) { return carries(l) || state.labels.count(l) > 0; };
  const policy::FlowRule* approval = nullptr;
  for (const policy::FlowRule& f : p.flows) {
    if (!std::all_of(f.to.begin(), f.to.end(), carries)) continue;
    if (!std::all_of(f.from.begin(), f.from.end(), seen)) continue;
    if (f.action == policy::FlowRule::Action::kDeny) {
      approval = &f;
      break;
    }
    if (approval == nullptr) approval = &f;
  }
  if (approval == nullptr) return true;
  const policy::FlowRule& f = *approval;
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
      out += (i == 0 ? "" : i + 1 == v.size() ? " and " : ", ") + v[i];
    }
    return out;
  };
  const bool deny = f.action == policy::FlowRule::Action::kDeny;
  std::string reason = "flow " + QuoteName(f.name) + ": the run has seen " + join(f.from) +
                       " and tool " + QuoteName(call.tool) + " carries " + join(f.to) +
                       (deny ? ", so it is denied" : ", so it needs human approval");
  if (!f.reason.empty()) reason += ": " + f.reason;
  d->verdict = deny ? Verdict::kDeny : Verdict::kApprovalRequired;
  d->code = deny ? Code::kFlowViolation : Code::kApprovalRequired;
  d->reason = std::move(reason);
  d->rule = "flows[" + QuoteName(f.name) + "]";
  d->at = f.at.ToString();
  return false;
}

}  // namespace internal

const std::vector<std::string>& CallLabels(const policy::ToolRule* rule, const ToolCall& call) {
  static const std::vector<std::string> kNone;
  if (rule == nullptr) return kNone;
  return TakesDeclaredLabels(rule) ? call.declared_labels : rule->labels;
}

SequenceEffects ProceedEffects(const AgentPolicy* policy, const RunState& state,
                               const ToolCall& call) {
  SequenceEffects e;
  if (policy == nullptr) return e;
  if (const policy::ToolRule* rule = policy->Resolve(call.tool).rule; rule != nullptr) {
    e.add_labels = CallLabels(rule, call);
  }
  if (const WorkflowTransition* t = FindTransition(policy, state, call, TransitionOn::kAllowed)) {
    e.move = MakeMove(*t, call);
  }
  return e;
}

std::optional<WorkflowMove> ResultMove(const AgentPolicy* policy, const RunState& state,
                                       const ToolCall& call, bool ok) {
  const WorkflowTransition* t =
      FindTransition(policy, state, call, ok ? TransitionOn::kOk : TransitionOn::kError);
  if (t == nullptr) return std::nullopt;
  return MakeMove(*t, call);
}

RunState ApplyResult(const AgentPolicy* policy, const RunState& state, const ToolCall& call,
                     bool ok) {
  RunState next = state;
  if (auto m = ResultMove(policy, state, call, ok)) ApplyMove(*m, &next);
  return next;
}

void ApplyMove(const WorkflowMove& move, RunState* state) {
  state->workflow_state = move.to;
  for (const auto& [name, value] : move.bind) {
    if (value) {
      state->workflow_vars.insert_or_assign(name, *value);
    } else if (auto it = state->workflow_vars.find(name); it != state->workflow_vars.end()) {
      state->workflow_vars.erase(it);
    }
  }
}

const policy::RateLimit* RateLimitFor(const AgentPolicy* policy, std::string_view tool,
                                      std::string* key) {
  if (policy == nullptr) return nullptr;
  return RateLimitOfRule(policy->Resolve(tool).rule, key);
}

const policy::RateLimit* RateLimitOfRule(const policy::ToolRule* rule, std::string* key) {
  if (rule == nullptr || !rule->rate_limit) return nullptr;
  if (key != nullptr) *key = rule->name;
  return &*rule->rate_limit;
}

}  // namespace interlock::engine
