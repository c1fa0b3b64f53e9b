// Private to src/policy: the policy loader's Parser, shared by the files that hold its
// grammar, one section each (loader.cc: the top level, agent, execution, escalation,
// freeze, trust and the entry points; loader_tools.cc: tools and their constraints;
// loader_sequences.cc: labels, rate limits, quotas, rehearse, egress and flows;
// loader_workflow.cc: workflow; loader_values.cc: the scalar and argument-path helpers).
// Nothing here is part of the module's interface (policy/loader.h is).
//
// The Parser walks one policy document and reports every error it finds as a
// file:line:column Diagnostic; yaml-cpp types never leave src/policy.
#ifndef INTERLOCK_POLICY_LOADER_INTERNAL_H_
#define INTERLOCK_POLICY_LOADER_INTERNAL_H_

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>
#include <boost/json/value.hpp>

#include "policy/loader.h"
#include "policy/policy.h"
#include "policy/workflow.h"

namespace interlock::policy::loader_internal {

// Larger files are refused before parsing: a policy is a page of YAML, not megabytes.
constexpr size_t kMaxPolicyBytes = 1 << 20;
constexpr size_t kMaxAgentIdLength = 128;
// One billion dollars per run, in micro-dollars: far above any sane budget, far below int64.
constexpr int64_t kMaxCostMicros = 1'000'000'000LL * 1'000'000LL;
// About 31 years in milliseconds; keeps deadline arithmetic far from int64 overflow.
constexpr int64_t kMaxWallClockMs = 1'000'000'000LL * 1'000LL;
constexpr uint64_t kSecondsPerDay = 86400;
constexpr int kMaxRehearseArgsDepth = 16;

constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";

enum class Kind { kNull, kBool, kInt, kFloat, kString, kList, kMap };

const char* KindName(Kind k);
bool AllDigits(std::string_view s, int base);
// YAML 1.2 core schema: [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+
bool IsCoreInt(std::string_view s);
bool IsCoreSpecialFloat(std::string_view s);
// YAML 1.2 core schema: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? or inf/nan.
bool IsCoreFloat(std::string_view s);
bool IsCoreBool(std::string_view s, bool* value);
// Parses a core-schema integer. Returns false on overflow of uint64 magnitude.
bool ParseCoreInt(std::string_view s, bool* negative, uint64_t* magnitude);
// Exact decimal -> fixed point: "2.00" at scale 6 is 2000000. Returns an error phrase or "".
std::string ParseFixed(std::string_view s, int scale, int64_t max, int64_t* out);
// "allowed_statuses" -> "status"; nullopt when no rule applies.
std::optional<std::string> Singularize(std::string_view plural);
std::string Closest(std::string_view key, std::initializer_list<std::string_view> known);
// A display/rule form of a name: "name" with quotes and backslashes escaped.
std::string Quote(std::string_view s);
bool HasControl(std::string_view s);

// An argument path parsed from a key under constraints.arguments (docs/policy.md,
// "Argument paths"). `normalised` is the canonical spelling, used to find duplicates.
struct ParsedArgPath {
  std::string argument;
  std::vector<ArgPathStep> steps;
  std::string normalised;
};

std::string RenderArgPath(std::string_view argument, const std::vector<ArgPathStep>& steps);
bool IsBracketOnly(char c);
// A key without '.' or '[' is a top-level argument, whatever else it contains.
std::optional<ParsedArgPath> ParseArgPath(std::string_view s, std::string* why);
bool ValidAgentId(std::string_view id);

// A key (or list item) and the value it introduces.
struct Field {
  std::string key;
  std::string path;  // canonical path for messages, e.g. tools.allowed["x"].scope
  YAML::Mark key_mark;
  YAML::Node value;
};

// The entries of one mapping, in document order (duplicates already rejected).
struct Fields {
  std::vector<Field> items;
  const Field* Get(std::string_view key) const {
    for (const Field& f : items) {
      if (f.key == key) return &f;
    }
    return nullptr;
  }
};

// `item`, an entry of the mapping at `parent_path`, with its own path (PARENT.KEY) for
// messages.
inline Field Member(const std::string& parent_path, const Field& item) {
  Field g = item;
  g.path = parent_path + "." + item.key;
  return g;
}

// Moves a parsed value into *into; false when there is none (its parser reported why).
template <typename T>
bool Keep(std::optional<T> v, T* into) {
  if (!v) return false;
  *into = std::move(*v);
  return true;
}

// Each of `items` parsed by `parse` (an optional: none when it did not parse, its parser
// having reported why) and appended to *out; false when any did not parse.
template <typename T, typename Parse>
bool ParseEach(const std::vector<Field>& items, Parse parse, std::vector<T>* out) {
  bool ok = true;
  for (const Field& e : items) {
    if (auto v = parse(e)) {
      out->push_back(std::move(*v));
    } else {
      ok = false;
    }
  }
  return ok;
}

std::string LineCol(const Location& at);
std::string Describe(const std::string& path);

class Parser {
 public:
  Parser(std::string_view file, std::vector<Diagnostic>* out, const LoadOptions& options)
      : file_(file), out_(out), options_(options) {}

