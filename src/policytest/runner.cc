// Running test files: each case one run through core::OfflineRun (the decision path of
// `interlock decide`), and with --adversarial the variants of each refused step. The text
// and JUnit reports are in report.cc.
#include "policytest/runner.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "common/json.h"
#include "common/path_resolver.h"
#include "common/time.h"
#include "core/app/offline_run.h"
#include "core/app/tool_calls.h"
#include "policytest/variants.h"

namespace interlock::policytest {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// A decision as a test compares it: in shadow mode, what enforce mode would have given
// (the policy's rules are under test, not its mode).
struct Outcome {
  Verdict verdict = Verdict::kDeny;
  Code code = Code::kInvalidRequest;
  std::string rule;
  std::string at;
  std::string reason;
};

Outcome EffectiveOutcome(const Decision& d) {
  Outcome o{d.verdict, d.code, d.rule, d.at, d.reason};
  if (d.shadow_verdict) o.verdict = *d.shadow_verdict;
  if (d.shadow_code) o.code = *d.shadow_code;
  return o;
}

// The result a step reports, as core::Calls records one (the spec checked its keys).
Result<core::CallResult> StepCallResult(const json::object& r) {
  core::CallResult out;
  if (const json::value* ok = r.if_contains("ok"); ok != nullptr && ok->is_bool())
    out.ok = ok->get_bool();
  if (const json::value* e = r.if_contains("error"); e != nullptr) {
    if (!e->is_string()) return Error::Invalid("result.error must be a string");
    out.error = std::string(e->get_string());
  }
  if (const json::value* u = r.if_contains("usage"); u != nullptr) {
    auto usage = core::ReadUsage(*u);
    if (!usage.ok()) return Error::Invalid("result.usage: " + usage.error().message);
    out.usage = *usage;
  }
  if (const json::value* o = r.if_contains("output"); o != nullptr)
    out.output_json = CanonicalJson(*o);
  return out;
}

// Paths resolved through the links a test file names (TestFile::symlinks) and nothing
// else: the host's file system never decides a test. Resolves component by component as
// realpath(3) does (`..` after a link climbs from its target), at most 40 links deep.
class NamedLinks final : public PathResolver {
 public:
  explicit NamedLinks(std::vector<std::pair<std::string, std::string>> links)
      : links_(std::move(links)) {}

  Result<std::string> Resolve(std::string_view path) const override {
    std::vector<std::string> todo;  // components still to walk, last first
    PushComponents(path, &todo);
    std::string cur = "/";
    int hops = 0;
    while (!todo.empty()) {
      const std::string c = std::move(todo.back());
      todo.pop_back();
      if (c == "..") {
        cur = fs::path(cur).parent_path().string();
        continue;
      }
      const std::string next = (cur == "/" ? "" : cur) + "/" + c;
      const auto link = std::find_if(links_.begin(), links_.end(),
                                     [&](const auto& l) { return l.first == next; });
      if (link == links_.end()) {
        cur = next;
        continue;
      }
      if (++hops > 40) return Error::Invalid("too many levels of symbolic links: " + next);
      PushComponents(link->second, &todo);
      cur = "/";
    }
    return cur;
  }

 private:
  // Pushes the components of `path` (no "" or ".") so that the first is on top.
  static void PushComponents(std::string_view path, std::vector<std::string>* todo) {
    std::vector<std::string> parts;
    for (size_t at = 0; at < path.size();) {
      const size_t end = std::min(path.find('/', at), path.size());
      if (end > at && path.substr(at, end - at) != ".")
        parts.emplace_back(path.substr(at, end - at));
      at = end + 1;
    }
    todo->insert(todo->end(), parts.rbegin(), parts.rend());
  }

