#include "common/periodic.h"

#include <atomic>
#include <chrono>

#include <gtest/gtest.h>

#include "wait.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

using namespace std::chrono_literals;

// Tests that the task runs repeatedly at its interval and that Stop() runs on_stop once.
TEST(PeriodicTaskTest, RunsRepeatedlyAndStopsOnce) {
  std::atomic<int> runs{0}, stops{0};
  {
    PeriodicTask task(
        0ms, 5ms, [&] { ++runs; }, [&] { ++stops; });
    WaitUntil([&] { return runs.load() >= 3; }, 10s, 5ms);
    task.Stop();
    task.Stop();  // idempotent
  }
  EXPECT_GE(runs.load(), 3);
  EXPECT_EQ(stops.load(), 1);
}

// Tests that Stop() wakes a task waiting out a long delay at once, without running it.
TEST(PeriodicTaskTest, StopDoesNotWaitForTheInterval) {
  std::atomic<int> runs{0};
  const auto start = std::chrono::steady_clock::now();
  {
    PeriodicTask task(std::chrono::hours(24), std::chrono::hours(24), [&] { ++runs; });
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_EQ(runs.load(), 0);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
