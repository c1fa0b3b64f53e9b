// The policy test file format (docs/policy-tests.md): `*.test.yaml` files kept beside the
// policies, which the policy loader skips (policy::IsPolicyTestFile). A file names the
// policy it tests and holds cases; a case is one call or a sequence of steps, each with
// the decision (and optionally code, rule and where that rule is written) it must get.
// Every error carries file:line:column. Thread-safety: values; free functions.
#ifndef INTERLOCK_POLICYTEST_SPEC_H_
#define INTERLOCK_POLICYTEST_SPEC_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "interlock/result.h"

namespace interlock::policytest {

// What a step must get. Unset members are not compared.
struct Expectation {
  std::string decision;  // "allow" | "deny" | "approval_required" | "rehearsal_required"
  std::string code;      // e.g. "TOOL_BLOCKED"
  std::string rule;      // e.g. tools.blocked["delete_file"]
  std::string at;        // "file.yaml:12" or "file.yaml:12:7": a prefix of Decision::at's
};

// One call of a case, what the tool returned (recorded when the call is allowed) and what
// the call must get.
struct Step {
  boost::json::object call;                   // {"tool", "args", "usage"?}, ${workspace} resolved
  std::optional<boost::json::object> result;  // {"ok", "error"?, "usage"?, "output"?}
  // Seconds since the run started when the call is made; unset: the previous step's time
  // (the run's clock never goes back).
  std::optional<double> elapsed_s;
  Expectation expect;
  int line = 0;  // where the step (or the one-call case) is written
};

struct Case {
  std::string name;
  std::vector<Step> steps;
  int line = 0;
  bool adversarial = true;  // `adversarial: false`: --adversarial leaves this case's variants out
};

struct TestFile {
  std::string path;                          // as found
  std::vector<std::string> policy;           // the policy paths, resolved against the file's folder
  std::string agent;                         // empty: the policy's only agent
  std::string workspace;                     // ${workspace}; empty: the test file's folder
  std::string now = "2026-01-01T00:00:00Z";  // the run's start (RFC 3339)
  // Adversarial: also the variants that mean the same only on case- and
  // normalisation-insensitive filesystems (macOS, Windows): case, trailing dots, NFD.
  bool case_insensitive_paths = false;
  // `symlinks: {LINK: TARGET}`: the symbolic links of the machine the policy guards, absolute
  // and normalised. Paths are resolved through these alone (never the host's file system),
  // and --adversarial names each refused path through a link that reaches it.
  std::vector<std::pair<std::string, std::string>> symlinks;
  std::vector<Case> cases;
};

// Reads and validates one test file. Errors: Error::Invalid("file:line:column: ...").
Result<TestFile> LoadTestFile(const std::string& path);

// Validates the text of a test file named `path` (relative policy paths and the default
// workspace are resolved against its folder).
Result<TestFile> ParseTestFile(std::string_view text, const std::string& path);

// The test files of `paths`: a test file is taken as it is, a policy file gives the test
// file beside it (policy::FindCompanionFiles), a directory every `*.test.yaml` /
// `*.test.yml` directly inside, sorted. An error names a path that does not exist.
Result<std::vector<std::string>> FindTestFiles(const std::vector<std::string>& paths);

}  // namespace interlock::policytest

#endif  // INTERLOCK_POLICYTEST_SPEC_H_
