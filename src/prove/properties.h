// Properties of a policy, stated in YAML beside it (`*.props.yaml`, docs/prove.md), read by
// the strict YAML reader: an unknown key, a wrong type or a missing field is an error with
// file:line:column. Values only; checked by prove::Prove (prove.h).
// Thread-safety: plain values and free functions.
#ifndef INTERLOCK_PROVE_PROPERTIES_H_
#define INTERLOCK_PROVE_PROPERTIES_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "interlock/result.h"
#include "policy/policy.h"

namespace interlock::prove {

// One property (docs/prove.md, "Property kinds"). Tool names may be patterns (`*`).
struct Property {
  enum class Kind {
    kNeverAllowed,    // never_allowed: TOOL (no call of it proceeds, with or without approval)
    kNeedsApprovals,  // needs_approvals: {tool, count}: every call needs count approvers
    kBefore,          // before: {tool, requires, result}: tool only after `requires` succeeded
    kNeverFlows,      // never_flows: {label, to}: no call of `to` once the run saw `label`
    kAtMost,          // at_most: {tool, calls, per: run|day}
    kOnlyTools,       // only_tools: [names]: no other tool proceeds
  };
  Kind kind = Kind::kNeverAllowed;
  std::string name;
  std::string agent;  // empty: the only agent of the policy set
  policy::Location at;
  std::string tool;                // every kind but only_tools
  std::vector<std::string> tools;  // only_tools
  std::string requires_tool;       // before
  bool requires_ok = true;         // before: `result: ok` (default) or `allowed`
  std::string label;               // never_flows
  uint64_t count = 1;              // needs_approvals (approvers), at_most (calls)
  bool per_day = false;            // at_most
};

// A properties file: the properties, and sample values the search tries for arguments
// whose constraints it cannot enumerate (a `pattern`, a shell or URL rule): `examples:`.
struct PropertiesFile {
  std::string file;
  std::vector<Property> properties;
  std::map<std::string, std::vector<boost::json::value>, std::less<>> examples;
};

// Parses a properties file's text; errors as Error::Invalid("file:line:column: message").
Result<PropertiesFile> ParseProperties(std::string_view text, std::string_view file);

// Reads and parses one file (an unreadable file is an error naming it).
Result<PropertiesFile> ReadProperties(const std::string& path);

// The properties files beside the policies at `policy_path`: every *.props.yaml /
// *.props.yml in a directory, or for a file a.yaml the file a.props.yaml beside it. Sorted.
std::vector<std::string> FindPropertiesFiles(const std::string& policy_path);

// "never_allowed", "needs_approvals", ... as written in the file.
const char* KindName(Property::Kind kind);

}  // namespace interlock::prove

#endif  // INTERLOCK_PROVE_PROPERTIES_H_
