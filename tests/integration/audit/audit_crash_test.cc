// Crash safety: `kill -9` the daemon under load, then the audit log still verifies and
// every decision a client received is in it ("durable before action"), and the daemon
// restarts onto the same chain.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "daemon_harness.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "wait.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

using namespace std::chrono_literals;

constexpr const char* kPolicy = R"(agent:
  id: crash-agent
  identity: crash-agent@test
tools:
  allowed:
    - name: ping
  blocked:
    - nuke
execution:
  max_wall_clock_seconds: 3600
)";

// Every call_id recorded as a decision in the audit log.
std::set<std::string> AuditedCallIds(const std::string& store) {
  std::set<std::string> ids;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(store.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return ids;
  }
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT call_id FROM audit_log WHERE type = 'decision'", -1, &st, nullptr);
  while (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
    ids.insert(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return ids;
}

// Tests that after kill -9 under load `audit verify` passes, every decision a client
// received is in the log, and a restarted daemon appends to the same verified chain.
TEST(AuditCrashTest, KillNineUnderLoadLosesNoAnsweredDecision) {
  TempDir dir;
  const std::string policies = dir.path() + "/policies";
  dir.Write("policies/crash.yaml", kPolicy);
  Daemon daemon(dir.path(), policies);
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  const std::string token = CreateToken(daemon.store(), "--agent", "crash-agent");

  constexpr int kThreads = 6;
  std::vector<std::string> runs;
  {
    HttpClient c(daemon.port());
    for (int i = 0; i < kThreads; ++i) {
      HttpResult r = c.Request("POST", "/v1/runs", "", token);
      ASSERT_EQ(r.status, 201) << r.body;
      runs.push_back(std::string(r.json.at("run_id").as_string()));
    }
  }

  std::mutex mu;
  std::vector<std::string> answered;  // call ids of every decision a client received
  std::atomic<bool> stop{false};
  std::atomic<int> count{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient c(daemon.port());
      const auto deadline = std::chrono::steady_clock::now() + 30s;
      for (int i = 0; !stop.load() && std::chrono::steady_clock::now() < deadline; ++i) {
        const char* body = i % 3 == 0 ? R"({"tool":"nuke"})" : R"({"tool":"ping"})";
        HttpResult r = c.Request("POST", "/v1/runs/" + runs[t] + "/calls", body, token, 5s);
        if (r.status != 200) return;  // the daemon is gone
        ASSERT_TRUE(r.json.is_object()) << r.body;
        std::lock_guard lock(mu);
        answered.push_back(std::string(r.json.at("call_id").as_string()));
        count.fetch_add(1);
      }
    });
  }
  WaitUntil([&] { return count.load() >= 300; }, 10s, 10ms);
  daemon.Kill9();
  stop.store(true);
  for (auto& th : threads) th.join();
  ASSERT_GT(answered.size(), 50u) << "the load did not get going: " << daemon.log();

  int rc = -1;
  const std::string verify = RunInterlock({"audit", "verify", "--store", daemon.store()}, &rc);
  EXPECT_EQ(rc, 0) << verify;
  EXPECT_EQ(verify.rfind("ok:", 0), 0u) << verify;

  const std::set<std::string> audited = AuditedCallIds(daemon.store());
  size_t missing = 0;
  for (const std::string& id : answered) missing += audited.count(id) == 0;
  EXPECT_EQ(missing, 0u) << "of " << answered.size() << " answered decisions";

  // The restarted daemon continues the same chain.
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  HttpClient c(daemon.port());
  HttpResult r = c.Request("POST", "/v1/runs/" + runs[0] + "/calls", R"({"tool":"ping"})", token);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(daemon.Stop(), 0);
  // A clean stop writes a signed checkpoint of the head: verify against it and the key.
  const std::string keys = daemon.store() + ".keys";
  const std::string again =
      RunInterlock({"audit", "verify", "--store", daemon.store(), "--checkpoints",
                    keys + "/checkpoints.jsonl", "--pubkey", keys + "/checkpoint-ed25519.pub.pem"},
                   &rc);
  EXPECT_EQ(rc, 0) << again;
  EXPECT_NE(again.find("checkpoints verified"), std::string::npos) << again;
  EXPECT_EQ(again.find(" 0 checkpoints verified"), std::string::npos) << again;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
