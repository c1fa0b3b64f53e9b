#include "governance/drift.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "audit/audit_log.h"
#include "common/json.h"
#include "common/saturating.h"
#include "governance/history.h"

namespace interlock::governance {
namespace {

namespace json = boost::json;

// One run's largest values (state after each call only grows within a run).
struct RunPeak {
  uint64_t steps = 0, tokens = 0;
  int64_t cost = 0, elapsed = 0;
};

struct Usage {
  uint64_t calls = 0, exercised = 0;
  uint64_t unreadable = 0;  // decision records whose data or arguments could not be read
  std::map<std::string, RunPeak, std::less<>> runs;
  int64_t first_ms = 0, last_ms = 0;
  std::set<std::string> tools;                                        // exercised tools
  std::map<std::pair<std::string, size_t>, std::set<size_t>> values;  // (tool, constraint) -> idx
  std::map<std::pair<std::string, size_t>, bool> carried;             // argument present at all
  std::map<std::string, std::set<std::string>> fields;                // tool -> fields requested
};

bool SameValue(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
  return a == b;
}

// Nearest-rank percentile `q` (0 < q <= 1) of `v`; 0 when empty.
template <typename T>
T Percentile(std::vector<T> v, double q) {
  if (v.empty()) return T{};
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

// The budget rule: max(largest x kHeadroomOverMax, p99 x kHeadroomOverP99), above the
// largest value, rounded up to a multiple of `unit`.
int64_t Headroom(int64_t largest, int64_t p99, int64_t unit) {
  const double want = std::max(static_cast<double>(largest) * kHeadroomOverMax,
                               static_cast<double>(p99) * kHeadroomOverP99);
  const int64_t v = std::max(largest + 1, static_cast<int64_t>(std::ceil(want)));
  return (v + unit - 1) / unit * unit;
}

// Fills `b` from the per-run peaks (in engine units; `scale` converts to the policy's
// unit) and returns the suggestion when the evidence suffices and it lowers `limit`.
std::optional<int64_t> Budget(const std::vector<int64_t>& peaks, std::optional<int64_t> limit,
                              int64_t unit, double scale, bool enough, BudgetHeadroom* b) {
  const int64_t largest = peaks.empty() ? 0 : *std::max_element(peaks.begin(), peaks.end());
  const int64_t p99 = Percentile(peaks, 0.99);
  b->used = static_cast<double>(largest) / scale;
  b->p99 = static_cast<double>(p99) / scale;
  if (!limit) return std::nullopt;
  b->limit = static_cast<double>(*limit) / scale;
  if (!enough || peaks.empty()) return std::nullopt;
  const int64_t s = Headroom(largest, p99, unit);
  if (s >= *limit) return std::nullopt;
  b->suggested = static_cast<double>(s) / scale;
  return s;
}

std::string Number(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

// The budgets' headroom over the agent's runs, with a suggestion where d->enough_evidence.
void SetBudgets(const Usage& u, const policy::Execution& ex, AgentDrift* out) {
  AgentDrift& d = *out;
  std::vector<int64_t> steps, tokens, cost, wall;
  for (const auto& [run_id, peak] : u.runs) {
    steps.push_back(static_cast<int64_t>(peak.steps));
    tokens.push_back(static_cast<int64_t>(peak.tokens));
    cost.push_back(peak.cost);
    wall.push_back(peak.elapsed);
  }
  auto as_signed = [](std::optional<uint64_t> v) -> std::optional<int64_t> {
    return v ? std::optional<int64_t>(ClampToInt64(*v)) : std::nullopt;
  };
  const bool ok = d.enough_evidence;
  BudgetHeadroom b{"execution.max_steps", std::nullopt, 0, 0, std::nullopt};
  if (auto s = Budget(steps, as_signed(ex.max_steps), 1, 1, ok, &b)) {
    d.suggest_steps = static_cast<uint64_t>(*s);
  }
  d.budgets.push_back(b);
  b = {"execution.max_tokens_per_run", std::nullopt, 0, 0, std::nullopt};
  if (auto s = Budget(tokens, as_signed(ex.max_tokens_per_run), 1, 1, ok, &b)) {
    d.suggest_tokens = static_cast<uint64_t>(*s);
  }
  d.budgets.push_back(b);
  b = {"execution.max_cost_usd", std::nullopt, 0, 0, std::nullopt};
  d.suggest_cost_micros = Budget(cost, ex.max_cost_micros, 10000, 1e6, ok, &b);
  d.budgets.push_back(b);
  b = {"execution.max_wall_clock_seconds", std::nullopt, 0, 0, std::nullopt};
  d.suggest_wall_ms = Budget(wall, ex.max_wall_clock_ms, 1000, 1e3, ok, &b);
  d.budgets.push_back(b);
}

// The grants of `agent` the usage never exercised: tools, one_of values and scope fields.
void FindUnusedGrants(const policy::AgentPolicy& agent, const Usage& u, AgentDrift* d) {
  for (const auto& [tool, rule] : agent.allowed) {
    if (!u.tools.count(tool)) {
      d->unused_tools.push_back(tool);
      continue;
    }
    for (size_t ci = 0; ci < rule.constraints.size(); ++ci) {
      const policy::ArgConstraint& c = rule.constraints[ci];
      if (c.one_of.empty()) continue;
      UnusedValues uv;
      uv.tool = tool;
      uv.rule = c.rule;
      uv.argument = c.argument;
      auto used = u.values.find({tool, ci});
      uv.all_unused = !u.carried.count({tool, ci});
      for (size_t i = 0; i < c.one_of.size(); ++i) {
        if (used != u.values.end() && used->second.count(i)) continue;
        uv.values.push_back(CanonicalJson(c.one_of[i]));
        uv.indices.push_back(i);
      }
      if (!uv.values.empty()) d->unused_values.push_back(std::move(uv));
    }
    if (rule.scope) {
      UnusedScope us;
      us.tool = tool;
      auto used = u.fields.find(tool);
      for (const std::string& fld : *rule.scope) {
        if (used == u.fields.end() || !used->second.count(fld)) us.fields.push_back(fld);
      }
      if (!us.fields.empty()) d->unused_scope.push_back(std::move(us));
    }
  }
}

}  // namespace

Result<DriftReport> RunDrift(const HistorySource& source, const policy::PolicySet& policies,
                             const DriftOptions& options) {
  std::map<std::string, Usage, std::less<>> usage;
  HistoryFilter filter;
  filter.types = {audit::kDecision};
  filter.since_ms = options.since_ms;
  filter.agent_id = options.agent_id;
  DecisionFields f;
  Status st = source.ForEachRecord(filter, [&](const RecordView& r) {
    // The drill agent (common/drill_agent.h) is never a policy's: its calls are not drift.
    const policy::AgentPolicy* agent = policies.Find(r.agent_id);
    if (agent == nullptr) return;
    f = DecisionFields{};
    if (!ParseDecisionFields(r.data, &f)) {
      ++usage[std::string(r.agent_id)].unreadable;
      return;
    }
    Usage& u = usage[std::string(r.agent_id)];
    if (u.calls == 0) u.first_ms = r.time_ms;
    u.first_ms = std::min(u.first_ms, r.time_ms);
    u.last_ms = std::max(u.last_ms, r.time_ms);
    ++u.calls;
    auto run = u.runs.find(r.run_id);
    if (run == u.runs.end()) run = u.runs.emplace(std::string(r.run_id), RunPeak{}).first;
    RunPeak& peak = run->second;
    peak.steps = std::max(peak.steps, f.steps_after);
    peak.tokens = std::max(peak.tokens, f.tokens);
    peak.cost = std::max(peak.cost, f.cost_micros);
    peak.elapsed = std::max(peak.elapsed, f.elapsed_ms);
    if (f.verdict == "\"deny\"") return;
    ++u.exercised;
    const std::string called = TokenToString(f.tool);
    const policy::ToolResolution res = agent->Resolve(called);
    // Usage is keyed by the entry that decided the call: a pattern entry is used when any
    // tool it matches is.
    const std::string tool = res.rule != nullptr ? std::string(res.entry) : called;
    u.tools.insert(tool);
    const policy::ToolRule* rule = res.rule;
    if (rule == nullptr) return;
    const policy::ToolRule& tr = *rule;
    bool needs_args = tr.scope.has_value();
    for (const auto& c : tr.constraints) needs_args |= !c.one_of.empty();
    if (!needs_args) return;
    Result<json::value> v = ParseOwnJson(f.args);
    if (!v.ok() || !v->is_object()) {
      ++u.unreadable;  // the values and fields it used are unknown
      return;
    }
    const json::object& args = v->get_object();
    for (size_t ci = 0; ci < tr.constraints.size(); ++ci) {
      const policy::ArgConstraint& c = tr.constraints[ci];
      if (c.one_of.empty()) continue;
      const json::value* a = args.if_contains(c.argument);
      if (a == nullptr || a->is_null()) continue;
      u.carried[{tool, ci}] = true;
      for (size_t i = 0; i < c.one_of.size(); ++i) {
        if (SameValue(*a, c.one_of[i])) u.values[{tool, ci}].insert(i);
      }
    }
    if (tr.scope) {
      if (const json::value* a = args.if_contains(tr.scope_argument); a && a->is_array()) {
        for (const json::value& e : a->get_array()) {
          if (e.is_string()) u.fields[tool].insert(std::string(e.get_string()));
        }
      }
    }
  });
  if (!st.ok()) return st.error();

  DriftReport report;
  report.since_ms = options.since_ms;
  for (const auto& [id, agent] : policies.agents) {
    if (!options.agent_id.empty() && id != options.agent_id) continue;
    AgentDrift d;
    d.agent_id = id;
    d.file = agent->file;
    const Usage empty;
    auto it = usage.find(id);
    const Usage& u = it == usage.end() ? empty : it->second;
    d.calls = u.calls;
    d.exercised = u.exercised;
    d.unreadable = u.unreadable;
    FindUnusedGrants(*agent, u, &d);
    d.runs = u.runs.size();
    d.days = u.calls > 0 ? static_cast<double>(u.last_ms - u.first_ms) / 86400000.0 : 0;
    d.min_runs = options.min_runs;
    d.min_days = options.min_days;
    // A record that could not be read may have used any grant: nothing is suggested.
    d.enough_evidence = u.calls > 0 && u.unreadable == 0 && d.runs >= options.min_runs &&
                        d.days >= options.min_days;
    SetBudgets(u, agent->execution, &d);
    report.agents.push_back(std::move(d));
  }
  return report;
}

policy::PolicyEdits Suggest(const AgentDrift& d) {
  policy::PolicyEdits e;
  if (!d.enough_evidence) return e;  // too little history to tighten anything
  e.remove_tools = d.unused_tools;
  for (const UnusedValues& uv : d.unused_values) {
    if (uv.all_unused) continue;  // never carried: removing every value would not load
    e.remove_values.push_back({uv.tool, uv.rule, uv.argument, uv.indices});
  }
  for (const UnusedScope& us : d.unused_scope) e.remove_scope_fields[us.tool] = us.fields;
  e.max_steps = d.suggest_steps;
  e.max_tokens_per_run = d.suggest_tokens;
  e.max_cost_micros = d.suggest_cost_micros;
  e.max_wall_clock_ms = d.suggest_wall_ms;
  e.header_comment =
      "Suggested by `interlock drift --suggest` for agent " + d.agent_id + " from " + d.file +
      ", from " + std::to_string(d.runs) + " runs over " + Number(std::floor(d.days * 10) / 10) +
      " days.\nGrants not exercised in the window are removed and budgets lowered to\n"
      "max(largest run x " +
      Number(kHeadroomOverMax) + ", p99 of runs x " + Number(kHeadroomOverP99) +
      ") rounded up. Review before use; comments of the original are not kept.";
  return e;
}

json::object DriftToJson(const DriftReport& r) {
  json::array agents;
  for (const AgentDrift& d : r.agents) {
    json::array tools(d.unused_tools.begin(), d.unused_tools.end());
    json::array values;
    for (const UnusedValues& uv : d.unused_values) {
      values.push_back(json::object{{"tool", uv.tool},
                                    {"rule", uv.rule},
                                    {"argument", uv.argument},
                                    {"values", json::array(uv.values.begin(), uv.values.end())},
                                    {"argument_never_used", uv.all_unused}});
    }
    json::array scope;
    for (const UnusedScope& us : d.unused_scope) {
      scope.push_back(json::object{{"tool", us.tool},
                                   {"fields", json::array(us.fields.begin(), us.fields.end())}});
    }
    json::array budgets;
    for (const BudgetHeadroom& b : d.budgets) {
      json::object o{{"budget", b.name}, {"used", b.used}, {"p99", b.p99}};
      o["limit"] = b.limit ? json::value(*b.limit) : json::value(nullptr);
      o["suggested"] = b.suggested ? json::value(*b.suggested) : json::value(nullptr);
      budgets.push_back(std::move(o));
    }
    agents.push_back(json::object{{"agent_id", d.agent_id},
                                  {"file", d.file},
                                  {"calls", d.calls},
                                  {"exercised", d.exercised},
                                  {"never_used", d.calls == 0 && d.unreadable == 0},
                                  {"evidence", json::object{{"runs", d.runs},
                                                            {"days", d.days},
                                                            {"min_runs", d.min_runs},
                                                            {"min_days", d.min_days},
                                                            {"unreadable_records", d.unreadable},
                                                            {"enough", d.enough_evidence}}},
                                  {"unused_tools", std::move(tools)},
                                  {"unused_values", std::move(values)},
                                  {"unused_scope_fields", std::move(scope)},
                                  {"budgets", std::move(budgets)}});
  }
  return {{"since", FormatRfc3339(FromUnixMillis(r.since_ms))}, {"agents", std::move(agents)}};
}

std::string DriftToText(const DriftReport& r) {
  std::ostringstream o;
  o << "permission drift since " << FormatRfc3339(FromUnixMillis(r.since_ms)) << "\n";
  for (const AgentDrift& d : r.agents) {
    o << "\nagent " << d.agent_id << " (" << d.file << "): " << d.calls << " calls, " << d.exercised
      << " not denied\n";
    if (d.unreadable > 0) {
      o << "  " << d.unreadable
        << " decision record(s) could not be read: they may have used any grant, so nothing is "
           "suggested (check the log with `interlock audit verify --deep`)\n";
    }
    if (d.calls == 0) {
      if (d.unreadable == 0) o << "  policy never used in the window: candidate for removal\n";
      continue;
    }
    o << "  evidence: " << d.runs << " run(s) over " << std::floor(d.days * 10) / 10 << " day(s)";
    if (d.enough_evidence || d.unreadable > 0) {
      o << "\n";
    } else {
      o << "; too little to suggest anything (need at least " << d.min_runs << " runs over "
        << d.min_days << " days; --min-runs, --min-days)\n";
    }
    for (const std::string& t : d.unused_tools) o << "  tool never called:    " << t << "\n";
    for (const UnusedValues& uv : d.unused_values) {
      o << "  value never used:     " << uv.rule << ":";
      for (const std::string& v : uv.values) o << " " << v;
      if (uv.all_unused) o << "  (argument never passed)";
      o << "\n";
    }
    for (const UnusedScope& us : d.unused_scope) {
      o << "  scope never requested: " << us.tool << ":";
      for (const std::string& fl : us.fields) o << " " << fl;
      o << "\n";
    }
    for (const BudgetHeadroom& b : d.budgets) {
      if (!b.limit) {
        o << "  budget " << b.name << ": unset (highest use " << b.used << ")\n";
        continue;
      }
      o << "  budget " << b.name << ": " << *b.limit << ", largest run " << b.used << ", p99 "
        << b.p99;
      if (b.suggested) o << " -> suggest " << *b.suggested;
      o << "\n";
    }
  }
  return o.str();
}

}  // namespace interlock::governance