  int errors() const { return errors_; }
  // Whether the document used ${workspace} (a value, a command's working directory).
  bool used_workspace() const { return workspace_checked_; }

  Location Loc(const YAML::Mark& m) const {
    if (m.is_null() || m.line < 0) return {file_, 0, 0};
    return {file_, m.line + 1, m.column + 1};
  }

  void Error(const YAML::Mark& m, std::string id, std::string message) {
    ++errors_;
    out_->push_back({Diagnostic::Severity::kError, Loc(m), std::move(id), std::move(message)});
  }

  std::shared_ptr<AgentPolicy> Parse(std::string_view text);

 private:
  // Null values have no useful mark of their own: point at their key.
  YAML::Mark Mark(const Field& f) const {
    if (!f.value.IsDefined() || f.value.IsNull() || f.value.Mark().is_null()) return f.key_mark;
    return f.value.Mark();
  }

  std::optional<Kind> KindOf(const Field& f) {
    const YAML::Node& n = f.value;
    if (!n.IsDefined() || n.IsNull()) return Kind::kNull;
    if (n.IsSequence()) return Kind::kList;
    if (n.IsMap()) return Kind::kMap;
    const std::string& tag = n.Tag();
    if (tag == "!" || tag == kStrTag) return Kind::kString;
    if (tag != "?") {
      Error(Mark(f), "unsupported-tag",
            Describe(f.path) + ": unsupported YAML tag '" + tag + "'; remove the tag");
      return std::nullopt;
    }
    const std::string& s = n.Scalar();
    bool b;
    if (IsCoreBool(s, &b)) return Kind::kBool;
    if (IsCoreInt(s)) return Kind::kInt;
    if (IsCoreFloat(s)) return Kind::kFloat;
    return Kind::kString;
  }

  void WrongType(const Field& f, Kind got, std::string_view expected, std::string_view hint = {}) {
    std::string msg =
        Describe(f.path) + ": expected " + std::string(expected) + ", got " + KindName(got);
    if (f.value.IsScalar()) msg += " '" + f.value.Scalar() + "'";
    if (!hint.empty()) msg += " (" + std::string(hint) + ")";
    Error(Mark(f), "wrong-type", std::move(msg));
  }

  // Checks f is a mapping with string keys, no duplicates and (unless `any_key`) only
  // `known` keys, or keys starting with `prefix` when that is non-empty.
  std::optional<Fields> Map(const Field& f, std::initializer_list<std::string_view> known,
                            bool any_key = false, std::string_view prefix = {}) {
    auto kind = KindOf(f);
    if (!kind) return std::nullopt;
    if (*kind != Kind::kMap) {
      WrongType(f, *kind, "a mapping");
      return std::nullopt;
    }
    Fields fields;  // no key twice: ReadYaml refused the file otherwise
    for (auto it = f.value.begin(); it != f.value.end(); ++it) {
      // Copies, not references: the iterator's pair is a temporary proxy.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      const YAML::Mark km = key.Mark();
      if (!key.IsScalar()) {
        Error(km.is_null() ? Mark(f) : km, "wrong-type",
              Describe(f.path) + ": mapping keys must be strings");
        continue;
      }
      const std::string name = key.Scalar();
      std::string path = f.path.empty() ? name : f.path + "." + name;
      const bool is_known =
          any_key || std::find(known.begin(), known.end(), name) != known.end() ||
          (!prefix.empty() && name.size() > prefix.size() && name.rfind(prefix, 0) == 0);
      if (!is_known) {
        std::string msg = "unknown key '" + name + "' in " + Describe(f.path);
        if (std::string best = Closest(name, known); !best.empty()) {
          msg += "; did you mean " + best + "?";
        } else {
          msg += "; known keys:";
          for (std::string_view k : known) {
            msg += (k == *known.begin() ? " " : ", ") + std::string(k);
          }
        }
        // An error, never a skip: a typo must not silently weaken a policy. The known
        // keys are still checked so every error in the file is reported at once.
        Error(km, "unknown-key", std::move(msg));
        continue;
      }
      fields.items.push_back({name, std::move(path), km, value});
    }
    return fields;
  }

