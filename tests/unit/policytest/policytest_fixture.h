// Helpers of the policy test runner's tests: a temporary folder holding a policy and its
// test file, run as `interlock test` runs them.
#ifndef INTERLOCK_TESTS_UNIT_POLICYTEST_POLICYTEST_FIXTURE_H_
#define INTERLOCK_TESTS_UNIT_POLICYTEST_POLICYTEST_FIXTURE_H_

#include <fstream>
#include <string>

#include "policytest/runner.h"
#include "temp_dir.h"

namespace interlock::policytest::testing {

// A folder with `p.yaml` (the policy) and `p.test.yaml` (its tests).
class PolicyFolder {
 public:
  PolicyFolder(const std::string& policy, const std::string& tests) : dir_("interlock-ptest") {
    Write("p.yaml", policy);
    Write("p.test.yaml", tests);
  }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(Path(name), std::ios::binary) << text;
  }
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }
  std::string dir() const { return dir_.path(); }
  FileReport Run(bool adversarial = false, size_t max_variants = 256) const {
    return RunTestFile(Path("p.test.yaml"),
                       RunOptions{.adversarial = adversarial, .max_variants = max_variants});
  }

 private:
  interlock::testing::TempDir dir_;
};

// A policy of agent `a` allowing `tools` (YAML list items, indented by 4), enforced.
inline std::string PolicyWith(const std::string& tools, const std::string& extra = "") {
  return "agent:\n  id: a\n  identity: a@example.iam\n  mode: enforce\ntools:\n  allowed:\n" +
         tools + extra + "execution:\n  max_steps: 100\n";
}

}  // namespace interlock::policytest::testing

#endif  // INTERLOCK_TESTS_UNIT_POLICYTEST_POLICYTEST_FIXTURE_H_
