// Upgrades keep the trail (docs/operations.md#upgrades-and-rollback): the store, audit keys
// and signed checkpoints of a previous release open with this build's daemon, the schema
// migrates, its agent token still works, and `audit verify` passes across the boundary
// with every checkpoint signed before the upgrade. The previous release is the last landed
// one, built from git and run here (last_release.h), and an older one whose store is a
// committed fixture (tests/fixtures/upgrade, made by make-fixture.sh with its binary). A
// store from a newer release is refused.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "daemon_harness.h"
#include "last_release.h"
#include "sqlite_query.h"
#include "store/sqlite_store.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace fs = std::filesystem;

const std::string kFixture =
    std::string(INTERLOCK_SOURCE_DIR) + "/tests/fixtures/upgrade/v0.1.0-ba135ea";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int64_t Query(const std::string& store, const std::string& sql) {
  return interlock::testing::SqliteFirstInt(store, sql);
}

std::string LastLine(const std::string& out) {
  const size_t nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

// "ok: N records, head ..., K checkpoints verified" -> K (-1 when the line is not ok).
int CheckpointsVerified(const std::string& summary) {
  std::smatch m;
  static const std::regex re(R"(^ok: \d+ records, .*, (\d+) checkpoints verified)");
  return std::regex_search(summary, m, re) ? std::stoi(m[1]) : -1;
}

class UpgradeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kFixture + "/interlock.db")) << kFixture;
    // Copied: the test writes to it. git keeps no modes, so the keys get theirs back.
    fs::copy(kFixture, dir_.path() + "/old", fs::copy_options::recursive);
    store_ = dir_.path() + "/old/interlock.db";
    keys_ = store_ + ".keys";
    ::chmod(keys_.c_str(), 0700);
    for (const char* f : {"audit-hmac.key", "checkpoint-ed25519.pem", "checkpoints.jsonl"}) {
      ::chmod((keys_ + "/" + f).c_str(), 0600);
    }
    policies_ = dir_.path() + "/old/policies";
    old_checkpoints_ = Slurp(keys_ + "/checkpoints.jsonl");
    old_records_ = Query(store_, "SELECT COUNT(*) FROM audit_log");
    ASSERT_GT(old_records_, 0);
  }

  std::string Verify(int* exit_code) {
    return RunInterlock(
        {"audit", "verify", "--store", store_, "--checkpoints", keys_ + "/checkpoints.jsonl",
         "--pubkey", keys_ + "/checkpoint-ed25519.pub.pem"},
        exit_code);
  }

  TempDir dir_;
  std::string store_, keys_, policies_, old_checkpoints_;
  int64_t old_records_ = 0;
};

// Tests that the previous release's store opens with this daemon: the schema is migrated
// to this build's version, the old agent token decides, and the whole trail, old records
// and new, verifies with every checkpoint signed before the upgrade still verified.
TEST_F(UpgradeTest, PreviousReleaseStoreMigratesAndItsTrailVerifiesAcrossTheUpgrade) {
  int rc = -1;
  const std::string before = Verify(&rc);
  ASSERT_EQ(rc, 0) << before;
  const int old_checkpoints = CheckpointsVerified(before);
  ASSERT_GT(old_checkpoints, 0) << before;

  Daemon daemon(dir_.path(), policies_);
  daemon.SetStore(store_);
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  EXPECT_EQ(Query(store_, "SELECT MAX(version) FROM schema_version"), store::SqliteSchemaVersion());
  std::string token = Slurp(dir_.path() + "/old/agent.token");
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  HttpClient http(daemon.port());
  HttpResult run = http.Request("POST", "/v1/runs", "", token);
  ASSERT_EQ(run.status, 201) << run.body;
  const std::string run_id(run.json.at("run_id").as_string());
  HttpResult call =
      http.Request("POST", "/v1/runs/" + run_id + "/calls", R"({"tool":"ping","args":{}})", token);
  ASSERT_EQ(call.status, 200) << call.body;
  EXPECT_EQ(call.json.at("decision").as_string(), "allow") << call.body;
  EXPECT_EQ(daemon.Stop(), 0) << daemon.log();

  const std::string after = Verify(&rc);
  EXPECT_EQ(rc, 0) << after;
  EXPECT_GT(Query(store_, "SELECT COUNT(*) FROM audit_log"), old_records_);
  // The old checkpoints are still in the file, untouched, and all of them verified along
  // with the new ones the upgraded daemon signed.
  const std::string now = Slurp(keys_ + "/checkpoints.jsonl");
  EXPECT_EQ(now.substr(0, old_checkpoints_.size()), old_checkpoints_);
  EXPECT_GT(CheckpointsVerified(after), old_checkpoints) << after;
}