  std::vector<std::pair<std::string, std::string>> links_;
};

// What a test file decides against: its policy set, agent, start time, links and seeds.
struct Subject {
  std::shared_ptr<const policy::PolicySet> set;
  std::string agent;
  TimePoint start;
  std::unique_ptr<NamedLinks> links;
  Seeds seeds;
};

// One run of one case: steps decided in order through core::OfflineRun.
class CaseRun {
 public:
  explicit CaseRun(const Subject& s) : s_(s), run_(s.set, 1024) {
    run_.SetPathResolver(s.links.get());
  }

  Status Start() { return run_.Start(s_.agent, "policy-test", s_.start); }

  // Decides `call` at `elapsed_s` (the previous time when unset) and, when it is allowed and
  // `result` is given, records the result. *error: a result the core refused.
  Outcome Decide(const json::object& call, std::optional<double> elapsed_s,
                 const std::optional<json::object>& result, std::string* error) {
    if (elapsed_s) elapsed_ = std::max(elapsed_, *elapsed_s);
    run_.SetTime(s_.start + std::chrono::duration_cast<TimePoint::duration>(
                                std::chrono::duration<double>(elapsed_)));
    ToolCall parsed;
    if (Status read = core::ReadToolCall(ToJsonText(call), {}, &parsed); !read.ok()) {
      return {Verdict::kDeny, Code::kInvalidRequest, "request", "", read.error().message};
    }
    core::GuardResponse r = run_.Decide(std::move(parsed));
    if (result && r.decision.verdict == Verdict::kAllow && !r.call_id.empty()) {
      Result<core::CallResult> cr = StepCallResult(*result);
      Status recorded = cr.ok() ? run_.RecordResult(r.call_id, std::move(*cr)) : Status(cr.error());
      if (!recorded.ok()) *error = "the result was not recorded: " + recorded.error().message;
    }
    return EffectiveOutcome(r.decision);
  }

