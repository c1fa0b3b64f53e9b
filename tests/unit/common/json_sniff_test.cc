#include "common/json_sniff.h"

#include <string>

#include <gtest/gtest.h>

namespace interlock {
namespace INTERLOCK_TEST_NS {

// Tests that a quoted key is found at every offset (the SIMD blocks and the tail loop
// agree), and that the bare word or a longer quoted word is not taken for it.
TEST(JsonSniffTest, ContainsQuotedFindsTheKeyAtEveryOffset) {
  for (size_t pad = 0; pad < 40; ++pad) {
    const std::string s = std::string(pad, ' ') + "{\"result\":1}" + std::string(pad % 7, ' ');
    EXPECT_TRUE(ContainsQuoted(s, "result")) << pad;
    EXPECT_FALSE(ContainsQuoted(s, "resul")) << pad;
    EXPECT_FALSE(ContainsQuoted(s, "results")) << pad;
  }
  EXPECT_FALSE(ContainsQuoted(std::string(64, ' ') + "result", "result"));
  EXPECT_FALSE(ContainsQuoted("{\"result\"}", ""));
  EXPECT_FALSE(ContainsQuoted("\"r", "result"));
}

// Tests that keys sharing their first two letters are found in one pass at every
// offset, near-misses are not, and keys without a shared prefix still work.
TEST(JsonSniffTest, ContainsAnyQuotedFindsEitherKey) {
  for (size_t pad = 0; pad < 40; ++pad) {
    const std::string lead(pad, 'x');
    EXPECT_TRUE(ContainsAnyQuoted(lead + "{\"rehearsal\":{}}", {"result", "rehearsal"})) << pad;
    EXPECT_TRUE(ContainsAnyQuoted(lead + "{\"result\":{}}", {"result", "rehearsal"})) << pad;
    EXPECT_FALSE(ContainsAnyQuoted(lead + "{\"rehearse\":{},\"re\":1}", {"result", "rehearsal"}))
        << pad;
    EXPECT_FALSE(ContainsAnyQuoted(lead + "{\"tool\":\"re\"}", {"result", "rehearsal"})) << pad;
  }
  EXPECT_TRUE(ContainsAnyQuoted("{\"b\":1}", {"a", "b"}));
  EXPECT_FALSE(ContainsAnyQuoted("{\"c\":1}", {"a", "b"}));
  EXPECT_FALSE(ContainsAnyQuoted("{\"a\":1}", {}));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
