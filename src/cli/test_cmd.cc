// `interlock test [PATH...]`: runs the policy tests kept beside the policies (*.test.yaml,
// docs/policy-tests.md) through the core's one decision path; `--adversarial` also decides
// the variants an attacker would try of every refused call; `--junit FILE` writes JUnit XML.
// Exit 0 every case passed, 1 a case failed (or a variant got through), 2 bad input (a test
// file or its policy that does not read, with file:line:column).
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "policytest/runner.h"
#include "policytest/spec.h"

namespace interlock::cli {
namespace {

struct TestOptions {
  std::vector<std::string> paths;
  bool adversarial = false;
  std::string junit;
  size_t max_variants = 256;
};

int RunTest(const TestOptions& opt) {
  const std::vector<std::string> paths =
      opt.paths.empty() ? std::vector<std::string>{"."} : opt.paths;
  auto files = policytest::FindTestFiles(paths);
  if (!files.ok()) return Fail("test", files.error(), policytest::kTestsUnreadable);
  if (files->empty()) {
    return Fail("test", "no *.test.yaml files in or beside the given paths",
                policytest::kTestsUnreadable);
  }
  const policytest::RunOptions run{.adversarial = opt.adversarial,
                                   .max_variants = opt.max_variants};
  std::vector<policytest::FileReport> reports;
  for (const std::string& f : *files) reports.push_back(policytest::RunTestFile(f, run));
  std::cout << policytest::FormatReports(reports, opt.adversarial);
  if (!opt.junit.empty()) {
    std::ofstream out(opt.junit, std::ios::binary | std::ios::trunc);
    out << policytest::JUnitXml(reports);
    if (!out.flush()) return Fail("test", "cannot write " + opt.junit, kExitUsage);
  }
  return policytest::ExitCode(reports);
}

void AddTest(CLI::App& app, int* exit_code) {
  auto [cmd, opt] = AddSubcommand<TestOptions>(
      app, "test",
      "Run the policy tests (*.test.yaml beside the policies; docs/policy-tests.md) through "
      "the decision path every door uses; --adversarial also tries an attacker's variants of "
      "every refused call. Exit 0 every case passes, 1 one fails (or a variant gets through), "
      "2 a test file or its policy does not read.",
      exit_code, &RunTest);
  cmd->add_option("path", opt->paths,
                  "Test files, policy files (their X.test.yaml) or directories holding "
                  "*.test.yaml (default: .)");
  cmd->add_flag("--adversarial", opt->adversarial,
                "Also decide the variants an attacker would try of every refused call; one "
                "that gets further than its case expects (allowed; or held for a human where "
                "deny is expected) fails the case");
  cmd->add_option("--junit", opt->junit, "Write the results as JUnit XML to FILE");
  cmd->add_option("--max-variants", opt->max_variants,
                  "At most this many variants per refused call (default 256)")
      ->check(CLI::Range(1, 100000));
}

const CommandRegistration kRegisterTest("test", &AddTest);

}  // namespace
}  // namespace interlock::cli
