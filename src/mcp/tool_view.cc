#include "mcp/tool_view.h"

#include <memory>

#include "core/app/tool_views.h"

namespace interlock::mcp {

Result<ToolViewSource::View> PolicyToolView::ViewTools(const std::vector<std::string>& tools) {
  std::shared_ptr<const policy::PolicySet> set = policies_->Current();
  View view;
  for (auto& [name, v] : core::ViewTools(set.get(), agent_id_, tools)) {
    view[name] = Entry{v.visible, std::move(v.scope)};
  }
  return view;
}

}  // namespace interlock::mcp