// Tests that a store, keys and checkpoints the last landed release wrote, with its own
// program built from git, open with this build: the schema migrates (when it changed), the
// old token decides in the old run and a new one, the old calls read back as decided, and
// `audit verify` passes across the boundary with every checkpoint signed before it.
TEST_F(UpgradeTest, StoreWrittenByTheLastLandedReleaseMigratesAndVerifies) {
  std::string error;
  const std::string old_bin = LastReleaseBinary(&error);
  ASSERT_FALSE(old_bin.empty()) << error;
  const std::string dir = dir_.path() + "/last";
  const std::string policies = dir + "/policies";
  fs::create_directories(policies);
  fs::copy_file(std::string(INTERLOCK_SOURCE_DIR) + "/tests/fixtures/upgrade/upgrade-agent.yaml",
                policies + "/upgrade-agent.yaml");
  const std::string store = dir + "/interlock.db";
  const std::string keys = store + ".keys";

  // The last release writes the trail: a token, a kill switch engaged and released (records
  // anchored by signed checkpoints), decisions in a run, and its periodic checkpoints.
  int rc = -1;
  const std::string created = RunBinary(
      old_bin,
      {"token", "create", "--store", store, "--agent", "upgrade-agent", "--policy", policies}, &rc);
  ASSERT_EQ(rc, 0) << created;
  const std::string token = LastLine(created);
  for (const char* step : {"engage", "release"}) {
    const std::string out = RunBinary(
        old_bin,
        {"kill", step, "--store", store, "--agent", "upgrade-agent", "--reason", "upgrade"}, &rc);
    ASSERT_EQ(rc, 0) << out;
  }
  ReleaseDaemon old(old_bin, dir, {"--store", store, "--policies", policies});
  ASSERT_TRUE(old.Start()) << old.log();
  std::string run_id;
  std::vector<std::pair<std::string, std::string>> old_calls;  // call_id, decision
  {
    HttpClient http(old.port());
    HttpResult run = http.Request("POST", "/v1/runs", "", token);
    ASSERT_EQ(run.status, 201) << run.body;
    run_id = std::string(run.json.at("run_id").as_string());
    for (const char* body :
         {R"({"tool":"ping","args":{"n":1}})", R"({"tool":"wipe_disk","args":{}})",
          R"({"tool":"send_note","args":{"to":"a@b.c","text":"secret"}})"}) {
      HttpResult call = http.Request("POST", "/v1/runs/" + run_id + "/calls", body, token);
      ASSERT_EQ(call.status, 200) << call.body;
      old_calls.emplace_back(call.json.at("call_id").as_string(),
                             call.json.at("decision").as_string());
    }
  }
  EXPECT_EQ(old_calls[0].second, "allow");
  EXPECT_EQ(old_calls[1].second, "deny");
  ASSERT_EQ(old.Stop(), 0) << old.log();
  const std::vector<std::string> verify = {"audit",         "verify",
                                           "--store",       store,
                                           "--checkpoints", keys + "/checkpoints.jsonl",
                                           "--pubkey",      keys + "/checkpoint-ed25519.pub.pem"};
  const std::string before = RunBinary(old_bin, verify, &rc);
  ASSERT_EQ(rc, 0) << before;
  const int old_checkpoints = CheckpointsVerified(before);
  ASSERT_GT(old_checkpoints, 0) << before;
  const std::string old_file = Slurp(keys + "/checkpoints.jsonl");
  const int64_t old_records = Query(store, "SELECT COUNT(*) FROM audit_log");
  EXPECT_LE(Query(store, "SELECT MAX(version) FROM schema_version"), store::SqliteSchemaVersion());

  // This build opens it (its start checks the log's tail against those checkpoints).
  Daemon daemon(dir, policies);
  daemon.SetStore(store);
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  EXPECT_EQ(Query(store, "SELECT MAX(version) FROM schema_version"), store::SqliteSchemaVersion());
  HttpClient http(daemon.port());
  for (const auto& [call_id, decision] : old_calls) {
    HttpResult got = http.Request("GET", "/v1/calls/" + call_id, "", token);
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(got.json.at("decision").as_string(), decision) << got.body;
  }
  HttpResult more = http.Request("POST", "/v1/runs/" + run_id + "/calls",
                                 R"({"tool":"ping","args":{"n":2}})", token);
  ASSERT_EQ(more.status, 200) << more.body;
  EXPECT_EQ(more.json.at("decision").as_string(), "allow") << more.body;
  HttpResult run = http.Request("POST", "/v1/runs", "", token);
  ASSERT_EQ(run.status, 201) << run.body;
  HttpResult call =
      http.Request("POST", "/v1/runs/" + std::string(run.json.at("run_id").as_string()) + "/calls",
                   R"({"tool":"wipe_disk","args":{}})", token);
  ASSERT_EQ(call.status, 200) << call.body;
  EXPECT_EQ(call.json.at("decision").as_string(), "deny") << call.body;
  EXPECT_EQ(daemon.Stop(), 0) << daemon.log();

  std::vector<std::string> deep = verify;
  deep.push_back("--deep");
  const std::string after = RunInterlock(deep, &rc);
  EXPECT_EQ(rc, 0) << after;
  EXPECT_GT(Query(store, "SELECT COUNT(*) FROM audit_log"), old_records);
  EXPECT_EQ(Slurp(keys + "/checkpoints.jsonl").substr(0, old_file.size()), old_file);
  EXPECT_GT(CheckpointsVerified(after), old_checkpoints) << after;
}

