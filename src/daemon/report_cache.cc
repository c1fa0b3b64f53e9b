#include "daemon/report_cache.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <exception>
#include <utility>

#include "common/thread_name.h"

namespace interlock::server {

ReportCache::ReportCache(Options options, const Clock* clock, LastSeqFn last_seq)
    : options_(options), clock_(clock), last_seq_(std::move(last_seq)) {
  thread_ = std::thread([this] { Run(); });
}

ReportCache::~ReportCache() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_.store(true);
  work_cv_.notify_all();
  done_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t ReportCache::computations() const {
  std::lock_guard lock(mu_);
  return computations_;
}

ReportCache::Answer ReportCache::AnswerFor(const Entry& e, std::optional<int64_t> seq_now) const {
  Answer a;
  a.report = e.report;
  a.as_of = e.as_of;
  a.seq = e.seq;
  a.current = e.report != nullptr && !e.error && seq_now && e.seq >= 0 && e.seq >= *seq_now;
  a.refreshing = e.queued;
  if (e.queued) a.queued_at = e.queued_at;
  a.error = e.error;
  return a;
}

// The least recently asked questions go first; never one queued or waited on.
void ReportCache::EvictLocked() {
  while (entries_.size() > options_.max_entries) {
    auto victim = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.queued || it->second.waiters > 0) continue;
      if (victim == entries_.end() || it->second.last_asked < victim->second.last_asked) {
        victim = it;
      }
    }
    if (victim == entries_.end()) return;
    entries_.erase(victim);
  }
}

ReportCache::Answer ReportCache::Get(const std::string& key, Compute compute, bool force) {
  const std::optional<int64_t> seq_now = last_seq_ ? last_seq_() : std::nullopt;
  std::unique_lock lock(mu_);
  Entry& e = entries_[key];  // std::map: the reference survives other insertions
  e.last_asked = ++ticks_;
  const bool have = e.report != nullptr || e.error.has_value();
  if (!force && have && !e.error && seq_now && e.seq >= 0 && e.seq >= *seq_now) {
    return AnswerFor(e, seq_now);
  }
  const bool slow = e.took > options_.wait;
  const bool throttled = slow && !force && have &&
                         std::chrono::steady_clock::now() - e.finished < options_.min_interval;
  bool busy = false;
  if (!e.queued && !throttled && !stopping_ && queue_.size() >= options_.max_queued) {
    busy = true;
  } else if (!e.queued && !throttled && !stopping_) {
    e.queued = true;
    e.compute = std::move(compute);
    e.queued_at = clock_->Now();
    queue_.push_back(key);
    work_cv_.notify_one();
  }
  if (e.queued && !slow && options_.wait.count() > 0) {
    const uint64_t generation = e.generation;
    ++e.waiters;
    done_cv_.wait_for(lock, options_.wait, [&] { return e.generation != generation || stopping_; });
    --e.waiters;
  }
  Answer a = AnswerFor(e, seq_now);
  a.busy = busy;
  EvictLocked();
  return a;
}

void ReportCache::Run() {
  SetThreadName("il-reports");
  // Reports yield the CPU to decisions: a nice value for this thread only (Linux).
  if (options_.nice != 0) {
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), options_.nice);
  }
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const std::string key = std::move(queue_.front());
    queue_.pop_front();
    auto it = entries_.find(key);
    if (it == entries_.end()) continue;
    Compute compute = std::move(it->second.compute);
    it->second.compute = nullptr;
    lock.unlock();

    // The seq is read before the scan: records appended during it may be missed, so the
    // report claims only what it surely covers (the next request then refreshes it).
    const std::optional<int64_t> seq = last_seq_ ? last_seq_() : std::nullopt;
    const TimePoint began = clock_->Now();
    const auto t0 = std::chrono::steady_clock::now();
    std::optional<Result<boost::json::object>> out;
    try {
      out.emplace(compute(stop_));
    } catch (const std::exception& ex) {
      out.emplace(Error::Internal(std::string("report failed: ") + ex.what()));
    }
    const auto t1 = std::chrono::steady_clock::now();

    lock.lock();
    ++computations_;
    it = entries_.find(key);  // queued entries are never evicted, but be exact
    if (it == entries_.end()) continue;
    Entry& e = it->second;
    e.queued = false;
    e.took = t1 - t0;
    e.finished = t1;
    ++e.generation;
    if (out->ok()) {
      e.report = std::make_shared<const boost::json::object>(std::move(**out));
      e.as_of = began;
      e.seq = seq.value_or(-1);
      e.error.reset();
    } else {
      e.error = out->error();
    }
    done_cv_.notify_all();
  }
}

}  // namespace interlock::server
