// Handoff: a bounded queue of batches between two threads of a pipeline (a producer and
// a consumer), as `interlock decide` runs reader -> decider -> writer.
//
// Batches, not items, cross it: one lock and at most one wake-up per batch. Push() waits
// while `max_batches` are queued; Pop() waits while none is. Close(): the producer is
// done, the consumer drains what is queued and then Pop() answers false. Abort(): stop
// now, both sides (say, a write failed); what is queued is dropped and every wait ends.
// Thread-safety: every member may be called from any thread.
#ifndef INTERLOCK_COMMON_HANDOFF_H_
#define INTERLOCK_COMMON_HANDOFF_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <utility>

namespace interlock {

template <typename Batch>
class Handoff {
 public:
  explicit Handoff(size_t max_batches) : max_(max_batches) {}
  Handoff(const Handoff&) = delete;
  Handoff& operator=(const Handoff&) = delete;

  // Queues `batch`, waiting for room. `flush` travels with it (decide: the input would
  // block after this batch). False once aborted (the batch is dropped).
  bool Push(Batch&& batch, bool flush) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return aborted_ || queue_.size() < max_; });
    if (aborted_) return false;
    queue_.push_back(Entry{std::move(batch), flush});
    not_empty_.notify_one();
    return true;
  }
  // Takes the oldest batch, waiting for one. False when closed and drained, or aborted.
  bool Pop(Batch* batch, bool* flush) {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return aborted_ || closed_ || !queue_.empty(); });
    if (aborted_ || queue_.empty()) return false;
    *batch = std::move(queue_.front().batch);
    *flush = queue_.front().flush;
    queue_.pop_front();
    not_full_.notify_one();
    return true;
  }
  // Without waiting: false (the batch left with the caller) when full or aborted.
  bool TryPush(Batch&& batch) {
    std::lock_guard lock(mu_);
    if (aborted_ || queue_.size() >= max_) return false;
    queue_.push_back(Entry{std::move(batch), false});
    not_empty_.notify_one();
    return true;
  }
  // Without waiting: false when nothing is queued.
  bool TryPop(Batch* batch) {
    std::lock_guard lock(mu_);
    if (aborted_ || queue_.empty()) return false;
    *batch = std::move(queue_.front().batch);
    queue_.pop_front();
    not_full_.notify_one();
    return true;
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }
  void Abort() {
    std::lock_guard lock(mu_);
    aborted_ = true;
    queue_.clear();
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  struct Entry {
    Batch batch;
    bool flush;
  };
  const size_t max_;
  std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<Entry> queue_;
  bool closed_ = false;
  bool aborted_ = false;
};

}  // namespace interlock

#endif  // INTERLOCK_COMMON_HANDOFF_H_
