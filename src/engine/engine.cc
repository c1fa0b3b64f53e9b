#include "engine/engine.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/serialize.hpp>

#include "common/json.h"
#include "common/path.h"
#include "common/time.h"
#include "engine/sequence.h"
#include "policy/texts.h"

namespace interlock::engine {
namespace {

namespace json = boost::json;
using policy::AgentPolicy;
using policy::AppendQuoted;
using policy::ArgConstraint;
using policy::Autonomy;
using policy::BudgetAction;
using policy::Quote;
using policy::QuoteList;
using policy::RuleId;
using policy::ShowList;
using policy::ShowValue;
using policy::ToolRule;

// Where a rule is written ("file:line:col"): the text PrepareTexts wrote, or made now for a
// policy built by hand.
std::string AtText(const std::string& prepared, const policy::Location& at) {
  return prepared.empty() ? at.ToString() : prepared;
}

std::string FormatDouble(double d) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), d);
  return std::string(buf, r.ptr);
}

// "120 s", "120.5 s".
std::string FormatSeconds(int64_t ms) {
  std::string out = std::to_string(ms / 1000);
  if (int64_t rem = std::abs(ms % 1000); rem != 0) {
    std::string frac = std::to_string(rem);
    frac.insert(0, 3 - frac.size(), '0');
    while (frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  return out + " s";
}

// Exact comparisons of JSON numbers with a double bound: 64-bit integers are never
// rounded through double (2^53 + 1 > 2^53 holds; uint64 max > 10 holds).
int CompareInt(int64_t i, double d) {
  if (std::isnan(d)) return 1;
  if (d >= 9223372036854775808.0) return -1;
  if (d < -9223372036854775808.0) return 1;
  const double t = std::trunc(d);
  const auto ti = static_cast<int64_t>(t);
  if (i != ti) return i < ti ? -1 : 1;
  const double frac = d - t;
  return frac > 0 ? -1 : (frac < 0 ? 1 : 0);
}

int CompareUint(uint64_t u, double d) {
  if (std::isnan(d)) return 1;
  if (d < 0) return 1;
  if (d >= 18446744073709551616.0) return -1;
  const double t = std::trunc(d);
  const auto tu = static_cast<uint64_t>(t);
  if (u != tu) return u < tu ? -1 : 1;
  return d - t > 0 ? -1 : 0;
}

// <0, 0, >0 as the number `v` is below, equal to or above `d`. `v` must be a number.
int CompareNumber(const json::value& v, double d) {
  switch (v.kind()) {
    case json::kind::int64:
      return CompareInt(v.get_int64(), d);
    case json::kind::uint64:
      return CompareUint(v.get_uint64(), d);
    default: {
      const double x = v.get_double();
      return x < d ? -1 : (x > d ? 1 : 0);
    }
  }
}

// JSON equality for one_of. Types never mix: the string "10" is not the number 10, true
// is not 1. Numbers compare by mathematical value across int64, uint64 and double, so
// 10 == 10.0 and uint64 10 == int64 10 (a policy cannot know which representation a
// client's encoder picks). Strings compare byte for byte; arrays and objects deeply.
bool JsonEqual(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) {
    if (b.is_double()) return CompareNumber(a, b.get_double()) == 0;
    if (a.is_double()) return CompareNumber(b, a.get_double()) == 0;
    if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
    if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
    const int64_t i = a.is_int64() ? a.get_int64() : b.get_int64();
    const uint64_t u = a.is_uint64() ? a.get_uint64() : b.get_uint64();
    return i >= 0 && static_cast<uint64_t>(i) == u;
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case json::kind::null:
      return true;
    case json::kind::bool_:
      return a.get_bool() == b.get_bool();
    case json::kind::string:
      return std::string_view(a.get_string()) == b.get_string();
    case json::kind::array: {
      const auto& x = a.get_array();
      const auto& y = b.get_array();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!JsonEqual(x[i], y[i])) return false;
      }
      return true;
    }
    case json::kind::object: {
      const auto& x = a.get_object();
      const auto& y = b.get_object();
      if (x.size() != y.size()) return false;
      for (const auto& kv : x) {
        const json::value* other = y.if_contains(kv.key());
        if (other == nullptr || !JsonEqual(kv.value(), *other)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

// Checks one value the constraint's path reaches (never missing or null); on violation
// fills `why` with a sentence starting with arg() and returns false.
// Checks a path-typed value (`path_prefix`) again on the path the OS will open: the
// value with its symbolic links resolved must pass `pattern`, `not_pattern` and lie under
// one of the prefixes resolved the same way. A value that resolves to itself passes.
// `norm` is the value's lexical form, already judged.
template <typename Label>
bool CheckResolvedPath(const ArgConstraint& c, std::string_view raw, const std::string& norm,
                       const PathResolver& paths, const Label& arg, std::string* why) {
  if (norm.empty() || norm[0] != '/') return true;  // relative: no prefix holds it anyway
  Result<std::string> real = paths.Resolve(raw);
  if (!real.ok()) {
    *why = arg() + " is " + Quote(raw) +
           ", whose symbolic links cannot be resolved: " + real.error().message;
    return false;
  }
  if (*real == norm) return true;
  const std::string shown =
      arg() + " is " + Quote(raw) + ", which through symbolic links is " + Quote(*real);
  if (c.pattern && !re2::RE2::FullMatch(*real, *c.pattern)) {
    *why = shown + ", which does not match the pattern " + Quote(c.pattern->pattern());
    return false;
  }
  if (c.not_pattern && re2::RE2::PartialMatch(*real, *c.not_pattern)) {
    *why = shown + ", which contains a match of the refused pattern " +
           Quote(c.not_pattern->pattern());
    return false;
  }
  for (const std::string& p : c.path_prefixes) {
    if (PathHasPrefix(*real, p)) return true;
    Result<std::string> real_prefix = paths.Resolve(p);
    if (real_prefix.ok() && PathHasPrefix(*real, *real_prefix)) return true;
  }
  *why = shown + ", which is outside the allowed prefixes ";
  for (size_t i = 0; i < c.path_prefixes.size(); ++i) {
    if (i > 0) *why += ", ";
    *why += Quote(c.path_prefixes[i]);
  }
  return false;
}

template <typename Label>
bool CheckValue(const ArgConstraint& c, const json::value& value, const Label& arg,
                const PathResolver* paths, std::string* why) {
  const json::value* v = &value;
  auto wrong_type = [&](const char* wanted) {
    *why = arg() + " must be " + wanted + ", got " + JsonKindName(v->kind()) + " " + ShowValue(*v);
    return false;
  };
  if (!c.one_of.empty()) {
    const bool found = std::any_of(c.one_of.begin(), c.one_of.end(),
                                   [&](const json::value& a) { return JsonEqual(*v, a); });
    if (!found) {
      *why = arg() + " is " + ShowValue(*v) + "; allowed: ";
      // Written when the policy was loaded (PrepareTexts); a policy built by hand may not
      // have it.
      *why += c.one_of_text.empty() ? ShowList(c.one_of) : c.one_of_text;
      return false;
    }
  }
  for (const json::value& refused : c.not_one_of) {
    if (JsonEqual(*v, refused)) {
      *why = arg() + " is " + ShowValue(*v) + ", which the policy refuses";
      return false;
    }
  }
  if (c.min || c.max) {
    if (!v->is_number()) return wrong_type("a number");
    if (c.min && CompareNumber(*v, *c.min) < 0) {
      *why = arg() + " is " + ShowValue(*v) + "; the minimum is " + FormatDouble(*c.min);
      return false;
    }
    if (c.max && CompareNumber(*v, *c.max) > 0) {
      *why = arg() + " is " + ShowValue(*v) + "; the maximum is " + FormatDouble(*c.max);
      return false;
    }
  }
  if (c.max_bytes) {
    const json::string* s = v->if_string();
    const size_t n = s != nullptr ? s->size() : json::serialize(*v).size();
    if (n > *c.max_bytes) {
      *why = arg() + " is " + std::to_string(n) + " bytes" +
             (s != nullptr ? "" : " as compact JSON") + "; the maximum is " +
             std::to_string(*c.max_bytes);
      return false;
    }
  }
  if (c.max_length || c.pattern || c.not_pattern || !c.path_prefixes.empty() || c.shell || c.url) {
    const json::string* s = v->if_string();
    if (s == nullptr) return wrong_type("a string");
    const std::string_view sv(s->data(), s->size());
    if (c.max_length && sv.size() > *c.max_length) {
      *why = arg() + " is " + std::to_string(sv.size()) + " bytes long; the maximum is " +
             std::to_string(*c.max_length);
      return false;
    }
    if (c.pattern && !re2::RE2::FullMatch(sv, *c.pattern)) {
      *why = arg() + " is " + ShowValue(*v) + ", which does not match the pattern " +
             Quote(c.pattern->pattern());
      return false;
    }
    if (c.not_pattern && re2::RE2::PartialMatch(sv, *c.not_pattern)) {
      *why = arg() + " is " + ShowValue(*v) + ", which contains a match of the refused pattern " +
             Quote(c.not_pattern->pattern());
      return false;
    }
    if (!c.path_prefixes.empty()) {
      Result<std::string> norm = NormalizePath(sv);
      if (!norm.ok()) {
        *why = arg() + " is not an acceptable path: " + norm.error().message;
        return false;
      }
      const bool under = std::any_of(c.path_prefixes.begin(), c.path_prefixes.end(),
                                     [&](const std::string& p) { return PathHasPrefix(*norm, p); });
      if (!under) {
        *why = arg() + " resolves to " + Quote(*norm) + ", which is outside the allowed prefixes ";
        for (size_t i = 0; i < c.path_prefixes.size(); ++i) {
          if (i > 0) *why += ", ";
          *why += Quote(c.path_prefixes[i]);
        }
        return false;
      }
      if (paths != nullptr && !CheckResolvedPath(c, sv, *norm, *paths, arg, why)) return false;
    }
    if (c.shell && !policy::CheckShellCommand(*c.shell, sv, why, paths)) {
      *why = arg() + " is refused as a shell command: " + *why;
      return false;
    }
    if (c.url && !policy::CheckUrl(*c.url, sv, why)) {
      *why = arg() + " is refused as a URL: " + *why;
      return false;
    }
  }
  if (c.max_items || c.min_items) {
    const json::array* a = v->if_array();
    if (a == nullptr) return wrong_type("an array");
    if (c.max_items && a->size() > *c.max_items) {
      *why = arg() + " has " + std::to_string(a->size()) + " items; the maximum is " +
             std::to_string(*c.max_items);
      return false;
    }
    if (c.min_items && a->size() < *c.min_items) {
      *why = arg() + " has " + std::to_string(a->size()) + " items; the minimum is " +
             std::to_string(*c.min_items);
      return false;
    }
  }
  return true;
}

// The indices of the `[*]` steps taken so far, innermost first, on the stack.
struct Trail {
  const Trail* up;
  size_t index;
};

// The path up to step `upto` with concrete indices: "paths[2]", "edits[0].oldText".
std::string Concrete(const ArgConstraint& c, size_t upto, const Trail* t) {
  std::vector<size_t> indices;
  for (; t != nullptr; t = t->up) indices.push_back(t->index);
  std::string out;
  policy::AppendArgPathField(&out, c.argument, true);
  for (size_t i = 0; i < upto; ++i) {
    if (c.steps[i].kind == policy::ArgPathStep::Kind::kEach) {
      out += "[" + std::to_string(indices.back()) + "]";
      indices.pop_back();
    } else {
      policy::AppendArgPathField(&out, c.steps[i].field, false);
    }
  }
  return out;
}

// Follows c.steps from step `i` on `v` (never missing or null), checking every value
// reached. Depth is bounded by the policy's path, not by the call.
bool Walk(const ArgConstraint& c, size_t i, const json::value& v, const Trail* t,
          const PathResolver* paths, std::string* why) {
  if (i == c.steps.size()) {
    return CheckValue(
        c, v, [&] { return "argument " + Concrete(c, i, t); }, paths, why);
  }
  auto wrong_type = [&](const char* wanted) {
    *why = "argument " + c.path + ": " + Concrete(c, i, t) + " must be " + wanted + ", got " +
           JsonKindName(v.kind()) + " " + ShowValue(v);
    return false;
  };
  auto missing = [&](const Trail* at, bool is_missing) {
    *why = "argument " + Concrete(c, i + 1, at) + (is_missing ? " is missing" : " is null") +
           " but the policy constrains " + c.path;
    return false;
  };
  if (c.steps[i].kind == policy::ArgPathStep::Kind::kEach) {
    const json::array* a = v.if_array();
    if (a == nullptr) return wrong_type("an array");
    for (size_t k = 0; k < a->size(); ++k) {
      const Trail next{t, k};
      if ((*a)[k].is_null()) {
        if (c.optional) continue;
        return missing(&next, false);
      }
      if (!Walk(c, i + 1, (*a)[k], &next, paths, why)) return false;
    }
    return true;
  }
  const json::object* o = v.if_object();
  if (o == nullptr) return wrong_type("an object");
  const json::value* f = o->if_contains(c.steps[i].field);
  if (f == nullptr || f->is_null()) {
    if (c.optional) return true;
    return missing(t, f == nullptr);
  }
  return Walk(c, i + 1, *f, t, paths, why);
}

// Checks one constraint; on violation fills `why` with a sentence and returns false.
// A top-level argument (no steps) allocates nothing when it passes. `paths` may be null
// (path-typed values are then judged lexically only).
bool CheckConstraint(const ArgConstraint& c, const json::object& args, const PathResolver* paths,
                     std::string* why) {
  const json::value* v = args.if_contains(c.argument);
  if (v == nullptr || v->is_null()) {
    if (c.optional) return true;
    if (c.steps.empty()) {
      *why = "argument " + Quote(c.argument) + (v == nullptr ? " is missing" : " is null") +
             " but the policy constrains it";
    } else {
      *why = "argument " + Concrete(c, 0, nullptr) + (v == nullptr ? " is missing" : " is null") +
             " but the policy constrains " + c.path;
    }
    return false;
  }
  if (c.steps.empty()) {
    // Built only on violation: the passing path allocates nothing.
    return CheckValue(
        c, *v, [&] { return "argument " + Quote(c.argument); }, paths, why);
  }
  return Walk(c, 0, *v, nullptr, paths, why);
}

// The value a combination argument's path (no [*]) names: nullptr when missing or null,
// or when a value along the path has the wrong type (then *wrong is set).
const json::value* Lookup(const ArgConstraint& p, const json::object& args, bool* wrong) {
  const json::value* v = args.if_contains(p.argument);
  for (const policy::ArgPathStep& s : p.steps) {
    if (v == nullptr || v->is_null()) return nullptr;
    const json::object* o = v->if_object();
    if (o == nullptr) {
      *wrong = true;
      return nullptr;
    }
    v = o->if_contains(s.field);
  }
  return v == nullptr || v->is_null() ? nullptr : v;
}

bool CheckCombination(const policy::ArgCombination& k, const json::object& args, std::string* why) {
  std::array<const json::value*, policy::kMaxCombinationArguments> values{};
  const size_t n = std::min(k.arguments.size(), values.size());
  auto name = [&](size_t i) {
    const ArgConstraint& a = k.arguments[i];
    return a.steps.empty() ? Quote(a.argument) : a.path;
  };
  for (size_t i = 0; i < n; ++i) {
    bool wrong = false;
    values[i] = Lookup(k.arguments[i], args, &wrong);
    if (values[i] == nullptr) {
      *why = "argument " + name(i) +
             (wrong ? " cannot be reached (a value along its path is not an object)"
                    : " is missing or null") +
             " but the policy constrains it in a combination";
      return false;
    }
  }
  for (const std::vector<json::value>& tuple : k.one_of) {
    bool equal = tuple.size() == n;
    for (size_t i = 0; equal && i < n; ++i) equal = JsonEqual(*values[i], tuple[i]);
    if (equal) return true;
  }
  *why = "arguments (";
  for (size_t i = 0; i < n; ++i) *why += (i > 0 ? ", " : "") + name(i);
  *why += ") are (";
  for (size_t i = 0; i < n; ++i) *why += (i > 0 ? ", " : "") + ShowValue(*values[i]);
  *why += "); allowed: ";
  for (size_t t = 0; t < k.one_of.size(); ++t) {
    *why += t > 0 ? ", (" : "(";
    for (size_t i = 0; i < k.one_of[t].size(); ++i) {
      *why += (i > 0 ? ", " : "") + ShowValue(k.one_of[t][i]);
    }
    *why += ")";
  }
  return false;
}

// Checks the tool's data scope; on violation fills `why` and returns false.
bool CheckScope(const ToolRule& rule, const json::object& args, std::string* why) {
  if (!rule.scope) return true;
  const json::value* v = args.if_contains(rule.scope_argument);
  if (v == nullptr) return true;
  auto arg = [&] { return "argument " + Quote(rule.scope_argument); };
  const json::array* fields = v->if_array();
  if (fields == nullptr) {
    *why = arg() + " must be an array of field names, got " + JsonKindName(v->kind());
    return false;
  }
  for (size_t i = 0; i < fields->size(); ++i) {
    const json::string* f = (*fields)[i].if_string();
    if (f == nullptr) {
      *why = arg() + " item " + std::to_string(i) + " must be a field name, got " +
             JsonKindName((*fields)[i].kind());
      return false;
    }
    const std::string_view name(f->data(), f->size());
    if (std::find(rule.scope->begin(), rule.scope->end(), name) == rule.scope->end()) {
      // The scope list was written when the policy was loaded (PrepareTexts); a policy
      // built by hand may not have it.
      const std::string list = rule.scope_text.empty() ? QuoteList(*rule.scope) : std::string();
      const std::string& allowed = rule.scope_text.empty() ? list : rule.scope_text;
      why->clear();
      why->reserve(name.size() + rule.name.size() + allowed.size() + 48);
      why->append("field ");
      AppendQuoted(why, name);
      why->append(" is outside the scope of tool ");
      AppendQuoted(why, rule.name);
      why->append(" (allowed: ");
      why->append(allowed);
      why->push_back(')');
      return false;
    }
  }
  return true;
}

void Set(Decision* d, Verdict verdict, Code code, std::string reason, std::string rule,
         std::string at) {
  d->verdict = verdict;
  d->code = code;
  d->reason = std::move(reason);
  d->rule = std::move(rule);
  d->at = std::move(at);
}

void Deny(Decision* d, Code code, std::string reason, std::string rule, std::string at = {}) {
  Set(d, Verdict::kDeny, code, std::move(reason), std::move(rule), std::move(at));
}

// Budget check: fills the decision and effects and returns true when a budget is spent.
// `step_spent`: the call's step was spent already (the real call of a rehearsal, whose
// REHEARSAL_REQUIRED ask was its step), so the step budget is checked as it stood then.
bool CheckBudgets(const AgentPolicy& p, const RunState& state, bool step_spent, Evaluation* ev) {
  const policy::Execution& ex = p.execution;
  std::string reason;
  const char* rule = nullptr;
  const uint64_t steps = step_spent && state.steps > 0 ? state.steps - 1 : state.steps;
  if (ex.max_steps && steps >= *ex.max_steps) {
    rule = "execution.max_steps";
    reason = "step budget exhausted: the run has made " + std::to_string(steps) +
             " calls and execution.max_steps is " + std::to_string(*ex.max_steps);
  } else if (ex.max_tokens_per_run && state.tokens >= *ex.max_tokens_per_run) {
    rule = "execution.max_tokens_per_run";
    reason = "token budget exhausted: the run has used " + std::to_string(state.tokens) +
             " tokens and execution.max_tokens_per_run is " +
             std::to_string(*ex.max_tokens_per_run);
  } else if (ex.max_cost_micros && state.cost_micros >= *ex.max_cost_micros) {
    rule = "execution.max_cost_usd";
    reason = "cost budget exhausted: the run has cost " + internal::FormatUsd(state.cost_micros) +
             " and execution.max_cost_usd is " + internal::FormatUsd(*ex.max_cost_micros);
  } else if (ex.max_wall_clock_ms && state.elapsed_ms >= *ex.max_wall_clock_ms) {
    rule = "execution.max_wall_clock_seconds";
    reason = "wall-clock budget exhausted: the run has been going for " +
             FormatSeconds(state.elapsed_ms) + " and execution.max_wall_clock_seconds is " +
             FormatSeconds(*ex.max_wall_clock_ms);
  } else {
    return false;
  }
  if (ex.on_budget_exceeded != BudgetAction::kDeny) {
    ev->effects.halt = true;
    ev->effects.halt_reason = reason;
  }
  if (ex.on_budget_exceeded == BudgetAction::kHaltAndEscalate) {
    Notification n;
    n.kind = Notification::Kind::kEscalation;
    n.channel = ex.notify;
    n.contacts = p.escalation_contacts;
    n.text = "agent " + Quote(p.id) + " was halted: " + reason;
    ev->decision.notifications.push_back(std::move(n));
  }
  Deny(&ev->decision, Code::kBudgetExceeded, std::move(reason), rule, ex.at.ToString());
  return true;
}

// The tool's on_behalf_of rule (only tools that have one pay for it).
bool CheckOnBehalfOf(const policy::OnBehalfOfRule& r, const EvalContext& ctx,
                     std::string_view entry, Decision* d) {
  const std::string rule_id = RuleId("tools.allowed", entry, ".on_behalf_of");
  if (ctx.on_behalf_of.empty()) {
    Deny(d, Code::kOnBehalfOfRequired,
         "this tool needs a human on whose behalf the agent acts (on_behalf_of), and the "
         "agent's credential names none",
         rule_id, r.at.ToString());
    return false;
  }
  if (!r.in.empty() && std::find(r.in.begin(), r.in.end(), ctx.on_behalf_of) == r.in.end()) {
    Deny(d, Code::kOnBehalfOfRequired,
         "the agent acts on behalf of " + Quote(ctx.on_behalf_of) +
             ", who is not in this tool's on_behalf_of.in list",
         rule_id, r.at.ToString());
    return false;
  }
  if (!r.groups.empty()) {
    bool member = false;
    if (ctx.on_behalf_of_groups != nullptr) {
      for (const std::string& g : *ctx.on_behalf_of_groups) {
        member = member || std::find(r.groups.begin(), r.groups.end(), g) != r.groups.end();
      }
    }
    if (!member) {
      Deny(d, Code::kOnBehalfOfRequired,
           "the agent acts on behalf of " + Quote(ctx.on_behalf_of) +
               ", who carries none of this tool's on_behalf_of.groups",
           rule_id, r.at.ToString());
      return false;
    }
  }
  return true;
}

// False, with `d` denied, when a freeze window in force covers the tool.
bool CheckFreezes(const AgentPolicy& p, const ToolCall& call, std::string_view entry,
                  const EvalContext& ctx, Decision* d) {
  for (const policy::FreezeWindow& w : p.freezes) {
    if (ctx.now < w.start || ctx.now >= w.end) continue;
    const bool covers = std::any_of(w.tools.begin(), w.tools.end(), [&](const std::string& t) {
      // A window may name the tool, or the pattern entry that decides it.
      return t == "*" || t == call.tool || t == entry;
    });
    if (!covers) continue;
    std::string reason = "tool " + Quote(call.tool) + " is frozen by " + Quote(w.name) + " until " +
                         FormatRfc3339(w.end);
    if (!w.reason.empty()) reason += ": " + w.reason;
    Deny(d, Code::kFrozen, std::move(reason), RuleId("freeze", w.name), w.at.ToString());
    return false;
  }
  return true;
}

// The records the run has touched under the rule that decides the call
// (max_records_per_run).
uint64_t RecordsUsed(const AgentPolicy& p, const RunState& state, const ToolCall& call,
                     const policy::ToolResolution& res) {
  if (!res.pattern) {
    auto used_it = state.records.find(call.tool);
    return used_it == state.records.end() ? 0 : used_it->second;
  }
  // A pattern entry's budget is shared by every tool it decides: the run's records
  // are kept per tool, so add up those of the tools that resolve to this entry.
  uint64_t used = 0;
  for (const auto& [tool, count] : state.records) {
    if (p.Resolve(tool).rule != res.rule) continue;
    used = count > UINT64_MAX - used ? UINT64_MAX : used + count;
  }
  return used;
}

// `tool "<tool>"<verb>"<agent>"<tail>` in one buffer (written for every refused call).
std::string ToolAgentReason(std::string_view tool, std::string_view verb, std::string_view agent,
                            std::string_view tail = "") {
  std::string reason;
  reason.reserve(tool.size() + verb.size() + agent.size() + tail.size() + 32);
  reason.append("tool ");
  AppendQuoted(&reason, tool);
  reason.append(verb);
  AppendQuoted(&reason, agent);
  reason.append(tail);
  return reason;
}

// tools.allowed["<entry>"]<suffix>, from the id the policy wrote once (PrepareTexts) when the
// entry is the rule's own name. Rule ids name the entry as written: the tool's name, or the
// pattern that matched it.
std::string AllowedRuleId(const ToolRule* rule, std::string_view entry, std::string_view suffix) {
  if (rule == nullptr || rule->rule_id_text.empty() || entry != rule->name) {
    return RuleId("tools.allowed", entry, suffix);
  }
  std::string id;
  id.reserve(rule->rule_id_text.size() + suffix.size());
  id.append(rule->rule_id_text);
  id.append(suffix);
  return id;
}

// The approval gates of an allowed call (autonomy gate_all, the workflow state's permit,
// requires_approval, an irreversible tool): false, with `d` set to approval_required, when
// one applies.
bool CheckApprovalGates(const AgentPolicy& p, const RunState& state, const ToolCall& call,
                        const ToolRule& rule, std::string_view entry, Autonomy autonomy,
                        const policy::WorkflowPermit* permit, Decision* d) {
  if (autonomy == Autonomy::kGateAll) {
    Set(d, Verdict::kApprovalRequired, Code::kApprovalRequired,
        "autonomy is gate_all, so every call of tool " + Quote(call.tool) + " needs human approval",
        rule.autonomy ? AllowedRuleId(&rule, entry, ".autonomy") : std::string("agent.autonomy"),
        AtText(rule.at_text, rule.at));
    return false;
  }
  if (permit != nullptr && permit->requires_approval) {
    Set(d, Verdict::kApprovalRequired, Code::kApprovalRequired,
        "tool " + Quote(call.tool) + " needs human approval in workflow state " +
            Quote(state.workflow_state.empty() ? p.workflow->initial : state.workflow_state),
        permit->rule, permit->at.ToString());
    return false;
  }
  if (rule.requires_approval) {
    if (*rule.requires_approval) {
      Set(d, Verdict::kApprovalRequired, Code::kApprovalRequired,
          "tool " + Quote(call.tool) + " requires human approval",
          AllowedRuleId(&rule, entry, ".requires_approval"), AtText(rule.at_text, rule.at));
      return false;
    }
  } else if (rule.reversible == false) {
    Set(d, Verdict::kApprovalRequired, Code::kApprovalRequired,
        "tool " + Quote(call.tool) + " is irreversible, so it needs human approval",
        AllowedRuleId(&rule, entry, ".reversible"), AtText(rule.at_text, rule.at));
    return false;
  }
  return true;
}

// Everything after the run-level checks, for a known agent.
void EvaluateTool(const AgentPolicy& p, const RunState& state, const ToolCall& call,
                  const EvalContext& ctx, const policy::ToolResolution& res, Evaluation* ev) {
  Decision& d = ev->decision;
  const ToolRule* rule = res.rule;
  if (res.kind == policy::ToolResolution::Kind::kBlocked) {
    std::string reason = ToolAgentReason(call.tool, " is blocked for agent ", p.id);
    if (res.pattern) reason += " (by pattern " + Quote(res.entry) + ")";
    Deny(&d, Code::kToolBlocked, std::move(reason), RuleId("tools.blocked", res.entry),
         res.at->ToString());
    return;
  }
  // Rule ids name the entry as written: the tool's name, or the pattern that matched it.
  const std::string_view entry = res.entry;
  auto allowed_id = [&](std::string_view suffix) { return AllowedRuleId(rule, entry, suffix); };
  if (rule == nullptr) {
    Deny(&d, Code::kToolNotAllowed,
         ToolAgentReason(call.tool, " is not in the allowed list of agent ", p.id,
                         " (default deny)"),
         "default_deny");
    return;
  }
  if (!CheckFreezes(p, call, entry, ctx, &d)) return;
  if (rule->on_behalf_of && !CheckOnBehalfOf(*rule->on_behalf_of, ctx, entry, &d)) return;
  const policy::WorkflowPermit* permit = nullptr;
  if (!internal::CheckWorkflow(p, state, call, &permit, &d)) return;

  d.approval_timeout_seconds = rule->approval_timeout_seconds;
  d.auto_deny_on_timeout = rule->auto_deny_on_timeout;
  d.approvals_required = rule->approvals_required;

  std::string why;
  for (const ArgConstraint& c : rule->constraints) {
    if (!CheckConstraint(c, call.args, ctx.paths, &why)) {
      Deny(&d, Code::kConstraintViolated, std::move(why), c.rule, AtText(c.at_text, c.at));
      return;
    }
  }
  for (const policy::ArgCombination& k : rule->combinations) {
    if (!CheckCombination(k, call.args, &why)) {
      Deny(&d, Code::kConstraintViolated, std::move(why), k.rule, k.at.ToString());
      return;
    }
  }
  if (!CheckScope(*rule, call.args, &why)) {
    Deny(&d, Code::kScopeViolated, std::move(why), allowed_id(".scope"),
         AtText(rule->at_text, rule->at));
    return;
  }
  if (rule->max_records_per_run) {
    const uint64_t max = *rule->max_records_per_run;
    const uint64_t n = ev->effects.records;
    const uint64_t used = RecordsUsed(p, state, call, res);
    if (n > max || used > max - n) {
      Deny(&d, Code::kRecordLimitExceeded,
           "call touches " + std::to_string(n) + " records and the run has already touched " +
               std::to_string(used) + "; max_records_per_run for tool " + Quote(call.tool) +
               " is " + std::to_string(max),
           allowed_id(".constraints.max_records_per_run"), rule->max_records_at.ToString());
      return;
    }
  }
  if (!internal::CheckRateAndQuotas(p, *rule, ctx, &d)) return;
  if (!internal::CheckFlows(p, state, *rule, call, &d)) return;

  const Autonomy autonomy = rule->autonomy.value_or(p.autonomy);
  if (!CheckApprovalGates(p, state, call, *rule, entry, autonomy, permit, &d)) return;

  std::string reason;
  if (call.tool == rule->name && !rule->allowed_reason_text.empty()) {
    reason = rule->allowed_reason_text;  // written once by PrepareTexts
  } else {
    reason.reserve(call.tool.size() + 18);
    reason.append("tool ");
    AppendQuoted(&reason, call.tool);
    reason.append(" is allowed");
  }
  Set(&d, Verdict::kAllow, Code::kAllowed, std::move(reason), allowed_id({}),
      AtText(rule->at_text, rule->at));
  d.credential_scope = rule->credential_scope;
  if (rule->reversible != false && rule->blast_radius == policy::BlastRadius::kLarge &&
      autonomy != Autonomy::kAuditBased) {
    Notification n;
    n.kind = Notification::Kind::kFlagged;
    n.channel = p.execution.notify;
    n.contacts = p.escalation_contacts;
    n.text = "agent " + Quote(p.id) + " called large-blast-radius tool " + Quote(call.tool) +
             " without approval";
    d.notifications.push_back(std::move(n));
  }
}

// A connection of the egress proxy: egress.allow against the host asked for, the port and
// the address actually connected to (policy/egress.h). Malformed arguments are a deny.
void EvaluateEgress(const AgentPolicy& p, const ToolCall& call, Decision* d) {
  const boost::json::value* host = call.args.if_contains("host");
  const boost::json::value* port = call.args.if_contains("port");
  const boost::json::value* address = call.args.if_contains("address");
  std::optional<policy::IpAddress> ip;
  if (address != nullptr && address->is_string()) {
    ip = policy::ParseIpLiteral(std::string_view(address->get_string()));
  }
  // "tunnel": true for CONNECT (a raw tunnel); absent or false: one absolute-form request.
  const boost::json::value* tunnel = call.args.if_contains("tunnel");
  if (host == nullptr || !host->is_string() || port == nullptr || !port->is_int64() ||
      port->get_int64() < 1 || port->get_int64() > 65535 || !ip ||
      (tunnel != nullptr && !tunnel->is_bool())) {
    Deny(d, Code::kInvalidRequest,
         "an egress decision needs host (string), port (1-65535), address (an IP) and "
         "optionally tunnel (true or false)",
         "egress");
    return;
  }
  const policy::EgressMatch m = policy::MatchEgress(p.egress, std::string_view(host->get_string()),
                                                    static_cast<uint16_t>(port->get_int64()), *ip,
                                                    tunnel != nullptr && tunnel->get_bool());
  const std::string at = p.egress_at.ToString();
  if (m.allowed) {
    Set(d, Verdict::kAllow, Code::kAllowed, m.reason, "egress.allow[\"" + m.rule->text + "\"]", at);
  } else {
    Deny(d, Code::kEgressDenied, m.reason, "egress.allow", at);
  }
}

// rehearse: (docs/policy.md#rehearsal) a call the policy lets proceed (allow, or approval) is
// first rehearsed. Without an outcome: REHEARSAL_REQUIRED with what to rehearse; the ask is
// the call's one step (so max_steps bounds how often an agent can ask) and nothing is
// consumed. The real call, decided once the rehearsal is reported (Evaluate: its step was
// spent by the ask), spends none. A failed rehearsal: REHEARSAL_FAILED. A successful one:
// the decision stands and carries the rehearsal's outcome (for the reviewer of an
// approval, and the audit trail).
void ApplyRehearsal(const ToolRule& rule, const ToolCall& call, Evaluation* ev) {
  Decision& d = ev->decision;
  const std::string rule_id = "tools.allowed[" + Quote(rule.name) + "].rehearse";
  if (!call.rehearsal) {
    Rehearsal r;
    r.args = call.args;
    for (const auto& kv : rule.rehearse->args) r.args[kv.key()] = kv.value();
    r.upstream = rule.rehearse->upstream;
    const bool approval = d.verdict == Verdict::kApprovalRequired;
    Set(&d, Verdict::kRehearsalRequired, Code::kRehearsalRequired,
        "tool " + Quote(call.tool) + " must be rehearsed first" +
            (r.upstream.empty() ? std::string(" with dry-run arguments")
                                : " on the staging upstream " + Quote(r.upstream)) +
            (approval ? "; after the rehearsal it needs human approval" : std::string()),
        rule_id, rule.rehearse->at.ToString());
    d.rehearsal = std::move(r);
    d.notifications.clear();  // notified when the real call is decided
    ev->effects.records = 0;
    return;
  }
  Rehearsal r;
  r.reported = true;
  r.call_id = call.rehearsal->call_id;
  r.ok = call.rehearsal->ok;
  r.output = call.rehearsal->output;
  r.error = call.rehearsal->error;
  if (!r.ok) {
    std::string why = r.error.empty() ? std::string("the rehearsal reported an error") : r.error;
    if (why.size() > kMaxRehearsalOutputBytes) {
      why.resize(kMaxRehearsalOutputBytes);
      why += "...";
    }
    Deny(&d, Code::kRehearsalFailed,
         "the rehearsal of tool " + Quote(call.tool) + " (call " + r.call_id + ") failed: " + why,
         rule_id, rule.rehearse->at.ToString());
    d.notifications.clear();
  } else {
    d.reason += "; its rehearsal (call " + r.call_id + ") succeeded";
  }
  d.rehearsal = std::move(r);
}

}  // namespace

Evaluation Evaluate(const policy::AgentPolicy* policy, const RunState& state, const ToolCall& call,
                    const EvalContext& ctx) {
  Evaluation ev;
  Decision& d = ev.decision;
  d.tool = call.tool;
  policy::ToolResolution res;
  if (policy != nullptr) {
    d.agent_id = policy->id;
    // The caller's resolution when it is an exact entry named like this call's tool (so
    // necessarily what Resolve answers); else, and for patterns, resolved here.
    const policy::ToolResolution* given = ctx.resolved;
    res = given != nullptr && given->kind != policy::ToolResolution::Kind::kNone &&
                  !given->pattern && given->entry == call.tool
              ? *given
              : policy->Resolve(call.tool);
  }
  const ToolRule* rule = res.rule;
  // The real call of a rehearsal (its outcome reported, Guard::CompleteRehearsal) spent its
  // one step when the rehearsal was asked for: still one step per call.
  const bool step_spent = call.rehearsal.has_value();
  ev.effects.steps = step_spent ? 0 : 1;
  ev.effects.records = CountRecords(call.args, rule);

  if (!call.refusal_reason.empty()) {
    Deny(&d, Code::kInvalidRequest, call.refusal_reason,
         call.refusal_rule.empty() ? "request" : call.refusal_rule);
    return ev;
  }
  if (ctx.kill) {
    std::string reason = "kill switch (" + ctx.kill->scope + ") is engaged";
    if (!ctx.kill->reason.empty()) reason += ": " + ctx.kill->reason;
    Deny(&d, Code::kKillSwitch, std::move(reason), "kill_switch." + ctx.kill->scope);
    return ev;
  }
  if (policy == nullptr) {
    Deny(&d, Code::kUnknownAgent, "the agent is not defined in any loaded policy", "agents");
    return ev;
  }
  if (state.halted) {
    // Built in one buffer (every call of a halted run is denied with it).
    std::string reason;
    reason.reserve(19 + state.halt_reason.size());
    reason.append("the run is halted");
    if (!state.halt_reason.empty()) reason.append(": ").append(state.halt_reason);
    Deny(&d, Code::kRunHalted, std::move(reason), "run.halted");
  } else if (call.kind == CallKind::kEgress) {
    // A connection is not a step of the run and touches no records: budgets do not apply
    // (a halted run, the kill switch and shadow mode do).
    ev.effects.steps = 0;
    ev.effects.records = 0;
    EvaluateEgress(*policy, call, &d);
  } else if (!CheckBudgets(*policy, state, step_spent, &ev)) {
    EvaluateTool(*policy, state, call, ctx, res, &ev);
    if (rule != nullptr && rule->rehearse && d.verdict != Verdict::kDeny &&
        res.kind == policy::ToolResolution::Kind::kAllowed) {
      ApplyRehearsal(*rule, call, &ev);
    }
  }

  if (d.verdict != Verdict::kAllow && policy->mode == policy::Mode::kShadow) {
    // Kill switch, unknown agent and invalid requests returned above: never shadowed.
    // A rehearsal ask proceeds as the call itself: its records count.
    if (d.verdict == Verdict::kRehearsalRequired)
      ev.effects.records = CountRecords(call.args, rule);
    d.shadow_verdict = d.verdict;
    d.shadow_code = d.code;
    d.reason = std::string("shadow mode: would have ") +
               (d.verdict == Verdict::kDeny                ? "denied"
                : d.verdict == Verdict::kRehearsalRequired ? "required a rehearsal"
                                                           : "required approval") +
               " (" + std::string(CodeName(d.code)) + "): " + d.reason;
    d.verdict = Verdict::kAllow;
    d.code = Code::kAllowed;
  }
  ev.effects.consume_records = d.verdict == Verdict::kAllow && call.kind == CallKind::kTool;
  if (ev.effects.consume_records) ev.effects.sequence = ProceedEffects(policy, state, call);
  if (d.verdict == Verdict::kApprovalRequired && !call.declared_labels.empty() &&
      TakesDeclaredLabels(rule)) {
    d.declared_labels = call.declared_labels;  // added to the run when a reviewer releases it
  }
  return ev;
}

ToolView ViewTool(const policy::AgentPolicy* policy, std::string_view tool) {
  ToolView v;
  if (policy == nullptr) return v;
  const policy::ToolResolution res = policy->Resolve(tool);
  const bool allowed = res.kind == policy::ToolResolution::Kind::kAllowed;
  v.visible = allowed || policy->mode == policy::Mode::kShadow;
  if (v.visible && res.rule != nullptr) v.scope = res.rule->scope;
  return v;
}

uint64_t CountRecords(const boost::json::object& args, const policy::ToolRule* rule) {
  uint64_t longest = 1;
  for (const auto& kv : args) {
    const boost::json::array* a = kv.value().if_array();
    if (a == nullptr) continue;
    if (rule != nullptr && rule->scope && std::string_view(kv.key()) == rule->scope_argument) {
      continue;
    }
    longest = std::max<uint64_t>(longest, a->size());
  }
  return longest;
}

void ApplyEffects(const Effects& effects, std::string_view tool, RunState* state) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  state->steps = effects.steps > kMax - state->steps ? kMax : state->steps + effects.steps;
  if (effects.consume_records) {
    auto it = state->records.find(tool);
    if (it == state->records.end()) it = state->records.emplace(std::string(tool), 0).first;
    it->second = effects.records > kMax - it->second ? kMax : it->second + effects.records;
  }
  if (effects.halt && !state->halted) {
    state->halted = true;
    state->halt_reason = effects.halt_reason;
  }
  if (effects.consume_records) {
    for (const std::string& l : effects.sequence.add_labels) state->labels.insert(l);
    if (effects.sequence.move) ApplyMove(*effects.sequence.move, state);
  }
}

namespace internal {

bool CheckArgument(const ArgConstraint& c, const json::object& args, std::string* why) {
  return CheckConstraint(c, args, nullptr, why);
}
bool JsonValuesEqual(const json::value& a, const json::value& b) { return JsonEqual(a, b); }
std::string QuoteName(std::string_view s) { return Quote(s); }
std::string ShowValue(const json::value& v) { return policy::ShowValue(v); }

std::string FormatUsd(int64_t micros) {
  const bool neg = micros < 0;
  const uint64_t m = neg ? 0 - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  std::string frac = std::to_string(m % 1000000);
  frac.insert(0, 6 - frac.size(), '0');
  while (frac.size() > 2 && frac.back() == '0') frac.pop_back();
  return std::string(neg ? "-$" : "$") + std::to_string(m / 1000000) + "." + frac;
}

}  // namespace internal

}  // namespace interlock::engine
