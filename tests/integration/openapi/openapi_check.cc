#include "openapi_check.h"

#include <algorithm>
#include <cctype>
#include <exception>

#include <yaml-cpp/yaml.h>

namespace interlock::testing {

namespace json = boost::json;

namespace {

// Every scalar as its text: the checker compares the document's enums and keywords as text.
json::value ToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json::object o;
      for (const auto& kv : n) o[kv.first.as<std::string>()] = ToJson(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      json::array a;
      for (const auto& x : n) a.push_back(ToJson(x));
      return a;
    }
    case YAML::NodeType::Scalar:
      return json::value(n.as<std::string>());
    default:
      return nullptr;
  }
}

const char* kMethods[] = {"get", "post", "put", "delete", "patch"};

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool IsType(const json::value& v, std::string_view type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_bool();
  if (type == "null") return v.is_null();
  if (type == "integer") {
    if (v.is_int64() || v.is_uint64()) return true;
    return v.is_double() &&
           v.get_double() == static_cast<double>(static_cast<int64_t>(v.get_double()));
  }
  if (type == "number") return v.is_number();
  return false;
}

// A scalar's text, as the document writes enum values.
std::string ScalarText(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  return json::serialize(v);
}

}  // namespace

bool OpenApiSpec::Load(const std::string& yaml_text, std::string* error) {
  try {
    json::value v = ToJson(YAML::Load(yaml_text));
    if (!v.is_object() || !v.get_object().contains("paths")) {
      *error = "not an OpenAPI document (no paths)";
      return false;
    }
    root_ = std::move(v.get_object());
    return true;
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
}

const json::value* OpenApiSpec::Resolve(const json::value& v) const {
  const json::value* cur = &v;
  for (int depth = 0; depth < 16; ++depth) {
    const json::object* o = cur->if_object();
    const json::value* ref = o != nullptr ? o->if_contains("$ref") : nullptr;
    if (ref == nullptr || !ref->is_string()) return cur;
    std::string_view r = ref->get_string();
    if (r.substr(0, 2) != "#/") return nullptr;
    const json::value* at = nullptr;
    const json::object* scope = &root_;
    size_t from = 2;
    while (from <= r.size()) {
      const size_t slash = std::min(r.find('/', from), r.size());
      const std::string key(r.substr(from, slash - from));
      if (scope == nullptr) return nullptr;
      at = scope->if_contains(key);
      if (at == nullptr) return nullptr;
      scope = at->if_object();
      from = slash + 1;
    }
    cur = at;
  }
  return nullptr;
}

std::set<std::string> OpenApiSpec::Routes() const {
  std::set<std::string> out;
  const json::object* paths = root_.at("paths").if_object();
  if (paths == nullptr) return out;
  for (const auto& kv : *paths) {
    const json::object* item = kv.value().if_object();
    if (item == nullptr) continue;
    for (const char* m : kMethods) {
      if (item->contains(m)) out.insert(Upper(m) + " " + std::string(kv.key()));
    }
  }
  return out;
}

const json::object* OpenApiSpec::Operation(const std::string& method,
                                           const std::string& path) const {
  const json::object* paths = root_.at("paths").if_object();
  const json::value* item = paths != nullptr ? paths->if_contains(path) : nullptr;
  if (item == nullptr || !item->is_object()) return nullptr;
  const json::value* op = item->get_object().if_contains(Lower(method));
  return op != nullptr ? op->if_object() : nullptr;
}

std::set<int> OpenApiSpec::Statuses(const std::string& method, const std::string& path) const {
  std::set<int> out;
  const json::object* op = Operation(method, path);
  const json::value* responses = op != nullptr ? op->if_contains("responses") : nullptr;
  if (responses == nullptr || !responses->is_object()) return out;
  for (const auto& kv : responses->get_object()) {
    try {
      out.insert(std::stoi(std::string(kv.key())));
    } catch (const std::exception&) {
    }
  }
  return out;
}

std::vector<std::string> OpenApiSpec::CheckAnswer(const std::string& method,
                                                  const std::string& path, int status,
                                                  const std::string& body) const {
  const std::string where = method + " " + path + " " + std::to_string(status);
  const json::object* op = Operation(method, path);
  if (op == nullptr) return {where + ": the operation is not documented"};
  const json::value* responses = op->if_contains("responses");
  const json::value* response = responses != nullptr && responses->is_object()
                                    ? responses->get_object().if_contains(std::to_string(status))
                                    : nullptr;
  if (response == nullptr) return {where + ": the status is not documented"};
  response = Resolve(*response);
  if (response == nullptr || !response->is_object()) return {where + ": bad response $ref"};
  const json::value* content = response->get_object().if_contains("content");
  const json::value* media = content != nullptr && content->is_object()
                                 ? content->get_object().if_contains("application/json")
                                 : nullptr;
  if (media == nullptr) return {};  // no JSON body documented: not read
  const json::value* schema =
      media->is_object() ? media->get_object().if_contains("schema") : nullptr;
  if (schema == nullptr) return {};
  boost::system::error_code ec;
  json::value parsed = json::parse(body, ec);
  if (ec) return {where + ": the body is not JSON: " + body.substr(0, 200)};
  return CheckSchema(*schema, parsed, where + " body");
}

std::vector<std::string> OpenApiSpec::CheckSchema(const json::value& schema_in,
                                                  const json::value& value,
                                                  const std::string& where) const {
  std::vector<std::string> out;
  const json::value* schema = Resolve(schema_in);
  if (schema == nullptr || !schema->is_object()) return {where + ": unresolvable schema"};
  const json::object& s = schema->get_object();
  if (const json::value* all = s.if_contains("allOf"); all != nullptr && all->is_array()) {
    for (const json::value& part : all->get_array()) {
      for (std::string& p : CheckSchema(part, value, where)) out.push_back(std::move(p));
    }
  }
  if (const json::value* type = s.if_contains("type")) {
    bool ok = false;
    std::string names;
    if (type->is_string()) {
      ok = IsType(value, type->get_string());
      names = std::string(type->get_string());
    } else if (type->is_array()) {
      for (const json::value& t : type->get_array()) {
        if (t.is_string() && IsType(value, t.get_string())) ok = true;
        names += ScalarText(t) + " ";
      }
    }
    if (!ok) {
      out.push_back(where + ": expected " + names + ", got " + json::serialize(value));
      return out;
    }
  }
  if (const json::value* e = s.if_contains("enum"); e != nullptr && e->is_array()) {
    const std::string text = ScalarText(value);
    const auto& a = e->get_array();
    if (std::none_of(a.begin(), a.end(),
                     [&](const json::value& x) { return ScalarText(x) == text; })) {
      out.push_back(where + ": " + text + " is not in the documented enum");
    }
  }
  if (value.is_object()) {
    const json::object& o = value.get_object();
    if (const json::value* req = s.if_contains("required"); req != nullptr && req->is_array()) {
      for (const json::value& k : req->get_array()) {
        if (k.is_string() && !o.contains(k.get_string())) {
          out.push_back(where + ": required member " + std::string(k.get_string()) + " is missing");
        }
      }
    }
    const json::object* props = nullptr;
    if (const json::value* p = s.if_contains("properties")) props = p->if_object();
    const json::value* extra = s.if_contains("additionalProperties");
    for (const auto& kv : o) {
      const std::string key(kv.key());
      const json::value* ps = props != nullptr ? props->if_contains(key) : nullptr;
      if (ps != nullptr) {
        for (std::string& p : CheckSchema(*ps, kv.value(), where + "." + key)) {
          out.push_back(std::move(p));
        }
      } else if (extra != nullptr) {
        if (extra->is_string() && extra->get_string() == "false") {
          out.push_back(where + ": member " + key + " is not documented");
        } else if (extra->is_object()) {
          for (std::string& p : CheckSchema(*extra, kv.value(), where + "." + key)) {
            out.push_back(std::move(p));
          }
        }
      }
    }
  }
  if (value.is_array()) {
    if (const json::value* items = s.if_contains("items")) {
      size_t i = 0;
      for (const json::value& x : value.get_array()) {
        for (std::string& p : CheckSchema(*items, x, where + "[" + std::to_string(i) + "]")) {
          out.push_back(std::move(p));
        }
        ++i;
      }
    }
  }
  return out;
}

std::vector<std::string> RouteDrift(const std::set<std::string>& documented,
                                    const std::set<std::string>& served) {
  std::vector<std::string> out;
  for (const std::string& r : served) {
    if (documented.count(r) == 0) out.push_back("undocumented: " + r);
  }
  for (const std::string& r : documented) {
    if (served.count(r) == 0) out.push_back("not served: " + r);
  }
  return out;
}

}  // namespace interlock::testing
