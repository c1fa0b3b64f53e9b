// Loading and validating policy files into an immutable PolicySet.
//
// Strict: an unknown key, a wrong type, a negative bound, a tool both allowed and
// blocked, a duplicate tool, an invalid regex or a duplicate agent id across files is an
// error carrying file:line:column. A typo must never silently weaken a policy.
// Lint() adds the seed's pre-production checklist as warnings.
// Thread-safety: free functions without shared state; safe from any thread.
#ifndef INTERLOCK_POLICY_LOADER_H_
#define INTERLOCK_POLICY_LOADER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interlock/result.h"
#include "policy/policy.h"

namespace interlock::policy {

struct Diagnostic {
  enum class Severity { kError, kWarning, kInfo };
  Severity severity = Severity::kError;
  Location at;
  std::string id;                // stable machine id, e.g. "unknown-key", "no-execution-bounds"
  std::string message;           // human sentence saying what is wrong and what to do
  std::string ToString() const;  // "file:line:col: error: message [id]"
};

// What variables in policy values resolve to (docs/policy.md, "Variables"). Resolved at
// load, without any shell: `${workspace}` is `workspace` (absolute; empty: the current
// directory), `${env:NAME}` is getenv(NAME) (unset: a load error). `getenv` may be empty
// (then the process environment is read).
struct LoadOptions {
  std::string workspace;
  std::function<std::optional<std::string>(std::string_view name)> getenv;
};

// Parses one policy document. `file` is used for locations and the digest record only.
// Errors and warnings are appended to `diagnostics`; returns nullptr-free error on any error.
Result<std::shared_ptr<const AgentPolicy>> ParseAgentPolicy(std::string_view text,
                                                            std::string_view file,
                                                            std::vector<Diagnostic>* diagnostics,
                                                            const LoadOptions& options = {});

// Files kept beside the policies that are no policy: the tests of `interlock test`
// (`*.test.yaml`, docs/policy-tests.md) and the properties of `interlock prove`
// (`*.props.yaml`, docs/prove.md). A directory's load skips both; each command finds its
// own with FindCompanionFiles.
enum class Companion { kTests, kProperties };

// The companion kind of a file name (`a.test.yaml`, `a.props.yml`, ...), or nullopt for any
// other name (a policy when it ends .yaml/.yml). The part before the suffix is not empty.
std::optional<Companion> CompanionOf(std::string_view file_name);

// The `kind` files beside the policies at `policy_path`: every one directly inside a
// directory, sorted; for a policy file a.yaml, a.test.yaml (or a.test.yml) beside it when
// it exists (a.props.yaml for properties). A path that does not exist gives none.
std::vector<std::string> FindCompanionFiles(const std::string& policy_path, Companion kind);

// Loads files and directories (every *.yaml / *.yml directly inside, sorted by name, but
// the companion files: CompanionOf).
// On any error returns an Error whose message lists every error, one per line; all
// diagnostics (errors and warnings) are also appended to `diagnostics` when given.
Result<std::shared_ptr<const PolicySet>> LoadPolicySet(const std::vector<std::string>& paths,
                                                       std::vector<Diagnostic>* diagnostics,
                                                       const LoadOptions& options = {});

// `base` (a policy that uses ${workspace}: base.workspace_source set) compiled again from the
// same text with ${workspace} standing for `workspace` (a run's own: core::WorkspacePolicies).
// An error when the policy does not use ${workspace} or does not load with that workspace.
Result<std::shared_ptr<const AgentPolicy>> CompileForWorkspace(const AgentPolicy& base,
                                                               std::string_view workspace);

// The seed's pre-production checklist items a policy can show, as warnings.
std::vector<Diagnostic> Lint(const AgentPolicy& policy);

// Warnings about rules over sequences (part of Lint()): unreachable workflow states, dead
// ends not marked final, tools no state permits, transitions that never fire, the lethal
// trifecta with no flow rule covering it, flow labels no tool carries.
std::vector<Diagnostic> LintSequences(const AgentPolicy& policy);

}  // namespace interlock::policy

#endif  // INTERLOCK_POLICY_LOADER_H_
