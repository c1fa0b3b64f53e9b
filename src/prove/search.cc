#include "prove/search.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <set>
#include <unordered_map>
#include <utility>

#include "common/json.h"
#include "engine/engine.h"
#include "engine/sequence.h"
#include "policy/workflow.h"
#include "prove/names.h"

namespace interlock::prove {
namespace {

namespace json = boost::json;
using policy::AgentPolicy;
using policy::ArgConstraint;

// ---- the values each argument is tried with ----

// Values by argument name, each kept once (compared as canonical JSON).
class ValuePool {
 public:
  void Add(const std::string& arg, const json::value& v) {
    if (keys_[arg].insert(CanonicalJson(v)).second) values_[arg].push_back(v);
  }
  void Touch(const std::string& arg) { values_[arg]; }
  const std::map<std::string, std::vector<json::value>>& values() const { return values_; }

 private:
  std::map<std::string, std::set<std::string>> keys_;
  std::map<std::string, std::vector<json::value>> values_;
};

json::value Number(double d) {
  if (std::floor(d) == d && std::fabs(d) < 9e15) return json::value(static_cast<int64_t>(d));
  return json::value(d);
}

// Why the values `c` admits cannot be enumerated ("" when they can).
std::string Undecidability(const ArgConstraint& c) {
  if (!c.steps.empty()) return "a nested argument path (" + c.path + ")";
  if (!c.one_of.empty()) return "";  // the values are listed: every other check is decided on them
  if (c.shell) return "a shell command rule";
  if (c.url) return "a URL rule";
  if (c.pattern) return "a regular expression (pattern)";
  if (c.not_pattern) return "a regular expression (not_pattern)";
  if (c.min_items || c.max_items) return "an item count of an array";
  return "";
}

// One value of each class `c` splits its argument's values into.
void AddConstraintValues(const ArgConstraint& c, ValuePool* pool) {
  const std::string& a = c.argument;
  pool->Touch(a);
  for (const json::value& v : c.one_of) pool->Add(a, v);
  for (const json::value& v : c.not_one_of) pool->Add(a, v);
  for (const std::optional<double>& b : {c.min, c.max}) {
    if (!b) continue;
    pool->Add(a, Number(*b));
    pool->Add(a, Number(*b - 1));
    pool->Add(a, Number(*b + 1));
  }
  for (const std::string& p : c.path_prefixes) {
    pool->Add(a, json::string(p));
    pool->Add(a, json::string(p + (p.ends_with("/") ? "" : "/") + "prove"));
  }
  if (!c.path_prefixes.empty()) pool->Add(a, json::string("/prove-outside"));
}

void NoteUndecidable(const ArgConstraint& c, std::vector<Undecidable>* out) {
  const std::string why = Undecidability(c);
  if (why.empty()) return;
  const std::string at = c.at.ToString();
  for (const Undecidable& u : *out) {
    if (u.at == at && u.why == why) return;
  }
  out->push_back({at, "argument " + c.argument + " of " + c.rule + " is checked by " + why});
}

// The argument constraints that bear on calls of `tool`: its rule's, and the conditions
// and requirements of the workflow entries that name it.
void CollectForTool(const AgentPolicy& p, const std::string& tool, ValuePool* pool,
                    std::vector<std::string>* requires_vars, CallSpace* space) {
  const policy::ToolRule* rule = p.Resolve(tool).rule;
  if (rule != nullptr) {
    for (const ArgConstraint& c : rule->constraints) {
      AddConstraintValues(c, pool);
      NoteUndecidable(c, &space->undecidable);
    }
    for (const policy::ArgCombination& k : rule->combinations) {
      for (const auto& tuple : k.one_of) {
        for (size_t i = 0; i < tuple.size() && i < k.arguments.size(); ++i)
          pool->Add(k.arguments[i].argument, tuple[i]);
      }
    }
  }
  if (p.workflow == nullptr) return;
  for (const auto& [name, st] : p.workflow->states) {
    for (const policy::WorkflowPermit& a : st.allow) {
      if (!policy::ToolPatternMatches(a.tool, tool)) continue;
      for (const ArgConstraint& c : a.when) {
        AddConstraintValues(c, pool);
        NoteUndecidable(c, &space->undecidable_conditions);
      }
      for (const policy::WorkflowRequire& r : a.require) {
        pool->Touch(r.argument);
        requires_vars->push_back(r.variable + "=" + r.argument);
      }
    }
    for (const policy::WorkflowTransition& t : st.transitions) {
      if (!policy::ToolPatternMatches(t.tool, tool)) continue;
      for (const ArgConstraint& c : t.when) {
        AddConstraintValues(c, pool);
        NoteUndecidable(c, &space->undecidable_conditions);
      }
      for (const policy::WorkflowRemember& r : t.remember) pool->Touch(r.argument);
    }
  }
}

// Every argument object over the pool's values (each argument also left out), in a fixed
// order; at most `max` of them.
std::vector<json::object> Combine(const std::map<std::string, std::vector<json::value>>& values,
                                  size_t max, bool* truncated) {
  std::vector<json::object> out{json::object{}};
  for (const auto& [arg, vs] : values) {
    std::vector<json::object> next;
    for (const json::object& o : out) {
      next.push_back(o);  // the argument absent
      for (const json::value& v : vs) {
        if (next.size() >= max) {
          *truncated = true;
          break;
        }
        json::object with = o;
        with[arg] = v;
        next.push_back(std::move(with));
      }
    }
    out = std::move(next);
  }
  return out;
}

std::vector<std::string> ToolNames(const AgentPolicy& p, const std::vector<std::string>& extra) {
  std::vector<std::string> names = extra;
  for (const auto& [n, r] : p.allowed) names.push_back(n);
  for (const auto& [n, at] : p.blocked) names.push_back(n);
  if (p.workflow != nullptr) {
    for (const std::string& t : p.workflow->always_allowed) names.push_back(t);
    for (const auto& [name, st] : p.workflow->states) {
      for (const policy::WorkflowPermit& a : st.allow) names.push_back(a.tool);
      for (const policy::WorkflowTransition& t : st.transitions) names.push_back(t.tool);
    }
  }
  return names;
}

}  // namespace

CallSpace BuildCallSpace(
    const AgentPolicy& p, const std::vector<std::string>& extra_names,
    const std::map<std::string, std::vector<json::value>, std::less<>>& examples,
    size_t max_arg_combinations) {
  CallSpace space;
  const NameClasses names = FindNameClasses(ToolNames(p, extra_names));
  space.names_complete = names.complete;
  // Values a remembered variable can hold: those of the argument it is bound from.
  std::map<std::string, std::vector<std::string>> bound_from;  // variable -> arguments
  if (p.workflow != nullptr) {
    for (const auto& [name, st] : p.workflow->states) {
      for (const policy::WorkflowTransition& t : st.transitions) {
        for (const policy::WorkflowRemember& r : t.remember)
          bound_from[r.variable].push_back(r.argument);
      }
    }
  }
  std::map<std::string, ValuePool> pools;
  std::map<std::string, std::vector<std::string>> requires_of;
  ValuePool all;  // every argument's values across tools, for remembered variables
  for (const std::string& tool : names.witnesses) {
    CollectForTool(p, tool, &pools[tool], &requires_of[tool], &space);
    for (const auto& [arg, vs] : pools[tool].values()) {
      for (const json::value& v : vs) all.Add(arg, v);
    }
  }
  for (const auto& [arg, vs] : examples) {
    for (const json::value& v : vs) all.Add(arg, v);
  }
  for (const std::string& tool : names.witnesses) {
    ValuePool& pool = pools[tool];
    for (const std::string& vr : requires_of[tool]) {
      const std::string var = vr.substr(0, vr.find('='));
      const std::string arg = vr.substr(vr.find('=') + 1);
      for (const std::string& from : bound_from[var]) {
        auto it = all.values().find(from);
        if (it == all.values().end()) continue;
        for (const json::value& v : it->second) pool.Add(arg, v);
      }
    }
    // Examples for the arguments this tool's rules name, and a value no rule lists.
    std::vector<std::string> args;
    for (const auto& [arg, vs] : pool.values()) args.push_back(arg);
    for (const std::string& arg : args) {
      if (auto it = examples.find(arg); it != examples.end()) {
        for (const json::value& v : it->second) pool.Add(arg, v);
      }
      pool.Add(arg, json::string("prove-other"));
    }
    space.calls.emplace_back(tool,
                             Combine(pool.values(), max_arg_combinations, &space.args_truncated));
  }
  return space;
}

AgentPolicy RelaxConstraints(const AgentPolicy& p) {
  AgentPolicy out = p;
  for (auto& [name, rule] : out.allowed) {
    std::erase_if(rule.constraints,
                  [](const ArgConstraint& c) { return !Undecidability(c).empty(); });
  }
  return out;
}

AgentPolicy WithoutTimeLimits(const AgentPolicy& p) {
  AgentPolicy out = p;
  for (auto& [name, rule] : out.allowed) rule.rate_limit.reset();
  out.quotas = policy::Quotas{};
  return out;
}

TimePoint SearchStart(const AgentPolicy& p) {
  TimePoint t = std::chrono::sys_days{std::chrono::year{2026} / 1 / 1};
  for (size_t moved = 0; moved <= p.freezes.size(); ++moved) {
    bool inside = false;
    for (const policy::FreezeWindow& w : p.freezes) {
      if (t >= w.start && t < w.end) {
        t = w.end;
        inside = true;
      }
    }
    if (!inside) break;
  }
  return t;
}

std::string CallLine(const Step& step) {
  json::object o{{"tool", step.tool}, {"args", step.args}};
  return CanonicalJson(o);
}

}  // namespace interlock::prove
