// YAML -> AgentPolicy. The text is read by the strict reader (policy/yaml_reader.h: one
// document, no key twice in a mapping); every yaml-cpp exception is caught here and
// turned into a located diagnostic.
//
// yaml-cpp 0.7 resolves nothing for us that we trust: it accepts "yes" as a bool. So
// scalars are resolved here by the YAML 1.2 core schema (plain scalars) or as strings
// (quoted scalars, tag "!"), and every mapping is walked entry by entry to catch unknown
// keys.
#include "policy/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <re2/re2.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "common/crypto.h"
#include "common/env_name.h"
#include "common/path.h"
#include "common/spelling.h"
#include "common/time.h"
#include "policy/workflow.h"
#include "policy/yaml_reader.h"

namespace interlock::policy {

std::string Diagnostic::ToString() const {
  const char* sev = severity == Severity::kError     ? "error"
                    : severity == Severity::kWarning ? "warning"
                                                     : "info";
  std::string where = at.ToString();
  std::string out = where.empty() ? std::string() : where + ": ";
  out += sev;
  out += ": ";
  out += message;
  out += " [" + id + "]";
  return out;
}

void AppendArgPathField(std::string* out, std::string_view field, bool first) {
  const bool plain = !field.empty() && std::none_of(field.begin(), field.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f || c == '.' || c == '[' || c == ']' || c == '*' || c == '"' ||
           c == '\'' || c == ' ';
  });
  if (plain) {
    if (!first) out->push_back('.');
    out->append(field);
    return;
  }
  out->push_back('[');
  out->append(boost::json::serialize(boost::json::string_view(field.data(), field.size())));
  out->push_back(']');
}

namespace {

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

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kNull:
      return "null";
    case Kind::kBool:
      return "a boolean";
    case Kind::kInt:
      return "an integer";
    case Kind::kFloat:
      return "a number";
    case Kind::kString:
      return "a string";
    case Kind::kList:
      return "a list";
    case Kind::kMap:
      return "a mapping";
  }
  return "a value";
}

bool AllDigits(std::string_view s, int base) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = base == 8    ? (c >= '0' && c <= '7')
                    : base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0
                                 : (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// YAML 1.2 core schema: [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+
bool IsCoreInt(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o') return AllDigits(s.substr(2), 8);
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x') return AllDigits(s.substr(2), 16);
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return AllDigits(s, 10);
}

bool IsCoreSpecialFloat(std::string_view s) {
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return true;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return s == ".inf" || s == ".Inf" || s == ".INF";
}

// YAML 1.2 core schema: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? or inf/nan.
bool IsCoreFloat(std::string_view s) {
  if (IsCoreSpecialFloat(s)) return true;
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

bool IsCoreBool(std::string_view s, bool* value) {
  if (s == "true" || s == "True" || s == "TRUE") return *value = true, true;
  if (s == "false" || s == "False" || s == "FALSE") return *value = false, true;
  return false;
}

// Parses a core-schema integer. Returns false on overflow of uint64 magnitude.
bool ParseCoreInt(std::string_view s, bool* negative, uint64_t* magnitude) {
  int base = 10;
  *negative = false;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
    base = s[1] == 'o' ? 8 : 16;
    s.remove_prefix(2);
  } else if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    *negative = s[0] == '-';
    s.remove_prefix(1);
  }
  uint64_t v = 0;
  for (char c : s) {
    uint64_t d =
        std::isdigit(static_cast<unsigned char>(c))
            ? static_cast<uint64_t>(c - '0')
            : static_cast<uint64_t>(std::tolower(static_cast<unsigned char>(c)) - 'a' + 10);
    if (v > (std::numeric_limits<uint64_t>::max() - d) / static_cast<uint64_t>(base)) return false;
    v = v * static_cast<uint64_t>(base) + d;
  }
  *magnitude = v;
  return true;
}

// Exact decimal -> fixed point: "2.00" at scale 6 is 2000000. Returns an error phrase or "".
std::string ParseFixed(std::string_view s, int scale, int64_t max, int64_t* out) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  std::string digits;
  int64_t exponent = 0;
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) digits += s[i++];
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      digits += s[i++];
      --exponent;
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) exp_negative = s[i++] == '-';
    int64_t e = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      e = std::min<int64_t>(e * 10 + (s[i++] - '0'), 100000);
    }
    exponent += exp_negative ? -e : e;
  }
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) {
    *out = 0;
    return {};
  }
  digits.erase(0, first);
  if (negative) return "must be >= 0";
  int64_t shift = exponent + scale;
  if (shift < 0) {
    const size_t drop = static_cast<size_t>(-shift);
    if (drop >= digits.size() ||
        digits.find_first_not_of('0', digits.size() - drop) != std::string::npos) {
      return "has more decimal places than supported (" + std::to_string(scale) + ")";
    }
    digits.resize(digits.size() - drop);
    shift = 0;
  }
  if (static_cast<int64_t>(digits.size()) + shift > 19) return "is too large";
  int64_t v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  for (int64_t k = 0; k < shift; ++k) {
    if (v > std::numeric_limits<int64_t>::max() / 10) return "is too large";
    v *= 10;
  }
  if (v > max) return "is too large";
  *out = v;
  return {};
}

// "allowed_statuses" -> "status"; nullopt when no rule applies.
std::optional<std::string> Singularize(std::string_view plural) {
  auto ends = [&](std::string_view suffix) {
    return plural.size() > suffix.size() && plural.substr(plural.size() - suffix.size()) == suffix;
  };
  if (ends("ies")) return std::string(plural.substr(0, plural.size() - 3)) + "y";
  for (std::string_view suffix : {"sses", "shes", "ches", "xes", "zes", "ses"}) {
    if (ends(suffix)) return std::string(plural.substr(0, plural.size() - 2));
  }
  if (ends("s")) return std::string(plural.substr(0, plural.size() - 1));
  return std::nullopt;
}

std::string Closest(std::string_view key, std::initializer_list<std::string_view> known) {
  return NearestName(key, known);
}

// A display/rule form of a name: "name" with quotes and backslashes escaped.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// An argument path parsed from a key under constraints.arguments (docs/policy.md,
// "Argument paths"). `normalised` is the canonical spelling, used to find duplicates.
struct ParsedArgPath {
  std::string argument;
  std::vector<ArgPathStep> steps;
  std::string normalised;
};

std::string RenderArgPath(std::string_view argument, const std::vector<ArgPathStep>& steps) {
  std::string out;
  AppendArgPathField(&out, argument, true);
  for (const ArgPathStep& st : steps) {
    if (st.kind == ArgPathStep::Kind::kEach) {
      out += "[*]";
    } else {
      AppendArgPathField(&out, st.field, false);
    }
  }
  return out;
}

bool IsBracketOnly(char c) { return c == ']' || c == '*' || c == '"' || c == '\'' || c == ' '; }

// A key without '.' or '[' is a top-level argument, whatever else it contains.
std::optional<ParsedArgPath> ParseArgPath(std::string_view s, std::string* why) {
  ParsedArgPath out;
  if (s.find_first_of(".[") == std::string_view::npos) {
    out.argument = std::string(s);
    out.normalised = RenderArgPath(out.argument, out.steps);
    return out;
  }
  auto fail = [&](size_t at, const std::string& msg) -> std::optional<ParsedArgPath> {
    *why = "invalid argument path '" + std::string(s) + "' at character " + std::to_string(at + 1) +
           ": " + msg;
    return std::nullopt;
  };
  bool first = true;
  auto add_field = [&](std::string key) {
    if (first) {
      out.argument = std::move(key);
    } else {
      out.steps.push_back({ArgPathStep::Kind::kField, std::move(key)});
    }
    first = false;
  };
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '[') {
      if (s.compare(i, 3, "[*]") == 0) {
        if (first) return fail(i, "a path starts with an argument name, not [*]");
        out.steps.push_back({ArgPathStep::Kind::kEach, {}});
        i += 3;
        continue;
      }
      if (i + 1 < s.size() && s[i + 1] == '"') {
        size_t j = i + 2;
        while (j < s.size() && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
        if (j >= s.size()) return fail(i, "unterminated [\"key\"]");
        boost::system::error_code ec;
        boost::json::value v = boost::json::parse(s.substr(i + 1, j - i), ec);
        if (ec || !v.is_string()) return fail(i + 1, "the key in [\"key\"] is not a JSON string");
        if (j + 1 >= s.size() || s[j + 1] != ']') return fail(j + 1, "expected ] after the key");
        if (v.get_string().empty()) return fail(i, "empty key");
        add_field(std::string(v.get_string()));
        i = j + 2;
        continue;
      }
      if (i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '9') {
        return fail(i, "array indexes are not supported; use [*] (every item)");
      }
      return fail(i, "expected [*] or [\"key\"]");
    }
    if (s[i] == '.') {
      if (first) return fail(i, "a path starts with an argument name, not '.'");
      ++i;
    } else if (!first) {
      return fail(i, "expected '.', [*] or [\"key\"]");
    }
    size_t j = i;
    while (j < s.size() && s[j] != '.' && s[j] != '[') {
      if (IsBracketOnly(s[j])) {
        return fail(j, std::string("a key with '") + s[j] + "' must be written [\"key\"]");
      }
      ++j;
    }
    if (j == i) return fail(i, "empty key");
    add_field(std::string(s.substr(i, j - i)));
    i = j;
  }
  out.normalised = RenderArgPath(out.argument, out.steps);
  return out;
}

