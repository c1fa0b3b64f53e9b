#include "mcp/json_schema.h"

#include <cmath>
#include <map>
#include <optional>

#include <re2/re2.h>
#include <boost/json.hpp>

#include "common/json.h"
#include "common/text.h"

namespace interlock::mcp {

namespace json = boost::json;

struct JsonSchema::Node {
  bool accept_all = false;  // `true` or {}
  bool reject_all = false;  // `false`
  unsigned types = 0;       // bit set of kType*; 0 = any
  std::map<std::string, std::shared_ptr<const Node>, std::less<>> properties;
  std::vector<std::string> required;
  std::optional<bool> additional_allowed;  // additionalProperties: bool
  std::shared_ptr<const Node> additional;  // additionalProperties: schema
  std::optional<std::vector<json::value>> enum_values;
  std::optional<json::value> const_value;
  std::shared_ptr<const Node> items;
  std::optional<double> min_items, max_items, min_length, max_length;
  std::optional<double> minimum, maximum, exclusive_minimum, exclusive_maximum;
  std::shared_ptr<const re2::RE2> pattern;
  std::vector<std::shared_ptr<const Node>> any_of, one_of, all_of;
};

namespace {

using Node = JsonSchema::Node;

enum : unsigned {
  kTypeNull = 1,
  kTypeBoolean = 2,
  kTypeObject = 4,
  kTypeArray = 8,
  kTypeNumber = 16,
  kTypeString = 32,
  kTypeInteger = 64,
};

std::optional<unsigned> TypeBit(std::string_view name) {
  if (name == "null") return kTypeNull;
  if (name == "boolean") return kTypeBoolean;
  if (name == "object") return kTypeObject;
  if (name == "array") return kTypeArray;
  if (name == "number") return kTypeNumber;
  if (name == "string") return kTypeString;
  if (name == "integer") return kTypeInteger;
  return std::nullopt;
}

std::optional<double> Number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

bool IsInteger(const json::value& v) {
  if (v.is_int64() || v.is_uint64()) return true;
  return v.is_double() && std::isfinite(v.get_double()) &&
         std::floor(v.get_double()) == v.get_double();
}

// JSON equality where 1 == 1.0 (JSON Schema compares numbers mathematically).
bool JsonEqual(const json::value& a, const json::value& b) {
  auto na = Number(a), nb = Number(b);
  if (na && nb) return *na == *nb;
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto &x = a.get_array(), &y = b.get_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!JsonEqual(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const auto &x = a.get_object(), &y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& kv : x) {
      const json::value* other = y.if_contains(kv.key());
      if (other == nullptr || !JsonEqual(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

constexpr int kMaxSchemaDepth = 64;

Result<std::shared_ptr<const Node>> CompileNode(const json::value& s, int depth);

Result<std::vector<std::shared_ptr<const Node>>> CompileList(const json::value& v, int depth,
                                                             std::string_view keyword) {
  if (!v.is_array()) return Error::Invalid(std::string(keyword) + " must be an array");
  std::vector<std::shared_ptr<const Node>> out;
  for (const json::value& e : v.get_array()) {
    auto n = CompileNode(e, depth + 1);
    if (!n.ok()) return n.error();
    out.push_back(std::move(n).value());
  }
  return out;
}

Result<std::shared_ptr<const Node>> CompileNode(const json::value& s, int depth) {
  if (depth > kMaxSchemaDepth) return Error::Invalid("schema nested too deeply");
  auto node = std::make_shared<Node>();
  if (s.is_bool()) {
    (s.get_bool() ? node->accept_all : node->reject_all) = true;
    return std::shared_ptr<const Node>(node);
  }
  if (!s.is_object()) return Error::Invalid("a schema must be an object or a boolean");
  const json::object& o = s.get_object();
  if (const json::value* t = o.if_contains("type")) {
    if (t->is_string()) {
      if (auto b = TypeBit(t->get_string())) node->types |= *b;
    } else if (t->is_array()) {
      for (const json::value& e : t->get_array()) {
        if (e.is_string()) {
          if (auto b = TypeBit(e.get_string())) node->types |= *b;
        }
      }
    }
  }
  if (const json::value* p = o.if_contains("properties"); p != nullptr && p->is_object()) {
    for (const auto& kv : p->get_object()) {
      auto n = CompileNode(kv.value(), depth + 1);
      if (!n.ok()) return n.error();
      node->properties.emplace(std::string(kv.key()), std::move(n).value());
    }
  }
  if (const json::value* r = o.if_contains("required"); r != nullptr && r->is_array()) {
    for (const json::value& e : r->get_array()) {
      if (e.is_string()) node->required.emplace_back(e.get_string());
    }
  }
  if (const json::value* a = o.if_contains("additionalProperties")) {
    if (a->is_bool()) {
      node->additional_allowed = a->get_bool();
    } else if (a->is_object()) {
      auto n = CompileNode(*a, depth + 1);
      if (!n.ok()) return n.error();
      node->additional = std::move(n).value();
    }
  }
  if (const json::value* e = o.if_contains("enum"); e != nullptr && e->is_array()) {
    node->enum_values.emplace(e->get_array().begin(), e->get_array().end());
  }
  if (const json::value* c = o.if_contains("const")) node->const_value = *c;
  if (const json::value* i = o.if_contains("items");
      i != nullptr && (i->is_object() || i->is_bool())) {
    auto n = CompileNode(*i, depth + 1);
    if (!n.ok()) return n.error();
    node->items = std::move(n).value();
  }
  auto num = [&o](std::string_view k) -> std::optional<double> {
    const json::value* v = o.if_contains(k);
    return v != nullptr ? Number(*v) : std::nullopt;
  };
  node->min_items = num("minItems");
  node->max_items = num("maxItems");
  node->min_length = num("minLength");
  node->max_length = num("maxLength");
  node->minimum = num("minimum");
  node->maximum = num("maximum");
  node->exclusive_minimum = num("exclusiveMinimum");
  node->exclusive_maximum = num("exclusiveMaximum");
  // Draft 4: exclusiveMinimum/Maximum are booleans modifying minimum/maximum.
  if (const json::value* b = o.if_contains("exclusiveMinimum");
      b != nullptr && b->is_bool() && b->get_bool() && node->minimum) {
    node->exclusive_minimum = node->minimum;
    node->minimum.reset();
  }
  if (const json::value* b = o.if_contains("exclusiveMaximum");
      b != nullptr && b->is_bool() && b->get_bool() && node->maximum) {
    node->exclusive_maximum = node->maximum;
    node->maximum.reset();
  }
  if (const json::value* p = o.if_contains("pattern"); p != nullptr && p->is_string()) {
    RE2::Options opts;
    opts.set_log_errors(false);
    auto re = std::make_shared<const re2::RE2>(std::string(p->get_string()), opts);
    if (re->ok()) node->pattern = std::move(re);
  }
  for (auto [key, list] : {std::pair{"anyOf", &node->any_of}, std::pair{"oneOf", &node->one_of},
                           std::pair{"allOf", &node->all_of}}) {
    if (const json::value* v = o.if_contains(key)) {
      auto l = CompileList(*v, depth, key);
      if (!l.ok()) return l.error();
      *list = std::move(l).value();
    }
  }
  return std::shared_ptr<const Node>(node);
}

std::string Escape(std::string_view key) { return EscapeBytes(key, {{'~', "~0"}, {'/', "~1"}}); }

Status Fail(const std::string& path, const std::string& what) {
  return Error::Invalid("at " + (path.empty() ? std::string("/") : path) + ": " + what);
}

const char* KindName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "boolean";
    case json::kind::object:
      return "object";
    case json::kind::array:
      return "array";
    case json::kind::string:
      return "string";
    default:
      return IsInteger(v) ? "integer" : "number";
  }
}

Status Check(const Node& n, const json::value& v, const std::string& path) {
  if (n.accept_all) return Status::Ok();
  if (n.reject_all) return Fail(path, "no value is allowed here");
  if (n.types != 0) {
    unsigned have = 0;
    switch (v.kind()) {
      case json::kind::null:
        have = kTypeNull;
        break;
      case json::kind::bool_:
        have = kTypeBoolean;
        break;
      case json::kind::object:
        have = kTypeObject;
        break;
      case json::kind::array:
        have = kTypeArray;
        break;
      case json::kind::string:
        have = kTypeString;
        break;
      default:
        have = kTypeNumber | (IsInteger(v) ? kTypeInteger : 0u);
    }
    if ((have & n.types) == 0) {
      std::string want;
      for (auto [bit, name] : {std::pair{kTypeNull, "null"}, std::pair{kTypeBoolean, "boolean"},
                               std::pair{kTypeObject, "object"}, std::pair{kTypeArray, "array"},
                               std::pair{kTypeNumber, "number"}, std::pair{kTypeString, "string"},
                               std::pair{kTypeInteger, "integer"}}) {
        if ((n.types & bit) != 0) want += (want.empty() ? "" : " or ") + std::string(name);
      }
      return Fail(path, std::string("expected ") + want + ", got " + KindName(v));
    }
  }
  if (n.const_value && !JsonEqual(*n.const_value, v)) {
    return Fail(path, "must equal " + ToJsonText(*n.const_value));
  }
  if (n.enum_values) {
    bool found = false;
    for (const json::value& e : *n.enum_values) {
      if (JsonEqual(e, v)) {
        found = true;
        break;
      }
    }
    if (!found) return Fail(path, "value is not one of the allowed values");
  }
  if (v.is_object()) {
    const json::object& o = v.get_object();
    for (const std::string& r : n.required) {
      if (!o.contains(r)) return Fail(path, "missing required property \"" + r + "\"");
    }
    for (const auto& kv : o) {
      const std::string child = path + "/" + Escape(kv.key());
      if (auto it = n.properties.find(std::string_view(kv.key())); it != n.properties.end()) {
        if (Status s = Check(*it->second, kv.value(), child); !s.ok()) return s;
      } else if (n.additional) {
        if (Status s = Check(*n.additional, kv.value(), child); !s.ok()) return s;
      } else if (n.additional_allowed && !*n.additional_allowed) {
        return Fail(path, "property \"" + std::string(kv.key()) + "\" is not allowed");
      }
    }
  }
  if (v.is_array()) {
    const json::array& a = v.get_array();
    const double size = static_cast<double>(a.size());
    if (n.min_items && size < *n.min_items) return Fail(path, "too few items");
    if (n.max_items && size > *n.max_items) return Fail(path, "too many items");
    if (n.items) {
      for (size_t i = 0; i < a.size(); ++i) {
        if (Status s = Check(*n.items, a[i], path + "/" + std::to_string(i)); !s.ok()) return s;
      }
    }
  }
  if (v.is_string()) {
    const std::string_view s = v.get_string();
    const double len = static_cast<double>(CodePoints(s));
    if (n.min_length && len < *n.min_length) return Fail(path, "string too short");
    if (n.max_length && len > *n.max_length) return Fail(path, "string too long");
    if (n.pattern && !RE2::PartialMatch(s, *n.pattern)) {
      return Fail(path, "string does not match pattern " + n.pattern->pattern());
    }
  }
  if (auto x = Number(v)) {
    if (n.minimum && *x < *n.minimum) return Fail(path, "number below minimum");
    if (n.maximum && *x > *n.maximum) return Fail(path, "number above maximum");
    if (n.exclusive_minimum && *x <= *n.exclusive_minimum) {
      return Fail(path, "number not above exclusiveMinimum");
    }
    if (n.exclusive_maximum && *x >= *n.exclusive_maximum) {
      return Fail(path, "number not below exclusiveMaximum");
    }
  }
  for (const auto& sub : n.all_of) {
    if (Status s = Check(*sub, v, path); !s.ok()) return s;
  }
  if (!n.any_of.empty()) {
    bool any = false;
    for (const auto& sub : n.any_of) {
      if (Check(*sub, v, path).ok()) {
        any = true;
        break;
      }
    }
    if (!any) return Fail(path, "matches none of anyOf");
  }
  if (!n.one_of.empty()) {
    int matches = 0;
    for (const auto& sub : n.one_of) {
      if (Check(*sub, v, path).ok()) ++matches;
    }
    if (matches != 1) {
      return Fail(path, "matches " + std::to_string(matches) + " of oneOf (exactly one needed)");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<JsonSchema> JsonSchema::Compile(const json::value& schema) {
  auto root = CompileNode(schema, 0);
  if (!root.ok()) return root.error();
  return JsonSchema(std::move(root).value());
}

Status JsonSchema::Validate(const json::value& instance) const {
  return Check(*root_, instance, "");
}

}  // namespace interlock::mcp
