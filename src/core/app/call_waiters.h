// CallWaiters: whoever waits for a call's state to change (a pending approval settled),
// keyed by call id: the HTTP API's long polls on GET /v1/calls/{id}?wait=N and the MCP over
// HTTP sessions awaiting an approval share one registry, which the daemon's approval
// sweeper and every vote wake.
//
// A waiter is a callback, not a thread: a door parks a timer (an Asio timer on the
// connection's strand) and registers a wake-up here; Notify(call_id) (called by whoever
// settles a pending approval) or the timer fires first, and the poll answers with the
// call's state at that moment. So a thousand waiting clients hold a thousand timers.
// Thread-safety: every method may be called from any thread; wake callbacks run on the
// notifying thread with no lock held and must not block.
#ifndef INTERLOCK_CORE_APP_CALL_WAITERS_H_
#define INTERLOCK_CORE_APP_CALL_WAITERS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace interlock::core {

class CallWaiters {
 public:
  using WakeFn = std::function<void()>;

  // Registers `wake` for call_id; returns an id for Remove(). After ShutDown() the
  // waiter is woken at once.
  uint64_t Add(const std::string& call_id, WakeFn wake) {
    std::unique_lock lock(mu_);
    if (shut_down_) {
      lock.unlock();
      wake();
      return 0;
    }
    const uint64_t id = ++next_id_;
    waiters_[call_id].emplace(id, std::move(wake));
    return id;
  }

  void Remove(const std::string& call_id, uint64_t id) {
    std::lock_guard lock(mu_);
    auto it = waiters_.find(call_id);
    if (it == waiters_.end()) return;
    it->second.erase(id);
    if (it->second.empty()) waiters_.erase(it);
  }

  // Wakes every waiter of call_id (its state may have changed).
  void Notify(std::string_view call_id) {
    std::vector<WakeFn> wake;
    {
      std::lock_guard lock(mu_);
      auto it = waiters_.find(call_id);
      if (it == waiters_.end()) return;
      for (auto& [id, fn] : it->second) wake.push_back(std::move(fn));
      waiters_.erase(it);
    }
    for (auto& fn : wake) fn();
  }

  // Wakes every waiter (each re-reads its call); new ones are parked as usual.
  void NotifyAll() {
    std::vector<WakeFn> wake;
    {
      std::lock_guard lock(mu_);
      for (auto& [call, ws] : waiters_) {
        for (auto& [id, fn] : ws) wake.push_back(std::move(fn));
      }
      waiters_.clear();
    }
    for (auto& fn : wake) fn();
  }

  // Wakes every waiter and refuses to park new ones (shutdown).
  void ShutDown() {
    std::vector<WakeFn> wake;
    {
      std::lock_guard lock(mu_);
      shut_down_ = true;
      for (auto& [call, ws] : waiters_) {
        for (auto& [id, fn] : ws) wake.push_back(std::move(fn));
      }
      waiters_.clear();
    }
    for (auto& fn : wake) fn();
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& [call, ws] : waiters_) n += ws.size();
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::map<uint64_t, WakeFn>, std::less<>> waiters_;
  uint64_t next_id_ = 0;
  bool shut_down_ = false;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_CALL_WAITERS_H_