bool ValidAgentId(std::string_view id) {
  if (id.empty() || id.size() > kMaxAgentIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

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

std::string LineCol(const Location& at) {
  return "line " + std::to_string(at.line) + ", column " + std::to_string(at.column);
}

std::string Describe(const std::string& path) { return path.empty() ? "the document" : path; }

class Parser {
 public:
  Parser(std::string_view file, std::vector<Diagnostic>* out, const LoadOptions& options)
      : file_(file), out_(out), options_(options) {}

  int errors() const { return errors_; }

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

  // An int or float, finite.
  std::optional<double> Number(const Field& f) {
    auto kind = KindOf(f);
    if (!kind) return std::nullopt;
    if (*kind != Kind::kInt && *kind != Kind::kFloat) {
      WrongType(f, *kind, "a number");
      return std::nullopt;
    }
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
    auto kind = KindOf(f);
    if (!kind) return std::nullopt;
    if (*kind != Kind::kInt && *kind != Kind::kFloat) {
      WrongType(f, *kind, "a number");
      return std::nullopt;
    }
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
};

std::shared_ptr<AgentPolicy> Parser::Parse(std::string_view text) {
  auto p = std::make_shared<AgentPolicy>();
  if (text.size() > kMaxPolicyBytes) {
    Error(YAML::Mark::null_mark(), "file-too-large",
          "policy file is " + std::to_string(text.size()) + " bytes; the limit is " +
              std::to_string(kMaxPolicyBytes));
    return p;
  }
  YamlDocument doc = ReadYaml(text);
  for (const YamlProblem& problem : doc.problems) {
    static constexpr const char* kIds[] = {"yaml-syntax", "multiple-documents", "duplicate-key"};
    std::string message = problem.message;
    if (problem.kind == YamlProblem::Kind::kMultipleDocuments) {
      message += "; put one agent policy per file";
    }
    ++errors_;
    out_->push_back({Diagnostic::Severity::kError,
                     {file_, problem.line, problem.column},
                     kIds[static_cast<int>(problem.kind)],
                     std::move(message)});
  }
  if (!doc.problems.empty()) return p;
  const YAML::Node& root = doc.root;
  if (doc.documents == 0 || root.IsNull()) {
    Error(doc.documents == 0 ? YAML::Mark() : root.Mark(), "empty-policy",
          "the policy file is empty; it needs at least agent.id and tools");
    return p;
  }
  try {
    Field rootf{"", "", root.Mark(), root};
    auto top = Map(rootf, {"agent", "tools", "execution", "escalation", "freeze", "trust",
                           "workflow", "flows", "quotas", "egress"});
    if (!top) return p;
    std::optional<Field> nested_tools, nested_execution;
    if (const Field* agent = top->Get("agent")) {
      ParseAgent(*agent, p.get(), &nested_tools, &nested_execution);
    } else {
      Error(root.Mark(), "missing-key", "missing required key 'agent' (with agent.id)");
    }
    const Field* tools = top->Get("tools");
    if (tools && nested_tools) {
      Error(nested_tools->key_mark, "conflicting-layout",
            "'tools' is written both at the top level (line " +
                std::to_string(tools->key_mark.line + 1) + ") and under 'agent'; keep only one");
    } else if (tools || nested_tools) {
      ParseTools(tools ? *tools : *nested_tools, p.get());
    } else {
      Error(root.Mark(), "missing-key",
            "missing required key 'tools' (tools.allowed and tools.blocked)");
    }
    const Field* execution = top->Get("execution");
    if (execution && nested_execution) {
      Error(nested_execution->key_mark, "conflicting-layout",
            "'execution' is written both at the top level (line " +
                std::to_string(execution->key_mark.line + 1) +
                ") and under 'agent'; keep only one");
    } else if (execution || nested_execution) {
      ParseExecution(execution ? *execution : *nested_execution, &p->execution);
    }
    if (const Field* f = top->Get("escalation")) ParseEscalation(*f, p.get());
    if (const Field* f = top->Get("freeze")) ParseFreezes(*f, p.get());
    if (const Field* f = top->Get("trust")) ParseTrust(*f, p.get());
    if (const Field* f = top->Get("quotas")) ParseQuotas(*f, p.get());
    if (const Field* f = top->Get("flows")) ParseFlows(*f, p.get());
    if (const Field* f = top->Get("workflow")) ParseWorkflow(*f, p.get());
    if (const Field* f = top->Get("egress")) ParseEgress(*f, p.get());
  } catch (const YAML::Exception& e) {
    Error(e.mark, "yaml-syntax", "invalid YAML: " + e.msg);
  }
  return p;
}

void Parser::ParseAgent(const Field& f, AgentPolicy* p, std::optional<Field>* tools,
                        std::optional<Field>* execution) {
  p->at = Loc(f.key_mark);
  auto m = Map(f, {"id", "identity", "mode", "autonomy", "tools", "execution"});
  if (!m) return;
  if (const Field* id = m->Get("id")) {
    p->id_at = Loc(id->key_mark);
    if (auto s = String(*id)) {
      if (!ValidAgentId(*s)) {
        Error(Mark(*id), "invalid-value",
              "agent.id '" + *s + "' must be 1 to " + std::to_string(kMaxAgentIdLength) +
                  " characters of A-Z a-z 0-9 . _ -");
      } else {
        p->id = *s;
      }
    }
  } else {
    Error(f.key_mark, "missing-key", "missing required key agent.id");
  }
  if (const Field* identity = m->Get("identity")) {
    p->identity_at = Loc(identity->key_mark);
    if (auto s = String(*identity)) {
      if (HasControl(*s)) {
        Error(Mark(*identity), "invalid-value",
              "agent.identity must not contain control characters");
      } else {
        p->identity = *s;
      }
    }
  }
  if (const Field* mode = m->Get("mode")) {
    if (auto v = Enum(*mode, {"enforce", "shadow"}, {Mode::kEnforce, Mode::kShadow})) {
      p->mode = *v;
      p->mode_at = Loc(mode->key_mark);
    }
  }
  if (const Field* a = m->Get("autonomy")) {
    if (auto v = Enum(*a, {"gate_all", "exception_based", "audit_based"},
                      {Autonomy::kGateAll, Autonomy::kExceptionBased, Autonomy::kAuditBased})) {
      p->autonomy = *v;
    }
  }
  // The seed flattens tools/execution under agent; accept it with canonical paths.
  if (const Field* t = m->Get("tools")) *tools = Field{t->key, "tools", t->key_mark, t->value};
  if (const Field* e = m->Get("execution")) {
    *execution = Field{e->key, "execution", e->key_mark, e->value};
  }
}

void Parser::ParseTools(const Field& f, AgentPolicy* p) {
  p->tools_at = Loc(f.key_mark);
  auto m = Map(f, {"allowed", "blocked"});
  if (!m) return;
  if (const Field* allowed = m->Get("allowed")) {
    if (auto items = List(*allowed)) {
      for (const Field& item : *items) {
        auto rule = ParseToolRule(item);
        if (!rule) continue;
        // Entries as written (names or patterns); AgentPolicy::Resolve decides calls.
        std::string name = rule->name;
        auto [it, fresh] = p->allowed.try_emplace(std::move(name), std::move(*rule));
        if (!fresh) {
          Error(item.key_mark, "duplicate-tool",
                "tool " + Quote(it->first) + " is listed twice in tools.allowed (first at " +
                    LineCol(it->second.at) + "); merge the entries");
        }
      }
    }
  }
  if (const Field* blocked = m->Get("blocked")) {
    if (auto items = List(*blocked)) {
      for (const Field& item : *items) {
        auto name = ToolName(item);
        if (!name) continue;
        Location at = Loc(item.key_mark);
        // The same entry (name or pattern) in both lists is an error; overlapping but
        // different entries are resolved by AgentPolicy::Resolve and reported by Lint.
        const auto same = p->allowed.lower_bound(*name);
        if (same != p->allowed.end() && same->first == *name) {
          Error(item.key_mark, "allowed-and-blocked",
                "tool " + Quote(*name) + " is both allowed (at " + LineCol(same->second.at) +
                    ") and blocked; remove it from one of the lists");
          continue;
        }
        auto [it, fresh] = p->blocked.try_emplace(*name, at);
        if (!fresh) {
          Error(item.key_mark, "duplicate-tool",
                "tool " + Quote(*name) + " is listed twice in tools.blocked (first at " +
                    LineCol(it->second) + ")");
        }
      }
    }
  }
  p->IndexToolPatterns();
  p->PrepareTexts();
}

std::optional<ToolRule> Parser::ParseToolRule(const Field& f) {
  auto kind = KindOf(f);
  if (!kind) return std::nullopt;
  ToolRule rule;
  rule.at = Loc(f.key_mark);
  if (*kind == Kind::kString) {  // `- search_docs`: a tool with no extras
    auto name = ToolName(f);
    if (!name) return std::nullopt;
    rule.name = std::move(*name);
    return rule;
  }
  if (*kind != Kind::kMap) {
    WrongType(f, *kind, "a tool name or a mapping with 'name'");
    return std::nullopt;
  }
  // Name the entry in messages by its tool name when it has one, even if other keys are bad.
  Field named = f;
  for (auto it = f.value.begin(); it != f.value.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == "name" && it->second.IsScalar()) {
      named.path = "tools.allowed[" + Quote(it->second.Scalar()) + "]";
    }
  }
  auto m = Map(named, {"name", "scope", "scope_argument", "constraints", "requires_approval",
                       "approval_timeout_seconds", "auto_deny_on_timeout", "approvals_required",
                       "reversible", "blast_radius", "autonomy", "redact", "labels", "rate_limit",
                       "rehearse", "on_behalf_of", "credential_scope"});
  if (!m) return std::nullopt;
  const Field* name_field = m->Get("name");
  if (!name_field) {
    Error(f.key_mark, "missing-key", Describe(f.path) + ": missing required key 'name'");
    return std::nullopt;
  }
  auto name = ToolName(*name_field);
  if (!name) return std::nullopt;
  rule.name = *name;
  const std::string path = "tools.allowed[" + Quote(rule.name) + "]";
  for (const Field& item : m->items) {
    Field g = item;
    g.path = path + "." + item.key;
    const std::string& k = item.key;
    if (k == "name") continue;
    if (k == "scope") {
      if (auto v = NameList(g)) rule.scope = std::move(*v);
    } else if (k == "scope_argument") {
      if (auto v = Name(g)) rule.scope_argument = std::move(*v);
    } else if (k == "constraints") {
      ParseConstraints(g, path, &rule);
    } else if (k == "requires_approval") {
      if (auto v = Bool(g)) rule.requires_approval = *v;
    } else if (k == "approval_timeout_seconds") {
      if (auto v = Unsigned(g, 1, std::numeric_limits<int>::max())) {
        rule.approval_timeout_seconds = static_cast<int>(*v);
      }
    } else if (k == "auto_deny_on_timeout") {
      if (auto v = Bool(g)) rule.auto_deny_on_timeout = *v;
    } else if (k == "approvals_required") {
      if (auto v = Unsigned(g, 1, 5)) rule.approvals_required = static_cast<int>(*v);
    } else if (k == "reversible") {
      if (auto v = Bool(g)) rule.reversible = *v;
    } else if (k == "blast_radius") {
      if (auto v = Enum(g, {"small", "large"}, {BlastRadius::kSmall, BlastRadius::kLarge})) {
        rule.blast_radius = *v;
      }
    } else if (k == "autonomy") {
      if (auto v = Enum(g, {"gate_all", "exception_based", "audit_based"},
                        {Autonomy::kGateAll, Autonomy::kExceptionBased, Autonomy::kAuditBased})) {
        rule.autonomy = *v;
      }
    } else if (k == "redact") {
      if (auto v = NameList(g)) rule.redact = std::move(*v);
    } else if (k == "labels") {
      rule.labels_written = true;
      if (auto v = Labels(g)) rule.labels = std::move(*v);
    } else if (k == "rate_limit") {
      rule.rate_limit = ParseRateLimit(g);
    } else if (k == "rehearse") {
      rule.rehearse = ParseRehearse(g);
    } else if (k == "on_behalf_of") {
      rule.on_behalf_of = ParseOnBehalfOf(g);
    } else if (k == "credential_scope") {
      rule.credential_scope = ParseCredentialScope(g);
    }
  }
  // A rule with errors is still returned, so the checks across entries (listed twice,
  // both allowed and blocked) report on it too; the errors already fail the policy.
  return rule;
}

void Parser::ParseConstraints(const Field& f, const std::string& tool_path, ToolRule* rule) {
  auto m = Map(f, {"max_records_per_run", "arguments", "combinations"}, false, "allowed_");
  if (!m) return;
  const std::string base = tool_path + ".constraints";
  std::map<std::string, std::string> claimed;  // normalised path -> rule id constraining it
  auto add = [&](ArgConstraint c, const std::string& normalised, const YAML::Mark& mark) {
    if (auto it = claimed.find(normalised); it != claimed.end()) {
      Error(mark, "ambiguous-constraint",
            "argument " + normalised + " is constrained both by " + it->second + " and by " +
                c.rule + "; put all its checks under one entry of constraints.arguments");
      return;
    }
    claimed.emplace(normalised, c.rule);
    rule->constraints.push_back(std::move(c));
  };
  for (const Field& item : m->items) {
    Field g = item;
    g.path = base + "." + item.key;
    if (item.key == "max_records_per_run") {
      rule->max_records_at = Loc(item.key_mark);
      if (auto v = Unsigned(g, 1)) rule->max_records_per_run = *v;
    } else if (item.key == "combinations") {
      ParseCombinations(g, base, rule);
    } else if (item.key == "arguments") {
      auto args = Map(g, {}, /*any_key=*/true);
      if (!args) continue;
      for (const Field& arg : args->items) {
        const std::string rule_id = base + ".arguments[" + Quote(arg.key) + "]";
        Field a = arg;
        a.path = rule_id;
        if (arg.key.empty() || HasControl(arg.key)) {
          Error(arg.key_mark, "invalid-value",
                rule_id + ": argument names must be non-empty without control characters");
          continue;
        }
        std::string why;
        auto path = ParseArgPath(arg.key, &why);
        if (!path) {
          Error(arg.key_mark, "invalid-argument-path", rule_id + ": " + why);
          continue;
        }
        if (auto c = ParseArgument(a, rule_id, *path)) {
          add(std::move(*c), path->normalised, arg.key_mark);
        }
      }
    } else {  // allowed_<plural>
      const std::string plural = item.key.substr(std::string_view("allowed_").size());
      auto singular = Singularize(plural);
      if (!singular || singular->empty()) {
        Error(item.key_mark, "uninferable-argument",
              item.key + ": cannot infer argument; use constraints.arguments");
        continue;
      }
      auto items = List(g);
      if (!items) continue;
      ArgConstraint c;
      c.argument = *singular;
      c.rule = g.path;
      c.at = Loc(item.key_mark);
      bool ok = true;
      for (const Field& e : *items) {
        if (auto v = ConstraintScalar(e)) {
          c.one_of.push_back(std::move(*v));
        } else {
          ok = false;
        }
      }
      if (ok && c.one_of.empty()) {
        Error(item.key_mark, "empty-constraint",
              g.path +
                  ": the list is empty, so every call would be refused; block the tool "
                  "instead");
        continue;
      }
      const std::string normalised = RenderArgPath(c.argument, {});
      add(std::move(c), normalised, item.key_mark);
    }
  }
}

std::optional<std::string> Parser::Workspace(const Field& f) {
  if (!workspace_checked_) {
    workspace_checked_ = true;
    std::string w = options_.workspace;
    if (w.empty()) {
      std::error_code ec;
      w = std::filesystem::current_path(ec).string();
      if (ec) workspace_error_ = "cannot read the current directory: " + ec.message();
    }
    if (workspace_error_.empty() && (w.empty() || w[0] != '/')) {
      workspace_error_ = "the workspace '" + w + "' is not an absolute path";
    }
    if (workspace_error_.empty()) {
      auto norm = NormalizePath(w);
      if (!norm.ok()) {
        workspace_error_ = "the workspace '" + w + "' is not acceptable: " + norm.error().message;
      } else if (norm.value() == "/") {
        workspace_error_ =
            "the workspace is '/', which would allow every path; give a project directory "
            "(--workspace DIR, or run from it)";
      } else {
        workspace_ = std::move(norm.value());
      }
    }
  }
  if (!workspace_) {
    Error(Mark(f), "invalid-workspace",
          Describe(f.path) + ": ${workspace} cannot be resolved: " + workspace_error_);
  }
  return workspace_;
}

std::optional<std::string> Parser::Vars(const Field& f, const std::string& s, VarQuote quote) {
  if (s.find('$') == std::string::npos) return s;
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '$' || i + 1 == s.size() || (s[i + 1] != '$' && s[i + 1] != '{')) {
      out.push_back(s[i++]);
      continue;
    }
    if (s[i + 1] == '$') {
      out.push_back('$');
      i += 2;
      continue;
    }
    const size_t close = s.find('}', i + 2);
    if (close == std::string::npos) {
      Error(Mark(f), "invalid-variable",
            Describe(f.path) + ": unterminated '${' in '" + s + "'; write $$ for a literal $");
      return std::nullopt;
    }
    const std::string name = s.substr(i + 2, close - i - 2);
    std::string value;
    if (name == "workspace") {
      auto w = Workspace(f);
      if (!w) return std::nullopt;
      value = *w;
    } else if (name.rfind("env:", 0) == 0 && ValidEnvName(std::string_view(name).substr(4))) {
      const std::string env = name.substr(4);
      std::optional<std::string> v;
      if (options_.getenv) {
        v = options_.getenv(env);
      } else if (const char* e = std::getenv(env.c_str())) {
        v = std::string(e);
      }
      if (!v) {
        Error(Mark(f), "unset-variable",
              Describe(f.path) + ": ${" + name + "}: environment variable " + env + " is not set");
        return std::nullopt;
      }
      value = std::move(*v);
    } else {
      Error(Mark(f), "unknown-variable",
            Describe(f.path) + ": unknown variable '${" + name +
                "}'; known: ${workspace}, ${env:NAME}; write $$ for a literal $");
      return std::nullopt;
    }
    if (quote == VarQuote::kRegex) {
      out += RE2::QuoteMeta(value);
    } else if (quote == VarQuote::kShell) {
      if (value.find('*') != std::string::npos) {
        Error(Mark(f), "invalid-variable",
              Describe(f.path) + ": ${" + name + "} is '" + value +
                  "', whose '*' a command pattern would read as a wildcard");
        return std::nullopt;
      }
      out += '\'';
      for (char c : value) {
        if (c == '\'') {
          out += "'\\''";
        } else {
          out += c;
        }
      }
      out += '\'';
    } else {
      out += value;
    }
    i = close + 1;
  }
  return out;
}

