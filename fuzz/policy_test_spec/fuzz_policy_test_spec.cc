// libFuzzer target for the policy test file reader (policytest/spec.h ParseTestFile, the
// `*.test.yaml` of `interlock test`). Checks that every input ends in a value (no crash, no
// hang), that an error names the file (file:line:column), and that a file that reads has
// cases, each with steps whose calls name a tool and whose expected decision is known.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policytest/spec.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string path = "/fuzz/agent.test.yaml";
  auto file = interlock::policytest::ParseTestFile(text, path);
  if (!file.ok()) {
    Check(file.error().message.rfind(path, 0) == 0, "an error names the file");
    return 0;
  }
  Check(!file->cases.empty(), "a file that reads has cases");
  Check(!file->policy.empty(), "a file that reads names its policy");
  for (const interlock::policytest::Case& c : file->cases) {
    Check(!c.name.empty() && !c.steps.empty(), "a case has a name and steps");
    for (const interlock::policytest::Step& s : c.steps) {
      const auto* tool = s.call.if_contains("tool");
      Check(tool != nullptr && tool->is_string(), "a step's call names a tool");
      const std::string& d = s.expect.decision;
      Check(d == "allow" || d == "deny" || d == "approval_required" || d == "rehearsal_required",
            "a known decision");
    }
  }
  return 0;
}
