#include "policytest/spec.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <string_view>

#include "common/file.h"
#include "common/spelling.h"
#include "interlock/decision.h"
#include "policy/loader.h"
#include "policy/yaml_tree.h"

namespace interlock::policytest {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr size_t kMaxTestFileBytes = 4 << 20;  // a test file is text a person wrote

constexpr std::array<std::string_view, 8> kFileKeys = {
    "policy", "agent",       "workspace", "now", "case_insensitive_paths",
    "cases",  "description", "symlinks"};
constexpr std::array<std::string_view, 7> kCaseKeys = {"name",   "call",  "result",     "elapsed_s",
                                                       "expect", "steps", "adversarial"};
constexpr std::array<std::string_view, 4> kStepKeys = {"call", "result", "elapsed_s", "expect"};
constexpr std::array<std::string_view, 4> kExpectKeys = {"decision", "code", "rule", "at"};
constexpr std::array<std::string_view, 4> kResultKeys = {"ok", "error", "usage", "output"};
constexpr std::array<std::string_view, 4> kVerdictNames = {"allow", "deny", "approval_required",
                                                           "rehearsal_required"};

template <size_t N>
bool Known(const std::array<std::string_view, N>& keys, std::string_view k) {
  return std::find(keys.begin(), keys.end(), k) != keys.end();
}

template <size_t N>
std::string KeyList(const std::array<std::string_view, N>& keys) {
  std::string out;
  for (std::string_view k : keys) out += (out.empty() ? "" : ", ") + std::string(k);
  return out;
}

// Replaces every `${workspace}` in the strings of `v` (the call's arguments are written
// against the test's workspace, as the policy's values are).
void SubstituteWorkspace(json::value& v, const std::string& workspace) {
  if (v.is_string()) {
    std::string s(v.as_string());
    static constexpr std::string_view kVar = "${workspace}";
    bool changed = false;
    for (size_t at = s.find(kVar); at != std::string::npos;
         at = s.find(kVar, at + workspace.size())) {
      s.replace(at, kVar.size(), workspace);
      changed = true;
    }
    if (changed) v = json::string(s);
  } else if (v.is_array()) {
    for (json::value& i : v.as_array()) SubstituteWorkspace(i, workspace);
  } else if (v.is_object()) {
    for (auto& kv : v.as_object()) SubstituteWorkspace(kv.value(), workspace);
  }
}

// Reading one file: every error names file:line:column of the node at fault.
class SpecReader {
 public:
  explicit SpecReader(std::string file) : file_(std::move(file)) {}

  Result<TestFile> Read(const YamlNode& root) const;

 private:
  Error Bad(const YamlNode& at, const std::string& what) const {
    return Error::Invalid(YamlWhere(file_, at) + what);
  }

  // "unknown key K in WHERE (WHERE holds A, B, C); did you mean B?"
  template <size_t N>
  Error Unknown(const YamlNode& key, std::string_view where,
                const std::array<std::string_view, N>& keys) const {
    std::string msg = "unknown key " + key.Scalar() + " in " + std::string(where) + " (" +
                      std::string(where) + " holds " + KeyList(keys) + ")";
    if (std::string best = NearestName(key.Scalar(), keys); !best.empty())
      msg += "; did you mean " + best + "?";
    return Bad(key, msg);
  }

  Result<std::string> String(const YamlNode& n, std::string_view key) const {
    if (!n.IsScalar() || n.Scalar().empty())
      return Bad(n, std::string(key) + " must be a non-empty string");
    return n.Scalar();
  }

  Result<Expectation> Expect(const YamlNode& n) const;
  Result<json::object> ReadResult(const YamlNode& n) const;
  Result<Step> ReadStep(const YamlNode& n, bool case_level) const;
  Result<Case> ReadCase(const YamlNode& n) const;
  Status ReadPolicies(const YamlNode& n, TestFile* t) const;
  Status ReadSymlinks(const YamlNode& n, TestFile* t) const;

