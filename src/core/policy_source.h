// PolicySource: the current immutable PolicySet, swapped atomically on reload.
//
// Readers take a snapshot (shared_ptr<const PolicySet>) and use it for one whole
// decision, so a reload never changes the rules half-way through a call.
// Thread-safety: Current() and Replace() may be called from any thread concurrently.
#ifndef INTERLOCK_CORE_POLICY_SOURCE_H_
#define INTERLOCK_CORE_POLICY_SOURCE_H_

#include <atomic>
#include <memory>

#include "policy/policy.h"

namespace interlock::core {

class PolicySource {
 public:
  explicit PolicySource(std::shared_ptr<const policy::PolicySet> initial)
      : current_(std::move(initial)) {}

  std::shared_ptr<const policy::PolicySet> Current() const {
    return current_.load(std::memory_order_acquire);
  }
  void Replace(std::shared_ptr<const policy::PolicySet> next) {
    current_.store(std::move(next), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const policy::PolicySet>> current_;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_POLICY_SOURCE_H_
