// PolicySource: the current immutable PolicySet, swapped atomically on reload, and the
// agents' policies compiled for runs' own workspaces (a Claude Code session's project).
//
// Readers take a snapshot (shared_ptr<const PolicySet>) and use it for one whole
// decision, so a reload never changes the rules half-way through a call.
// Thread-safety: every method may be called from any thread concurrently.
#ifndef INTERLOCK_CORE_APP_POLICY_SOURCE_H_
#define INTERLOCK_CORE_APP_POLICY_SOURCE_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "interlock/result.h"
#include "policy/policy.h"

namespace interlock::core {

class PolicySource {
 public:
  explicit PolicySource(std::shared_ptr<const policy::PolicySet> initial)
      : current_(std::move(initial)) {}

  std::shared_ptr<const policy::PolicySet> Current() const {
    return current_.load(std::memory_order_acquire);
  }
  // Swaps in `next` and forgets the policies compiled for workspaces (ForWorkspace).
  void Replace(std::shared_ptr<const policy::PolicySet> next);

  // The policy `base` (an agent's, from a snapshot) for a run whose workspace is
  // `workspace` (RunState::workspace): `base` itself when it does not use ${workspace},
  // else `base` compiled again with ${workspace} standing for it
  // (policy::CompileForWorkspace), an immutable snapshot cached per (base, workspace).
  // The cache holds at most kMaxWorkspacePolicies (emptied when full) and is emptied by
  // Replace(). An error: the policy does not load with that workspace.
  Result<std::shared_ptr<const policy::AgentPolicy>> ForWorkspace(
      const std::shared_ptr<const policy::AgentPolicy>& base, std::string_view workspace) const;

  static constexpr size_t kMaxWorkspacePolicies = 512;

 private:
  struct Compiled {
    std::shared_ptr<const policy::AgentPolicy> base;  // keeps the key's address unique
    Result<std::shared_ptr<const policy::AgentPolicy>> policy;
  };

  std::atomic<std::shared_ptr<const policy::PolicySet>> current_;
  mutable std::mutex mu_;
  // Key: the base policy's address, a NUL, the workspace.
  mutable std::unordered_map<std::string, Compiled> compiled_;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_POLICY_SOURCE_H_
