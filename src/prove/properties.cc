#include "prove/properties.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <system_error>

#include "common/file.h"
#include "policy/yaml_tree.h"

namespace interlock::prove {
namespace {

namespace fs = std::filesystem;

struct Reader {
  std::string_view file;
  Error Fail(const YamlNode& n, const std::string& message) const {
    return Error::Invalid(YamlWhere(file, n) + message);
  }
};

// A scalar as a JSON value: true/false, an integer, a number, else a string.
boost::json::value ScalarValue(const std::string& s) {
  if (s == "true") return true;
  if (s == "false") return false;
  int64_t i = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return i;
  double d = 0;
  auto [q, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec2 == std::errc() && q == s.data() + s.size() && !s.empty()) return d;
  return boost::json::string(s);
}

Result<std::string> Text(const Reader& r, const YamlNode& n, std::string_view what) {
  if (!n.IsScalar() || n.Scalar().empty()) {
    return Result<std::string>(r.Fail(n, std::string(what) + " must be a non-empty string"));
  }
  return Result<std::string>(n.Scalar());
}

Result<uint64_t> Count(const Reader& r, const YamlNode& n, std::string_view what, uint64_t min) {
  uint64_t v = 0;
  const std::string& s = n.Scalar();
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (!n.IsScalar() || ec != std::errc() || p != s.data() + s.size() || v < min || v > 1000000) {
    return Result<uint64_t>(r.Fail(
        n, std::string(what) + " must be an integer from " + std::to_string(min) + " to 1000000"));
  }
  return Result<uint64_t>(v);
}

// The fields of a kind's mapping: each key once, each known, the required ones present.
Result<std::map<std::string, const YamlNode*>> Fields(const Reader& r, const YamlNode& n,
                                                      std::string_view kind,
                                                      const std::vector<std::string>& known,
                                                      const std::vector<std::string>& required) {
  using Out = Result<std::map<std::string, const YamlNode*>>;
  if (!n.IsMap()) return Out(r.Fail(n, std::string(kind) + " must be a mapping"));
  std::map<std::string, const YamlNode*> out;
  for (const YamlNode::Entry& e : n.entries()) {
    if (std::find(known.begin(), known.end(), e.first.Scalar()) == known.end()) {
      std::string list;
      for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
      return Out(r.Fail(e.first, std::string(kind) + "." + e.first.Scalar() + ": unknown key (" +
                                     std::string(kind) + " holds " + list + ")"));
    }
    out[e.first.Scalar()] = &e.second;
  }
  for (const std::string& k : required) {
    if (out.count(k) == 0) return Out(r.Fail(n, std::string(kind) + "." + k + " is required"));
  }
  return Out(std::move(out));
}

// The body of one kind key into `p`.
Status ReadKind(const Reader& r, const std::string& key, const YamlNode& v, Property* p) {
  using K = Property::Kind;
  if (key == "never_allowed") {
    p->kind = K::kNeverAllowed;
    auto t = Text(r, v, key);
    if (!t.ok()) return t.error();
    p->tool = *t;
    return Status::Ok();
  }
  if (key == "only_tools") {
    p->kind = K::kOnlyTools;
    if (!v.IsSequence() || v.items().empty())
      return r.Fail(v, "only_tools must be a non-empty list of tool names or patterns");
    for (const YamlNode& item : v.items()) {
      auto t = Text(r, item, "only_tools[]");
      if (!t.ok()) return t.error();
      p->tools.push_back(*t);
    }
    return Status::Ok();
  }
  static const std::map<std::string, std::pair<std::vector<std::string>, std::vector<std::string>>>
      kFields = {
          {"needs_approvals", {{"tool", "count"}, {"tool"}}},
          {"before", {{"tool", "requires", "result"}, {"tool", "requires"}}},
          {"never_flows", {{"label", "to"}, {"label", "to"}}},
          {"at_most", {{"tool", "calls", "per"}, {"tool", "calls", "per"}}},
      };
  auto spec = kFields.find(key);
  if (spec == kFields.end()) return r.Fail(v, "");  // not reached: the caller knows the keys
  auto f = Fields(r, v, key, spec->second.first, spec->second.second);
  if (!f.ok()) return f.error();
  std::map<std::string, const YamlNode*>& m = *f;
  const std::string tool_key = key == "never_flows" ? "to" : "tool";
  auto tool = Text(r, *m[tool_key], key + "." + tool_key);
  if (!tool.ok()) return tool.error();
  p->tool = *tool;
  if (key == "needs_approvals") {
    p->kind = K::kNeedsApprovals;
    if (m.count("count")) {
      auto c = Count(r, *m["count"], "needs_approvals.count", 1);
      if (!c.ok()) return c.error();
      p->count = *c;
    }
  } else if (key == "before") {
    p->kind = K::kBefore;
    auto req = Text(r, *m["requires"], "before.requires");
    if (!req.ok()) return req.error();
    p->requires_tool = *req;
    if (m.count("result")) {
      const std::string& s = m["result"]->Scalar();
      if (s != "ok" && s != "allowed")
        return r.Fail(*m["result"], "before.result must be ok or allowed");
      p->requires_ok = s == "ok";
    }
  } else if (key == "never_flows") {
    p->kind = K::kNeverFlows;
    auto l = Text(r, *m["label"], "never_flows.label");
    if (!l.ok()) return l.error();
    p->label = *l;
  } else {
    p->kind = K::kAtMost;
    auto c = Count(r, *m["calls"], "at_most.calls", 0);
    if (!c.ok()) return c.error();
    p->count = *c;
    const std::string& per = m["per"]->Scalar();
    if (per != "run" && per != "day") return r.Fail(*m["per"], "at_most.per must be run or day");
    p->per_day = per == "day";
  }
  return Status::Ok();
}

Result<Property> ReadProperty(const Reader& r, const YamlNode& n) {
  static const std::vector<std::string> kKinds = {"never_allowed", "needs_approvals", "before",
                                                  "never_flows",   "at_most",         "only_tools"};
  if (!n.IsMap()) return Result<Property>(r.Fail(n, "a property must be a mapping"));
  Property p;
  p.at = {std::string(r.file), n.line(), n.column()};
  const YamlNode* kind = nullptr;
  std::string kind_key;
  for (const YamlNode::Entry& e : n.entries()) {
    const std::string& k = e.first.Scalar();
    if (k == "name" || k == "agent") {
      auto t = Text(r, e.second, k);
      if (!t.ok()) return Result<Property>(t.error());
      (k == "name" ? p.name : p.agent) = *t;
    } else if (std::find(kKinds.begin(), kKinds.end(), k) != kKinds.end()) {
      if (kind != nullptr) {
        return Result<Property>(
            r.Fail(e.first, "a property states one kind (" + kind_key + " and " + k + ")"));
      }
      kind = &e.second;
      kind_key = k;
    } else {
      return Result<Property>(r.Fail(
          e.first, k + ": unknown key (a property holds name, agent and one of never_allowed, "
                       "needs_approvals, before, never_flows, at_most, only_tools)"));
    }
  }
  if (p.name.empty()) return Result<Property>(r.Fail(n, "name is required"));
  if (kind == nullptr) {
    return Result<Property>(r.Fail(n, "property " + p.name +
                                          " states no kind (never_allowed, needs_approvals, "
                                          "before, never_flows, at_most, only_tools)"));
  }
  if (Status st = ReadKind(r, kind_key, *kind, &p); !st.ok()) return Result<Property>(st.error());
  return Result<Property>(std::move(p));
}

Status ReadExamples(const Reader& r, const YamlNode& n, PropertiesFile* out) {
  if (!n.IsMap()) return r.Fail(n, "examples must be a mapping of argument names to lists");
  for (const YamlNode::Entry& e : n.entries()) {
    if (!e.second.IsSequence())
      return r.Fail(e.second, "examples." + e.first.Scalar() + " must be a list of values");
    auto& values = out->examples[e.first.Scalar()];
    for (const YamlNode& item : e.second.items()) {
      if (!item.IsScalar()) return r.Fail(item, "an example value must be a scalar");
      values.push_back(ScalarValue(item.Scalar()));
    }
  }
  return Status::Ok();
}

}  // namespace

const char* KindName(Property::Kind kind) {
  switch (kind) {
    case Property::Kind::kNeverAllowed:
      return "never_allowed";
    case Property::Kind::kNeedsApprovals:
      return "needs_approvals";
    case Property::Kind::kBefore:
      return "before";
    case Property::Kind::kNeverFlows:
      return "never_flows";
    case Property::Kind::kAtMost:
      return "at_most";
    case Property::Kind::kOnlyTools:
      return "only_tools";
  }
  return "?";
}

Result<PropertiesFile> ParseProperties(std::string_view text, std::string_view file) {
  using Out = Result<PropertiesFile>;
  auto doc = ReadYamlTree(text, file);
  if (!doc.ok()) return Out(doc.error());
  const Reader r{file};
  PropertiesFile out;
  out.file = std::string(file);
  if (!doc->IsMap()) return Out(r.Fail(*doc, "a properties file is a mapping with properties:"));
  bool seen = false;
  for (const YamlNode::Entry& e : doc->entries()) {
    const std::string& k = e.first.Scalar();
    if (k == "examples") {
      if (Status st = ReadExamples(r, e.second, &out); !st.ok()) return Out(st.error());
    } else if (k == "properties") {
      seen = true;
      if (!e.second.IsSequence())
        return Out(r.Fail(e.second, "properties must be a list of properties"));
      for (const YamlNode& item : e.second.items()) {
        auto p = ReadProperty(r, item);
        if (!p.ok()) return Out(p.error());
        for (const Property& q : out.properties) {
          if (q.name == p->name)
            return Out(r.Fail(item, "property " + p->name + " is stated twice"));
        }
        out.properties.push_back(std::move(*p));
      }
    } else {
      return Out(r.Fail(e.first, k + ": unknown key (a properties file holds properties and "
                                     "examples)"));
    }
  }
  if (!seen) return Out(r.Fail(*doc, "properties: is required"));
  return Out(std::move(out));
}

Result<PropertiesFile> ReadProperties(const std::string& path) {
  auto text = ReadFileBounded(path, size_t{4} << 20, "properties file");
  if (!text.ok()) return Result<PropertiesFile>(Error::Invalid(path + ": " + text.error().message));
  return ParseProperties(*text, path);
}

std::vector<std::string> FindPropertiesFiles(const std::string& policy_path) {
  std::vector<std::string> out;
  std::error_code ec;
  if (fs::is_directory(policy_path, ec)) {
    fs::directory_iterator it(policy_path, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      auto ends = [&](std::string_view s) {
        return name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
      };
      if (ends(".props.yaml") || ends(".props.yml"))
        out.push_back((fs::path(policy_path) / name).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  fs::path p(policy_path);
  fs::path beside = p.parent_path() / (p.stem().string() + ".props.yaml");
  if (fs::is_regular_file(beside, ec)) out.push_back(beside.string());
  return out;
}

}  // namespace interlock::prove
