// PeriodicTask: runs a function on its own thread every `interval` until stopped.
//
// The first run happens after `first_delay`. Stop() (also called by the destructor)
// wakes the thread at once, waits for a run in progress to finish, runs `on_stop` once
// when given (a final flush, say), and joins. The function runs on the task's thread
// only, never concurrently with itself.
// Thread-safety: Stop() from any thread except the task's own; idempotent.
#ifndef INTERLOCK_COMMON_PERIODIC_H_
#define INTERLOCK_COMMON_PERIODIC_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace interlock {

class PeriodicTask {
 public:
  PeriodicTask(std::chrono::milliseconds first_delay, std::chrono::milliseconds interval,
               std::function<void()> run, std::function<void()> on_stop = {})
      : interval_(interval), run_(std::move(run)), on_stop_(std::move(on_stop)) {
    thread_ = std::thread([this, first_delay] { Loop(first_delay); });
  }
  ~PeriodicTask() { Stop(); }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop(std::chrono::milliseconds delay) {
    std::unique_lock lock(mu_);
    for (;;) {
      if (cv_.wait_for(lock, delay, [this] { return stop_; })) break;
      lock.unlock();
      run_();
      lock.lock();
      delay = interval_;
    }
    lock.unlock();
    if (on_stop_) on_stop_();
  }

  const std::chrono::milliseconds interval_;
  const std::function<void()> run_;
  const std::function<void()> on_stop_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: started once every other member is ready
};

}  // namespace interlock

#endif  // INTERLOCK_COMMON_PERIODIC_H_
