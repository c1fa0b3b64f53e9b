// KillEntry: a kill switch as the store keeps it, the one type for every reader and writer
// (Store::SetKill and Store::ListKills in core/ports/store.h, ApprovalRows::EngagedKills
// for the approval sweep, core::Kills for the doors). The rules (which scopes exist, which
// switch covers a call) are in core/app/kills.h.
#ifndef INTERLOCK_CORE_PORTS_KILL_ENTRY_H_
#define INTERLOCK_CORE_PORTS_KILL_ENTRY_H_

#include <string>

#include "common/time.h"

namespace interlock::core {

struct KillEntry {
  std::string scope;   // "global" | "agent" | "run"
  std::string target;  // agent id or run id; empty for global
  bool engaged = false;
  std::string reason;
  std::string actor;
  TimePoint at;
  // Engaging also ends every open run the switch covers (core::Kills::Set), so scripted
  // agents stop instead of being denied forever; recorded in the kill_switch record.
  bool end_runs = false;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_PORTS_KILL_ENTRY_H_
