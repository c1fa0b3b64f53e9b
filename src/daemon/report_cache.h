// ReportCache: reports that read the whole audit log, computed off the request path and
// answered with their age (the console's Governance page; docs/console.md, "Governance
// over a large log"). The daemon's core::CachedReports (core/app/governance.h), handed to
// the HTTP API door.
//
// Drift, trust and fatigue stream every record of their window: seconds at a million
// records. A request never computes one itself. It asks the cache for a question (a key:
// the report and its parameters) and is answered
//   - current: the last report computed for that question, when the audit log has not
//     grown since its computation began (HistorySource::LastSeq is the same);
//   - else, one computation for the question is queued on the cache's own thread (one
//     report at a time, at lower CPU priority; a question is queued once however many
//     ask: single flight) and the request waits for it up to Options::wait when the last
//     computation of that question took no longer than that. A small log is therefore
//     always answered current, as before the cache;
//   - else the last report with its age and `refreshing` set, or, when there is none yet,
//     nothing (the handler answers 202 and the page polls).
// A question whose last computation took longer than `wait` is recomputed at most once per
// Options::min_interval however fast the log grows, unless the request forces it (the
// page's Refresh button): a busy daemon spends a bounded share of one core on reports.
// At most Options::max_queued computations wait: a new question beyond that is answered
// `busy` (the handler's 429), so many distinct questions cannot queue without bound.
// A failed computation is kept and answered until a later one succeeds; a report is
// never called current unless its seq covers the log's last seq.
// Thread-safety: Get may be called from any thread; `compute` runs on the cache's thread.
#ifndef INTERLOCK_DAEMON_REPORT_CACHE_H_
#define INTERLOCK_DAEMON_REPORT_CACHE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/json/object.hpp>

#include "common/time.h"
#include "core/app/governance.h"
#include "interlock/result.h"

namespace interlock::server {

class ReportCache final : public core::CachedReports {
 public:
  struct Options {
    // How long a request waits for a computation whose last run was at least this fast.
    std::chrono::milliseconds wait{100};
    // The least time between two computations of a slow question (not forced).
    std::chrono::milliseconds min_interval{30000};
    size_t max_entries = 64;  // questions kept; the least recently asked goes first
    size_t max_queued = 8;    // computations waiting; a new question beyond is refused (busy)
    int nice = 10;            // the computing thread's nice value (0: unchanged)
  };
  // The log's last seq now (HistorySource::LastSeq); nullopt when it cannot tell.
  using LastSeqFn = std::function<std::optional<int64_t>()>;

  ReportCache(Options options, const Clock* clock, LastSeqFn last_seq);
  // Stops the thread: the running computation is told to stop, queued ones dropped.
  ~ReportCache() override;
  ReportCache(const ReportCache&) = delete;
  ReportCache& operator=(const ReportCache&) = delete;

  // `compute` is used only if this call queues a computation.
  Answer Get(const std::string& key, Compute compute, bool force = false) override;

  // Computations finished since start (tests and metrics).
  uint64_t computations() const;

 private:
  struct Entry {
    std::shared_ptr<const boost::json::object> report;
    TimePoint as_of{};
    int64_t seq = -1;
    std::optional<Error> error;
    bool queued = false;  // queued or running
    Compute compute;
    TimePoint queued_at{};
    std::chrono::steady_clock::time_point finished{};
    std::chrono::nanoseconds took{-1};  // the last computation's duration (-1: none yet)
    uint64_t generation = 0;            // computations finished
    uint64_t last_asked = 0;
    int waiters = 0;
  };

  Answer AnswerFor(const Entry& e, std::optional<int64_t> seq_now) const;
  void EvictLocked();
  void Run();

  const Options options_;
  const Clock* clock_;
  const LastSeqFn last_seq_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::map<std::string, Entry> entries_;
  std::deque<std::string> queue_;
  uint64_t ticks_ = 0;
  uint64_t computations_ = 0;
  bool stopping_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace interlock::server

#endif  // INTERLOCK_DAEMON_REPORT_CACHE_H_
