#include "core/app/policy_source.h"

#include <cstdint>

#include "policy/loader.h"

namespace interlock::core {

void PolicySource::Replace(std::shared_ptr<const policy::PolicySet> next) {
  current_.store(std::move(next), std::memory_order_release);
  std::lock_guard lock(mu_);
  compiled_.clear();
}

Result<std::shared_ptr<const policy::AgentPolicy>> PolicySource::ForWorkspace(
    const std::shared_ptr<const policy::AgentPolicy>& base, std::string_view workspace) const {
  if (base == nullptr || base->workspace_source == nullptr) return base;
  std::string key = std::to_string(reinterpret_cast<uintptr_t>(base.get()));
  key.push_back('\0');
  key.append(workspace);
  {
    std::lock_guard lock(mu_);
    if (auto it = compiled_.find(key); it != compiled_.end()) return it->second.policy;
  }
  // Compiled outside the lock: two runs of a new workspace may both compile it, once each.
  Result<std::shared_ptr<const policy::AgentPolicy>> policy =
      policy::CompileForWorkspace(*base, workspace);
  std::lock_guard lock(mu_);
  if (compiled_.size() >= kMaxWorkspacePolicies) compiled_.clear();
  compiled_.insert_or_assign(std::move(key), Compiled{base, policy});
  return policy;
}

}  // namespace interlock::core