// Tests that the migrations themselves run on a real trail: the fixture (written at schema
// 9 by the last landed release) taken back to schema 8 (migration 9 reversed: the column it
// adds dropped, exactly the layout the schema-8 releases wrote) is migrated by the daemon
// to this build's schema (9, then 10: tokens.workspace_roots, then 11: child runs, then 12:
// approval_messages), the columns are there, and the trail verifies with its old checkpoints.
TEST_F(UpgradeTest, SchemaEightStoreIsMigratedAndItsTrailStillVerifies) {
  ASSERT_EQ(store::SqliteSchemaVersion(), 12) << "take the fixture back to the previous schema "
                                                 "here, or regenerate it with the last release";
  ASSERT_EQ(Query(store_, "SELECT MAX(version) FROM schema_version"), 9);
  ASSERT_TRUE(SqliteExec(store_,
                         "ALTER TABLE approvals DROP COLUMN edited_args_sha256;"
                         "UPDATE schema_version SET version = 8;"));
  Daemon daemon(dir_.path(), policies_);
  daemon.SetStore(store_);
  ASSERT_TRUE(daemon.Start()) << daemon.log();
  EXPECT_EQ(Query(store_, "SELECT MAX(version) FROM schema_version"), 12);
  EXPECT_EQ(Query(store_,
                  "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' "
                  "AND name = 'approval_messages'"),
            1);
  EXPECT_EQ(Query(store_,
                  "SELECT COUNT(*) FROM pragma_table_info('approvals') "
                  "WHERE name = 'edited_args_sha256'"),
            1);
  EXPECT_EQ(Query(store_,
                  "SELECT COUNT(*) FROM pragma_table_info('tokens') "
                  "WHERE name = 'workspace_roots'"),
            1);
  EXPECT_EQ(Query(store_,
                  "SELECT COUNT(*) FROM pragma_table_info('runs') "
                  "WHERE name IN ('parent_run_id', 'role', 'depth')"),
            3);
  EXPECT_EQ(daemon.Stop(), 0) << daemon.log();
  int rc = -1;
  const std::string after = Verify(&rc);
  EXPECT_EQ(rc, 0) << after;
  EXPECT_NE(Slurp(keys_ + "/checkpoints.jsonl").find(old_checkpoints_), std::string::npos);
}

// Tests that a rollback onto a store a newer release migrated is refused at start with a
// message saying so, and that the store is left as it was.
TEST_F(UpgradeTest, DowngradeOntoANewerSchemaRefusesToStart) {
  const int newer = store::SqliteSchemaVersion() + 1;
  ASSERT_TRUE(SqliteExec(store_, "UPDATE schema_version SET version = " + std::to_string(newer)));
  Daemon daemon(dir_.path(), policies_);
  daemon.SetStore(store_);
  EXPECT_FALSE(daemon.Start(std::chrono::seconds(10)));
  const std::string log = daemon.log();
  EXPECT_NE(
      log.find("has schema version " + std::to_string(newer) + ", newer than this interlock knows"),
      std::string::npos)
      << log;
  EXPECT_NE(log.find("written by a newer interlock"), std::string::npos) << log;
  EXPECT_EQ(Query(store_, "SELECT MAX(version) FROM schema_version"), newer);
  EXPECT_EQ(Query(store_, "SELECT COUNT(*) FROM audit_log"), old_records_);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
