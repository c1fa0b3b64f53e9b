// Retention in the daemon: `interlock serve` prunes audit records older than
// audit.retention_days on its own schedule, anchoring what it deletes, and the log still
// verifies with the checkpoint file afterwards.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "audit/keys.h"
#include "audit/sqlite_util.h"
#include "common/time.h"
#include "daemon_harness.h"
#include "store/sqlite_store.h"
#include "subprocess.h"

namespace interlock::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPolicy = R"(agent:
  id: retention-agent
  identity: retention-agent@test
tools:
  allowed:
    - name: ping
)";

int64_t FirstSeq(const std::string& store) {
  sqlite3* db = nullptr;
  int64_t seq = -1;
  if (sqlite3_open_v2(store.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT MIN(seq) FROM audit_log", -1, &st, nullptr);
    if (st != nullptr && sqlite3_step(st) == SQLITE_ROW) seq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return seq;
}

// Tests that the daemon prunes records older than audit.retention_days by itself, that the
// newer records stay, and that `audit verify` with the checkpoint file and public key
// passes afterwards (the prune wrote its anchor first).
TEST(AuditRetentionTest, DaemonPrunesOldRecordsAndTheLogStillVerifies) {
  TempDir dir;
  const std::string policies = dir.path() + "/policies";
  std::filesystem::create_directories(policies);
  dir.Write("policies/retention-agent.yaml", kPolicy);
  const std::string store = dir.path() + "/interlock.db";  // where the harness puts it
  const std::string keys_dir = audit::DefaultKeysDir(store);
  auto keys = audit::LoadOrCreateAuditKeys(keys_dir);
  ASSERT_TRUE(keys.ok());
  {
    // 30 runs started 120 days ago, then 5 today: their run_started records are the log.
    store::StoreOptions opt;
    opt.path = store;
    opt.audit_key = keys->hmac_key;
    auto opened = store::SqliteStore::Open(opt);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    const TimePoint now = SystemClock().Now();
    for (int i = 0; i < 35; ++i) {
      const TimePoint t = i < 30 ? now - std::chrono::hours(24 * 120) + std::chrono::seconds(i)
                                 : now - std::chrono::minutes(35 - i);
      ASSERT_TRUE((*opened)->CreateRun("retention-agent", "", t).ok());
    }
  }
  ASSERT_EQ(FirstSeq(store), 1);

  const std::string config = dir.Write(
      "interlock.yaml",
      "audit:\n  retention_days: 90\n  first_prune_after_ms: 0\n  prune_interval_ms: 200\n");
  Daemon daemon(dir.path(), policies, config);
  ASSERT_EQ(daemon.store(), store);
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  int64_t first = FirstSeq(store);
  for (int i = 0; i < 150 && first != 31; ++i) {
    std::this_thread::sleep_for(100ms);
    first = FirstSeq(store);
  }
  EXPECT_EQ(first, 31) << daemon.log();
  EXPECT_EQ(daemon.Stop(), 0) << daemon.log();
  EXPECT_NE(daemon.log().find("audit prune: deleted 30 records"), std::string::npos)
      << daemon.log();

  int code = -1;
  const std::string out = RunInterlock({"audit", "verify", "--store", store, "--checkpoints",
                                        audit::DefaultCheckpointsFile(keys_dir), "--pubkey",
                                        keys_dir + "/" + std::string(audit::kPublicKeyFile)},
                                       &code);
  EXPECT_EQ(code, 0) << out;
}

}  // namespace
}  // namespace interlock::testing
