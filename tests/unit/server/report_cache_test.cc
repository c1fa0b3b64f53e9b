// ReportCache (daemon/report_cache.h): the Governance page's reports off the request path.
#include "daemon/report_cache.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "wait.h"

namespace interlock::server {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

using namespace std::chrono_literals;
namespace json = boost::json;

// A computation the test releases by hand, counting how often it ran.
class Gate {
 public:
  ReportCache::Compute Compute(int value) {
    return [this, value](const std::atomic<bool>& stop) -> Result<json::object> {
      std::unique_lock lock(mu_);
      ++started_;
      cv_.notify_all();
      // `stop` is set without a notification: look at it every few milliseconds.
      while (!open_ && !stop.load()) cv_.wait_for(lock, 5ms);
      if (stop.load()) return Error::Unavailable("stopped");
      ++runs_;
      return json::object{{"value", value}};
    };
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void WaitStarted(int n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 10s, [&] { return started_ >= n; });
  }
  int runs() {
    std::lock_guard lock(mu_);
    return runs_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int started_ = 0, runs_ = 0;
};

ReportCache::Compute Instant(int value, std::atomic<int>* runs = nullptr) {
  return [value, runs](const std::atomic<bool>&) -> Result<json::object> {
    if (runs != nullptr) ++*runs;
    return json::object{{"value", value}};
  };
}

// Polls until the cache's thread has finished `n` computations (bounded).
void WaitComputations(const ReportCache& cache, uint64_t n) {
  WaitUntil([&] { return cache.computations() >= n; }, 10s, 5ms);
  ASSERT_GE(cache.computations(), n);
}

struct Fixture {
  SystemClock clock;
  std::atomic<int64_t> seq{10};
  ReportCache::LastSeqFn LastSeq() {
    return [this]() -> std::optional<int64_t> { return seq.load(); };
  }
};

TEST(ReportCache, FastReportIsAnsweredCurrentWithinTheWait) {
  Fixture f;
  ReportCache cache({.wait = 2000ms}, &f.clock, f.LastSeq());
  ReportCache::Answer a = cache.Get("drift", Instant(1));
  ASSERT_NE(a.report, nullptr);
  EXPECT_EQ(a.report->at("value").as_int64(), 1);
  EXPECT_TRUE(a.current);
  EXPECT_FALSE(a.refreshing);
  EXPECT_EQ(a.seq, 10);
}

TEST(ReportCache, UnchangedLogIsNotRecomputed) {
  Fixture f;
  std::atomic<int> runs{0};
  ReportCache cache({.wait = 2000ms}, &f.clock, f.LastSeq());
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(cache.Get("drift", Instant(1, &runs)).current);
  EXPECT_EQ(runs.load(), 1);
  f.seq = 11;  // a record appended: the next question recomputes
  ReportCache::Answer a = cache.Get("drift", Instant(2, &runs));
  EXPECT_TRUE(a.current);
  EXPECT_EQ(a.report->at("value").as_int64(), 2);
  EXPECT_EQ(runs.load(), 2);
}

TEST(ReportCache, SlowFirstReportAnswersComputingThenTheReport) {
  Fixture f;
  Gate gate;
  ReportCache cache({.wait = 20ms}, &f.clock, f.LastSeq());
  ReportCache::Answer a = cache.Get("trust", gate.Compute(7));
  EXPECT_EQ(a.report, nullptr);  // the handler's 202
  EXPECT_TRUE(a.refreshing);
  EXPECT_FALSE(a.error.has_value());
  gate.Open();
  WaitComputations(cache, 1);
  a = cache.Get("trust", gate.Compute(8));
  ASSERT_NE(a.report, nullptr);
  EXPECT_EQ(a.report->at("value").as_int64(), 7);
  EXPECT_TRUE(a.current);
}

TEST(ReportCache, ManyAskingAtOnceComputeOnce) {
  Fixture f;
  Gate gate;
  ReportCache cache({.wait = 0ms}, &f.clock, f.LastSeq());
  std::vector<std::thread> askers;
  for (int i = 0; i < 16; ++i) askers.emplace_back([&] { cache.Get("fatigue", gate.Compute(1)); });
  for (std::thread& t : askers) t.join();
  gate.Open();
  WaitComputations(cache, 1);
  std::this_thread::sleep_for(50ms);  // pace: time for a second computation not to happen
  EXPECT_EQ(cache.computations(), 1u);
  EXPECT_EQ(gate.runs(), 1);
}

TEST(ReportCache, StaleReportIsServedWithItsAgeWhileRefreshing) {
  Fixture f;
  ReportCache cache({.wait = 0ms, .min_interval = 0ms}, &f.clock, f.LastSeq());
  cache.Get("drift", Instant(1));
  WaitComputations(cache, 1);
  Gate gate;
  f.seq = 12;
  ReportCache::Answer a = cache.Get("drift", gate.Compute(2));
  ASSERT_NE(a.report, nullptr);
  EXPECT_EQ(a.report->at("value").as_int64(), 1);  // the old one, not called current
  EXPECT_FALSE(a.current);
  EXPECT_TRUE(a.refreshing);
  EXPECT_EQ(a.seq, 10);
  gate.Open();
  WaitComputations(cache, 2);
  a = cache.Get("drift", Instant(3));
  EXPECT_EQ(a.report->at("value").as_int64(), 2);
  EXPECT_TRUE(a.current);
}

// A slow report over a busy log is recomputed at most once per min_interval, unless forced.
TEST(ReportCache, SlowReportOverAGrowingLogIsThrottledUnlessForced) {
  Fixture f;
  std::atomic<int> runs{0};
  ReportCache cache({.wait = 1ms, .min_interval = 3600s}, &f.clock, f.LastSeq());
  auto slow = [&runs](int v) {
    return [&runs, v](const std::atomic<bool>&) -> Result<json::object> {
      std::this_thread::sleep_for(20ms);  // pace: longer than the wait, a slow report
      ++runs;
      return json::object{{"value", v}};
    };
  };
  cache.Get("trust", slow(1));
  WaitComputations(cache, 1);
  for (int i = 0; i < 5; ++i) {
    f.seq = 20 + i;
    ReportCache::Answer a = cache.Get("trust", slow(2));
    EXPECT_EQ(a.report->at("value").as_int64(), 1);
    EXPECT_FALSE(a.current);
    EXPECT_FALSE(a.refreshing);
  }
  std::this_thread::sleep_for(50ms);  // pace: time for a throttled run not to happen
  EXPECT_EQ(runs.load(), 1);
  ReportCache::Answer a = cache.Get("trust", slow(3), /*force=*/true);
  EXPECT_TRUE(a.refreshing);  // slow: not waited for
  WaitComputations(cache, 2);
  EXPECT_EQ(cache.Get("trust", slow(4)).report->at("value").as_int64(), 3);
}

TEST(ReportCache, FailedComputationIsAnsweredAndKeepsTheLastReport) {
  Fixture f;
  ReportCache cache({.wait = 2000ms, .min_interval = 0ms}, &f.clock, f.LastSeq());
  auto failing = [](const std::atomic<bool>&) -> Result<json::object> {
    return Error::Unavailable("store: closing");
  };
  ReportCache::Answer a = cache.Get("drift", failing);
  EXPECT_EQ(a.report, nullptr);
  ASSERT_TRUE(a.error.has_value());
  EXPECT_EQ(a.error->kind, ErrorKind::kUnavailable);
  a = cache.Get("drift", Instant(5));  // a failed report is not current: asked again
  ASSERT_NE(a.report, nullptr);
  EXPECT_FALSE(a.error.has_value());
  f.seq = 30;
  a = cache.Get("drift", failing);
  ASSERT_NE(a.report, nullptr);  // the last good report, with the failure beside it
  EXPECT_EQ(a.report->at("value").as_int64(), 5);
  EXPECT_FALSE(a.current);
  ASSERT_TRUE(a.error.has_value());
}

TEST(ReportCache, ThrowingComputationIsAnError) {
  Fixture f;
  ReportCache cache({.wait = 2000ms}, &f.clock, f.LastSeq());
  ReportCache::Answer a = cache.Get("drift", [](const std::atomic<bool>&) -> Result<json::object> {
    throw std::runtime_error("boom");
  });
  ASSERT_TRUE(a.error.has_value());
  EXPECT_EQ(a.error->kind, ErrorKind::kInternal);
}

// A source that cannot tell its last seq: nothing is ever current, every ask refreshes
// (a fast report is still answered within the wait).
TEST(ReportCache, UnknownLastSeqNeverClaimsCurrent) {
  SystemClock clock;
  std::atomic<int> runs{0};
  ReportCache cache({.wait = 2000ms}, &clock, [] { return std::optional<int64_t>(); });
  for (int i = 0; i < 3; ++i) {
    ReportCache::Answer a = cache.Get("drift", Instant(i, &runs));
    ASSERT_NE(a.report, nullptr);
    EXPECT_FALSE(a.current);
    EXPECT_EQ(a.report->at("value").as_int64(), i);
  }
  EXPECT_EQ(runs.load(), 3);
}

TEST(ReportCache, QuestionsAreKeptSeparateAndBounded) {
  Fixture f;
  ReportCache cache({.wait = 2000ms, .max_entries = 2}, &f.clock, f.LastSeq());
  EXPECT_EQ(cache.Get("a", Instant(1)).report->at("value").as_int64(), 1);
  EXPECT_EQ(cache.Get("b", Instant(2)).report->at("value").as_int64(), 2);
  EXPECT_EQ(cache.Get("a", Instant(9)).report->at("value").as_int64(), 1);  // cached
  EXPECT_EQ(cache.Get("c", Instant(3)).report->at("value").as_int64(), 3);  // evicts b
  EXPECT_EQ(cache.Get("b", Instant(4)).report->at("value").as_int64(), 4);  // recomputed
}

// Many distinct questions cannot queue without bound: beyond max_queued waiting
// computations a new question is answered busy (429), and is computed once there is room.
TEST(ReportCache, QueueIsBounded) {
  Fixture f;
  Gate gate;
  ReportCache cache({.wait = 0ms, .max_queued = 2}, &f.clock, f.LastSeq());
  cache.Get("running", gate.Compute(0));
  gate.WaitStarted(1);  // on the thread: not counted as waiting
  EXPECT_FALSE(cache.Get("q1", gate.Compute(1)).busy);
  EXPECT_FALSE(cache.Get("q2", gate.Compute(2)).busy);
  ReportCache::Answer a = cache.Get("q3", gate.Compute(3));
  EXPECT_TRUE(a.busy);
  EXPECT_EQ(a.report, nullptr);
  EXPECT_FALSE(a.refreshing);
  gate.Open();
  WaitComputations(cache, 3);
  EXPECT_FALSE(cache.Get("q3", gate.Compute(3)).busy);
  WaitComputations(cache, 4);
  EXPECT_EQ(gate.runs(), 4);
}

// Shutting down does not wait for a long report: it is told to stop.
TEST(ReportCache, DestructionStopsARunningComputation) {
  Fixture f;
  Gate gate;
  const auto t0 = std::chrono::steady_clock::now();
  {
    ReportCache cache({.wait = 0ms}, &f.clock, f.LastSeq());
    cache.Get("drift", gate.Compute(1));
    gate.WaitStarted(1);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(gate.runs(), 0);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::server
