// `interlock prove [POLICY_PATH] [--properties FILE...]`: checks properties of a policy
// (docs/prove.md) and prints each one's answer, with the shortest counterexample of a
// violated one, replayed through the decision path `interlock decide` uses. Exit 0 every
// property holds, 1 one is violated, 3 none is violated but one cannot be decided, 2 bad
// input (file:line:column).
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli_util.h"
#include "cli/command.h"
#include "policy/loader.h"
#include "prove/prove.h"

namespace interlock::cli {
namespace {

constexpr int kExitUndecided = 3;  // a property the checker cannot decide (docs/prove.md)

struct ProveOptions {
  std::string policy = ".";
  std::vector<std::string> properties;
  std::string workspace;
};

int RunProve(const ProveOptions& opt) {
  std::vector<policy::Diagnostic> diags;
  auto set =
      policy::LoadPolicySet({opt.policy}, &diags, {.workspace = opt.workspace, .getenv = {}});
  if (!set.ok()) {
    for (const policy::Diagnostic& d : diags) {
      if (d.severity == policy::Diagnostic::Severity::kError) std::cerr << d.ToString() << '\n';
    }
    if (diags.empty()) std::cerr << "interlock prove: " << set.error().message << '\n';
    return kExitUsage;
  }
  std::vector<std::string> paths = opt.properties;
  if (paths.empty()) paths = prove::FindPropertiesFiles(opt.policy);
  if (paths.empty()) {
    std::cerr << "interlock prove: no properties: no *.props.yaml beside " << opt.policy
              << " (or give --properties FILE)\n";
    return kExitUsage;
  }
  std::vector<prove::PropertiesFile> files;
  for (const std::string& path : paths) {
    auto f = prove::ReadProperties(path);
    if (!f.ok()) {
      std::cerr << f.error().message << '\n';
      return kExitUsage;
    }
    files.push_back(std::move(*f));
  }
  auto report = prove::Prove(*set, files);
  if (!report.ok()) {
    std::cerr << report.error().message << '\n';
    return kExitUsage;
  }
  std::cout << prove::FormatText(*report);
  const int code = report->ExitCode();
  return code == 3 ? kExitUndecided : code;
}

void AddProve(CLI::App& app, int* exit_code) {
  auto [cmd, opt] = AddSubcommand<ProveOptions>(
      app, "prove",
      "Check properties of a policy (never_allowed, needs_approvals, before, never_flows, "
      "at_most, only_tools; *.props.yaml beside the policies) exhaustively; a violated one "
      "is answered with its shortest counterexample. Exit 0 all hold, 1 one is violated, "
      "3 one cannot be decided, 2 bad input.",
      exit_code, &RunProve);
  cmd->add_option("policy", opt->policy, "Policy file or directory (default: .)");
  cmd->add_option("--properties", opt->properties,
                  "Properties files (default: the *.props.yaml beside the policies)");
  cmd->add_option("--workspace", opt->workspace,
                  "The directory ${workspace} stands for (default: the current directory)");
}

const CommandRegistration kRegisterProve("prove", &AddProve);

}  // namespace
}  // namespace interlock::cli
