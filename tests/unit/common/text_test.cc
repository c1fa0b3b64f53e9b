#include "common/text.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace interlock {
namespace INTERLOCK_TEST_NS {

TEST(JoinTest, PutsTheSeparatorBetweenEveryTwoPartsEvenEmptyOnes) {
  struct Case {
    std::vector<std::string> parts;
    const char* sep;
    const char* want;
  };
  const Case cases[] = {
      {{}, ", ", ""},
      {{"a"}, ", ", "a"},
      {{"a", "b"}, ", ", "a, b"},
      {{"", "a"}, " ", " a"},  // an empty first word is still a word (a shell's "")
      {{"a", "", "b"}, " ", "a  b"},
      {{"", ""}, ",", ","},
      {{"a", "b", "c"}, "", "abc"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Join(c.parts, c.sep), c.want) << "separator \"" << c.sep << "\"";
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
