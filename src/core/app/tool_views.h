// Tool views: what an agent sees of its tools, the same answer for every door (MCP
// tools/list over stdio and Streamable HTTP, the daemon's POST /v1/tools/view), and the
// rule for a tool name every door records. The rule itself is the engine's (pure,
// engine::ViewTool); doors ask here and never include the engine.
// Thread-safety: free functions over an immutable policy snapshot; any thread.
#ifndef INTERLOCK_CORE_APP_TOOL_VIEWS_H_
#define INTERLOCK_CORE_APP_TOOL_VIEWS_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"

namespace interlock::core {

class PolicySource;

// The longest tool name a call may carry (engine/call_parser.h checks the same bound).
inline constexpr size_t kMaxToolNameBytes = 256;

// A name the store and the daemon accept as a tool's: not empty, at most
// kMaxToolNameBytes bytes, no control characters.
bool ValidToolName(std::string_view name);

// The agent's view of one tool: `visible` when the tool is allowed and not blocked (or the
// agent is in shadow mode); `scope`, for a visible tool whose rule has one, the top-level
// fields of a result's structuredContent the agent may see.
struct ToolView {
  bool visible = false;
  std::optional<std::vector<std::string>> scope;
};

// The views of `tools` for `agent_id` under `set` (null, or an agent the set does not have:
// nothing is visible).
std::map<std::string, ToolView> ViewTools(const policy::PolicySet* set, std::string_view agent_id,
                                          const std::vector<std::string>& tools);

// The views of `tools` for `agent_id` under the snapshot `policies` holds now (one snapshot
// for all of them). `policies` must outlive the call.
std::map<std::string, ToolView> ViewTools(const PolicySource& policies, std::string_view agent_id,
                                          const std::vector<std::string>& tools);

// The view of one `tool` (ViewTools of one name).
ToolView ViewTool(const policy::PolicySet* set, std::string_view agent_id, std::string_view tool);

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_TOOL_VIEWS_H_
