#include "store/store.h"

namespace interlock::store {

const char* RoleName(Role r) {
  switch (r) {
    case Role::kAgent:
      return "agent";
    case Role::kReviewer:
      return "reviewer";
    case Role::kAdmin:
      return "admin";
  }
  return "agent";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "agent") return Role::kAgent;
  if (name == "reviewer") return Role::kReviewer;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

const char* RunListStateName(const core::RunInfo& run) {
  if (run.state.halted) return "halted";
  return run.ended ? "ended" : "active";
}

}  // namespace interlock::store
