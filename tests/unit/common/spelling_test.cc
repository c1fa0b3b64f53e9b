// The one spelling rule (common/spelling.h) behind the policy loader's and `interlock
// check`'s "did you mean" hints.
#include "common/spelling.h"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace interlock {
namespace INTERLOCK_TEST_NS {

// Tests the edit distance on insertions, deletions, substitutions and empty strings.
TEST(SpellingTest, EditDistance) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("allowed", "alowed"), 1u);
  EXPECT_EQ(EditDistance("tool", "tool"), 0u);
}

// Tests that the nearest name is suggested only within a third of the name's length (at
// least 2 edits), the first of equally near names winning, whatever the container.
TEST(SpellingTest, NearestNameWithinAThird) {
  const std::vector<std::string> keys = {"allowed", "blocked", "execution"};
  EXPECT_EQ(NearestName("alowed", keys), "allowed");
  EXPECT_EQ(NearestName("executoin", keys), "execution");
  EXPECT_EQ(NearestName("zzzzzzz", keys), "");
  const std::initializer_list<std::string_view> ab = {"ab", "ba"};
  EXPECT_EQ(NearestName("aa", ab), "ab");
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
