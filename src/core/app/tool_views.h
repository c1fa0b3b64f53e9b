// Tool views: what an agent may see of a tool (listed at all, and which top-level fields
// of its structured results), for a door that lists tools (POST /v1/tools/view, MCP
// tools/list). The one rule is the engine's (ViewTool); doors ask here.
// Thread-safety: pure functions of the policy snapshot they are given.
#ifndef INTERLOCK_CORE_APP_TOOL_VIEWS_H_
#define INTERLOCK_CORE_APP_TOOL_VIEWS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"

namespace interlock::core {

struct ToolView {
  bool visible = false;
  // The fields of the tool's structured results the agent may see; nullopt: all.
  std::optional<std::vector<std::string>> scope;
};

// The view of `tool` for `agent_id` under `set` (null, or no policy for the agent: not
// visible).
ToolView ViewTool(const policy::PolicySet* set, std::string_view agent_id, std::string_view tool);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_TOOL_VIEWS_H_
