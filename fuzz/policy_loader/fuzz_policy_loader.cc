// Fuzzes ParseAgentPolicy: any bytes must give a policy or located errors, never a crash,
// a hang or an uncaught exception. Policies that load must also lint cleanly (no crash)
// and carry what the loader promises: a digest and compiled patterns.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<interlock::policy::Diagnostic> diags;
  // Variables resolve the same way on every run: a fixed workspace and one variable.
  interlock::policy::LoadOptions options;
  options.workspace = "/home/fuzz/ws";
  options.getenv = [](std::string_view name) -> std::optional<std::string> {
    if (name == "X") return std::string("v");
    return std::nullopt;
  };
  auto r = interlock::policy::ParseAgentPolicy(text, "fuzz.yaml", &diags, options);
  for (const auto& d : diags) (void)d.ToString();
  if (!r.ok()) {
    if (r.error().message.empty()) std::abort();  // an error always says what is wrong
    return 0;
  }
  const auto& policy = *r.value();
  if (policy.id.empty() || policy.sha256.size() != 64) std::abort();
  for (const auto& [name, tool] : policy.allowed) {
    if (name.empty() || policy.blocked.count(name) != 0) std::abort();
    for (const auto& c : tool.constraints) {
      if (c.pattern && !c.pattern->ok()) std::abort();
      if (c.min && c.max && *c.min > *c.max) std::abort();
    }
  }
  for (const auto& f : policy.freezes) {
    if (!(f.start < f.end)) std::abort();
  }
  (void)interlock::policy::Lint(policy);
  return 0;
}
