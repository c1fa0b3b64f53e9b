// KillEntry: a kill switch row as the store keeps it (core/ports/store.h, Store::SetKill,
// Store::ListKills). The rules (which scopes exist, which switch covers a call) are in
// core/app/kills.h.
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
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_PORTS_KILL_ENTRY_H_
