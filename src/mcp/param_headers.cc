#include "mcp/param_headers.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>

namespace interlock::mcp {

namespace json = boost::json;

namespace {

constexpr size_t kMaxDepth = 32;
constexpr int64_t kMaxSafeInteger = 9007199254740991;  // 2^53 - 1

// RFC 9110 tchar.
bool TokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// The type a marked property must have: string, integer or boolean (alone, or beside "null").
bool PrimitiveType(const json::object& schema) {
  const json::value* t = schema.if_contains("type");
  auto ok = [](const json::value& v) {
    return v.is_string() && (v.get_string() == "string" || v.get_string() == "integer" ||
                             v.get_string() == "boolean");
  };
  if (t == nullptr) return false;
  if (ok(*t)) return true;
  if (!t->is_array()) return false;
  size_t primitives = 0;
  for (const json::value& v : t->get_array()) {
    if (ok(v)) {
      ++primitives;
    } else if (!(v.is_string() && v.get_string() == "null")) {
      return false;
    }
  }
  return primitives == 1;
}

struct HeaderWalk {  // not Walk: sandbox_view.cc has one (unity batches)
  std::vector<ParamHeader> out;
  std::set<std::string> seen;  // lower-cased names
  std::vector<std::string> path;
  std::string error;

  void Fail(std::string why) {
    if (error.empty()) error = std::move(why);
  }

  // `schema` is a schema; `reachable`: reached from the root through `properties` keys only.
  void Schema(const json::value& schema, bool reachable, size_t depth) {
    if (!error.empty() || !schema.is_object()) return;
    if (depth > kMaxDepth) return Fail("the inputSchema is nested too deeply to be checked");
    const json::object& o = schema.get_object();
    if (const json::value* h = o.if_contains("x-mcp-header")) Mark(o, *h, reachable);
    for (const auto& kv : o) {
      const std::string_view k = kv.key();
      const json::value& v = kv.value();
      if (k == "properties") {
        if (!v.is_object()) continue;
        for (const auto& p : v.get_object()) {
          path.emplace_back(p.key());
          Schema(p.value(), reachable, depth + 1);
          path.pop_back();
        }
      } else if (k == "patternProperties" || k == "$defs" || k == "definitions" ||
                 k == "dependentSchemas" || k == "dependencies") {
        if (!v.is_object()) continue;
        for (const auto& p : v.get_object()) Schema(p.value(), false, depth + 1);
      } else if (k == "prefixItems" || k == "oneOf" || k == "anyOf" || k == "allOf" ||
                 (k == "items" && v.is_array())) {
        if (!v.is_array()) continue;
        for (const json::value& s : v.get_array()) Schema(s, false, depth + 1);
      } else if (k == "items" || k == "additionalItems" || k == "contains" ||
                 k == "additionalProperties" || k == "propertyNames" || k == "unevaluatedItems" ||
                 k == "unevaluatedProperties" || k == "not" || k == "if" || k == "then" ||
                 k == "else") {
        Schema(v, false, depth + 1);
      }
    }
  }

  void Mark(const json::object& property, const json::value& h, bool reachable) {
    std::string where = path.empty() ? std::string("the schema root") : "property " + path.back();
    if (!reachable || path.empty()) {
      return Fail("x-mcp-header on " + where +
                  ", which is not reached from the root through `properties` keys only");
    }
    if (!h.is_string() || h.get_string().empty()) {
      return Fail("x-mcp-header of " + where + " is not a non-empty string");
    }
    const std::string name(h.get_string());
    if (!std::all_of(name.begin(), name.end(), TokenChar)) {
      return Fail("x-mcp-header of " + where + " is not an HTTP field-name token");
    }
    if (!PrimitiveType(property)) {
      return Fail("x-mcp-header on " + where + ", whose type is not string, integer or boolean");
    }
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!seen.insert(lower).second) {
      return Fail("x-mcp-header " + name + " is declared twice (names are case-insensitive)");
    }
    out.push_back(ParamHeader{name, path});
  }
};

}  // namespace

Result<std::vector<ParamHeader>> ParamHeadersOf(const json::value& input_schema) {
  HeaderWalk w;
  w.Schema(input_schema, true, 0);
  if (!w.error.empty()) return Error::Invalid(w.error);
  return std::move(w.out);
}

std::optional<std::string> ParamHeaderForm(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  if (v.is_int64()) {
    const int64_t i = v.get_int64();
    if (i < -kMaxSafeInteger || i > kMaxSafeInteger) return std::nullopt;
    return std::to_string(i);
  }
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<uint64_t>(kMaxSafeInteger)) return std::nullopt;
    return std::to_string(v.get_uint64());
  }
  if (v.is_double()) {
    const double d = v.get_double();  // 42.0 is the integer 42 (compared numerically)
    if (d >= -static_cast<double>(kMaxSafeInteger) && d <= static_cast<double>(kMaxSafeInteger) &&
        d == static_cast<double>(static_cast<int64_t>(d))) {
      return std::to_string(static_cast<int64_t>(d));
    }
  }
  return std::nullopt;
}

const json::value* ParamArgument(const ParamHeader& header, const json::value* arguments) {
  const json::value* v = arguments;
  for (const std::string& key : header.path) {
    v = v != nullptr && v->is_object() ? v->get_object().if_contains(key) : nullptr;
  }
  return v == nullptr || v->is_null() ? nullptr : v;
}

std::vector<std::pair<std::string, std::string>> MirrorParamHeaders(
    const std::vector<ParamHeader>& headers, const json::value* arguments) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const ParamHeader& h : headers) {
    const json::value* v = ParamArgument(h, arguments);
    if (v == nullptr) continue;
    // A value that has no header form (an object where a string was declared) is not
    // mirrored: the server refuses the call (-32020) rather than act on a guess.
    if (std::optional<std::string> form = ParamHeaderForm(*v)) {
      out.emplace_back("Mcp-Param-" + h.name, EncodeHeaderValue(*form));
    }
  }
  return out;
}

std::string EncodeHeaderValue(std::string_view v) {
  bool plain = !v.empty() && v.front() != ' ' && v.back() != ' ' &&
               !(v.starts_with("=?base64?") && v.ends_with("?="));
  for (unsigned char c : v) plain = plain && c >= 0x20 && c <= 0x7e;
  if (plain) return std::string(v);
  std::string out(4 * ((v.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(v.data()), static_cast<int>(v.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return "=?base64?" + out + "?=";
}

}  // namespace interlock::mcp
