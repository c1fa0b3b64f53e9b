// Agent policies from YAML text, for the tests of the loader, the engine and the core: the
// loader's verdict on a text as the lines it prints, or the policy it loads. `file` is the
// name the diagnostics carry (file:line:column).
#ifndef INTERLOCK_TESTS_SUPPORT_POLICY_TEXT_H_
#define INTERLOCK_TESTS_SUPPORT_POLICY_TEXT_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "policy/loader.h"

namespace interlock::testing {

// The loader's diagnostics on `text`, one a line, then "LOADED" when the policy loaded.
inline std::string PolicyDiagnostics(std::string_view text, std::string_view file = "p.yaml") {
  std::vector<policy::Diagnostic> diags;
  auto r = policy::ParseAgentPolicy(text, file, &diags);
  std::string out;
  for (const policy::Diagnostic& d : diags) out += d.ToString() + "\n";
  if (r.ok()) out += "LOADED\n";
  return out;
}

// The policy in `text`, or null when it does not load; `errors` (if given) gets the loader's
// diagnostics appended, one a line.
inline std::shared_ptr<const policy::AgentPolicy> ParsePolicy(std::string_view text,
                                                              std::string* errors = nullptr,
                                                              std::string_view file = "t.yaml") {
  std::vector<policy::Diagnostic> diags;
  auto p = policy::ParseAgentPolicy(text, file, &diags);
  if (errors != nullptr) {
    for (const auto& d : diags) *errors += d.ToString() + "\n";
  }
  return p.ok() ? *p : nullptr;
}

// The policy in `text`, which must load: a failure fails the test (and answers null).
inline std::shared_ptr<const policy::AgentPolicy> MustParsePolicy(
    std::string_view text, std::string_view file = "p.yaml") {
  std::vector<policy::Diagnostic> diags;
  auto r = policy::ParseAgentPolicy(text, file, &diags);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : nullptr;
}

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_POLICY_TEXT_H_
