// DecisionFromJson: the inverse of DecisionToJson (interlock/decision.h), for the clients of
// the daemon's API (the MCP gateway and the egress proxy with --daemon) that read the
// decisions it answers. A separate header so that interlock/decision.h, included nearly
// everywhere, stays as it is.
#ifndef INTERLOCK_COMMON_DECISION_JSON_H_
#define INTERLOCK_COMMON_DECISION_JSON_H_

#include <optional>

#include <boost/json/object.hpp>

#include "interlock/decision.h"

namespace interlock {

// The decision object `o` (verdict, code, reason, rule, at, agent/agent_id, tool,
// retry_after_s, shadow, approval, rehearsal); nullopt when its "decision" or "code" is not
// one Interlock knows. Members of the wrong type are left at their defaults.
std::optional<Decision> DecisionFromJson(const boost::json::object& o);

}  // namespace interlock

#endif  // INTERLOCK_COMMON_DECISION_JSON_H_
