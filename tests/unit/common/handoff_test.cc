#include "common/handoff.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace interlock {
namespace INTERLOCK_TEST_NS {

// Tests that batches cross in order with their flush marks and that Close() lets the
// consumer drain what is queued before Pop() answers false.
TEST(HandoffTest, DeliversInOrderThenDrainsAfterClose) {
  Handoff<std::vector<int>> h(4);
  ASSERT_TRUE(h.Push({1, 2}, false));
  ASSERT_TRUE(h.Push({3}, true));
  h.Close();
  std::vector<int> b;
  bool flush = true;
  ASSERT_TRUE(h.Pop(&b, &flush));
  EXPECT_EQ(b, (std::vector<int>{1, 2}));
  EXPECT_FALSE(flush);
  ASSERT_TRUE(h.Pop(&b, &flush));
  EXPECT_EQ(b, (std::vector<int>{3}));
  EXPECT_TRUE(flush);
  EXPECT_FALSE(h.Pop(&b, &flush));
}

// Tests that TryPush refuses when full and TryPop when empty, without waiting.
TEST(HandoffTest, TryPushAndTryPopNeverWait) {
  Handoff<int> h(1);
  int v = 0;
  EXPECT_FALSE(h.TryPop(&v));
  EXPECT_TRUE(h.TryPush(7));
  EXPECT_FALSE(h.TryPush(8));
  ASSERT_TRUE(h.TryPop(&v));
  EXPECT_EQ(v, 7);
}

// Tests that a producer blocked on a full queue is released by the consumer, so memory
// stays bounded however fast the producer is.
TEST(HandoffTest, FullQueueBlocksTheProducerUntilPopped) {
  Handoff<int> h(2);
  std::thread producer([&] {
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(h.Push(int{i}, false));
    h.Close();
  });
  int v = -1;
  bool flush = false;
  int expected = 0;
  while (h.Pop(&v, &flush)) EXPECT_EQ(v, expected++);
  producer.join();
  EXPECT_EQ(expected, 100);
}

// Tests that Abort() ends both a producer waiting for room and a consumer waiting for a
// batch (a failed write must not hang the pipeline), and drops what was queued.
TEST(HandoffTest, AbortReleasesBothSides) {
  Handoff<int> full(1);
  ASSERT_TRUE(full.Push(1, false));
  bool pushed = true;
  std::thread producer([&] { pushed = full.Push(2, false); });
  Handoff<int> empty(1);
  bool popped = true;
  std::thread consumer([&] {
    int v;
    bool f;
    popped = empty.Pop(&v, &f);
  });
  full.Abort();
  empty.Abort();
  producer.join();
  consumer.join();
  EXPECT_FALSE(pushed);
  EXPECT_FALSE(popped);
  int v;
  EXPECT_FALSE(full.TryPop(&v));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