  std::optional<std::vector<Field>> List(const Field& f) {
    auto kind = KindOf(f);
    if (!kind) return std::nullopt;
    if (*kind != Kind::kList) {
      WrongType(f, *kind, "a list");
      return std::nullopt;
    }
    std::vector<Field> items;
    size_t i = 0;
    for (const YAML::Node& e : f.value) {
      items.push_back({f.key, f.path + "[" + std::to_string(i++) + "]",
                       e.Mark().is_null() ? Mark(f) : e.Mark(), e});
    }
    return items;
  }

  std::optional<std::string> String(const Field& f) {
    auto kind = KindOf(f);
    if (!kind) return std::nullopt;
    if (*kind != Kind::kString) {
      WrongType(f, *kind, "a string", *kind == Kind::kNull ? "" : "quote it to make it a string");
      return std::nullopt;
    }
    return f.value.Scalar();
  }

  // A non-empty string without control characters (tool, argument and contact names).
  std::optional<std::string> Name(const Field& f) {
    auto s = String(f);
    if (!s) return std::nullopt;
    if (s->empty()) {
      Error(Mark(f), "invalid-value", Describe(f.path) + ": must not be empty");
      return std::nullopt;
    }
    if (HasControl(*s)) {
      Error(Mark(f), "invalid-value", Describe(f.path) + ": must not contain control characters");
      return std::nullopt;
    }
    return s;
  }

  // A tool name or a tool-name pattern (`*` matches any run of bytes). `**` is refused:
  // it means the same as `*`, and one spelling per pattern keeps duplicates detectable.
  std::optional<std::string> ToolName(const Field& f) {
    auto s = Name(f);
    if (!s) return std::nullopt;
    if (s->find("**") != std::string::npos) {
      Error(
          Mark(f), "invalid-value",
          Describe(f.path) + ": `**` in a tool-name pattern means the same as `*`; write one `*`");
      return std::nullopt;
    }
    return s;
  }

  std::optional<bool> Bool(const Field& f) {
    auto kind = KindOf(f);
    if (!kind) return std::nullopt;
    bool b = false;
    if (*kind != Kind::kBool || !IsCoreBool(f.value.Scalar(), &b)) {
      WrongType(f, *kind, "true or false", "YAML 1.2 booleans are only true and false");
      return std::nullopt;
    }
    return b;
  }

  // An integer in [lo, hi] (both within int64, or hi up to uint64 via Unsigned()).
  std::optional<uint64_t> IntegerMagnitude(const Field& f, bool* negative) {
    auto kind = KindOf(f);
    if (!kind) return std::nullopt;
    if (*kind != Kind::kInt) {
      WrongType(f, *kind, "an integer");
      return std::nullopt;
    }
    uint64_t magnitude = 0;
    if (!ParseCoreInt(f.value.Scalar(), negative, &magnitude)) {
      Error(Mark(f), "invalid-value",
            Describe(f.path) + ": integer '" + f.value.Scalar() + "' is out of range");
      return std::nullopt;
    }
    return magnitude;
  }

  std::optional<uint64_t> Unsigned(const Field& f, uint64_t lo,
                                   uint64_t hi = std::numeric_limits<uint64_t>::max()) {
    bool negative = false;
    auto m = IntegerMagnitude(f, &negative);
    if (!m) return std::nullopt;
    if ((negative && *m != 0) || *m < lo || *m > hi) {
      std::string range =
          hi == std::numeric_limits<uint64_t>::max()
              ? "must be >= " + std::to_string(lo)
              : "must be between " + std::to_string(lo) + " and " + std::to_string(hi);
      Error(Mark(f), "invalid-value",
            Describe(f.path) + ": " + range + ", got " + f.value.Scalar());
      return std::nullopt;
    }
    return *m;
  }

  // The kind of a number field, an int or a float (its value not yet checked); anything
  // else is a wrong-type error.
  std::optional<Kind> NumberKind(const Field& f) {
    auto kind = KindOf(f);
    if (!kind) return std::nullopt;
    if (*kind != Kind::kInt && *kind != Kind::kFloat) {
      WrongType(f, *kind, "a number");
      return std::nullopt;
    }
    return kind;
  }

