// Running policy test files (`interlock test`): each case decided through the core's one
// decision path (core::OfflineRun, as `interlock decide`), compared with what it expects;
// with `adversarial`, every refused step's variants (variants.h) decided the same way and
// every one that is allowed reported with the rule that let it through.
// Thread-safety: free functions over values.
#ifndef INTERLOCK_POLICYTEST_RUNNER_H_
#define INTERLOCK_POLICYTEST_RUNNER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "policy/loader.h"
#include "policytest/spec.h"

namespace interlock::policytest {

// A variant of a refused step that gets a weaker decision than the step expects: allowed
// where the step expects any refusal, or put before a human (approval, rehearsal) where it
// expects deny.
struct Flip {
  size_t step = 0;      // 0-based
  std::string family;   // variants.h
  std::string what;     // the variant's changed value or tool name
  std::string verdict;  // what the variant got: "ALLOWED", "APPROVAL_REQUIRED", ...
  std::string call;     // the variant call, as JSON text
  std::string rule;     // the rule that allowed it
  std::string at;       // where that rule is written (file:line:column)
};

// A step that did not get what it expects (or whose result the core refused).
struct StepFailure {
  int line = 0;      // the step's line in the test file
  size_t step = 0;   // 0-based
  std::string what;  // "expected deny TOOL_BLOCKED, got allow ALLOWED by rule R at F:L:C: reason"
  std::string at;    // where the deciding rule is written, when one decided ("" otherwise)
};

struct CaseReport {
  std::string name;
  int line = 0;
  size_t steps = 0;
  std::vector<StepFailure> failures;
  std::vector<Flip> flips;
  size_t variants = 0;  // variants decided (adversarial)
  bool capped = false;  // a refused step had more variants than --max-variants
  double seconds = 0;
  bool ok() const { return failures.empty() && flips.empty(); }
};

struct FileReport {
  std::string path;
  // Set when the file or its policy cannot be read: "file:line:column: ..." (exit 2).
  std::string error;
  std::vector<CaseReport> cases;
};

struct RunOptions {
  bool adversarial = false;
  size_t max_variants = 256;  // per refused step (VariantOptions::max_variants)
};

// Exit codes of `interlock test` (docs/policy-tests.md).
inline constexpr int kTestsPassed = 0;
inline constexpr int kTestsFailed = 1;      // a case failed, or a variant was allowed
inline constexpr int kTestsUnreadable = 2;  // a test file or its policy does not read

// Loads and runs one test file.
FileReport RunTestFile(const std::string& path, const RunOptions& options);

// Runs already-read test file `file`.
FileReport RunTestFile(const TestFile& file, const RunOptions& options);

// The exit code of `reports`: kTestsUnreadable when a file did not read, else
// kTestsFailed when a case failed, else kTestsPassed.
int ExitCode(const std::vector<FileReport>& reports);

// The text report of `reports`: each failure with the test file's line and the policy line
// that decided it (its text quoted), each allowed variant with its family, the call and the
// rule that let it through, and a summary line.
std::string FormatReports(const std::vector<FileReport>& reports, bool adversarial);

// The JUnit XML of `reports`: one testsuite per file, one testcase per case, a <failure>
// per failed case, an <error> for an unreadable file.
std::string JUnitXml(const std::vector<FileReport>& reports);

// `interlock check`'s part: the test files beside the policies at `paths`
// (policy::FindCompanionFiles), run without variants; an error diagnostic per failing step
// (at the step's line of the test file) and per unreadable test file.
std::vector<policy::Diagnostic> CheckTestsBeside(const std::vector<std::string>& paths);

}  // namespace interlock::policytest

#endif  // INTERLOCK_POLICYTEST_RUNNER_H_