std::optional<boost::json::value> Parser::ConstraintScalar(const Field& f) {
  auto v = JsonScalar(f);
  if (!v || !v->is_string()) return v;
  auto s = Vars(f, std::string(v->get_string()), VarQuote::kNone);
  if (!s) return std::nullopt;
  return boost::json::value(boost::json::string(*s));
}

std::optional<std::string> Parser::ConstraintString(const Field& f, VarQuote quote) {
  auto s = String(f);
  if (!s) return std::nullopt;
  return Vars(f, *s, quote);
}

std::shared_ptr<const re2::RE2> Parser::Regex(const Field& f, bool partial) {
  auto s = ConstraintString(f, VarQuote::kRegex);
  if (!s) return nullptr;
  (void)partial;  // the engine picks FullMatch or PartialMatch
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const re2::RE2>(*s, options);
  if (!re->ok()) {
    Error(Mark(f), "invalid-regex",
          f.path + ": invalid regular expression '" + *s + "': " + re->error());
    return nullptr;
  }
  return re;
}

// An absolute path prefix (path_prefix, shell redirect_paths), normalised.
std::optional<std::string> Parser::AbsolutePrefix(const Field& e, std::string_view what) {
  auto s = ConstraintString(e);
  if (!s) return std::nullopt;
  const std::string w(what);
  if (s->empty() || (*s)[0] != '/') {
    Error(Mark(e), "invalid-path",
          e.path + ": " + w + " '" + *s + "' must be an absolute path (start with /)");
    return std::nullopt;
  }
  bool climbs = false;
  for (size_t i = 0; i < s->size();) {
    size_t j = s->find('/', i);
    if (j == std::string::npos) j = s->size();
    if (s->compare(i, j - i, "..") == 0) climbs = true;
    i = j + 1;
  }
  if (climbs) {
    Error(Mark(e), "invalid-path",
          e.path + ": " + w + " '" + *s + "' contains a '..' segment; write the resolved path");
    return std::nullopt;
  }
  auto norm = NormalizePath(*s);
  if (!norm.ok()) {
    Error(Mark(e), "invalid-path",
          e.path + ": invalid " + w + " '" + *s + "': " + norm.error().message);
    return std::nullopt;
  }
  return std::move(norm.value());
}

