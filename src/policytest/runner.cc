#include "policytest/runner.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>

#include <boost/json.hpp>

#include "common/json.h"
#include "common/time.h"
#include "core/app/offline_run.h"
#include "core/app/tool_calls.h"
#include "policy/loader.h"
#include "policytest/variants.h"

namespace interlock::policytest {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// A decision as a test compares it: in shadow mode, what enforce mode would have given
// (the policy's rules are under test, not the mode).
struct Outcome {
  Verdict verdict = Verdict::kDeny;
  Code code = Code::kInvalidRequest;
  std::string rule;
  std::string at;
  std::string reason;
};

Outcome Effective(const Decision& d) {
  Outcome o{d.verdict, d.code, d.rule, d.at, d.reason};
  if (d.shadow_verdict) o.verdict = *d.shadow_verdict;
  if (d.shadow_code) o.code = *d.shadow_code;
  return o;
}

Result<core::CallResult> ToCallResult(const json::object& r) {
  core::CallResult out;
  for (const auto& kv : r) {
    if (kv.key() == "ok" && kv.value().is_bool()) {
      out.ok = kv.value().get_bool();
    } else if (kv.key() == "error" && kv.value().is_string()) {
      out.error = std::string(kv.value().get_string());
    } else if (kv.key() == "usage") {
      auto usage = core::UsageFromJson(kv.value());
      if (!usage.ok()) return usage.error();
      out.usage = *usage;
    } else if (kv.key() == "output") {
      out.output_json = CanonicalJson(kv.value());
    } else {
      return Error::Invalid("result." + std::string(kv.key()) +
                            ": unknown or mistyped (result holds ok, error, usage, output)");
    }
  }
  return out;
}

// What a test file decides against: its policy set, agent, start time and seeds.
struct Subject {
  std::shared_ptr<const policy::PolicySet> set;
  std::string agent;
  TimePoint start;
  Seeds seeds;
};

// One run of one case: steps decided in order through core::OfflineRun.
class CaseRun {
 public:
  explicit CaseRun(const Subject& s) : s_(s), run_(s.set, 1024) {}

  Status Start() { return run_.Start(s_.agent, "policy-test", s_.start); }

  // Decides `call` and, when it is allowed and `result` is given, records the result.
  // *error: a result the core refused (a test-file mistake, reported as a failure).
  Outcome Decide(const json::object& call, const std::optional<json::object>& result,
                 std::string* error) {
    if (const json::value* e = call.if_contains("elapsed_s"); e != nullptr && e->is_number()) {
      elapsed_s_ = std::max(elapsed_s_, e->to_number<double>());
    }
    run_.SetTime(s_.start + std::chrono::duration_cast<TimePoint::duration>(
                                std::chrono::duration<double>(elapsed_s_)));
    Result<ToolCall> parsed = core::ParseToolCall(ToJsonText(call));
    if (!parsed.ok()) {
      return {Verdict::kDeny, Code::kInvalidRequest, "request", "", parsed.error().message};
    }
    core::GuardResponse r = run_.Decide(std::move(*parsed));
    if (result && r.decision.verdict == Verdict::kAllow && !r.call_id.empty()) {
      Result<core::CallResult> cr = ToCallResult(*result);
      Status recorded = cr.ok() ? run_.RecordResult(r.call_id, std::move(*cr)) : Status(cr.error());
      if (!recorded.ok()) *error = "result not recorded: " + recorded.error().message;
    }
    return Effective(r.decision);
  }

