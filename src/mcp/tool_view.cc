#include "mcp/tool_view.h"

#include <memory>

#include "engine/engine.h"

namespace interlock::mcp {

Result<ToolViewSource::View> PolicyToolView::ViewTools(const std::vector<std::string>& tools) {
  std::shared_ptr<const policy::PolicySet> set = policies_->Current();
  const policy::AgentPolicy* agent = set ? set->Find(agent_id_) : nullptr;
  View view;
  for (const std::string& name : tools) {
    engine::ToolView v = engine::ViewTool(agent, name);
    view[name] = Entry{v.visible, std::move(v.scope)};
  }
  return view;
}

}  // namespace interlock::mcp
