#include "mcp/tool_view.h"

#include <utility>

#include "core/app/tool_views.h"

namespace interlock::mcp {

Result<ToolViewSource::View> PolicyToolView::ViewTools(const std::vector<std::string>& tools) {
  View view;
  for (auto& [name, v] : core::ViewTools(*policies_, agent_id_, tools)) {
    view[name] = Entry{v.visible, std::move(v.scope)};
  }
  return view;
}

}  // namespace interlock::mcp
