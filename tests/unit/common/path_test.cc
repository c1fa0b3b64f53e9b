// Tests of lexical path normalisation (common/path.h).
#include "common/path.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace interlock {
namespace INTERLOCK_TEST_NS {

struct Row {
  std::string in;
  const char* out;  // nullptr: an error
};

// Tests normalisation of ordinary, tricky and hostile paths.
TEST(PathTest, Normalize) {
  const std::vector<Row> rows = {
      {"/srv/data/file", "/srv/data/file"},
      {"/srv//data///file", "/srv/data/file"},
      {"/srv/./data/.", "/srv/data"},
      {"/srv/data/../etc", "/srv/etc"},
      {"/srv/data/a/b/../../..", "/srv"},
      {"/..", "/"},
      {"/../../etc", "/etc"},
      {"/", "/"},
      {"//", "/"},
      {"/srv/data/", "/srv/data"},
      {"a/b/../c", "a/c"},
      {"a/..", "."},
      {".", "."},
      {"./a", "a"},
      {"...", "..."},
      {"/srv/data/..hidden", "/srv/data/..hidden"},
      {"..", nullptr},
      {"../a", nullptr},
      {"a/../..", nullptr},
      {"", nullptr},
      {std::string("/srv/data\0/x", 12), nullptr},
      {"/srv\\data", nullptr},
      {"/srv/data/%2e%2e/etc", nullptr},
      {"/srv/%2fdata", nullptr},
  };
  for (const Row& r : rows) {
    SCOPED_TRACE(r.in);
    Result<std::string> n = NormalizePath(r.in);
    if (r.out == nullptr) {
      EXPECT_FALSE(n.ok()) << *n;
    } else {
      ASSERT_TRUE(n.ok()) << n.error().message;
      EXPECT_EQ(*n, r.out);
    }
  }
}

// Tests prefix matching on component boundaries.
TEST(PathTest, HasPrefix) {
  EXPECT_TRUE(PathHasPrefix("/srv/data", "/srv/data"));
  EXPECT_TRUE(PathHasPrefix("/srv/data/x", "/srv/data"));
  EXPECT_FALSE(PathHasPrefix("/srv/database", "/srv/data"));
  EXPECT_FALSE(PathHasPrefix("/srv/dat", "/srv/data"));
  EXPECT_FALSE(PathHasPrefix("/srv", "/srv/data"));
  EXPECT_TRUE(PathHasPrefix("/anything", "/"));
  EXPECT_TRUE(PathHasPrefix("/", "/"));
  EXPECT_FALSE(PathHasPrefix("relative", "/"));
  EXPECT_FALSE(PathHasPrefix("srv/data/x", "/srv/data"));
  EXPECT_TRUE(PathHasPrefix("a/b", "a"));
  EXPECT_FALSE(PathHasPrefix("ab", "a"));
}

// Tests the composition the engine relies on: normalise, then prefix-check.
TEST(PathTest, NormalizedClimbCannotEscapePrefix) {
  for (const char* p : {"/srv/data/../etc/passwd", "/srv/data/a/../../etc", "/srv/data/../data2"}) {
    Result<std::string> n = NormalizePath(p);
    ASSERT_TRUE(n.ok());
    EXPECT_FALSE(PathHasPrefix(*n, "/srv/data")) << p << " -> " << *n;
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
