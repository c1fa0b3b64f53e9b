// Writing tightened policy text (for `interlock drift --suggest`).
//
// ApplyPolicyEdits() re-reads a policy document with yaml-cpp, removes what the edits
// name, lowers budgets, and emits the document again. Scalars keep their quoting (a
// quoted "10" stays a string), sequences and mappings keep block or flow style, key
// order is kept; comments are not (the output is a suggestion for review, headed by a
// comment saying so). The caller must load the result with LoadPolicySet before use.
// Thread-safety: a pure function.
#ifndef INTERLOCK_POLICY_WRITER_H_
#define INTERLOCK_POLICY_WRITER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interlock/result.h"

namespace interlock::policy {

struct PolicyEdits {
  std::vector<std::string> remove_tools;  // entries of tools.allowed
  struct RemoveValues {
    std::string tool;
    std::string rule;      // ArgConstraint::rule, says allowed_<plural> or arguments.X.one_of
    std::string argument;  // ArgConstraint::argument
    std::vector<size_t> indices;  // positions in the list (ArgConstraint::one_of order)
  };
  std::vector<RemoveValues> remove_values;
  std::map<std::string, std::vector<std::string>> remove_scope_fields;  // tool -> fields
  std::optional<uint64_t> max_steps;
  std::optional<uint64_t> max_tokens_per_run;
  std::optional<int64_t> max_wall_clock_ms;  // written in seconds (ms precision)
  std::optional<int64_t> max_cost_micros;    // written in dollars (exact)
  std::string header_comment;                // lines written first, each prefixed "# "
};

Result<std::string> ApplyPolicyEdits(std::string_view yaml, const PolicyEdits& edits);

}  // namespace interlock::policy

#endif  // INTERLOCK_POLICY_WRITER_H_
