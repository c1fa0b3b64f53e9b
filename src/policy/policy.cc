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

bool ToolPatternMatches(std::string_view pattern, std::string_view name) {
  // Greedy glob with backtracking to the last star: O(|p| * |n|) worst case.
  size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

const AgentPolicy* PolicySet::Find(std::string_view agent_id) const {
  auto it = agents.find(agent_id);
  return it == agents.end() ? nullptr : it->second.get();
}

}  // namespace interlock::policy
