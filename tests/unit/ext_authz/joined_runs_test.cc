// The ext_authz door's memory of the runs it joined (doors/ext_authz/door.h, JoinedRuns):
// bounded, so run keys minted by a client (run_header is the client's to choose) cannot grow
// the daemon's memory; a run forgotten is joined again, never assumed joined. Tests are
// named after the attack they stop.
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "doors/ext_authz/door.h"

namespace interlock::doors::ext_authz {
namespace {

std::string JoinedRunsTestId(int i) { return "ea-run-" + std::to_string(i); }

// Tests that a flood of minted run keys leaves the set at its capacity, not one entry a key.
TEST(JoinedRunsTest, MintedRunKeysCannotGrowTheDaemonsMemoryPastTheCap) {
  JoinedRuns joined(64);
  for (int i = 0; i < 10000; ++i) joined.Add(JoinedRunsTestId(i));
  EXPECT_EQ(joined.size(), 64u);
  EXPECT_TRUE(joined.Contains(JoinedRunsTestId(9999)));
  EXPECT_EQ(JoinedRuns().size(), 0u);
  EXPECT_EQ(JoinedRuns::kDefaultCapacity, 16384u);
}

// Tests that a run pushed out by the flood is reported not joined, so the door joins it
// again (core::Calls::JoinRun returns the existing run) instead of deciding in a run it
// never opened.
TEST(JoinedRunsTest, RunEvictedByAFloodIsJoinedAgainNeverAssumed) {
  JoinedRuns joined(4);
  joined.Add("victim");
  for (int i = 0; i < 4; ++i) joined.Add(JoinedRunsTestId(i));
  EXPECT_FALSE(joined.Contains("victim"));
  joined.Add("victim");  // the door's second join
  EXPECT_TRUE(joined.Contains("victim"));
  EXPECT_EQ(joined.size(), 4u);
}

// Tests that a run in use survives a flood of one-off keys: the least recently used go
// first, so an attacker's keys evict each other before a busy session's run.
TEST(JoinedRunsTest, RunInUseOutlivesAFloodOfOneOffKeys) {
  JoinedRuns joined(8);
  joined.Add("busy");
  for (int i = 0; i < 1000; ++i) {
    joined.Add(JoinedRunsTestId(i));
    if (i % 4 == 0) {
      ASSERT_TRUE(joined.Contains("busy")) << i;
    }
  }
  EXPECT_EQ(joined.size(), 8u);
}

// Tests that concurrent Checks minting keys on many threads keep the bound and the set
// consistent (every Contains after an Add on the same thread of a fresh key holds at once).
TEST(JoinedRunsTest, ConcurrentFloodsStayBounded) {
  JoinedRuns joined(100);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&joined, t] {
      for (int i = 0; i < 5000; ++i) joined.Add(JoinedRunsTestId(t * 100000 + i));
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(joined.size(), 100u);
}

}  // namespace
}  // namespace interlock::doors::ext_authz
