#include "policytest/spec.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/json.h"
#include "interlock/decision.h"
#include "policy/loader.h"
#include "policy/yaml_tree.h"

namespace interlock::policytest {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Reading one file: every error names file:line:column of the node at fault.
class SpecReader {
 public:
  explicit SpecReader(std::string file) : file_(std::move(file)) {}

  Error Bad(const YamlNode& at, const std::string& what) const {
    return Error::Invalid(YamlWhere(file_, at) + what);
  }

  // A plain scalar as JSON: null, a boolean, an integer or a number when it reads as one.
  static json::value PlainScalar(const std::string& s) {
    if (s.empty() || s == "null" || s == "~") return nullptr;
    if (s == "true") return true;
    if (s == "false") return false;
    auto v = ParseJsonStrict(s);
    if (v.ok() && v->is_number()) return *v;
    return json::string(s);
  }

  Result<json::value> ToJson(const YamlNode& n) const {
    switch (n.kind()) {
      case YamlNode::Kind::kNull:
        return json::value(nullptr);
      case YamlNode::Kind::kScalar:
        return n.Quoted() ? json::value(json::string(n.Scalar())) : PlainScalar(n.Scalar());
      case YamlNode::Kind::kSequence: {
        json::array a;
        for (const YamlNode& i : n.items()) {
          auto v = ToJson(i);
          if (!v.ok()) return v.error();
          a.push_back(std::move(*v));
        }
        return json::value(std::move(a));
      }
      case YamlNode::Kind::kMap: {
        json::object o;
        for (const YamlNode::Entry& e : n.entries()) {
          if (!e.first.IsScalar()) return Bad(e.first, "a key must be a scalar");
          auto v = ToJson(e.second);
          if (!v.ok()) return v.error();
          o[e.first.Scalar()] = std::move(*v);
        }
        return json::value(std::move(o));
      }
    }
    return json::value(nullptr);
  }

  Result<std::string> String(const YamlNode& n, const char* key) const {
    if (!n.IsScalar()) return Bad(n, std::string(key) + " must be a string");
    return n.Scalar();
  }

  Result<Expectation> Expect(const YamlNode& n) const {
    Expectation e;
    if (n.IsScalar()) {
      e.decision = n.Scalar();
    } else if (n.IsMap()) {
      for (const YamlNode::Entry& kv : n.entries()) {
        const std::string& k = kv.first.Scalar();
        std::string* slot = k == "decision" ? &e.decision
                            : k == "code"   ? &e.code
                            : k == "rule"   ? &e.rule
                            : k == "at"     ? &e.at
                                            : nullptr;
        if (slot == nullptr) {
          return Bad(kv.first, "unknown key expect." + k + " (expect holds decision, code, rule, at)");
        }
        auto s = String(kv.second, k.c_str());
        if (!s.ok()) return s.error();
        *slot = *s;
      }
    } else {
      return Bad(n, "expect is a decision (allow, deny, ...) or {decision, code, rule, at}");
    }
    static const std::set<std::string> kVerdicts = {"allow", "deny", "approval_required",
                                                    "rehearsal_required"};
    if (!kVerdicts.count(e.decision)) {
      return Bad(n, "expect.decision must be allow, deny, approval_required or rehearsal_required");
    }
    if (!e.code.empty() && !ParseCode(e.code)) return Bad(n, "expect.code " + e.code + " is no decision code");
    return e;
  }

  // A step: {call, result?, elapsed_s?, expect}. `case_level` allows `name` beside them.
  Result<Step> ReadStep(const YamlNode& n, bool case_level) const {
    Step s;
    s.line = n.line();
    bool have_call = false, have_expect = false;
    std::optional<json::value> elapsed;
    for (const YamlNode::Entry& kv : n.entries()) {
      const std::string& k = kv.first.Scalar();
      if (k == "name" && case_level) continue;
      if (k == "call" || k == "result") {
        if (!kv.second.IsMap()) return Bad(kv.second, k + " must be a mapping");
        auto v = ToJson(kv.second);
        if (!v.ok()) return v.error();
        if (k == "call") {
          s.call = std::move(v->as_object());
          have_call = true;
        } else {
          s.result = std::move(v->as_object());
        }
      } else if (k == "elapsed_s") {
        auto v = ToJson(kv.second);
        if (!v.ok() || !v->is_number()) return Bad(kv.second, "elapsed_s must be a number");
        elapsed = *v;
      } else if (k == "expect") {
        auto e = Expect(kv.second);
        if (!e.ok()) return e.error();
        s.expect = std::move(*e);
        have_expect = true;
      } else {
        return Bad(kv.first, "unknown key " + k + " (a step holds call, result, elapsed_s, expect)");
      }
    }
    if (!have_call) return Bad(n, "a step needs call: {tool, args}");
    if (!have_expect) return Bad(n, "a step needs expect: a decision or {decision, code, rule}");
    if (!s.call.contains("tool")) return Bad(n, "call.tool is required");
    if (elapsed) s.call["elapsed_s"] = *elapsed;
    return s;
  }