std::shared_ptr<const ShellMatcher> Parser::ParseShell(const Field& f) {
  auto m = Map(f, {"allow", "deny", "allow_substitution", "allow_heredoc", "allow_expansion",
                   "allow_shell_reentry", "redirect_paths"});
  if (!m) return nullptr;
  ShellRules r;
  bool ok = true;
  auto patterns = [&](const Field& g, std::vector<std::string>* out) {
    auto items = List(g);
    if (!items) return void(ok = false);
    for (const Field& e : *items) {
      auto s = ConstraintString(e, VarQuote::kShell);
      if (!s) {
        ok = false;
        continue;
      }
      if (auto why = ValidateShellPattern(*s)) {
        Error(Mark(e), "invalid-shell-pattern", e.path + ": '" + *s + "': " + *why);
        ok = false;
        continue;
      }
      out->push_back(std::move(*s));
    }
  };
  for (const Field& item : m->items) {
    Field g = item;
    g.path = f.path + "." + item.key;
    const std::string& k = item.key;
    if (k == "allow") {
      patterns(g, &r.allow);
    } else if (k == "deny") {
      patterns(g, &r.deny);
    } else if (k == "redirect_paths") {
      auto items = List(g);
      if (!items) {
        ok = false;
        continue;
      }
      for (const Field& e : *items) {
        if (auto p = AbsolutePrefix(e, "redirect path")) {
          r.redirect_paths.push_back(std::move(*p));
        } else {
          ok = false;
        }
      }
    } else {
      auto v = Bool(g);
      if (!v) {
        ok = false;
        continue;
      }
      if (k == "allow_substitution") r.allow_substitution = *v;
      if (k == "allow_heredoc") r.allow_heredoc = *v;
      if (k == "allow_expansion") r.allow_expansion = *v;
      if (k == "allow_shell_reentry") r.allow_shell_reentry = *v;
    }
  }
  if (ok && r.allow.empty()) {
    Error(f.key_mark, "empty-constraint",
          f.path +
              ": no allow patterns, so every command would be refused; list the allowed "
              "commands under allow, or block the tool");
    return nullptr;
  }
  if (!ok) return nullptr;
  auto w = Workspace(f);  // relative redirections resolve against it
  if (!w) return nullptr;
  r.cwd = *w;
  std::string why;
  auto matcher = CompileShellRules(r, &why);
  if (!matcher) Error(f.key_mark, "invalid-shell-pattern", f.path + ": " + why);
  return matcher;
}

std::optional<UrlRule> Parser::ParseUrlRule(const Field& f) {
  auto kind = KindOf(f);
  if (!kind) return std::nullopt;
  if (*kind == Kind::kString) {
    auto s = ConstraintString(f);
    if (!s) return std::nullopt;
    std::string why;
    auto rule = ParseUrlPrefix(*s, &why);
    if (!rule) Error(Mark(f), "invalid-url", f.path + ": URL prefix '" + *s + "': " + why);
    return rule;
  }
  if (*kind != Kind::kMap) {
    WrongType(f, *kind, "a URL prefix string or a mapping (schemes, hosts, ports, path_prefixes)");
    return std::nullopt;
  }
  auto m = Map(f, {"schemes", "hosts", "ports", "path_prefixes"});
  if (!m) return std::nullopt;
  UrlRule rule;
  bool ok = true;
  for (const Field& item : m->items) {
    Field g = item;
    g.path = f.path + "." + item.key;
    auto items = List(g);
    if (!items) {
      ok = false;
      continue;
    }
    if (items->empty()) {
      Error(Mark(g), "empty-constraint", g.path + ": the list is empty; remove the key instead");
      ok = false;
      continue;
    }
    for (const Field& e : *items) {
      if (item.key == "ports") {
        if (auto p = Unsigned(e, 1, 65535)) {
          rule.ports.push_back(static_cast<uint16_t>(*p));
        } else {
          ok = false;
        }
        continue;
      }
      auto s = ConstraintString(e);
      if (!s) {
        ok = false;
        continue;
      }
      if (item.key == "schemes") {
        const bool valid = !s->empty() && std::islower(static_cast<unsigned char>((*s)[0])) &&
                           std::all_of(s->begin(), s->end(), [](char c) {
                             return std::islower(static_cast<unsigned char>(c)) ||
                                    std::isdigit(static_cast<unsigned char>(c)) || c == '+' ||
                                    c == '-' || c == '.';
                           });
        if (!valid) {
          Error(Mark(e), "invalid-url",
                e.path + ": scheme '" + *s + "' must be lower-case letters, e.g. https");
          ok = false;
          continue;
        }
        rule.schemes.push_back(std::move(*s));
      } else if (item.key == "hosts") {
        if (auto why = ValidateHostPattern(*s)) {
          Error(Mark(e), "invalid-host", e.path + ": host '" + *s + "': " + *why);
          ok = false;
          continue;
        }
        rule.hosts.push_back(std::move(*s));
      } else {  // path_prefixes
        if (s->empty() || (*s)[0] != '/') {
          Error(Mark(e), "invalid-url", e.path + ": path prefix '" + *s + "' must start with /");
          ok = false;
          continue;
        }
        rule.path_prefixes.push_back(std::move(*s));
      }
    }
  }
  if (!ok) return std::nullopt;
  // Path prefixes are refused here when they cannot be normalised (encoded dots or
  // slashes): CompileUrlRules has no way to report it and would drop the rule.
  if (auto why = ValidateUrlRule(rule)) {
    Error(Mark(f), "invalid-url", f.path + ": " + *why);
    return std::nullopt;
  }
  return rule;
}

std::shared_ptr<const UrlMatcher> Parser::ParseUrl(const Field& f) {
  auto m = Map(f, {"allow"});
  if (!m) return nullptr;
  UrlRules rules;
  bool ok = true;
  const Field* allow = m->Get("allow");
  if (allow == nullptr) {
    Error(f.key_mark, "missing-key", f.path + ": missing required key 'allow'");
    return nullptr;
  }
  Field g = *allow;
  g.path = f.path + ".allow";
  auto items = List(g);
  if (!items) return nullptr;
  for (const Field& e : *items) {
    if (auto r = ParseUrlRule(e)) {
      rules.allow.push_back(std::move(*r));
    } else {
      ok = false;
    }
  }
  if (ok && rules.allow.empty()) {
    Error(Mark(g), "empty-constraint",
          g.path + ": the list is empty, so every URL would be refused; block the tool instead");
    return nullptr;
  }
  if (!ok) return nullptr;
  return CompileUrlRules(rules);
}

