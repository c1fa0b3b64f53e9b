#include "core/app/tool_views.h"

#include <memory>

#include "core/app/policy_source.h"
#include "engine/call_parser.h"
#include "engine/engine.h"

namespace interlock::core {

static_assert(kMaxToolNameBytes == engine::kMaxToolNameBytes,
              "one tool-name bound for the doors and the parser");

bool ValidToolName(std::string_view name) {
  if (name.empty() || name.size() > kMaxToolNameBytes) return false;
  for (char c : name) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) return false;
  }
  return true;
}

std::map<std::string, ToolView> ViewTools(const policy::PolicySet* set, std::string_view agent_id,
                                          const std::vector<std::string>& tools) {
  const policy::AgentPolicy* agent = set != nullptr ? set->Find(agent_id) : nullptr;
  std::map<std::string, ToolView> out;
  for (const std::string& name : tools) {
    engine::ToolView v = engine::ViewTool(agent, name);
    out[name] = ToolView{v.visible, std::move(v.scope)};
  }
  return out;
}

std::map<std::string, ToolView> ViewTools(const PolicySource& policies, std::string_view agent_id,
                                          const std::vector<std::string>& tools) {
  std::shared_ptr<const policy::PolicySet> set = policies.Current();
  return ViewTools(set.get(), agent_id, tools);
}

ToolView ViewTool(const policy::PolicySet* set, std::string_view agent_id, std::string_view tool) {
  const policy::AgentPolicy* agent = set != nullptr ? set->Find(agent_id) : nullptr;
  engine::ToolView v = engine::ViewTool(agent, tool);
  return {v.visible, std::move(v.scope)};
}

}  // namespace interlock::core
