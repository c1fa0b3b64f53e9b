// Kill switches, once, in the core: which engaged switch covers a call (the precedence
// rule), what a valid switch change is, and the operations every door calls (engage,
// release, list, the switch in effect for an agent and a run).
//
// A switch has a scope, "global" (target ignored), "agent" (target: an agent id) or "run"
// (target: a run id). The switch covering a call is the most general engaged one: global,
// then the agent's, then the run's; its reason is the one the decision names. The backends
// (src/store, MemoryRunStore) only read and write rows: they keep an EngagedKills of what
// their transaction sees and ask it; a change goes through NormalizeKill before a row is
// written. Nothing here does I/O except through core::Store.
//
// Thread-safety: EngagedKills is a value (one thread at a time); Kills may be called from
// any thread (the store's rule).
#ifndef INTERLOCK_CORE_APP_KILLS_H_
#define INTERLOCK_CORE_APP_KILLS_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "core/ports/kill_entry.h"
#include "engine/engine.h"
#include "interlock/result.h"

namespace interlock::core {

class Store;  // core/ports/store.h

inline constexpr std::string_view kKillGlobal = "global";
inline constexpr std::string_view kKillAgent = "agent";
inline constexpr std::string_view kKillRun = "run";

// The engaged switches as one transaction (or one read) sees them.
class EngagedKills {
 public:
  // Engages (or, with engaged false, releases) the switch of (scope, target). A scope
  // other than the three is ignored (NormalizeKill refuses it before it is stored).
  void Set(std::string_view scope, std::string_view target, bool engaged, std::string reason);
  void Clear();
  bool empty() const { return !global_ && agents_.empty() && runs_.empty(); }
  // The precedence rule: the most general engaged switch covering (agent_id, run_id).
  std::optional<engine::KillSwitch> Covering(std::string_view agent_id,
                                             std::string_view run_id) const;

 private:
  std::optional<std::string> global_;                       // its reason
  std::map<std::string, std::string, std::less<>> agents_;  // agent id -> reason
  std::map<std::string, std::string, std::less<>> runs_;    // run id -> reason
};

// The engaged switches of a listing (released rows are skipped).
EngagedKills EngagedOf(const std::vector<KillEntry>& entries);

// A change of a switch as it is stored: global's target cleared; kInvalidArgument for an
// agent or run switch without a target, an unknown scope, or a reason, target or actor
// that CheckFreeText refuses (core/app/free_text.h).
Result<KillEntry> NormalizeKill(KillEntry entry);

// The doors' kill operations over a store (not owned; must outlive this). Every change is
// audited by the store (a kill_switch record under `actor`); engaging also cancels the
// pending approvals it covers. Releasing widens access, so it waits for its anchor
// (core::KillAnchorNeed).
class Kills {
 public:
  explicit Kills(Store& store) : store_(store) {}

  Status Engage(std::string_view scope, std::string_view target, std::string reason,
                std::string actor, TimePoint now);
  Status Release(std::string_view scope, std::string_view target, std::string reason,
                 std::string actor, TimePoint now);
  // What Set did beyond the switch itself.
  struct Outcome {
    size_t runs_ended = 0;
    // Why ending the covered runs stopped ("" when every one ended, or none was asked):
    // the switch is engaged all the same, and covers those runs' next calls.
    std::string end_runs_error;
  };
  // Engage or Release as `entry` says: an error means the switch was not changed.
  // Engaging with entry.end_runs then ends every open run (active or halted) the switch
  // covers, each with its "run_ended" record; `out` (may be null) says how many, and why
  // the rest were not ended when that failed.
  Status Set(const KillEntry& entry, Outcome* out = nullptr);
  // Every switch ever set, released ones included.
  Result<std::vector<KillEntry>> List();
  // The switch in effect for a call of `agent_id` in `run_id` (either may be empty), by
  // the precedence rule; nullopt when none covers it.
  Result<std::optional<engine::KillSwitch>> Effective(std::string_view agent_id,
                                                      std::string_view run_id);
  // Effective as a Status: Ok when no switch covers the call, kPermissionDenied naming the
  // switch, or the store's error.
  Status Clear(std::string_view agent_id, std::string_view run_id);

 private:
  Status EndCoveredRuns(const KillEntry& e, size_t* ended);

  Store& store_;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_KILLS_H_
