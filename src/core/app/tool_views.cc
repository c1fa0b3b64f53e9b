#include "core/app/tool_views.h"

#include <utility>

#include "engine/engine.h"

namespace interlock::core {

ToolView ViewTool(const policy::PolicySet* set, std::string_view agent_id, std::string_view tool) {
  const policy::AgentPolicy* agent = set != nullptr ? set->Find(agent_id) : nullptr;
  engine::ToolView v = engine::ViewTool(agent, tool);
  return {v.visible, std::move(v.scope)};
}

}  // namespace interlock::core
