// SignedLogTest: the fixture of the tamper tests (verify_test, tail_test): a store.db in a
// temporary directory holding 20 decision records of run-1 (AppendDecisions), the audit keys
// beside it, and checkpoints signed with them over any stored record.
#ifndef INTERLOCK_TESTS_UNIT_AUDIT_SIGNED_LOG_TEST_H_
#define INTERLOCK_TESTS_UNIT_AUDIT_SIGNED_LOG_TEST_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <utility>

#include <gtest/gtest.h>

#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "audit_test_util.h"
#include "store/sqlite_audit_util.h"

namespace interlock::audit::testing {

class SignedLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = OpenRw(dir_.File("store.db"));
    AppendDecisions(db_.get(), 20);
    auto keys = LoadOrCreateAuditKeys(dir_.File("keys"));
    ASSERT_TRUE(keys.ok()) << keys.error().message;
    keys_ = std::make_unique<AuditKeys>(std::move(keys).value());
  }

  // A checkpoint signed with the keys over record `seq` as it is stored now.
  audit::Checkpoint CheckpointAt(int64_t seq) {
    Statement st;
    EXPECT_TRUE(st.Prepare(db_.get(), "SELECT hash FROM audit_log WHERE seq = ?1").ok());
    st.BindInt64(1, seq);
    EXPECT_EQ(sqlite3_step(st.get()), SQLITE_ROW);
    auto cp = MakeCheckpoint(keys_->signing_key, seq, st.Text(0), T0());
    EXPECT_TRUE(cp.ok());
    return *cp;
  }

  TempDir dir_;
  SqliteDb db_;
  std::unique_ptr<AuditKeys> keys_;
};

}  // namespace interlock::audit::testing

#endif  // INTERLOCK_TESTS_UNIT_AUDIT_SIGNED_LOG_TEST_H_
