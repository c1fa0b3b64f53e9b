// store::OpenStore's operator options (store/open_store.h): which lock wait and which
// creation rule each kind of operator write opens the store with, and that a token store
// keeps the default lock wait against a held lock. SQLite in a temporary directory.
#include "store/open_store.h"

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "common/time.h"
#include "temp_dir.h"

namespace interlock::store {
namespace INTERLOCK_TEST_NS {

using ::interlock::testing::TempDir;

// A second connection that holds SQLite's write lock on `path` until it is destroyed.
class HeldWriteLock {
 public:
  explicit HeldWriteLock(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  }
  ~HeldWriteLock() {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
  }
  HeldWriteLock(const HeldWriteLock&) = delete;
  HeldWriteLock& operator=(const HeldWriteLock&) = delete;

 private:
  sqlite3* db_ = nullptr;
};

// Tests that a token store keeps the default lock wait and creates a missing store, while
// every other operator write waits kOperatorBusyTimeoutMs (30 s) and refuses a missing store.
TEST(OpenStoreTest, TokenStoreKeepsTheDefaultLockWait) {
  const StoreOptions token = OperatorStoreOptions("t.db", {}, OperatorWrite::kToken);
  EXPECT_EQ(token.busy_timeout_ms, StoreOptions{}.busy_timeout_ms);
  EXPECT_EQ(token.busy_timeout_ms, 2000);
  EXPECT_TRUE(token.create_if_missing);
  EXPECT_EQ(token.path, "t.db");

  const StoreOptions op = OperatorStoreOptions("o.db");
  EXPECT_EQ(op.busy_timeout_ms, kOperatorBusyTimeoutMs);
  EXPECT_EQ(op.busy_timeout_ms, 30000);
  EXPECT_FALSE(op.create_if_missing);
  EXPECT_EQ(op.path, "o.db");
}

// Tests that a token written while another process holds the store's write lock fails
// (fail closed) after the default lock wait, well before an operator command's 30 s.
TEST(OpenStoreTest, TokenStoreGivesUpOnAHeldLockAfterTheDefaultWait) {
  TempDir dir;
  const std::string path = dir.path() + "/interlock.db";
  {
    auto created = OpenStore(OperatorStoreOptions(path, {}, OperatorWrite::kToken));
    ASSERT_TRUE(created.ok()) << created.error().message;
  }
  auto st = OpenStore(OperatorStoreOptions(path, {}, OperatorWrite::kToken));
  ASSERT_TRUE(st.ok()) << st.error().message;
  HeldWriteLock lock(path);
  const auto start = std::chrono::steady_clock::now();
  Result<std::string> token =
      (*st)->CreateToken(core::Role::kReviewer, "rob", "", SystemClock().Now(), {});
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(token.ok());
  EXPECT_GE(waited, std::chrono::milliseconds(StoreOptions{}.busy_timeout_ms));
  EXPECT_LT(waited, std::chrono::milliseconds(kOperatorBusyTimeoutMs));
}

// Tests that an operator write never creates a store a mistyped --store names.
TEST(OpenStoreTest, OperatorStoreRefusesAMissingFile) {
  TempDir dir;
  const std::string path = dir.path() + "/typo.db";
  auto st = OpenStore(OperatorStoreOptions(path));
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(std::filesystem::exists(path));
}

// Tests that the reading commands' history opens an existing SQLite store read-only and
// refuses a missing one.
TEST(OpenStoreTest, StoreHistoryOpensAnExistingSqliteStore) {
  TempDir dir;
  const std::string path = dir.path() + "/interlock.db";
  EXPECT_FALSE(OpenStoreHistory(path).ok());
  {
    auto created = OpenStore(OperatorStoreOptions(path, {}, OperatorWrite::kToken));
    ASSERT_TRUE(created.ok()) << created.error().message;
  }
  auto history = OpenStoreHistory(path);
  ASSERT_TRUE(history.ok()) << history.error().message;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::store
