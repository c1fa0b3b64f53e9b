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

#include "policytest/spec.h"

namespace interlock::policytest {

// A variant of a refused step that the policy allows.
struct Flip {
  size_t step = 0;     // 0-based
  std::string family;  // variants.h
  std::string what;    // the variant's changed value or tool name
  std::string call;    // the variant call, as JSON text
  std::string rule;    // the rule that allowed it
  std::string at;      // where that rule is written (file:line:column)
};

struct CaseReport {
  std::string name;
  int line = 0;
  // One sentence per failed step: "file.test.yaml:LINE: step N: expected ..., got ... (rule R
  // at policy.yaml:L:C)".
  std::vector<std::string> failures;
  std::vector<Flip> flips;
  size_t variants = 0;  // variants decided (adversarial)
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

// Loads and runs one test file.
FileReport RunTestFile(const std::string& path, const RunOptions& options);

// Loads and runs already-read test file `file`.
FileReport RunTestFile(const TestFile& file, const RunOptions& options);

// The text report of `reports` (failures with file:line, flips with the variant and the
// rule) and a summary line; `failed`/`bad` count failing cases and unreadable files.
std::string FormatReports(const std::vector<FileReport>& reports, bool adversarial, int* failed,
                          int* bad);

// The JUnit XML of `reports`: one testsuite per file, one testcase per case, a <failure>
// per failed case, an <error> for an unreadable file.
std::string JUnitXml(const std::vector<FileReport>& reports);

// `interlock check`'s part: runs the test files found in the policy directories of
// `paths` (and beside policy files named there: X.test.yaml for X.yaml), prints failures to
// `err`; returns the number of failing cases and unreadable test files (0 when there are
// none).
int RunTestsBesidePolicies(const std::vector<std::string>& paths, std::string* report);

}  // namespace interlock::policytest

#endif  // INTERLOCK_POLICYTEST_RUNNER_H_