std::optional<ArgConstraint> Parser::ParseArgument(const Field& f, const std::string& rule_id,
                                                   const ParsedArgPath& path) {
  auto m =
      Map(f, {"one_of", "not_one_of", "min", "max", "max_length", "max_bytes", "min_items",
              "max_items", "pattern", "not_pattern", "path_prefix", "shell", "url", "optional"});
  if (!m) return std::nullopt;
  ArgConstraint c;
  c.argument = path.argument;
  c.steps = path.steps;
  if (!c.steps.empty()) c.path = path.normalised;
  c.rule = rule_id;
  c.at = Loc(f.key_mark);
  bool has_check = false;
  for (const Field& item : m->items) {
    Field g = item;
    g.path = rule_id + "." + item.key;
    const std::string& k = item.key;
    if (k == "optional") {
      if (auto v = Bool(g)) c.optional = *v;
      continue;
    }
    has_check = true;
    if (k == "one_of" || k == "not_one_of") {
      auto items = List(g);
      if (!items) continue;
      auto* values = k == "one_of" ? &c.one_of : &c.not_one_of;
      for (const Field& e : *items) {
        if (auto v = ConstraintScalar(e)) values->push_back(std::move(*v));
      }
      if (items->empty()) {
        Error(Mark(g), "empty-constraint",
              g.path + (k == "one_of" ? ": the list is empty, so every call would be refused"
                                      : ": the list is empty, so it refuses nothing"));
      }
    } else if (k == "min") {
      c.min = Number(g);
    } else if (k == "max") {
      c.max = Number(g);
    } else if (k == "max_length") {
      c.max_length = Unsigned(g, 0);
    } else if (k == "max_bytes") {
      c.max_bytes = Unsigned(g, 0);
    } else if (k == "min_items") {
      c.min_items = Unsigned(g, 0);
    } else if (k == "max_items") {
      c.max_items = Unsigned(g, 0);
    } else if (k == "pattern") {
      c.pattern = Regex(g, false);
    } else if (k == "not_pattern") {
      c.not_pattern = Regex(g, true);
    } else if (k == "shell") {
      c.shell = ParseShell(g);
    } else if (k == "url") {
      c.url = ParseUrl(g);
    } else if (k == "path_prefix") {
      std::vector<Field> prefixes;
      auto kind = KindOf(g);
      if (!kind) continue;
      if (*kind == Kind::kList) {
        auto items = List(g);
        if (!items) continue;
        prefixes = std::move(*items);
        if (prefixes.empty()) {
          Error(Mark(g), "empty-constraint", g.path + ": the list is empty");
        }
      } else {
        prefixes.push_back(g);
      }
      for (const Field& e : prefixes) {
        if (auto p = AbsolutePrefix(e, "path_prefix")) c.path_prefixes.push_back(std::move(*p));
      }
    }
  }
  if (!has_check) {
    Error(f.key_mark, "empty-constraint",
          rule_id +
              ": no checks; add one_of, not_one_of, min, max, max_length, max_bytes, "
              "min_items, max_items, pattern, not_pattern, path_prefix, shell or url");
    return std::nullopt;
  }
  if (c.min && c.max && *c.min > *c.max) {
    Error(f.key_mark, "invalid-value", rule_id + ": min is greater than max");
  }
  if (c.min_items && c.max_items && *c.min_items > *c.max_items) {
    Error(f.key_mark, "invalid-value", rule_id + ": min_items is greater than max_items");
  }
  // Returned even with errors, so the check across rules (an argument constrained
  // twice) reports on it too; the errors already fail the policy.
  return c;
}

void Parser::ParseCombinations(const Field& f, const std::string& base, ToolRule* rule) {
  auto items = List(f);
  if (!items) return;
  if (items->empty()) {
    Error(Mark(f), "empty-constraint", f.path + ": the list is empty; remove the key instead");
    return;
  }
  for (size_t n = 0; n < items->size(); ++n) {
    const Field& item = (*items)[n];
    const std::string rule_id = base + ".combinations[" + std::to_string(n) + "]";
    Field entry = item;
    entry.path = rule_id;
    auto m = Map(entry, {"arguments", "one_of"});
    if (!m) continue;
    ArgCombination k;
    k.rule = rule_id;
    k.at = Loc(item.key_mark);
    bool ok = true;
    for (const char* key : {"arguments", "one_of"}) {
      if (m->Get(key) == nullptr) {
        Error(item.key_mark, "missing-key", rule_id + ": missing required key '" + key + "'");
        ok = false;
      }
    }
    if (!ok) continue;
    Field args = *m->Get("arguments");
    args.path = rule_id + ".arguments";
    auto names = List(args);
    if (!names) continue;
    if (names->size() < 2 || names->size() > kMaxCombinationArguments) {
      Error(Mark(args), "invalid-value",
            args.path + ": list 2 to " + std::to_string(kMaxCombinationArguments) +
                " arguments (one argument: use one_of on it)");
      continue;
    }
    std::set<std::string> seen;
    for (const Field& e : *names) {
      auto name = Name(e);
      if (!name) {
        ok = false;
        continue;
      }
      std::string why;
      auto path = ParseArgPath(*name, &why);
      if (!path) {
        Error(Mark(e), "invalid-argument-path", e.path + ": " + why);
        ok = false;
        continue;
      }
      if (std::any_of(path->steps.begin(), path->steps.end(),
                      [](const ArgPathStep& s) { return s.kind == ArgPathStep::Kind::kEach; })) {
        Error(Mark(e), "invalid-argument-path",
              e.path + ": '" + *name + "' has [*]; a combination takes one value per argument");
        ok = false;
        continue;
      }
      if (!seen.insert(path->normalised).second) {
        Error(Mark(e), "ambiguous-constraint",
              e.path + ": argument " + path->normalised + " is listed twice in the combination");
        ok = false;
        continue;
      }
      ArgConstraint a;
      a.argument = path->argument;
      a.steps = path->steps;
      if (!a.steps.empty()) a.path = path->normalised;
      k.arguments.push_back(std::move(a));
    }
    Field tuples = *m->Get("one_of");
    tuples.path = rule_id + ".one_of";
    auto rows = List(tuples);
    if (!rows) continue;
    if (rows->empty()) {
      Error(Mark(tuples), "empty-constraint",
            tuples.path + ": the list is empty, so every call would be refused");
      continue;
    }
    for (const Field& row : *rows) {
      auto values = List(row);
      if (!values) {
        ok = false;
        continue;
      }
      if (values->size() != names->size()) {
        Error(Mark(row), "invalid-value",
              row.path + ": has " + std::to_string(values->size()) + " values for " +
                  std::to_string(names->size()) + " arguments");
        ok = false;
        continue;
      }
      std::vector<boost::json::value> tuple;
      for (const Field& e : *values) {
        if (auto v = ConstraintScalar(e)) {
          tuple.push_back(std::move(*v));
        } else {
          ok = false;
        }
      }
      k.one_of.push_back(std::move(tuple));
    }
    if (ok) rule->combinations.push_back(std::move(k));
  }
}

void Parser::ParseExecution(const Field& f, Execution* e) {
  e->at = Loc(f.key_mark);
  auto m = Map(f, {"max_steps", "max_tokens_per_run", "max_wall_clock_seconds", "max_cost_usd",
                   "on_budget_exceeded"});
  if (!m) return;
  for (const Field& item : m->items) {
    Field g = item;
    g.path = "execution." + item.key;
    const std::string& k = item.key;
    if (k == "max_steps") {
      e->max_steps = Unsigned(g, 0);
    } else if (k == "max_tokens_per_run") {
      e->max_tokens_per_run = Unsigned(g, 0);
    } else if (k == "max_wall_clock_seconds") {
      e->max_wall_clock_ms = Fixed(g, 3, kMaxWallClockMs);
    } else if (k == "max_cost_usd") {
      e->max_cost_micros = Fixed(g, 6, kMaxCostMicros);
    } else if (k == "on_budget_exceeded") {
      auto ob = Map(g, {"action", "notify"});
      if (!ob) continue;
      for (const Field& o : ob->items) {
        Field h = o;
        h.path = g.path + "." + o.key;
        if (o.key == "action") {
          if (auto v = Enum(
                  h, {"deny", "halt", "halt_and_escalate"},
                  {BudgetAction::kDeny, BudgetAction::kHalt, BudgetAction::kHaltAndEscalate})) {
            e->on_budget_exceeded = *v;
          }
        } else if (auto v = Name(h)) {
          e->notify = std::move(*v);
        }
      }
    }
  }
}

void Parser::ParseEscalation(const Field& f, AgentPolicy* p) {
  auto m = Map(f, {"contacts"});
  if (!m) return;
  if (const Field* c = m->Get("contacts")) {
    if (auto v = NameList(*c)) p->escalation_contacts = std::move(*v);
  }
}

void Parser::ParseFreezes(const Field& f, AgentPolicy* p) {
  auto items = List(f);
  if (!items) return;
  std::map<std::string, int> names;
  for (const Field& item : *items) {
    auto m = Map(item, {"name", "start", "end", "tools", "reason"});
    if (!m) continue;
    FreezeWindow w;
    w.at = Loc(item.key_mark);
    const int before = errors_;
    const Field* name = m->Get("name");
    if (!name) {
      Error(item.key_mark, "missing-key", item.path + ": missing required key 'name'");
    } else if (auto v = Name(*name)) {
      w.name = *v;
      if (auto [it, inserted] = names.emplace(w.name, w.at.line); !inserted) {
        Error(item.key_mark, "duplicate-key",
              "freeze window " + Quote(w.name) + " is defined twice (first at line " +
                  std::to_string(it->second) + ")");
      }
    }
    std::optional<TimePoint> start, end;
    for (const char* key : {"start", "end"}) {
      const Field* t = m->Get(key);
      if (!t) {
        Error(item.key_mark, "missing-key", item.path + ": missing required key '" + key + "'");
        continue;
      }
      auto s = String(*t);
      if (!s) continue;
      auto tp = ParseRfc3339(*s);
      if (!tp.ok()) {
        Error(Mark(*t), "invalid-time", t->path + ": " + tp.error().message);
        continue;
      }
      (std::string_view(key) == "start" ? start : end) = tp.value();
    }
    if (start && end && *start >= *end) {
      Error(m->Get("end")->key_mark, "invalid-time", item.path + ": start must be before end");
    }
    if (const Field* t = m->Get("tools")) {
      if (auto v = NameList(*t)) {
        if (v->empty()) {
          Error(Mark(*t), "invalid-value",
                t->path + ": the list is empty; list tool names or \"*\" for every tool");
        }
        w.tools = std::move(*v);
      }
    } else {
      w.tools = {"*"};
    }
    if (const Field* r = m->Get("reason")) {
      if (auto v = String(*r)) w.reason = std::move(*v);
    }
    if (errors_ != before) continue;
    w.start = *start;
    w.end = *end;
    p->freezes.push_back(std::move(w));
  }
}