 private:
  const Subject& s_;
  core::OfflineRun run_;
  double elapsed_s_ = 0;
};

// "coding-agent.yaml:12:7" of "examples/policies/coding-agent.yaml:12:7" starts with
// `want` ("coding-agent.yaml:12", or the whole), ending at a ':' or the end.
bool AtMatches(const std::string& at, const std::string& want) {
  const std::string base = fs::path(at.substr(0, at.find(':'))).filename().string() +
                           (at.find(':') == std::string::npos ? "" : at.substr(at.find(':')));
  for (const std::string& candidate : {at, base}) {
    if (candidate.rfind(want, 0) == 0 &&
        (candidate.size() == want.size() || candidate[want.size()] == ':'))
      return true;
  }
  return false;
}

std::string Describe(const Outcome& o) {
  std::string s = std::string(VerdictName(o.verdict)) + " " + std::string(CodeName(o.code));
  s += " by rule " + (o.rule.empty() ? std::string("(none)") : o.rule);
  s += o.at.empty() ? " (no policy line)" : " at " + o.at;
  return s;
}

// Empty when `o` is what `e` expects, else what differs.
std::string Compare(const Expectation& e, const Outcome& o) {
  const bool ok = e.decision == VerdictName(o.verdict) &&
                  (e.code.empty() || e.code == CodeName(o.code)) &&
                  (e.rule.empty() || e.rule == o.rule) && (e.at.empty() || AtMatches(o.at, e.at));
  if (ok) return "";
  std::string want = e.decision;
  if (!e.code.empty()) want += " " + e.code;
  if (!e.rule.empty()) want += " by rule " + e.rule;
  if (!e.at.empty()) want += " at " + e.at;
  return "expected " + want + ", got " + Describe(o) + ": " + o.reason;
}

std::string Where(const TestFile& f, int line, const Case& c, size_t step) {
  std::string s = f.path + ":" + std::to_string(line) + ": case \"" + c.name + "\"";
  if (c.steps.size() > 1) s += " step " + std::to_string(step + 1);
  return s;
}

// The variants of refused step `k` of `c`, each decided after steps 0..k-1.
void Adversarial(const TestFile& f, const Subject& s, const Case& c, size_t k,
                 const RunOptions& options, CaseReport* report) {
  const VariantOptions vo{.case_insensitive_paths = f.case_insensitive_paths,
                          .max_variants = options.max_variants};
  for (Variant& v : GenerateVariants(c.steps[k].call, s.seeds, vo)) {
    CaseRun run(s);
    if (!run.Start().ok()) return;
    std::string ignored;
    for (size_t i = 0; i < k; ++i) run.Decide(c.steps[i].call, c.steps[i].result, &ignored);
    const Outcome o = run.Decide(v.call, std::nullopt, &ignored);
    ++report->variants;
    if (o.verdict == Verdict::kAllow) {
      report->flips.push_back({k, v.family, v.what, ToJsonText(v.call), o.rule, o.at});
    }
  }
}

CaseReport RunCase(const TestFile& f, const Subject& s, const Case& c, const RunOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  CaseReport report;
  report.name = c.name;
  report.line = c.line;
  CaseRun run(s);
  if (Status st = run.Start(); !st.ok()) {
    report.failures.push_back(Where(f, c.line, c, 0) + ": the run did not start: " +
                              st.error().message);
    return report;
  }
  std::vector<size_t> refused;
  for (size_t i = 0; i < c.steps.size(); ++i) {
    const Step& step = c.steps[i];
    std::string error;
    const Outcome o = run.Decide(step.call, step.result, &error);
    if (std::string diff = Compare(step.expect, o); !diff.empty()) {
      report.failures.push_back(Where(f, step.line, c, i) + ": " + diff);
    } else if (step.expect.decision != "allow") {
      refused.push_back(i);
    }
    if (!error.empty()) report.failures.push_back(Where(f, step.line, c, i) + ": " + error);
  }
  if (options.adversarial && report.failures.empty()) {
    for (size_t k : refused) Adversarial(f, s, c, k, options, &report);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

// The policy set and agent of `f`, or "file:line:column: ..." in *error.
std::optional<Subject> LoadSubject(const TestFile& f, std::string* error) {
  std::vector<policy::Diagnostic> diags;
  auto set = policy::LoadPolicySet(f.policy, &diags, {.workspace = f.workspace, .getenv = {}});
  if (!set.ok()) {
    *error = f.path + ": its policy does not load:\n" + set.error().message;
    return std::nullopt;
  }
  Subject s;
  s.set = std::move(*set);
  s.agent = f.agent;
  if (s.agent.empty()) {
    if (s.set->agents.size() != 1) {
      *error = f.path + ": the policy holds " + std::to_string(s.set->agents.size()) +
               " agents; name one with agent:";
      return std::nullopt;
    }
    s.agent = s.set->agents.begin()->first;
  } else if (s.set->Find(s.agent) == nullptr) {
    *error = f.path + ": no agent " + s.agent + " in its policy";
    return std::nullopt;
  }
  auto start = ParseRfc3339(f.now);
  if (!start.ok()) {
    *error = f.path + ": now: " + start.error().message;
    return std::nullopt;
  }
  s.start = *start;
  s.seeds = CollectSeeds(f.policy, f.workspace);
  return s;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\n': out += "&#10;"; break;
      case '\t': out += "&#9;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "?";  // not allowed in XML 1.0
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

std::string FlipText(const std::string& path, const CaseReport& c, const Flip& x) {
  return path + ":" + std::to_string(c.line) + ": case \"" + c.name + "\" step " +
         std::to_string(x.step + 1) + ": variant [" + x.family + "] " + x.what +
         " is ALLOWED by rule " + (x.rule.empty() ? "(none)" : x.rule) +
         (x.at.empty() ? "" : " at " + x.at) + "\n    call: " + x.call;
}

}  // namespace

FileReport RunTestFile(const TestFile& file, const RunOptions& options) {
  FileReport report;
  report.path = file.path;
  std::optional<Subject> subject = LoadSubject(file, &report.error);
  if (!subject) return report;
  for (const Case& c : file.cases) report.cases.push_back(RunCase(file, *subject, c, options));
  return report;
}

FileReport RunTestFile(const std::string& path, const RunOptions& options) {
  Result<TestFile> file = LoadTestFile(path);
  if (!file.ok()) {
    FileReport r;
    r.path = path;
    r.error = file.error().message;
    return r;
  }
  return RunTestFile(*file, options);
}

std::string FormatReports(const std::vector<FileReport>& reports, bool adversarial, int* failed,
                          int* bad) {
  std::string out;
  int cases = 0;
  size_t variants = 0, flips = 0;
  *failed = *bad = 0;
  for (const FileReport& f : reports) {
    if (!f.error.empty()) {
      out += f.error + "\n";
      ++*bad;
      continue;
    }
    for (const CaseReport& c : f.cases) {
      ++cases;
      variants += c.variants;
      flips += c.flips.size();
      if (!c.ok()) ++*failed;
      for (const std::string& s : c.failures) out += "FAIL " + s + "\n";
      for (const Flip& x : c.flips) out += "FAIL " + FlipText(f.path, c, x) + "\n";
    }
  }
  out += (*failed == 0 && *bad == 0 ? "ok: " : "failed: ") + std::to_string(cases) + " case(s), " +
         std::to_string(*failed) + " failed";
  if (*bad) out += ", " + std::to_string(*bad) + " unreadable file(s)";
  if (adversarial) {
    out += "; " + std::to_string(variants) + " adversarial variant(s), " + std::to_string(flips) +
           " allowed";
  }
  return out + "\n";
}

std::string JUnitXml(const std::vector<FileReport>& reports) {
  std::string body;
  int tests = 0, failures = 0, errors = 0;
  for (const FileReport& f : reports) {
    int ft = 0, ff = 0;
    double secs = 0;
    std::string cases;
    if (!f.error.empty()) {
      ++errors;
      ft = 1;
      cases += "    <testcase classname=\"" + XmlEscape(f.path) + "\" name=\"(load)\">\n"
               "      <error message=\"" + XmlEscape(f.error) + "\"/>\n    </testcase>\n";
    }
    for (const CaseReport& c : f.cases) {
      ++ft;
      secs += c.seconds;
      char t[32];
      std::snprintf(t, sizeof t, "%.6f", c.seconds);
      cases += "    <testcase classname=\"" + XmlEscape(f.path) + "\" name=\"" + XmlEscape(c.name) +
               "\" time=\"" + t + "\"";
      if (c.ok()) {
        cases += "/>\n";
        continue;
      }
      ++ff;
      std::string text;
      for (const std::string& s : c.failures) text += s + "\n";
      for (const Flip& x : c.flips) text += FlipText(f.path, c, x) + "\n";
      const std::string first = text.substr(0, text.find('\n'));
      cases += ">\n      <failure message=\"" + XmlEscape(first) + "\">" + XmlEscape(text) +
               "</failure>\n    </testcase>\n";
    }
    tests += ft;
    failures += ff;
    char t[32];
    std::snprintf(t, sizeof t, "%.6f", secs);
    body += "  <testsuite name=\"" + XmlEscape(f.path) + "\" tests=\"" + std::to_string(ft) +
            "\" failures=\"" + std::to_string(ff) + "\" errors=\"" +
            std::to_string(f.error.empty() ? 0 : 1) + "\" time=\"" + t + "\">\n" + cases +
            "  </testsuite>\n";
  }
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"interlock test\" tests=\"" +
         std::to_string(tests) + "\" failures=\"" + std::to_string(failures) + "\" errors=\"" +
         std::to_string(errors) + "\">\n" + body + "</testsuites>\n";
}

int RunTestsBesidePolicies(const std::vector<std::string>& paths, std::string* report) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      auto found = FindTestFiles({p});
      if (found.ok()) files.insert(files.end(), found->begin(), found->end());
      continue;
    }
    const fs::path path(p);
    const fs::path beside = path.parent_path() / (path.stem().string() + ".test" +
                                                  path.extension().string());
    if (!policy::IsPolicyTestFile(path.filename().string()) && fs::exists(beside, ec))
      files.push_back(beside.string());
  }
  if (files.empty()) return 0;
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  std::vector<FileReport> reports;
  for (const std::string& f : files) reports.push_back(RunTestFile(f, {}));
  int failed = 0, bad = 0;
  *report = "policy tests: " + FormatReports(reports, false, &failed, &bad);
  return failed + bad;
}

}  // namespace interlock::policytest
