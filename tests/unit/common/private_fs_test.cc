#include "common/private_fs.h"

#include <sys/stat.h>

#include <string>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Restores the umask a test opened.
struct OpenUmask {
  mode_t old = ::umask(0);
  ~OpenUmask() { ::umask(old); }
};

// Tests that state directories made under an umask that lets everyone in (000) are 0700,
// each missing one, while an existing directory keeps its mode.
TEST(PrivateFsTest, StateDirectoriesAreNotOpenToOtherUsersWhateverTheUmask) {
  testing::TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  OpenUmask umask_open;
  ASSERT_TRUE(CreatePrivateDirectories(dir.path() + "/a/b/c").ok());
  EXPECT_EQ(ModeOf(dir.path() + "/a"), 0700u);
  EXPECT_EQ(ModeOf(dir.path() + "/a/b"), 0700u);
  EXPECT_EQ(ModeOf(dir.path() + "/a/b/c"), 0700u);
  EXPECT_EQ(ModeOf(dir.path()), 0755u);
  EXPECT_TRUE(CreatePrivateDirectories(dir.path() + "/a/b/c/").ok());
  EXPECT_TRUE(CreatePrivateDirectories("").ok());
  const std::string file = dir.Write("plain", "x");
  EXPECT_FALSE(CreatePrivateDirectories(file + "/sub").ok());
}

// Tests that a private file is made 0600 under an open umask, and that an existing file
// is neither truncated nor reported as made.
TEST(PrivateFsTest, PrivateFileIsMadeOwnerOnlyAndNeverTruncated) {
  testing::TempDir dir;
  OpenUmask umask_open;
  Result<bool> made = CreatePrivateFile(dir.path() + "/new");
  ASSERT_TRUE(made.ok());
  EXPECT_TRUE(*made);
  EXPECT_EQ(ModeOf(dir.path() + "/new"), 0600u);
  const std::string existing = dir.Write("existing", "keep me");
  Result<bool> again = CreatePrivateFile(existing);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  struct stat st {};
  ASSERT_EQ(::stat(existing.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 7);
  EXPECT_FALSE(CreatePrivateFile(dir.path() + "/missing-dir/file").ok());
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