  // An int or float, finite.
  std::optional<double> Number(const Field& f) {
    auto kind = NumberKind(f);
    if (!kind) return std::nullopt;
    const std::string& s = f.value.Scalar();
    double d;
    if (*kind == Kind::kInt) {
      bool negative = false;
      uint64_t m = 0;
      if (!ParseCoreInt(s, &negative, &m)) {
        Error(Mark(f), "invalid-value", Describe(f.path) + ": number '" + s + "' is out of range");
        return std::nullopt;
      }
      d = negative ? -static_cast<double>(m) : static_cast<double>(m);
    } else {
      if (IsCoreSpecialFloat(s)) {
        Error(Mark(f), "invalid-value", Describe(f.path) + ": must be a finite number");
        return std::nullopt;
      }
      d = std::strtod(s.c_str(), nullptr);
      if (!std::isfinite(d)) {
        Error(Mark(f), "invalid-value", Describe(f.path) + ": number '" + s + "' is out of range");
        return std::nullopt;
      }
    }
    return d;
  }

  // A non-negative decimal, exactly, in units of 10^-scale.
  std::optional<int64_t> Fixed(const Field& f, int scale, int64_t max) {
    if (!NumberKind(f)) return std::nullopt;
    const std::string& s = f.value.Scalar();
    if (IsCoreSpecialFloat(s) || s.rfind("0x", 0) == 0 || s.rfind("0o", 0) == 0) {
      Error(Mark(f), "invalid-value",
            Describe(f.path) + ": must be a finite decimal number, got " + s);
      return std::nullopt;
    }
    int64_t v = 0;
    if (std::string why = ParseFixed(s, scale, max, &v); !why.empty()) {
      Error(Mark(f), "invalid-value", Describe(f.path) + ": " + s + " " + why);
      return std::nullopt;
    }
    return v;
  }

  template <typename E>
  std::optional<E> Enum(const Field& f, std::initializer_list<std::string_view> names,
                        std::initializer_list<E> values) {
    auto s = String(f);
    if (!s) return std::nullopt;
    auto n = names.begin();
    auto v = values.begin();
    for (; n != names.end(); ++n, ++v) {
      if (*n == *s) return *v;
    }
    std::string msg = Describe(f.path) + ": '" + *s + "' is not one of:";
    for (std::string_view k : names) msg += (k == *names.begin() ? " " : ", ") + std::string(k);
    if (std::string best = Closest(*s, names); !best.empty()) msg += "; did you mean " + best + "?";
    Error(Mark(f), "invalid-value", std::move(msg));
    return std::nullopt;
  }