 private:
  const Subject& s_;
  core::OfflineRun run_;
  double elapsed_ = 0;
};

// Whether `at` ("examples/policies/coding-agent.yaml:12:7") is where `want` points: the
// same text, or its file's base name with the line (and column) `want` gives.
bool AtMatches(const std::string& at, const std::string& want) {
  const size_t colon = at.find(':');
  const std::string base = fs::path(at.substr(0, colon)).filename().string() +
                           (colon == std::string::npos ? "" : at.substr(colon));
  for (const std::string& candidate : {at, base}) {
    if (candidate.rfind(want, 0) == 0 &&
        (candidate.size() == want.size() || candidate[want.size()] == ':'))
      return true;
  }
  return false;
}

std::string DescribeOutcome(const Outcome& o) {
  std::string s = std::string(VerdictName(o.verdict)) + " " + std::string(CodeName(o.code));
  s += " by rule " + (o.rule.empty() ? std::string("(none)") : o.rule);
  if (!o.at.empty()) s += " at " + o.at;
  return s;
}

// Empty when `o` is what `e` expects, else what differs.
std::string CompareOutcome(const Expectation& e, const Outcome& o) {
  const bool ok = e.decision == VerdictName(o.verdict) &&
                  (e.code.empty() || e.code == CodeName(o.code)) &&
                  (e.rule.empty() || e.rule == o.rule) && (e.at.empty() || AtMatches(o.at, e.at));
  if (ok) return "";
  std::string want = e.decision;
  if (!e.code.empty()) want += " " + e.code;
  if (!e.rule.empty()) want += " by rule " + e.rule;
  if (!e.at.empty()) want += " at " + e.at;
  return "expected " + want + ", got " + DescribeOutcome(o) + ": " + o.reason;
}

// How far a decision lets a call go: 0 refused, 1 before a human (approval or rehearsal), 2
// allowed. A variant flips when it goes further than its step was expected to.
int Reach(std::string_view verdict) { return verdict == "deny" ? 0 : verdict == "allow" ? 2 : 1; }

// The variants of refused step `k` of `c`, each decided in a fresh run after steps 0..k-1.
void RunVariants(const TestFile& f, const Subject& s, const Case& c, size_t k,
                 const RunOptions& options, CaseReport* report) {
  const VariantOptions vo{.case_insensitive_paths = f.case_insensitive_paths,
                          .max_variants = options.max_variants};
  bool capped = false;
  const Step& refused = c.steps[k];
  for (const Variant& v : GenerateVariants(refused.call, s.seeds, vo, &capped)) {
    CaseRun run(s);
    if (!run.Start().ok()) return;
    std::string ignored;
    for (size_t i = 0; i < k; ++i) {
      run.Decide(c.steps[i].call, c.steps[i].elapsed_s, c.steps[i].result, &ignored);
    }
    const Outcome o = run.Decide(v.call, refused.elapsed_s, std::nullopt, &ignored);
    ++report->variants;
    if (Reach(VerdictName(o.verdict)) > Reach(refused.expect.decision)) {
      std::string verdict(VerdictName(o.verdict));
      for (char& ch : verdict) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      report->flips.push_back({k, v.family, v.what, verdict == "ALLOW" ? "ALLOWED" : verdict,
                               ToJsonText(v.call), o.rule, o.at});
    }
  }
  report->capped = report->capped || capped;
}

CaseReport RunCase(const TestFile& f, const Subject& s, const Case& c, const RunOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  CaseReport report;
  report.name = c.name;
  report.line = c.line;
  report.steps = c.steps.size();
  CaseRun run(s);
  if (Status st = run.Start(); !st.ok()) {
    report.failures.push_back({c.line, 0, "the run did not start: " + st.error().message, ""});
    return report;
  }
  std::vector<size_t> refused;
  for (size_t i = 0; i < c.steps.size(); ++i) {
    const Step& step = c.steps[i];
    std::string error;
    const Outcome o = run.Decide(step.call, step.elapsed_s, step.result, &error);
    if (std::string diff = CompareOutcome(step.expect, o); !diff.empty()) {
      report.failures.push_back({step.line, i, std::move(diff), o.at});
    } else if (step.expect.decision != "allow") {
      refused.push_back(i);
    }
    if (!error.empty()) report.failures.push_back({step.line, i, std::move(error), ""});
  }
  if (options.adversarial && c.adversarial && report.failures.empty()) {
    for (size_t k : refused) RunVariants(f, s, c, k, options, &report);
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

// The policy set and agent of `f`, or "file: ..." in *error.
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
  s.links = std::make_unique<NamedLinks>(f.symlinks);
  s.seeds = CollectSeeds(f.policy, f.workspace);
  s.seeds.links = f.symlinks;
  return s;
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

int ExitCode(const std::vector<FileReport>& reports) {
  bool failed = false;
  for (const FileReport& f : reports) {
    if (!f.error.empty()) return kTestsUnreadable;
    for (const CaseReport& c : f.cases) failed = failed || !c.ok();
  }
  return failed ? kTestsFailed : kTestsPassed;
}

std::vector<policy::Diagnostic> CheckTestsBeside(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    for (std::string& f : policy::FindCompanionFiles(p, policy::Companion::kTests))
      files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  std::vector<policy::Diagnostic> out;
  for (const std::string& f : files) {
    const FileReport r = RunTestFile(f, {});
    policy::Diagnostic d;
    d.severity = policy::Diagnostic::Severity::kError;
    if (!r.error.empty()) {
      d.at = {f, 0, 0};
      d.id = "policy-test-invalid";
      d.message = r.error;
      out.push_back(d);
      continue;
    }
    for (const CaseReport& c : r.cases) {
      for (const StepFailure& x : c.failures) {
        d.at = {f, x.line, 0};
        d.id = "policy-test-failed";
        d.message = "case \"" + c.name + "\"" +
                    (c.steps > 1 ? " step " + std::to_string(x.step + 1) : "") + ": " + x.what;
        out.push_back(d);
      }
    }
  }
  return out;
}

}  // namespace interlock::policytest
