// PolicyToolView: the agent's view of the tools from a local PolicySource, through the
// core's rule (core::ViewTools, core/app/tool_views.h), for the standalone gateway and the daemon's
// MCP sessions. `interlock mcp --daemon` asks the daemon instead (DaemonEnforcer). Thread-safety:
// any thread (each call reads one policy snapshot). Does not own the PolicySource; it must outlive
// the view.
#ifndef INTERLOCK_MCP_TOOL_VIEW_H_
#define INTERLOCK_MCP_TOOL_VIEW_H_

#include <string>
#include <vector>

#include "mcp/gateway_catalog.h"

namespace interlock::core {
class PolicySource;
}

namespace interlock::mcp {

class PolicyToolView final : public ToolViewSource {
 public:
  PolicyToolView(const core::PolicySource* policies, std::string agent_id)
      : policies_(policies), agent_id_(std::move(agent_id)) {}

  Result<View> ViewTools(const std::vector<std::string>& tools) override;

 private:
  const core::PolicySource* policies_;
  const std::string agent_id_;
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_TOOL_VIEW_H_