  std::optional<std::vector<std::string>> NameList(const Field& f) {
    auto items = List(f);
    if (!items) return std::nullopt;
    std::vector<std::string> out;
    bool ok = true;
    for (const Field& e : *items) {
      if (auto s = Name(e)) {
        out.push_back(std::move(*s));
      } else {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }

  std::optional<boost::json::value> JsonScalar(const Field& f) {
    auto kind = KindOf(f);
    if (!kind) return std::nullopt;
    const std::string& s = f.value.IsScalar() ? f.value.Scalar() : std::string();
    switch (*kind) {
      case Kind::kString:
        return boost::json::value(boost::json::string(s));
      case Kind::kBool: {
        bool b = false;
        IsCoreBool(s, &b);
        return boost::json::value(b);
      }
      case Kind::kInt: {
        bool negative = false;
        uint64_t m = 0;
        if (!ParseCoreInt(s, &negative, &m) ||
            (negative && m > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1)) {
          Error(Mark(f), "invalid-value",
                Describe(f.path) + ": integer '" + s + "' is out of range");
          return std::nullopt;
        }
        if (!negative) {
          if (m <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            return boost::json::value(static_cast<int64_t>(m));
          }
          return boost::json::value(m);
        }
        return boost::json::value(static_cast<int64_t>(0 - m));
      }
      case Kind::kFloat: {
        auto d = Number(f);
        if (!d) return std::nullopt;
        return boost::json::value(*d);
      }
      default:
        WrongType(f, *kind, "a string, number or boolean");
        return std::nullopt;
    }
  }

  void ParseAgent(const Field& f, AgentPolicy* p, std::optional<Field>* tools,
                  std::optional<Field>* execution);
  void ParseTools(const Field& f, AgentPolicy* p);
  std::optional<ToolRule> ParseToolRule(const Field& f);
  void ParseConstraints(const Field& f, const std::string& tool_path, ToolRule* rule);
  std::optional<ArgConstraint> ParseArgument(const Field& f, const std::string& rule_id,
                                             const ParsedArgPath& path);
  void ParseCombinations(const Field& f, const std::string& base, ToolRule* rule);
  std::shared_ptr<const ShellMatcher> ParseShell(const Field& f);
  std::shared_ptr<const UrlMatcher> ParseUrl(const Field& f);
  std::optional<UrlRule> ParseUrlRule(const Field& f);
  std::optional<std::string> Workspace(const Field& f);
  // How a variable's value is inserted: as is, RE2-quoted (inside a regular expression),
  // or shell-quoted (inside a command pattern, so a workspace with spaces stays one word).
  enum class VarQuote { kNone, kRegex, kShell };
  std::optional<std::string> Vars(const Field& f, const std::string& s, VarQuote quote);
  std::optional<boost::json::value> ConstraintScalar(const Field& f);
  std::optional<std::string> ConstraintString(const Field& f, VarQuote quote = VarQuote::kNone);
  std::optional<std::string> AbsolutePrefix(const Field& f, std::string_view what);
  std::shared_ptr<const re2::RE2> Regex(const Field& f, bool partial);
  void ParseExecution(const Field& f, Execution* e);
  void ParseEscalation(const Field& f, AgentPolicy* p);
  void ParseFreezes(const Field& f, AgentPolicy* p);
  void ParseTrust(const Field& f, AgentPolicy* p);
  void ParseWorkspaceRoots(const Field& f, AgentPolicy* p);
  // Sequences (issue 15): workflow, labels and flows, rate limits and quotas.
  std::optional<std::vector<std::string>> Labels(const Field& f);
  std::optional<RateLimit> ParseRateLimit(const Field& f);
  std::optional<ToolRule::Rehearse> ParseRehearse(const Field& f);
  std::optional<OnBehalfOfRule> ParseOnBehalfOf(const Field& f);
  std::optional<std::vector<std::string>> ParseCredentialScope(const Field& f);
  // Any YAML value as JSON (mappings, lists and scalars, to `depth` levels), for values
  // the policy passes on verbatim (rehearse.args).
  std::optional<boost::json::value> JsonValue(const Field& f, int depth);
  void ParseQuotas(const Field& f, AgentPolicy* p);
  void ParseEgress(const Field& f, AgentPolicy* p);  // issue 16: egress.allow
  void ParseFlows(const Field& f, AgentPolicy* p);
  void ParseWorkflow(const Field& f, AgentPolicy* p);
  std::optional<WorkflowState> ParseWorkflowState(const Field& f, const std::string& name);
  // `require:` and `remember:`: a mapping of names to names (a key that is empty or has
  // control bytes is an error naming `key_what`); `add` gets each (key, value) in order.
  // False on any error (each reported with its file:line:column).
  bool NamePairs(const Field& f, std::string_view key_what,
                 const std::function<void(std::string, std::string)>& add);
  // NamePairs appending each (key, value) to `out` as a {key, value} aggregate.
  template <typename Pair>
  bool NamePairsInto(const Field& f, std::string_view key_what, std::vector<Pair>* out) {
    return NamePairs(f, key_what, [out](std::string key, std::string value) {
      out->push_back({std::move(key), std::move(value)});
    });
  }
  std::optional<WorkflowPermit> ParsePermit(const Field& f);
  std::optional<WorkflowTransition> ParseTransition(const Field& f);
  bool ParseConditions(const Field& f, const std::string& rule_id, std::vector<ArgConstraint>* out);
  void CheckWorkflow(const Workflow& w, const AgentPolicy& p);

  std::string file_;
  std::vector<Diagnostic>* out_;
  const LoadOptions& options_;
  int errors_ = 0;
  bool workspace_checked_ = false;
  std::optional<std::string> workspace_;  // absolute, normalised, never "/"
  std::string workspace_error_;
  // Regex(): each pattern text compiled once per file (an RE2 is immutable; a policy
  // repeats its patterns, e.g. "(^|/)\\.git(/|$)" under every writing tool).
  std::map<std::string, std::shared_ptr<const re2::RE2>, std::less<>> regexes_;
};

}  // namespace interlock::policy::loader_internal

#endif  // INTERLOCK_POLICY_LOADER_INTERNAL_H_
