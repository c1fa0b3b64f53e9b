// Principal names as people: validation at token creation and the comparison key.
#include "common/principal_name.h"

#include <gtest/gtest.h>

namespace interlock {
namespace INTERLOCK_TEST_NS {

// Tests that names differing only by case, width, composition, invisible characters or
// surrounding whitespace have one key, and that different people keep different keys.
TEST(PrincipalNameTest, LookalikeNamesAreOnePerson) {
  const std::string alice = PrincipalKey("alice");
  for (const char* same :
       {"Alice", "ALICE", "alice ", " alice", "\talice", "ali\u200bce", "alice\u200d",
        "\u202ealice", "\uff41lice", "alice\u2066", "alice\n", "al\u00adice"}) {
    EXPECT_EQ(PrincipalKey(same), alice) << same;
  }
  EXPECT_TRUE(SamePrincipal("Caf\u00e9", "cafe\u0301"));  // NFC: one é either way
  EXPECT_TRUE(SamePrincipal("STRASSE", "stra\u00dfe"));   // case folding, not lowering
  EXPECT_FALSE(SamePrincipal("alice", "alicia"));
  EXPECT_FALSE(SamePrincipal("bob smith", "bobsmith"));
  EXPECT_EQ(PrincipalKey(std::string("\xff", 1)), PrincipalKey("\ufffd"));
}

// Tests that a token name with control, invisible, bidi or surrounding whitespace
// characters is refused with a clear reason, and a good name comes back in NFC.
TEST(PrincipalNameTest, InvisibleAndControlCharactersRefused) {
  struct Case {
    std::string name;
    std::string why;
  };
  const Case bad[] = {
      {"", "is empty"},
      {"alice ", "ends with a space"},
      {" alice", "starts with a space"},
      {"ali\tce", "U+0009"},
      {"alice\n", "U+000A"},
      {"ali\u200bce", "U+200B"},
      {"\u202ealice", "U+202E"},
      {"alice\u2066", "U+2066"},
      {"al\u00adice", "U+00AD"},
      {"bob\u00a0smith", "U+00A0"},
      {"alice\u2028", "U+2028"},
      {std::string("ali\0ce", 6), "U+0000"},
      {std::string("\xc3\x28", 2), "not valid UTF-8"},
      {std::string(kMaxPrincipalNameBytes + 1, 'a'), "longer than"},
  };
  for (const Case& c : bad) {
    Result<std::string> r = ValidatePrincipalName(c.name, "reviewer name");
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_NE(r.error().message.find(c.why), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.rfind("reviewer name", 0), 0u) << r.error().message;
  }
  Result<std::string> ok = ValidatePrincipalName("Jos\u0065\u0301 Garc\u00eda", "admin name");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(*ok, "Jos\u00e9 Garc\u00eda");
  EXPECT_TRUE(ValidatePrincipalName("support-agent-v2", "agent id").ok());
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
