// The drill agent's id (docs/drill.md): Interlock's own agent for kill-switch drills
// (core/app/drills.h). Reserved: a policy that defines it and a token that names it are
// refused, so no real agent can hide among the drill's decisions, which metrics totals,
// the default runs list, drift and trust leave out.
#ifndef INTERLOCK_COMMON_DRILL_AGENT_H_
#define INTERLOCK_COMMON_DRILL_AGENT_H_

#include <string_view>

namespace interlock {

inline constexpr std::string_view kDrillAgentId = "interlock-drill";

}  // namespace interlock

#endif  // INTERLOCK_COMMON_DRILL_AGENT_H_