void Parser::ParseTrust(const Field& f, AgentPolicy* p) {
  auto m = Map(f, {"graduation_threshold"});
  if (!m) return;
  if (const Field* g = m->Get("graduation_threshold")) {
    if (auto v = Unsigned(*g, 1)) p->trust_threshold = *v;
  }
}

// ---- Sequences (issue 15): labels, rate limits, quotas, flows, workflow ----

// credential_scope: [scope, ...]: OAuth scope tokens (RFC 6749 section 3.3: printable
// ASCII without space, '"' and '\\'), asked of the identity provider for this tool's calls.
std::optional<std::vector<std::string>> Parser::ParseCredentialScope(const Field& f) {
  auto items = List(f);
  if (!items) return std::nullopt;
  std::vector<std::string> out;
  for (const Field& e : *items) {
    auto s = Name(e);
    if (!s) return std::nullopt;
    const bool token = std::all_of(
        s->begin(), s->end(), [](char c) { return c > 0x20 && c < 0x7f && c != '"' && c != '\\'; });
    if (!token) {
      Error(Mark(e), "invalid-value",
            Describe(f.path) + ": '" + *s + "' is not an OAuth scope (no spaces, quotes or '\\')");
      return std::nullopt;
    }
    if (std::find(out.begin(), out.end(), *s) == out.end()) out.push_back(std::move(*s));
  }
  return out;
}

// on_behalf_of: {required: true, in: [...], groups: [...]}; `required: true` alone is the
// smallest form ("a human must be named"); `required: false` is refused (say nothing).
std::optional<OnBehalfOfRule> Parser::ParseOnBehalfOf(const Field& f) {
  auto m = Map(f, {"required", "in", "groups"});
  if (!m) return std::nullopt;
  OnBehalfOfRule r;
  r.at = Loc(f.key_mark);
  bool ok = true;
  for (const Field& item : m->items) {
    Field g = item;
    g.path = f.path + "." + item.key;
    if (item.key == "required") {
      auto v = Bool(g);
      if (!v) {
        ok = false;
      } else if (!*v) {
        Error(Mark(g), "invalid-value",
              Describe(g.path) + ": must be true (leave on_behalf_of out to require nobody)");
        ok = false;
      }
    } else if (item.key == "in" || item.key == "groups") {
      auto v = NameList(g);
      if (!v) {
        ok = false;
      } else if (v->empty()) {
        Error(Mark(g), "invalid-value", Describe(g.path) + ": must not be empty");
        ok = false;
      } else {
        (item.key == "in" ? r.in : r.groups) = std::move(*v);
      }
    }
  }
  if (!ok) return std::nullopt;
  return r;
}

std::optional<std::vector<std::string>> Parser::Labels(const Field& f) {
  auto v = NameList(f);
  if (!v) return std::nullopt;
  std::set<std::string> seen;
  for (const std::string& l : *v) {
    if (!seen.insert(l).second) {
      Error(Mark(f), "duplicate-label", f.path + ": label " + Quote(l) + " is listed twice");
      return std::nullopt;
    }
  }
  return v;
}

std::optional<RateLimit> Parser::ParseRateLimit(const Field& f) {
  auto m = Map(f, {"calls", "per_seconds"});
  if (!m) return std::nullopt;
  RateLimit r;
  r.at = Loc(f.key_mark);
  bool ok = true;
  for (const char* key : {"calls", "per_seconds"}) {
    const Field* g = m->Get(key);
    if (g == nullptr) {
      Error(f.key_mark, "missing-key", f.path + ": missing required key '" + key + "'");
      ok = false;
      continue;
    }
    Field h = *g;
    h.path = f.path + "." + key;
    // A window longer than a day is a quota, not a rate limit.
    auto v = std::string_view(key) == "calls" ? Unsigned(h, 1) : Unsigned(h, 1, kSecondsPerDay);
    if (!v) {
      ok = false;
    } else if (std::string_view(key) == "calls") {
      r.calls = *v;
    } else {
      r.per_seconds = static_cast<int64_t>(*v);
    }
  }
  if (!ok) return std::nullopt;
  return r;
}

