// Tests of the one glob matcher (common/glob.h) that tool patterns, shell-command words
// and identity patterns share.
#include "common/glob.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace interlock {
namespace INTERLOCK_TEST_NS {

struct Row {
  const char* pattern;
  std::string s;  // std::string: some rows hold a NUL byte
  bool matches;
};

// Tests that the glob language is exactly `*` over bytes: what the three former copies
// (tool patterns, shell words, identity prefixes) agreed on, row by row.
TEST(GlobTest, MatchesTable) {
  const std::vector<Row> rows = {
      // Exact names.
      {"", "", true},
      {"", "a", false},
      {"read_file", "read_file", true},
      {"read_file", "read_fil", false},
      {"read_file", "Read_file", false},  // no case folding
      // One star: empty run included, any byte, separators included.
      {"*", "", true},
      {"*", "anything/at.all", true},
      {"mcp__github__*", "mcp__github__", true},
      {"mcp__github__*", "mcp__github__create_issue", true},
      {"mcp__github__*", "mcp__gitlab__create_issue", false},
      {"*_delete", "repo_delete", true},
      {"*_delete", "repo_delete_all", false},
      {"a*c", "abc", true},
      {"a*c", "ac", true},
      {"a*c", "ab", false},
      // Several stars and backtracking.
      {"*a*b*", "xxaxxbxx", true},
      {"*a*b*", "xxbxxaxx", false},
      {"a*a*a", "aaa", true},
      {"a*a*a", "aa", false},
      {"**", "x", true},
      {"*ab", "aab", true},
      {"*aab", "aaab", true},
      // Identity patterns: a trailing star is a prefix.
      {"spiffe://prod/*", "spiffe://prod/a", true},
      {"spiffe://prod/*", "spiffe://prodx/a", false},
      {"exact@x", "exact@x2", false},
      // Shell words: `/` and `.` are ordinary bytes.
      {"*.txt", "dir/a.txt", true},
      {"/tmp/*", "/tmp/a/b", true},
      {"-*", "--force", true},
      // No other metacharacters: `?` and `[` are literal, a `*` in the text is a byte.
      {"a?c", "abc", false},
      {"a?c", "a?c", true},
      {"[ab]", "a", false},
      {"[ab]", "[ab]", true},
      {"a*", "a*", true},
      {"a\\*", "a\\x", true},  // no escapes: `\` is a byte, `*` still a star
      // Bytes, not characters.
      {"caf*", "caf\xc3\xa9", true},
      {"a*", std::string("a\0b", 3), true},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(GlobMatches(r.pattern, r.s), r.matches)
        << "pattern \"" << r.pattern << "\" on \"" << r.s << "\"";
  }
}

// Tests that overlap agrees with a brute force over short strings, on a table of pairs.
TEST(GlobTest, OverlapTable) {
  struct Pair {
    const char* a;
    const char* b;
    bool overlap;
  };
  const std::vector<Pair> rows = {
      {"a*", "*b", true},       {"a*", "b*", false},   {"*x*", "y", false},
      {"*x*", "*y*", true},     {"abc", "abc", true},  {"abc", "abd", false},
      {"a*c", "ab*", true},     {"*", "", true},       {"a", "*", true},
      {"mcp__*", "*__x", true}, {"x*y", "x*z", false}, {"*_delete", "repo_*", true},
  };
  for (const Pair& p : rows) {
    EXPECT_EQ(GlobsOverlap(p.a, p.b), p.overlap) << p.a << " vs " << p.b;
    EXPECT_EQ(GlobsOverlap(p.b, p.a), p.overlap) << p.b << " vs " << p.a;
  }
}

// Tests that specificity counts the bytes that are not `*`.
TEST(GlobTest, LiteralBytesAndIsGlob) {
  EXPECT_EQ(GlobLiteralBytes("mcp__github__*"), 13u);
  EXPECT_EQ(GlobLiteralBytes("**"), 0u);
  EXPECT_EQ(GlobLiteralBytes("name"), 4u);
  EXPECT_TRUE(IsGlob("a*"));
  EXPECT_FALSE(IsGlob("a?"));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
