// The loader's scalar helpers: YAML 1.2 core-schema scalars, exact decimals, names and
// argument paths (docs/policy.md, "Argument paths"). See loader_internal.h.

#include "policy/loader_internal.h"

#include <boost/json/value.hpp>

#include "common/json.h"
#include "common/spelling.h"

namespace interlock::policy::loader_internal {

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
        Result<boost::json::value> v = ParseJsonStrict(s.substr(i + 1, j - i));
        if (!v.ok() || !v->is_string()) {
          return fail(i + 1, "the key in [\"key\"] is not a JSON string");
        }
        if (j + 1 >= s.size() || s[j + 1] != ']') return fail(j + 1, "expected ] after the key");
        if (v->get_string().empty()) return fail(i, "empty key");
        add_field(std::string(v->get_string()));
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
  // A role's policy (docs/governance.md#child-runs) is named "<agent>/<role>": one slash,
  // a name on each side.
  if (const size_t slash = id.find('/'); slash != std::string_view::npos) {
    const std::string_view role = id.substr(slash + 1);
    return slash > 0 && !role.empty() && role.find('/') == std::string_view::npos &&
           ValidAgentId(id.substr(0, slash)) && ValidAgentId(role);
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

std::string LineCol(const Location& at) {
  return "line " + std::to_string(at.line) + ", column " + std::to_string(at.column);
}

std::string Describe(const std::string& path) { return path.empty() ? "the document" : path; }

}  // namespace interlock::policy::loader_internal