  std::string file_;
};

Result<Expectation> SpecReader::Expect(const YamlNode& n) const {
  Expectation e;
  if (n.IsScalar()) {
    e.decision = n.Scalar();
  } else if (n.IsMap()) {
    for (const YamlNode::Entry& kv : n.entries()) {
      const std::string& k = kv.first.Scalar();
      if (!Known(kExpectKeys, k)) return Unknown(kv.first, "expect", kExpectKeys);
      auto s = String(kv.second, "expect." + k);
      if (!s.ok()) return s.error();
      (k == "decision" ? e.decision : k == "code" ? e.code : k == "rule" ? e.rule : e.at) = *s;
    }
  } else {
    return Bad(n, "expect is a decision (allow, deny, ...) or {decision, code, rule, at}");
  }
  if (!Known(kVerdictNames, e.decision)) {
    return Bad(n, "expect.decision must be one of " + KeyList(kVerdictNames) +
                      (e.decision.empty() ? "" : ", not " + e.decision));
  }
  if (!e.code.empty() && !ParseCode(e.code)) {
    return Bad(n, "expect.code " + e.code + " is no decision code (docs/api.md lists them)");
  }
  return e;
}

Result<json::object> SpecReader::ReadResult(const YamlNode& n) const {
  if (!n.IsMap()) return Bad(n, "result must be a mapping {ok, error?, usage?, output?}");
  bool have_ok = false;
  for (const YamlNode::Entry& kv : n.entries()) {
    if (!Known(kResultKeys, kv.first.Scalar())) return Unknown(kv.first, "result", kResultKeys);
    if (kv.first.Scalar() == "ok") {
      if (!kv.second.IsScalar() || kv.second.Quoted() ||
          (kv.second.Scalar() != "true" && kv.second.Scalar() != "false"))
        return Bad(kv.second, "result.ok must be true or false");
      have_ok = true;
    }
  }
  if (!have_ok) return Bad(n, "result needs ok: true or false");
  auto v = YamlToJson(n, file_);
  if (!v.ok()) return v.error();
  return std::move(v->as_object());
}

// A step: {call, result?, elapsed_s?, expect}; at case level also name and adversarial.
Result<Step> SpecReader::ReadStep(const YamlNode& n, bool case_level) const {
  if (!n.IsMap()) return Bad(n, "a step is a mapping {call, result?, elapsed_s?, expect}");
  Step s;
  s.line = n.line();
  bool have_call = false, have_expect = false;
  for (const YamlNode::Entry& kv : n.entries()) {
    const std::string& k = kv.first.Scalar();
    if (case_level && (k == "name" || k == "adversarial")) continue;
    if (!Known(kStepKeys, k)) {
      return case_level ? Unknown(kv.first, "a case", kCaseKeys)
                        : Unknown(kv.first, "a step", kStepKeys);
    }
    if (k == "call") {
      if (!kv.second.IsMap()) return Bad(kv.second, "call must be a mapping {tool, args, usage?}");
      auto v = YamlToJson(kv.second, file_);
      if (!v.ok()) return v.error();
      s.call = std::move(v->as_object());
      const json::value* tool = s.call.if_contains("tool");
      if (tool == nullptr || !tool->is_string() || tool->as_string().empty())
        return Bad(kv.second, "call.tool must be a non-empty string");
      have_call = true;
    } else if (k == "result") {
      auto r = ReadResult(kv.second);
      if (!r.ok()) return r.error();
      s.result = std::move(*r);
    } else if (k == "elapsed_s") {
      const json::value v = kv.second.IsScalar() ? YamlScalarJson(kv.second) : json::value();
      if (!v.is_number() || v.to_number<double>() < 0)
        return Bad(kv.second, "elapsed_s must be a number of seconds >= 0");
      s.elapsed_s = v.to_number<double>();
    } else {
      auto e = Expect(kv.second);
      if (!e.ok()) return e.error();
      s.expect = std::move(*e);
      have_expect = true;
    }
  }
  if (!have_call) return Bad(n, "a step needs call: {tool, args}");
  if (!have_expect) return Bad(n, "a step needs expect: a decision or {decision, code, rule, at}");
  return s;
}

Result<Case> SpecReader::ReadCase(const YamlNode& n) const {
  if (!n.IsMap()) return Bad(n, "a case is a mapping {name, call, expect} or {name, steps}");
  Case c;
  c.line = n.line();
  const YamlNode* steps = nullptr;
  for (const YamlNode::Entry& kv : n.entries()) {
    const std::string& k = kv.first.Scalar();
    if (k == "name") {
      auto s = String(kv.second, "name");
      if (!s.ok()) return s.error();
      c.name = *s;
    } else if (k == "steps") {
      steps = &kv.second;
    } else if (k == "adversarial") {
      if (!kv.second.IsScalar() || (kv.second.Scalar() != "true" && kv.second.Scalar() != "false"))
        return Bad(kv.second, "adversarial must be true or false");
      c.adversarial = kv.second.Scalar() == "true";
    } else if (!Known(kCaseKeys, k)) {
      return Unknown(kv.first, "a case", kCaseKeys);
    }
  }
  if (c.name.empty()) return Bad(n, "a case needs a name");
  if (steps == nullptr) {
    auto s = ReadStep(n, true);
    if (!s.ok()) return s.error();
    c.steps.push_back(std::move(*s));
    return c;
  }
  for (const YamlNode::Entry& kv : n.entries()) {
    const std::string& k = kv.first.Scalar();
    if (k != "name" && k != "steps" && k != "adversarial")
      return Bad(kv.first, "a case with steps holds name, steps and adversarial; " + k +
                               " belongs in a step");
  }
  if (!steps->IsSequence() || steps->size() == 0)
    return Bad(*steps, "steps must be a non-empty list");
  for (const YamlNode& st : steps->items()) {
    auto s = ReadStep(st, false);
    if (!s.ok()) return s.error();
    c.steps.push_back(std::move(*s));
  }
  return c;
}

Status SpecReader::ReadPolicies(const YamlNode& n, TestFile* t) const {
  const fs::path dir = fs::path(file_).parent_path();
  std::vector<const YamlNode*> items;
  if (n.IsSequence()) {
    for (const YamlNode& i : n.items()) items.push_back(&i);
  } else {
    items.push_back(&n);
  }
  if (items.empty()) return Bad(n, "policy must name a file or directory");
  for (const YamlNode* i : items) {
    auto s = String(*i, "policy");
    if (!s.ok()) return s.error();
    t->policy.push_back(fs::path(*s).is_absolute() ? *s : (dir / *s).string());
  }
  return Status::Ok();
}

Status SpecReader::ReadSymlinks(const YamlNode& n, TestFile* t) const {
  if (!n.IsMap()) return Bad(n, "symlinks must be a mapping {LINK: TARGET}");
  for (const YamlNode::Entry& kv : n.entries()) {
    auto link = String(kv.first, "a symlink");
    auto target = String(kv.second, "a symlink's target");
    if (!link.ok()) return link.error();
    if (!target.ok()) return target.error();
    if ((*link)[0] != '/' || (*target)[0] != '/')
      return Bad(kv.first, "a symlink and its target are absolute paths");
    std::string l = fs::path(*link).lexically_normal().string();
    std::string r = fs::path(*target).lexically_normal().string();
    while (l.size() > 1 && l.back() == '/') l.pop_back();
    while (r.size() > 1 && r.back() == '/') r.pop_back();
    if (l == "/") return Bad(kv.first, "/ cannot be a symlink");
    t->symlinks.emplace_back(std::move(l), std::move(r));
  }
  return Status::Ok();
}

Result<TestFile> SpecReader::Read(const YamlNode& root) const {
  if (!root.IsMap()) return Bad(root, "a policy test file is a mapping with cases:");
  TestFile t;
  t.path = file_;
  const fs::path dir = fs::path(file_).parent_path();
  for (const YamlNode::Entry& kv : root.entries()) {
    const std::string& k = kv.first.Scalar();
    if (k == "policy") {
      if (Status st = ReadPolicies(kv.second, &t); !st.ok()) return st.error();
    } else if (k == "agent" || k == "workspace" || k == "now" || k == "description") {
      auto s = String(kv.second, k);
      if (!s.ok()) return s.error();
      if (k != "description")
        (k == "agent" ? t.agent : k == "workspace" ? t.workspace : t.now) = *s;
    } else if (k == "case_insensitive_paths") {
      if (!kv.second.IsScalar() || (kv.second.Scalar() != "true" && kv.second.Scalar() != "false"))
        return Bad(kv.second, "case_insensitive_paths must be true or false");
      t.case_insensitive_paths = kv.second.Scalar() == "true";
    } else if (k == "symlinks") {
      if (Status st = ReadSymlinks(kv.second, &t); !st.ok()) return st.error();
    } else if (k == "cases") {
      if (!kv.second.IsSequence()) return Bad(kv.second, "cases must be a list");
      for (const YamlNode& c : kv.second.items()) {
        auto rc = ReadCase(c);
        if (!rc.ok()) return rc.error();
        t.cases.push_back(std::move(*rc));
      }
    } else {
      return Unknown(kv.first, "a test file", kFileKeys);
    }
  }
  if (t.cases.empty()) return Bad(root, "a test file needs cases: (at least one)");
  if (t.policy.empty()) {  // X.test.yaml tests X.yaml beside it
    const std::string name = fs::path(file_).filename().string();
    const size_t cut = name.rfind(".test.");
    if (cut == std::string::npos || cut == 0)
      return Bad(root, "name the policy with policy: (only X.test.yaml defaults to X.yaml)");
    t.policy.push_back((dir / (name.substr(0, cut) + ".yaml")).string());
  }
  if (t.workspace.empty()) {
    std::error_code ec;
    t.workspace = fs::absolute(dir.empty() ? fs::path(".") : dir, ec).lexically_normal().string();
    while (t.workspace.size() > 1 && t.workspace.back() == '/') t.workspace.pop_back();
  }
  for (Case& c : t.cases) {
    for (Step& s : c.steps) {
      json::value call(std::move(s.call));
      SubstituteWorkspace(call, t.workspace);
      s.call = std::move(call.as_object());
    }
  }
  return t;
}

}  // namespace

Result<TestFile> ParseTestFile(std::string_view text, const std::string& path) {
  Result<YamlNode> root = ReadYamlTree(text, path);
  if (!root.ok()) return root.error();
  return SpecReader(path).Read(*root);
}

Result<TestFile> LoadTestFile(const std::string& path) {
  Result<std::string> text = ReadFileBounded(path, kMaxTestFileBytes, "policy test file");
  if (!text.ok()) return Error::Invalid(text.error().message);
  return ParseTestFile(*text, path);
}

Result<std::vector<std::string>> FindTestFiles(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (std::string& f : policy::FindCompanionFiles(p, policy::Companion::kTests))
        out.push_back(std::move(f));
    } else if (fs::exists(p, ec)) {
      if (policy::CompanionOf(fs::path(p).filename().string()) == policy::Companion::kTests) {
        out.push_back(p);
      } else {  // a policy file: the tests beside it
        for (std::string& f : policy::FindCompanionFiles(p, policy::Companion::kTests))
          out.push_back(std::move(f));
      }
    } else {
      return Error::Invalid(p + ": no such file or directory");
    }
  }
  return out;
}

}  // namespace interlock::policytest