  Result<Case> ReadCase(const YamlNode& n) const {
    if (!n.IsMap()) return Bad(n, "a case is a mapping {name, call, expect} or {name, steps}");
    Case c;
    c.line = n.line();
    const YamlNode* steps = nullptr;
    for (const YamlNode::Entry& kv : n.entries()) {
      if (kv.first.Scalar() == "name") {
        auto s = String(kv.second, "name");
        if (!s.ok()) return s.error();
        c.name = *s;
      } else if (kv.first.Scalar() == "steps") {
        steps = &kv.second;
      }
    }
    if (c.name.empty()) return Bad(n, "a case needs a name");
    if (steps == nullptr) {
      auto s = ReadStep(n, true);
      if (!s.ok()) return s.error();
      c.steps.push_back(std::move(*s));
      return c;
    }
    if (n.size() != 2) return Bad(n, "a case with steps holds only name and steps");
    if (!steps->IsSequence() || steps->size() == 0) return Bad(*steps, "steps must be a non-empty list");
    for (const YamlNode& st : steps->items()) {
      if (!st.IsMap()) return Bad(st, "a step is a mapping {call, result?, expect}");
      auto s = ReadStep(st, false);
      if (!s.ok()) return s.error();
      c.steps.push_back(std::move(*s));
    }
    return c;
  }

  Result<TestFile> Read(const YamlNode& root) const {
    if (!root.IsMap()) return Bad(root, "a policy test file is a mapping with cases:");
    TestFile t;
    t.path = file_;
    const fs::path dir = fs::path(file_).parent_path();
    for (const YamlNode::Entry& kv : root.entries()) {
      const std::string& k = kv.first.Scalar();
      if (k == "policy") {
        std::vector<const YamlNode*> items;
        if (kv.second.IsSequence()) {
          for (const YamlNode& i : kv.second.items()) items.push_back(&i);
        } else {
          items.push_back(&kv.second);
        }
        for (const YamlNode* i : items) {
          auto s = String(*i, "policy");
          if (!s.ok()) return s.error();
          t.policy.push_back(fs::path(*s).is_absolute() ? *s : (dir / *s).string());
        }
      } else if (k == "agent" || k == "workspace" || k == "now") {
        auto s = String(kv.second, k.c_str());
        if (!s.ok()) return s.error();
        (k == "agent" ? t.agent : k == "workspace" ? t.workspace : t.now) = *s;
      } else if (k == "case_insensitive_paths") {
        if (!kv.second.IsScalar() || (kv.second.Scalar() != "true" && kv.second.Scalar() != "false"))
          return Bad(kv.second, "case_insensitive_paths must be true or false");
        t.case_insensitive_paths = kv.second.Scalar() == "true";
      } else if (k == "cases") {
        if (!kv.second.IsSequence()) return Bad(kv.second, "cases must be a list");
        for (const YamlNode& c : kv.second.items()) {
          auto rc = ReadCase(c);
          if (!rc.ok()) return rc.error();
          t.cases.push_back(std::move(*rc));
        }
      } else {
        return Bad(kv.first, "unknown key " + k +
                                 " (a test file holds policy, agent, workspace, now, "
                                 "case_insensitive_paths, cases)");
      }
    }
    if (t.cases.empty()) return Bad(root, "a test file needs cases: (at least one)");
    if (t.policy.empty()) {
      // X.test.yaml tests X.yaml beside it.
      std::string name = fs::path(file_).filename().string();
      const size_t cut = name.rfind(".test.");
      t.policy.push_back((dir / (name.substr(0, cut) + fs::path(name).extension().string())).string());
    }
    if (t.workspace.empty()) {
      std::error_code ec;
      t.workspace = fs::absolute(dir.empty() ? fs::path(".") : dir, ec).lexically_normal().string();
    }
    return t;
  }

 private:
  std::string file_;
};

}  // namespace

Result<TestFile> LoadTestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::Invalid(path + ": cannot read the test file");
  std::stringstream text;
  text << in.rdbuf();
  Result<YamlNode> root = ReadYamlTree(text.str(), path);
  if (!root.ok()) return root.error();
  return SpecReader(path).Read(*root);
}

Result<std::vector<std::string>> FindTestFiles(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (fs::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) {
        if (policy::IsPolicyTestFile(it->path().filename().string()) &&
            fs::is_regular_file(it->status(ec))) {
          found.push_back((fs::path(p) / it->path().filename()).string());
        }
      }
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      out.push_back(p);
    } else {
      return Error::Invalid(p + ": no such file or directory");
    }
  }
  return out;
}

}  // namespace interlock::policytest
