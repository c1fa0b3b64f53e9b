#include "governance/drift.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include <boost/json/parse.hpp>

#include "audit/audit_log.h"
#include "common/json.h"
#include "governance/history.h"

namespace interlock::governance {
namespace {

namespace json = boost::json;

struct Usage {
  uint64_t calls = 0, exercised = 0;
  std::set<std::string> tools;                                        // exercised tools
  std::map<std::pair<std::string, size_t>, std::set<size_t>> values;  // (tool, constraint) -> idx
  std::map<std::pair<std::string, size_t>, bool> carried;             // argument present at all
  std::map<std::string, std::set<std::string>> fields;                // tool -> fields requested
  uint64_t max_steps_after = 0, max_tokens = 0;
  int64_t max_cost = 0, max_elapsed = 0;
};

bool SameValue(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
  return a == b;
}

uint64_t CeilMargin(uint64_t used) {
  return static_cast<uint64_t>(std::ceil(static_cast<double>(used) * kBudgetMargin));
}

int64_t RoundUp(int64_t v, int64_t unit) { return (v + unit - 1) / unit * unit; }

}  // namespace

Result<DriftReport> RunDrift(sqlite3* db, const policy::PolicySet& policies,
                             const DriftOptions& options) {
  std::map<std::string, Usage, std::less<>> usage;
  HistoryFilter filter;
  filter.types = {audit::kDecision};
  filter.since_ms = options.since_ms;
  filter.agent_id = options.agent_id;
  DecisionFields f;
  Status st = ForEachRecord(db, filter, [&](const RecordView& r) {
    const policy::AgentPolicy* agent = policies.Find(r.agent_id);
    if (agent == nullptr) return;
    f = DecisionFields{};
    if (!ParseDecisionFields(r.data, &f)) return;
    Usage& u = usage[std::string(r.agent_id)];
    ++u.calls;
    u.max_steps_after = std::max(u.max_steps_after, f.steps_after);
    u.max_tokens = std::max(u.max_tokens, f.tokens);
    u.max_cost = std::max(u.max_cost, f.cost_micros);
    u.max_elapsed = std::max(u.max_elapsed, f.elapsed_ms);
    if (f.verdict == "\"deny\"") return;
    ++u.exercised;
    const std::string tool = TokenToString(f.tool);
    u.tools.insert(tool);
    auto rule = agent->allowed.find(tool);
    if (rule == agent->allowed.end()) return;
    const policy::ToolRule& tr = rule->second;
    bool needs_args = tr.scope.has_value();
    for (const auto& c : tr.constraints) needs_args |= !c.one_of.empty();
    if (!needs_args) return;
    boost::system::error_code ec;
    json::value v = json::parse(f.args, ec);
    if (ec || !v.is_object()) return;
    const json::object& args = v.get_object();
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
    for (const auto& [tool, rule] : agent->allowed) {
      if (!u.tools.count(tool)) {
        d.unused_tools.push_back(tool);
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
        if (!uv.values.empty()) d.unused_values.push_back(std::move(uv));
      }
      if (rule.scope) {
        UnusedScope us;
        us.tool = tool;
        auto used = u.fields.find(tool);
        for (const std::string& fld : *rule.scope) {
          if (used == u.fields.end() || !used->second.count(fld)) us.fields.push_back(fld);
        }
        if (!us.fields.empty()) d.unused_scope.push_back(std::move(us));
      }
    }
    const policy::Execution& ex = agent->execution;
    const bool any = u.calls > 0;
    {
      BudgetHeadroom b{"execution.max_steps", std::nullopt, static_cast<double>(u.max_steps_after),
                       std::nullopt};
      if (ex.max_steps) {
        b.limit = static_cast<double>(*ex.max_steps);
        const uint64_t s = std::max(u.max_steps_after, CeilMargin(u.max_steps_after));
        if (any && s < *ex.max_steps) {
          d.suggest_steps = s;
          b.suggested = static_cast<double>(s);
        }
      }
      d.budgets.push_back(b);
    }
    {
      BudgetHeadroom b{"execution.max_tokens_per_run", std::nullopt,
                       static_cast<double>(u.max_tokens), std::nullopt};
      if (ex.max_tokens_per_run) {
        b.limit = static_cast<double>(*ex.max_tokens_per_run);
        const uint64_t s = std::max(u.max_tokens + 1, CeilMargin(u.max_tokens));
        if (any && s < *ex.max_tokens_per_run) {
          d.suggest_tokens = s;
          b.suggested = static_cast<double>(s);
        }
      }
      d.budgets.push_back(b);
    }
    {
      BudgetHeadroom b{"execution.max_cost_usd", std::nullopt,
                       static_cast<double>(u.max_cost) / 1e6, std::nullopt};
      if (ex.max_cost_micros) {
        b.limit = static_cast<double>(*ex.max_cost_micros) / 1e6;
        const int64_t s =
            RoundUp(std::max<int64_t>(u.max_cost + 1,
                                      static_cast<int64_t>(std::ceil(u.max_cost * kBudgetMargin))),
                    10000);
        if (any && s < *ex.max_cost_micros) {
          d.suggest_cost_micros = s;
          b.suggested = static_cast<double>(s) / 1e6;
        }
      }
      d.budgets.push_back(b);
    }
    {
      BudgetHeadroom b{"execution.max_wall_clock_seconds", std::nullopt,
                       static_cast<double>(u.max_elapsed) / 1e3, std::nullopt};
      if (ex.max_wall_clock_ms) {
        b.limit = static_cast<double>(*ex.max_wall_clock_ms) / 1e3;
        const int64_t s = RoundUp(
            std::max<int64_t>(u.max_elapsed + 1,
                              static_cast<int64_t>(std::ceil(u.max_elapsed * kBudgetMargin))),
            1000);
        if (any && s < *ex.max_wall_clock_ms) {
          d.suggest_wall_ms = s;
          b.suggested = static_cast<double>(s) / 1e3;
        }
      }
      d.budgets.push_back(b);
    }
    report.agents.push_back(std::move(d));
  }
  return report;
}

policy::PolicyEdits Suggest(const AgentDrift& d) {
  policy::PolicyEdits e;
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
      ".\nGrants not exercised in the window are removed and budgets lowered to the\n"
      "highest use x " +
      std::to_string(kBudgetMargin).substr(0, 4) +
      " (rounded up). Review before use; comments of the original are not kept.";
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
      json::object o{{"budget", b.name}, {"used", b.used}};
      o["limit"] = b.limit ? json::value(*b.limit) : json::value(nullptr);
      o["suggested"] = b.suggested ? json::value(*b.suggested) : json::value(nullptr);
      budgets.push_back(std::move(o));
    }
    agents.push_back(json::object{{"agent_id", d.agent_id},
                                  {"file", d.file},
                                  {"calls", d.calls},
                                  {"exercised", d.exercised},
                                  {"never_used", d.calls == 0},
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
    if (d.calls == 0) {
      o << "  policy never used in the window: candidate for removal\n";
      continue;
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
      o << "  budget " << b.name << ": " << *b.limit << ", highest use " << b.used;
      if (b.suggested) o << " -> suggest " << *b.suggested;
      o << "\n";
    }
  }
  return o.str();
}

}  // namespace interlock::governance
