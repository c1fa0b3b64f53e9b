#include "policy/policy.h"

namespace interlock::policy {

std::string Location::ToString() const {
  if (file.empty()) return {};
  if (line <= 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kEnforce:
      return "enforce";
    case Mode::kShadow:
      return "shadow";
  }
  return "enforce";
}

const char* AutonomyName(Autonomy a) {
  switch (a) {
    case Autonomy::kGateAll:
      return "gate_all";
    case Autonomy::kExceptionBased:
      return "exception_based";
    case Autonomy::kAuditBased:
      return "audit_based";
  }
  return "gate_all";
}

const char* BlastRadiusName(BlastRadius b) {
  switch (b) {
    case BlastRadius::kSmall:
      return "small";
    case BlastRadius::kLarge:
      return "large";
  }
  return "large";
}

const char* BudgetActionName(BudgetAction a) {
  switch (a) {
    case BudgetAction::kDeny:
      return "deny";
    case BudgetAction::kHalt:
      return "halt";
    case BudgetAction::kHaltAndEscalate:
      return "halt_and_escalate";
  }
  return "halt";
}

const AgentPolicy* PolicySet::Find(std::string_view agent_id) const {
  auto it = agents.find(agent_id);
  return it == agents.end() ? nullptr : it->second.get();
}

}  // namespace interlock::policy
