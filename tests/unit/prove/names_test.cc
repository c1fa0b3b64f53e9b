// The tool-name classes of a set of names and patterns: one witness per class.
#include <gtest/gtest.h>

#include "policy/policy.h"
#include "prove/names.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

TEST(NameClasses, ExactNamesAndAnOtherName) {
  const auto c = prove::FindNameClasses({"read", "write"});
  EXPECT_TRUE(c.complete);
  // "read", "write", and names matched by neither (the shortest: one byte).
  EXPECT_EQ(c.witnesses.size(), 3u);
  EXPECT_NE(std::find(c.witnesses.begin(), c.witnesses.end(), "read"), c.witnesses.end());
  EXPECT_NE(std::find(c.witnesses.begin(), c.witnesses.end(), "write"), c.witnesses.end());
}

TEST(NameClasses, OverlappingPatternsGetAWitnessForEachCombination) {
  const std::vector<std::string> p = {"mcp__*", "*_delete", "mcp__github__*"};
  const auto c = prove::FindNameClasses(p);
  EXPECT_TRUE(c.complete);
  std::set<std::string> combos;
  for (const std::string& w : c.witnesses) {
    std::string m;
    for (const std::string& q : p) m += policy::ToolPatternMatches(q, w) ? '1' : '0';
    EXPECT_TRUE(combos.insert(m).second) << "two witnesses of class " << m;
  }
  // none, mcp__ only, _delete only, mcp__ and _delete, github (implies mcp__), github and _delete.
  EXPECT_EQ(combos.size(), 6u);
  EXPECT_TRUE(combos.count("111"));
}

TEST(NameClasses, BoundIsReported) {
  const auto c = prove::FindNameClasses({"a*b*c*d*e", "*x*y*z*"}, 10);
  EXPECT_FALSE(c.complete);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