std::optional<ToolRule::Rehearse> Parser::ParseRehearse(const Field& f) {
  auto m = Map(f, {"args", "upstream"});
  if (!m) return std::nullopt;
  ToolRule::Rehearse r;
  r.at = Loc(f.key_mark);
  bool ok = true;
  if (const Field* a = m->Get("args")) {
    Field g = *a;
    g.path = f.path + ".args";
    auto kind = KindOf(g);
    if (kind && *kind != Kind::kMap) {
      WrongType(g, *kind, "a mapping of argument names to values");
      ok = false;
    } else if (auto v = JsonValue(g, kMaxRehearseArgsDepth)) {
      r.args = std::move(v->as_object());
      if (r.args.empty()) {
        Error(Mark(g), "invalid-value", Describe(g.path) + ": must name at least one argument");
        ok = false;
      }
    } else {
      ok = false;
    }
  }
  if (const Field* u = m->Get("upstream")) {
    Field g = *u;
    g.path = f.path + ".upstream";
    if (auto v = Name(g)) {
      r.upstream = std::move(*v);
    } else {
      ok = false;
    }
  }
  if (ok && r.args.empty() && r.upstream.empty()) {
    Error(f.key_mark, "missing-key",
          Describe(f.path) +
              ": needs 'args' (merged into the rehearsal's arguments) or "
              "'upstream' (the staging upstream it is sent to), or both");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return r;
}

std::optional<boost::json::value> Parser::JsonValue(const Field& f, int depth) {
  auto kind = KindOf(f);
  if (!kind) return std::nullopt;
  if (*kind != Kind::kMap && *kind != Kind::kList) {
    if (*kind == Kind::kNull) return boost::json::value(nullptr);
    return JsonScalar(f);
  }
  if (depth <= 0) {
    Error(Mark(f), "invalid-value", Describe(f.path) + ": nested too deeply");
    return std::nullopt;
  }
  bool ok = true;
  if (*kind == Kind::kList) {
    auto items = List(f);
    if (!items) return std::nullopt;
    boost::json::array out;
    for (const Field& e : *items) {
      if (auto v = JsonValue(e, depth - 1)) {
        out.push_back(std::move(*v));
      } else {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return boost::json::value(std::move(out));
  }
  auto m = Map(f, {}, /*any_key=*/true);
  if (!m) return std::nullopt;
  boost::json::object out;
  for (const Field& item : m->items) {
    Field g = item;
    g.path = f.path + "." + item.key;
    if (auto v = JsonValue(g, depth - 1)) {
      out[item.key] = std::move(*v);
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return boost::json::value(std::move(out));
}

void Parser::ParseQuotas(const Field& f, AgentPolicy* p) {
  p->quotas.at = Loc(f.key_mark);
  auto m = Map(f, {"calls_per_day", "tokens_per_day", "cost_usd_per_day"});
  if (!m) return;
  for (const Field& item : m->items) {
    Field g = item;
    g.path = "quotas." + item.key;
    if (item.key == "calls_per_day") {
      p->quotas.calls_per_day = Unsigned(g, 1);
    } else if (item.key == "tokens_per_day") {
      p->quotas.tokens_per_day = Unsigned(g, 1);
    } else {
      p->quotas.cost_micros_per_day = Fixed(g, 6, kMaxCostMicros);
    }
  }
}

// ---- Egress (issue 16): where the agent's tools may connect ----

void Parser::ParseEgress(const Field& f, AgentPolicy* p) {
  p->egress_at = Loc(f.key_mark);
  auto m = Map(f, {"allow"});
  if (!m) return;
  // Present, even when empty or invalid: an invalid file is refused as a whole anyway.
  p->egress.present = true;
  const Field* allow = m->Get("allow");
  if (allow == nullptr) {
    Error(f.key_mark, "missing-key",
          "egress: missing required key 'allow' (a list of host:port entries; [] for none)");
    return;
  }
  auto items = List(*allow);
  if (!items) return;
  std::set<std::string> seen;
  for (const Field& item : *items) {
    // "host:port", or {to: "host:port", tunnel: bool} (CONNECT beyond port 443, or none).
    const Field* to = &item;
    std::optional<bool> tunnel;
    std::optional<Fields> entry;
    if (item.value.IsMap()) {
      entry = Map(item, {"to", "tunnel"});
      if (!entry) continue;
      to = entry->Get("to");
      if (to == nullptr) {
        Error(item.key_mark, "missing-key",
              item.path + ": missing required key 'to' (the entry, \"host:port\")");
        continue;
      }
      if (const Field* t = entry->Get("tunnel")) {
        tunnel = Bool(*t);
        if (!tunnel) continue;
      }
    }
    auto text = String(*to);
    if (!text) continue;
    std::string why;
    auto rule = ParseEgressRule(*text, &why);
    if (!rule) {
      Error(Mark(*to), "invalid-egress", to->path + ": " + Quote(*text) + ": " + why);
      continue;
    }
    rule->tunnel = tunnel;
    if (!seen.insert(rule->text).second) {
      Error(Mark(item), "duplicate-egress", item.path + ": " + Quote(*text) + " is listed twice");
      continue;
    }
    p->egress.allow.push_back(std::move(*rule));
  }
}

void Parser::ParseFlows(const Field& f, AgentPolicy* p) {
  auto items = List(f);
  if (!items) return;
  std::map<std::string, int> names;  // name -> line
  for (const Field& item : *items) {
    auto m = Map(item, {"name", "from", "to", "action", "reason"});
    if (!m) continue;
    FlowRule r;
    r.at = Loc(item.key_mark);
    bool ok = true;
    for (const char* key : {"name", "from", "to", "action"}) {
      if (m->Get(key) == nullptr) {
        Error(item.key_mark, "missing-key", item.path + ": missing required key '" + key + "'");
        ok = false;
      }
    }
    if (!ok) continue;
    auto name = Name(*m->Get("name"));
    if (!name) continue;
    r.name = *name;
    const std::string path = "flows[" + Quote(r.name) + "]";
    if (auto [it, inserted] = names.emplace(r.name, item.key_mark.line + 1); !inserted) {
      Error(m->Get("name")->key_mark, "duplicate-flow",
            path + ": another flow has this name (line " + std::to_string(it->second) + ")");
      continue;
    }
    for (const Field& g0 : m->items) {
      Field g = g0;
      g.path = path + "." + g0.key;
      if (g0.key == "from" || g0.key == "to") {
        auto v = Labels(g);
        if (!v) {
          ok = false;
        } else if (v->empty()) {
          Error(Mark(g), "invalid-value", g.path + ": name at least one label");
          ok = false;
        } else {
          (g0.key == "from" ? r.from : r.to) = std::move(*v);
        }
      } else if (g0.key == "action") {
        auto v = Enum(g, {"deny", "require_approval"},
                      {FlowRule::Action::kDeny, FlowRule::Action::kRequireApproval});
        if (v) r.action = *v;
        ok = ok && v.has_value();
      } else if (g0.key == "reason") {
        auto v = String(g);
        if (v && HasControl(*v)) {
          Error(Mark(g), "invalid-value", g.path + ": must not contain control characters");
          v.reset();
        }
        if (v) r.reason = std::move(*v);
        ok = ok && v.has_value();
      }
    }
    if (ok) p->flows.push_back(std::move(r));
  }
}

// Argument conditions: `argument: value` (equals), `argument: [a, b]` (one of), or the
// mapping of constraints.arguments (one_of, pattern, min, ...).
bool Parser::ParseConditions(const Field& f, const std::string& rule_id,
                             std::vector<ArgConstraint>* out) {
  auto args = Map(f, {}, /*any_key=*/true);
  if (!args) return false;
  bool ok = true;
  std::set<std::string> claimed;
  for (const Field& arg : args->items) {
    const std::string id = rule_id + ".when[" + Quote(arg.key) + "]";
    Field a = arg;
    a.path = id;
    if (arg.key.empty() || HasControl(arg.key)) {
      Error(arg.key_mark, "invalid-value",
            id + ": argument names must be non-empty without control characters");
      ok = false;
      continue;
    }
    std::string why;
    auto path = ParseArgPath(arg.key, &why);
    if (!path) {
      Error(arg.key_mark, "invalid-argument-path", id + ": " + why);
      ok = false;
      continue;
    }
    if (!claimed.insert(path->normalised).second) {
      Error(arg.key_mark, "ambiguous-constraint",
            id + ": the argument is named twice; put all its checks under one entry");
      ok = false;
      continue;
    }
    auto kind = KindOf(a);
    if (!kind) {
      ok = false;
      continue;
    }
    std::optional<ArgConstraint> c;
    if (*kind == Kind::kMap) {
      c = ParseArgument(a, id, *path);
    } else {
      ArgConstraint k;
      k.argument = path->argument;
      k.steps = path->steps;
      if (!k.steps.empty()) k.path = path->normalised;
      k.rule = id;
      k.at = Loc(arg.key_mark);
      if (*kind == Kind::kList) {
        if (auto items = List(a)) {
          for (const Field& e : *items) {
            if (auto v = ConstraintScalar(e)) k.one_of.push_back(std::move(*v));
          }
          if (k.one_of.size() != items->size()) {
            ok = false;
            continue;
          }
          if (k.one_of.empty()) {
            Error(arg.key_mark, "empty-constraint", id + ": the list is empty");
            ok = false;
            continue;
          }
        }
      } else if (auto v = ConstraintScalar(a)) {
        k.one_of.push_back(std::move(*v));
      } else {
        ok = false;
        continue;
      }
      c = std::move(k);
    }
    if (!c) {
      ok = false;
      continue;
    }
    out->push_back(std::move(*c));
  }
  return ok;
}

bool Parser::NamePairs(const Field& f, std::string_view key_what,
                       const std::function<void(std::string, std::string)>& add) {
  auto r = Map(f, {}, /*any_key=*/true);
  if (!r) return false;
  bool ok = true;
  for (const Field& e0 : r->items) {
    Field e = e0;
    e.path = f.path + "[" + Quote(e0.key) + "]";
    auto value = Name(e);
    if (e0.key.empty() || HasControl(e0.key) || !value) {
      if (value) {
        Error(e0.key_mark, "invalid-value",
              e.path + ": invalid " + std::string(key_what) + " name");
      }
      ok = false;
      continue;
    }
    add(e0.key, std::move(*value));
  }
  return ok;
}

std::optional<WorkflowPermit> Parser::ParsePermit(const Field& f) {
  auto kind = KindOf(f);
  if (!kind) return std::nullopt;
  WorkflowPermit w;
  w.at = Loc(f.key_mark);
  w.rule = f.path;
  if (*kind == Kind::kString) {
    auto name = Name(f);
    if (!name) return std::nullopt;
    w.tool = std::move(*name);
    return w;
  }
  if (*kind != Kind::kMap) {
    WrongType(f, *kind, "a tool name or a mapping with 'tool'");
    return std::nullopt;
  }
  auto m = Map(f, {"tool", "when", "require", "requires_approval"});
  if (!m) return std::nullopt;
  const Field* tool = m->Get("tool");
  if (tool == nullptr) {
    Error(f.key_mark, "missing-key", f.path + ": missing required key 'tool'");
    return std::nullopt;
  }
  bool ok = true;
  for (const Field& g0 : m->items) {
    Field g = g0;
    g.path = f.path + "." + g0.key;
    if (g0.key == "tool") {
      auto v = Name(g);
      if (v) w.tool = std::move(*v);
      ok = ok && v.has_value();
    } else if (g0.key == "when") {
      ok = ParseConditions(g, f.path, &w.when) && ok;
    } else if (g0.key == "requires_approval") {
      auto v = Bool(g);
      if (v) w.requires_approval = *v;
      ok = ok && v.has_value();
    } else if (g0.key == "require") {
      // {argument: variable}
      ok = NamePairs(g, "argument",
                     [&](std::string arg, std::string var) {
                       w.require.push_back({std::move(arg), std::move(var)});
                     }) &&
           ok;
    }
  }
  if (!ok) return std::nullopt;
  return w;
}

std::optional<WorkflowTransition> Parser::ParseTransition(const Field& f) {
  auto m = Map(f, {"tool", "on", "when", "to", "remember"});
  if (!m) return std::nullopt;
  bool ok = true;
  for (const char* key : {"tool", "on", "to"}) {
    if (m->Get(key) == nullptr) {
      Error(f.key_mark, "missing-key", f.path + ": missing required key '" + key + "'");
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  WorkflowTransition t;
  t.at = Loc(f.key_mark);
  t.rule = f.path;
  for (const Field& g0 : m->items) {
    Field g = g0;
    g.path = f.path + "." + g0.key;
    if (g0.key == "tool" || g0.key == "to") {
      auto v = Name(g);
      if (v) (g0.key == "tool" ? t.tool : t.to) = std::move(*v);
      ok = ok && v.has_value();
    } else if (g0.key == "on") {
      auto v = Enum(g, {"allowed", "ok", "error"},
                    {TransitionOn::kAllowed, TransitionOn::kOk, TransitionOn::kError});
      if (v) t.on = *v;
      ok = ok && v.has_value();
    } else if (g0.key == "when") {
      ok = ParseConditions(g, f.path, &t.when) && ok;
    } else if (g0.key == "remember") {
      // {variable: argument}
      ok = NamePairs(g, "variable",
                     [&](std::string var, std::string arg) {
                       t.remember.push_back({std::move(var), std::move(arg)});
                     }) &&
           ok;
    }
  }
  if (!ok) return std::nullopt;
  return t;
}

std::optional<WorkflowState> Parser::ParseWorkflowState(const Field& f, const std::string& name) {
  WorkflowState st;
  st.name = name;
  st.at = Loc(f.key_mark);
  auto kind = KindOf(f);
  if (!kind) return std::nullopt;
  if (*kind == Kind::kNull) return st;  // `done:` a state that permits nothing extra
  auto m = Map(f, {"allow", "transitions", "final"});
  if (!m) return std::nullopt;
  bool ok = true;
  for (const Field& g0 : m->items) {
    Field g = g0;
    g.path = f.path + "." + g0.key;
    if (g0.key == "final") {
      auto v = Bool(g);
      if (v) st.final = *v;
      ok = ok && v.has_value();
      continue;
    }
    auto items = List(g);
    if (!items) {
      ok = false;
      continue;
    }
    for (const Field& e : *items) {
      if (g0.key == "allow") {
        if (auto w = ParsePermit(e)) {
          st.allow.push_back(std::move(*w));
        } else {
          ok = false;
        }
      } else if (auto t = ParseTransition(e)) {
        st.transitions.push_back(std::move(*t));
      } else {
        ok = false;
      }
    }
  }
  if (!ok) return std::nullopt;
  return st;
}

void Parser::ParseWorkflow(const Field& f, AgentPolicy* p) {
  auto m = Map(f, {"initial", "always_allowed", "states"});
  if (!m) return;
  auto w = std::make_shared<Workflow>();
  w->at = Loc(f.key_mark);
  const int before = errors_;
  for (const char* key : {"initial", "states"}) {
    if (m->Get(key) == nullptr) {
      Error(f.key_mark, "missing-key", "workflow: missing required key '" + std::string(key) + "'");
    }
  }
  if (const Field* g = m->Get("initial")) {
    if (auto v = Name(*g)) w->initial = std::move(*v);
  }
  if (const Field* g = m->Get("always_allowed")) {
    if (auto v = NameList(*g)) w->always_allowed = std::move(*v);
  }
  if (const Field* g = m->Get("states")) {
    if (auto states = Map(*g, {}, /*any_key=*/true)) {
      if (states->items.empty()) {
        Error(g->key_mark, "invalid-value", "workflow.states: declare at least one state");
      }
      for (const Field& s0 : states->items) {
        Field s = s0;
        s.path = "workflow.states[" + Quote(s0.key) + "]";
        if (s0.key.empty() || HasControl(s0.key)) {
          Error(s0.key_mark, "invalid-value", s.path + ": invalid state name");
          continue;
        }
        if (auto st = ParseWorkflowState(s, s0.key)) {
          w->order.push_back(s0.key);
          w->states.emplace(s0.key, std::move(*st));
        }
      }
    }
  }
  if (errors_ != before) return;
  CheckWorkflow(*w, *p);
  if (errors_ != before) return;
  p->workflow = std::move(w);
}

// References a workflow makes must resolve: states, tools (allowed, not blocked) and
// variables. Reachability and dead ends are Lint() warnings (a drawing in progress).
void Parser::CheckWorkflow(const Workflow& w, const AgentPolicy& p) {
  auto at = [](const Location& l) {
    YAML::Mark m;
    m.line = l.line - 1;
    m.column = l.column - 1;
    return m;
  };
  auto check_tool = [&](const std::string& tool, const Location& l, const std::string& where) {
    if (tool.find('*') != std::string::npos) {  // a pattern: some allowed entry must overlap
      for (const auto& [name, rule] : p.allowed) {
        if (ToolPatternsOverlap(name, tool)) return;
      }
    } else {
      const ToolResolution r = p.Resolve(tool);
      if (r.kind == ToolResolution::Kind::kBlocked) {
        Error(at(l), "workflow-tool-blocked",
              where + ": tool " + Quote(tool) + " is blocked (at " + LineCol(*r.at) +
                  "); a workflow cannot permit it");
        return;
      }
      if (r.kind == ToolResolution::Kind::kAllowed) return;
    }
    Error(at(l), "workflow-unknown-tool",
          where + ": tool " + Quote(tool) +
              " is not in tools.allowed; a workflow only orders tools the policy allows");
  };
  if (!w.initial.empty() && w.Find(w.initial) == nullptr) {
    Error(at(w.at), "workflow-unknown-state",
          "workflow.initial: no state named " + Quote(w.initial) + " in workflow.states");
  }
  for (const std::string& t : w.always_allowed) check_tool(t, w.at, "workflow.always_allowed");
  std::set<std::string> remembered;
  for (const auto& [name, st] : w.states) {
    for (const WorkflowTransition& t : st.transitions) {
      for (const WorkflowRemember& r : t.remember) remembered.insert(r.variable);
    }
  }
  for (const auto& [name, st] : w.states) {
    for (const WorkflowPermit& a : st.allow) {
      check_tool(a.tool, a.at, a.rule);
      for (const WorkflowRequire& r : a.require) {
        if (remembered.count(r.variable) == 0) {
          Error(at(a.at), "workflow-unknown-variable",
                a.rule + ".require: variable " + Quote(r.variable) +
                    " is never remembered by a transition; add remember: to one");
        }
      }
    }
    for (const WorkflowTransition& t : st.transitions) {
      check_tool(t.tool, t.at, t.rule);
      if (w.Find(t.to) == nullptr) {
        Error(at(t.at), "workflow-unknown-state",
              t.rule + ".to: no state named " + Quote(t.to) + " in workflow.states");
      }
    }
  }
}

std::string JoinErrors(const std::vector<Diagnostic>& diags) {
  std::string out;
  for (const Diagnostic& d : diags) {
    if (d.severity != Diagnostic::Severity::kError) continue;
    if (!out.empty()) out += '\n';
    out += d.ToString();
  }
  return out;
}

void FileError(std::vector<Diagnostic>* out, Location at, std::string id, std::string message) {
  out->push_back({Diagnostic::Severity::kError, std::move(at), std::move(id), std::move(message)});
}

bool ReadFile(const std::string& path, std::string* out, std::string* why) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxPolicyBytes) {
    *why = "policy file is " + std::to_string(size) + " bytes; the limit is " +
           std::to_string(kMaxPolicyBytes);
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = "cannot open policy file";
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    *why = "cannot read policy file";
    return false;
  }
  *out = std::move(ss).str();
  return true;
}

}  // namespace

Result<std::shared_ptr<const AgentPolicy>> ParseAgentPolicy(std::string_view text,
                                                            std::string_view file,
                                                            std::vector<Diagnostic>* diagnostics,
                                                            const LoadOptions& options) {
  std::vector<Diagnostic> local;
  Parser parser(file, &local, options);
  std::shared_ptr<AgentPolicy> policy = parser.Parse(text);
  // Report in reading order, whatever order the sections were checked in.
  std::stable_sort(local.begin(), local.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::pair(a.at.line, a.at.column) < std::pair(b.at.line, b.at.column);
  });
  if (parser.errors() > 0) {
    std::string message = JoinErrors(local);
    if (diagnostics) {
      diagnostics->insert(diagnostics->end(), std::make_move_iterator(local.begin()),
                          std::make_move_iterator(local.end()));
    }
    return Error::Invalid(std::move(message));
  }
  policy->file = std::string(file);
  policy->sha256 = Sha256Hex(text);
  // Lint() is not run here: callers (interlock check) run it once per loaded agent.
  if (diagnostics) {
    diagnostics->insert(diagnostics->end(), std::make_move_iterator(local.begin()),
                        std::make_move_iterator(local.end()));
  }
  return std::shared_ptr<const AgentPolicy>(std::move(policy));
}

Result<std::shared_ptr<const PolicySet>> LoadPolicySet(const std::vector<std::string>& paths,
                                                       std::vector<Diagnostic>* diagnostics,
                                                       const LoadOptions& options) {
  namespace fs = std::filesystem;
  std::vector<Diagnostic> local;
  std::vector<std::string> files;
  if (paths.empty())
    FileError(&local, {}, "no-policy-files", "no policy files or directories given");
  for (const std::string& path : paths) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
      FileError(&local, {path, 0, 0}, "io-error", "no such file or directory");
      continue;
    }
    if (!fs::is_directory(st)) {
      files.push_back(path);
      continue;
    }
    std::vector<std::string> found;
    fs::directory_iterator it(path, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const std::string ext = it->path().extension().string();
      if (ext != ".yaml" && ext != ".yml") continue;
      std::error_code fec;
      if (!fs::is_regular_file(it->status(fec)) || fec) continue;
      found.push_back((fs::path(path) / it->path().filename()).string());
    }
    if (ec) {
      FileError(&local, {path, 0, 0}, "io-error", "cannot list directory: " + ec.message());
      continue;
    }
    if (found.empty()) {
      FileError(&local, {path, 0, 0}, "no-policy-files",
                "directory holds no *.yaml or *.yml policy files");
      continue;
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  // A file named twice (a directory and one of its files) is loaded once.
  std::set<std::string> seen_files;
  auto set = std::make_shared<PolicySet>();
  std::map<std::string, const AgentPolicy*> identities;
  for (const std::string& file : files) {
    std::error_code ec;
    std::string canonical = fs::weakly_canonical(file, ec).string();
    if (ec) canonical = file;
    if (!seen_files.insert(canonical).second) continue;
    std::string text, why;
    if (!ReadFile(file, &text, &why)) {
      FileError(&local, {file, 0, 0}, "io-error", why);
      continue;
    }
    auto parsed = ParseAgentPolicy(text, file, &local, options);
    if (!parsed.ok()) continue;
    std::shared_ptr<const AgentPolicy> policy = std::move(parsed.value());
    if (auto it = set->agents.find(policy->id); it != set->agents.end()) {
      FileError(&local, policy->id_at, "duplicate-agent-id",
                "agent.id '" + policy->id + "' is already defined at " +
                    it->second->id_at.ToString() + "; every agent needs its own id");
      continue;
    }
    if (!policy->identity.empty()) {
      if (auto it = identities.find(policy->identity); it != identities.end()) {
        FileError(&local, policy->identity_at, "duplicate-identity",
                  "agent.identity '" + policy->identity + "' is already used by agent '" +
                      it->second->id + "' at " + it->second->identity_at.ToString() +
                      "; give each agent its own service account");
        continue;
      }
      identities.emplace(policy->identity, policy.get());
    }
    set->agents.emplace(policy->id, std::move(policy));
  }
  const bool failed = std::any_of(local.begin(), local.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  });
  std::string message = failed ? JoinErrors(local) : std::string();
  if (diagnostics) {
    diagnostics->insert(diagnostics->end(), std::make_move_iterator(local.begin()),
                        std::make_move_iterator(local.end()));
  }
  if (failed) return Error::Invalid(std::move(message));
  std::string record;
  for (const auto& [id, agent] : set->agents) {
    record += id;
    record += '\0';
    record += agent->sha256;
    record += '\n';
  }
  set->sha256 = Sha256Hex(record);
  return std::shared_ptr<const PolicySet>(std::move(set));
}

}  // namespace interlock::policy
