// Retention in the daemon: `interlock serve` prunes audit records older than
// audit.retention_days on its own schedule, anchoring what it deletes, and the log still
// verifies with the checkpoint file afterwards.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "audit/keys.h"
#include "common/time.h"
#include "daemon_harness.h"
#include "sqlite_query.h"
#include "store/sqlite_audit_util.h"
#include "store/sqlite_store.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "wait.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

using namespace std::chrono_literals;

constexpr const char* kPolicy = R"(agent:
  id: retention-agent
  identity: retention-agent@test
tools:
  allowed:
    - name: ping
)";

int64_t Count(const std::string& store, const std::string& sql) {
  return interlock::testing::SqliteFirstInt(store, sql);
}

// A call row as the store writes it (the id's 12 hex digits are its time in ms).
std::string InsertCallSql(const std::string& run_id, int64_t time_ms, int n) {
  char id[64];
  std::snprintf(id, sizeof id, "call_%012llx%016x", static_cast<unsigned long long>(time_ms), n);
  return std::string("INSERT INTO calls(call_id, run_id, agent_id, principal, time_ms, tool,") +
         " args_json, decision_json, verdict, code, state_after_json, policy_sha256) VALUES ('" +
         id + "', '" + run_id + "', 'retention-agent', 'retention-agent', " +
         std::to_string(time_ms) + ", 'ping', '{}', '{}', 'allow', 'ALLOWED', '{}', '');";
}

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
// passes afterwards (the prune wrote its anchor first). The call rows follow the same
// retention.
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
    std::string sql;
    for (int i = 0; i < 35; ++i) {
      const TimePoint t = i < 30 ? now - std::chrono::hours(24 * 120) + std::chrono::seconds(i)
                                 : now - std::chrono::minutes(35 - i);
      auto run = (*opened)->CreateRun("retention-agent", "", t);
      ASSERT_TRUE(run.ok());
      if (i == 0 || i == 34) sql += InsertCallSql(run->run_id, ToUnixMillis(t), i);
      if (i == 0) sql += InsertCallSql(run->run_id, ToUnixMillis(t) + 1, 100);
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(store.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  ASSERT_EQ(FirstSeq(store), 1);
  ASSERT_EQ(Count(store, "SELECT count(*) FROM calls"), 3);

  const std::string config = dir.Write(
      "interlock.yaml",
      "audit:\n  retention_days: 90\n  first_prune_after_ms: 0\n  prune_interval_ms: 200\n");
  Daemon daemon(dir.path(), policies, config);
  ASSERT_EQ(daemon.store(), store);
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  int64_t first = 0;
  WaitUntil([&] { return (first = FirstSeq(store)) == 31; }, 15s, 100ms);
  EXPECT_EQ(first, 31) << daemon.log();
  EXPECT_EQ(daemon.Stop(), 0) << daemon.log();
  EXPECT_NE(daemon.log().find("audit prune: deleted 30 records"), std::string::npos)
      << daemon.log();
  EXPECT_NE(daemon.log().find("call prune: deleted 2 call and approval rows"), std::string::npos)
      << daemon.log();
  EXPECT_EQ(Count(store, "SELECT count(*) FROM calls"), 1);
  EXPECT_EQ(Count(store, "SELECT count(*) FROM runs"), 35);  // budgets stay

  int code = -1;
  const std::string out = RunInterlock({"audit", "verify", "--store", store, "--checkpoints",
                                        audit::DefaultCheckpointsFile(keys_dir), "--pubkey",
                                        keys_dir + "/" + std::string(audit::kPublicKeyFile)},
                                       &code);
  EXPECT_EQ(code, 0) << out;
}

// Tests that SIGTERM during a prune of many call rows is a clean shutdown: the store is
// closed only after the pruner stopped (it used to be freed under a running prune), the
// prune stops between chunks, and what it did not reach stays for the next one.
TEST(AuditRetentionTest, ShutdownDuringACallPruneIsClean) {
  TempDir dir;
  const std::string policies = dir.path() + "/policies";
  std::filesystem::create_directories(policies);
  dir.Write("policies/retention-agent.yaml", kPolicy);
  const std::string store = dir.path() + "/interlock.db";
  auto keys = audit::LoadOrCreateAuditKeys(audit::DefaultKeysDir(store));
  ASSERT_TRUE(keys.ok());
  constexpr int kCalls = 400000;
  {
    store::StoreOptions opt;
    opt.path = store;
    opt.audit_key = keys->hmac_key;
    auto opened = store::SqliteStore::Open(opt);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    const TimePoint old = SystemClock().Now() - std::chrono::hours(24 * 120);
    auto run = (*opened)->CreateRun("retention-agent", "", old);
    ASSERT_TRUE(run.ok());
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(store.c_str(), &db), SQLITE_OK);
    // The rows InsertCallSql writes, generated inside SQLite (ids sort by time).
    const std::string sql =
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < " +
        std::to_string(kCalls - 1) +
        ") INSERT INTO calls(call_id, run_id, agent_id, principal, time_ms, tool, args_json,"
        " decision_json, verdict, code, state_after_json, policy_sha256)"
        " SELECT printf('call_%012x%016x', " +
        std::to_string(ToUnixMillis(old)) + " + i / 100, i), '" + run->run_id +
        "', 'retention-agent', 'retention-agent', " + std::to_string(ToUnixMillis(old)) +
        " + i / 100, 'ping', '{}', '{}', 'allow', 'ALLOWED', '{}', '' FROM n";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  const std::string config = dir.Write(
      "interlock.yaml",
      "audit:\n  retention_days: 90\n  first_prune_after_ms: 0\n  prune_interval_ms: 60000\n");
  Daemon daemon(dir.path(), policies, config);
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  // Wait until the call prune is under way (rows are going), then stop the daemon.
  int64_t left = 0;
  WaitUntil([&] { return (left = Count(store, "SELECT count(*) FROM calls")) < kCalls; }, 15s, 5ms);
  ASSERT_LT(left, kCalls) << daemon.log();
  ASSERT_GT(left, 0) << "the prune finished before the test could stop the daemon";
  EXPECT_EQ(daemon.Stop(), 0) << daemon.log();
  EXPECT_NE(daemon.log().find("interlock: stopped"), std::string::npos) << daemon.log();
  EXPECT_NE(daemon.log().find("call prune: stopped for shutdown"), std::string::npos)
      << daemon.log();
  EXPECT_GT(Count(store, "SELECT count(*) FROM calls"), 0);
  int code = -1;
  // The prune removed old records too: their anchor is the checkpoint it signed.
  const std::string keys_dir = audit::DefaultKeysDir(store);
  const std::string out = RunInterlock({"audit", "verify", "--store", store, "--checkpoints",
                                        audit::DefaultCheckpointsFile(keys_dir), "--pubkey",
                                        keys_dir + "/" + std::string(audit::kPublicKeyFile)},
                                       &code);
  EXPECT_EQ(code, 0) << out;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
