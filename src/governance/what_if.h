// What-if replay: re-decide recorded calls under another PolicySet.
//
// Each recorded "decision" is re-evaluated by the pure engine with the run state the
// engine saw at that moment, derived from the record itself: steps = state_after.steps
// - 1; tokens, cost and elapsed as recorded (they already include the call's usage);
// halted = the previous decision's state_after.halted in that run (or, for the first
// call of a run inside the window, whether the recorded code was RUN_HALTED); records
// for the tool = state_after.records[tool] minus this call's consumption when it was
// allowed. The kill switch is as recorded: a KILL_SWITCH decision stays KILL_SWITCH and
// no other call sees an engaged switch. Freeze windows use the record's time.
// A call "changes" when its (decision, code) pair differs. Budgets are NOT re-simulated:
// every call is judged against the run's totals as they happened, so a budget change is
// attributable to exactly one call. Sequences (issue 15) are: a run's workflow state,
// variables and labels, and each agent's rate-limit windows and daily quota totals,
// follow the calls the new policies let proceed and the recorded results and usage
// (docs/governance.md), so that a tightened workflow shows every call it would stop.
// Thread-safety: RunWhatIf reads `source` on the calling thread only.
#ifndef INTERLOCK_GOVERNANCE_WHAT_IF_H_
#define INTERLOCK_GOVERNANCE_WHAT_IF_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "core/ports/history_source.h"
#include "interlock/result.h"
#include "policy/policy.h"

namespace interlock::governance {

struct WhatIfOptions {
  std::optional<int64_t> since_ms;  // only decisions at or after this time
  std::string agent_id;             // empty: every agent
  size_t max_listed = 1000;         // changes kept in `changes` (totals count all)
};

struct WhatIfChange {
  int64_t seq = 0;
  std::string run_id, call_id, agent_id, tool;
  std::string old_decision, old_code;
  std::string new_decision, new_code, new_rule, new_reason;
  bool redacted_args = false;  // a redacted argument may explain the change
};

struct WhatIfReport {
  uint64_t evaluated = 0;
  uint64_t changed = 0;
  std::vector<WhatIfChange> changes;  // the first max_listed, in seq order
  // (old code, new code) -> count.
  std::map<std::pair<std::string, std::string>, uint64_t> transitions;
};

Result<WhatIfReport> RunWhatIf(const core::HistorySource& source, const policy::PolicySet& policies,
                               const WhatIfOptions& options);

boost::json::object WhatIfToJson(const WhatIfReport& r);
std::string WhatIfToText(const WhatIfReport& r);

}  // namespace interlock::governance

#endif  // INTERLOCK_GOVERNANCE_WHAT_IF_H_
