// Upgrades keep the trail on PostgreSQL (docs/operations.md#upgrades-and-rollback), as on
// SQLite (upgrade_test.cc): a database the last landed release wrote (its own program, built
// from git: last_release.h) is migrated by this build and its trail verifies across the
// boundary; a rollback onto a database a newer release migrated refuses to start and says
// why, in this build and in the last release.
#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "daemon_harness.h"
#include "last_release.h"
#include "pg_cluster.h"
#include "store/postgres_store.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

constexpr const char* kPolicy = R"(agent:
  id: pg-upgrade-agent
  identity: pg-upgrade-agent@test
tools:
  allowed:
    - name: ping
)";

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

class UpgradePgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    uri_ = PgTestEnvironment::Instance()->NewDatabase(&error, &cluster_);
    ASSERT_FALSE(uri_.empty()) << error;
    db_ = uri_.substr(uri_.rfind('/') + 1);
    daemon_ = MemberDaemon(dir_.path(), kPolicy, uri_);  // policies/agent.yaml, keys/
  }

  // psql's output; a failure fails the test.
  std::string Sql(const std::string& sql) {
    std::string error;
    std::string out = cluster_->Psql(db_, sql, &error);
    EXPECT_EQ(error, "") << sql;
    return out;
  }
  int SchemaVersion() {
    return std::stoi("0" + Sql("SELECT version FROM interlock_schema_version"));
  }
  std::string keys() const { return dir_.path() + "/keys"; }
  // `serve` flags of a member of this database, for the last release's program.
  std::vector<std::string> MemberArgs() const {
    return {"--store", uri_, "--policies", dir_.path() + "/policies", "--keys", keys()};
  }

  TempDir dir_;
  std::string uri_, db_;
  PgCluster* cluster_ = nullptr;
  std::unique_ptr<Daemon> daemon_;  // this build's, not started
};

// Tests that `interlock serve` refuses a PostgreSQL database whose schema is newer than
// this build's, with a message naming both versions, and leaves the version as it was.
TEST_F(UpgradePgTest, DowngradeOntoANewerSchemaRefusesToStart) {
  ASSERT_TRUE(daemon_->Start()) << daemon_->log();  // creates the schema
  ASSERT_EQ(daemon_->Stop(), 0) << daemon_->log();

  const int newer = store::PostgresStore::kSchemaVersion + 1;
  Sql("UPDATE interlock_schema_version SET version = " + std::to_string(newer));
  EXPECT_FALSE(daemon_->Start(std::chrono::seconds(10)));
  const std::string log = daemon_->log();
  EXPECT_NE(
      log.find("schema version " + std::to_string(newer) + ", newer than this interlock knows (" +
               std::to_string(store::PostgresStore::kSchemaVersion) + ")"),
      std::string::npos)
      << log;
  EXPECT_EQ(Sql("SELECT version FROM interlock_schema_version"), std::to_string(newer) + "\n");
}

// Tests that a database the last landed release wrote (its schema, its token, records and
// the checkpoints it signed into the database and its file) is migrated by this build to its
// schema, the old token decides and the old calls read back as decided, rows written before
// keep their stored form, and `audit verify` passes across the boundary with every old
// checkpoint.
TEST_F(UpgradePgTest, DatabaseWrittenByTheLastLandedReleaseMigratesAndVerifies) {
  std::string error;
  const std::string old_bin = LastReleaseBinary(&error);
  ASSERT_FALSE(old_bin.empty()) << error;

  // The last release writes the trail: its schema, an anchored token, decisions.
  ReleaseDaemon old(old_bin, dir_.path(), MemberArgs());
  ASSERT_TRUE(old.Start()) << old.log();
  int rc = -1;
  const std::string created = RunBinary(old_bin,
                                        {"token", "create", "--store", uri_, "--agent",
                                         "pg-upgrade-agent", "--force", "--keys", keys()},
                                        &rc);
  ASSERT_EQ(rc, 0) << created;
  const std::string token = LastLine(created);
  std::string run_id;
  std::vector<std::pair<std::string, std::string>> old_calls;  // call_id, decision
  {
    HttpClient http(old.port());
    HttpResult run = http.Request("POST", "/v1/runs", "", token);
    ASSERT_EQ(run.status, 201) << run.body;
    run_id = std::string(run.json.at("run_id").as_string());
    for (const char* body :
         {R"({"tool":"ping","args":{"n":1}})", R"({"tool":"ping","args":{"n":2}})",
          R"({"tool":"wipe_disk","args":{}})"}) {
      HttpResult call = http.Request("POST", "/v1/runs/" + run_id + "/calls", body, token);
      ASSERT_EQ(call.status, 200) << call.body;
      old_calls.emplace_back(call.json.at("call_id").as_string(),
                             call.json.at("decision").as_string());
    }
  }
  EXPECT_EQ(old_calls[0].second, "allow");
  EXPECT_EQ(old_calls[2].second, "deny");
  ASSERT_EQ(old.Stop(), 0) << old.log();
  const int old_schema = SchemaVersion();
  ASSERT_GT(old_schema, 0);
  ASSERT_LE(old_schema, store::PostgresStore::kSchemaVersion);
  // The database's checkpoints (anchors, periodic) and this member's file copy of them.
  const std::vector<std::string> verify = {"audit",         "verify",
                                           "--store",       uri_,
                                           "--checkpoints", keys() + "/checkpoints.jsonl",
                                           "--pubkey",      keys() + "/checkpoint-ed25519.pub.pem"};
  const std::string before = RunBinary(old_bin, verify, &rc);
  ASSERT_EQ(rc, 0) << before;
  const int old_checkpoints = CheckpointsVerified(before);
  ASSERT_GT(old_checkpoints, 0) << before;
  const std::string old_lines = Sql("SELECT line FROM audit_checkpoints ORDER BY id");
  std::string old_head = Sql("SELECT max(seq) FROM audit_log");
  ASSERT_GT(old_head.size(), 1u);
  old_head.pop_back();  // its newline

  // This build migrates it and decides on: in the old run, and in a new one.
  ASSERT_TRUE(daemon_->Start()) << daemon_->log();
  EXPECT_EQ(SchemaVersion(), store::PostgresStore::kSchemaVersion);
  {
    HttpClient http(daemon_->port());
    for (const auto& [call_id, decision] : old_calls) {
      HttpResult got = http.Request("GET", "/v1/calls/" + call_id, "", token);
      ASSERT_EQ(got.status, 200) << got.body;
      EXPECT_EQ(got.json.at("decision").as_string(), decision) << got.body;
    }
    HttpResult more = http.Request("POST", "/v1/runs/" + run_id + "/calls",
                                   R"({"tool":"ping","args":{"n":3}})", token);
    ASSERT_EQ(more.status, 200) << more.body;
    EXPECT_EQ(more.json.at("decision").as_string(), "allow") << more.body;
    HttpResult run = http.Request("POST", "/v1/runs", "", token);
    ASSERT_EQ(run.status, 201) << run.body;
    const std::string new_run(run.json.at("run_id").as_string());
    for (const char* body :
         {R"({"tool":"ping","args":{"n":4}})", R"({"tool":"wipe_disk","args":{}})"}) {
      HttpResult call = http.Request("POST", "/v1/runs/" + new_run + "/calls", body, token);
      ASSERT_EQ(call.status, 200) << call.body;
    }
  }
  ASSERT_EQ(daemon_->Stop(), 0) << daemon_->log();
  if (old_schema < 9) {
    // Migration 9's compact form is for new rows only: every old record keeps its body,
    // and the chain now holds both forms.
    EXPECT_EQ(Sql("SELECT count(*) FROM audit_log WHERE body IS NULL AND seq <= " + old_head),
              "0\n");
    EXPECT_NE(Sql("SELECT count(*) FROM audit_log WHERE body IS NULL"), "0\n");
  }

  std::vector<std::string> deep = verify;
  deep.push_back("--deep");
  const std::string after = RunInterlock(deep, &rc);
  EXPECT_EQ(rc, 0) << after;
  EXPECT_GT(CheckpointsVerified(after), old_checkpoints) << after;
  EXPECT_EQ(Sql("SELECT line FROM audit_checkpoints ORDER BY id").substr(0, old_lines.size()),
            old_lines);
}

// Tests that a rollback to the last landed release after this build migrated its database
// to a newer schema refuses to start, with a message naming both versions, and leaves the
// database's version as it was.
TEST_F(UpgradePgTest, RollbackToTheLastLandedReleaseAfterTheUpgradeRefusesToStart) {
  std::string error;
  const std::string old_bin = LastReleaseBinary(&error);
  ASSERT_FALSE(old_bin.empty()) << error;
  ReleaseDaemon old(old_bin, dir_.path(), MemberArgs());
  ASSERT_TRUE(old.Start()) << old.log();  // the last release's schema
  ASSERT_EQ(old.Stop(), 0) << old.log();
  const int old_schema = SchemaVersion();
  if (old_schema == store::PostgresStore::kSchemaVersion) {
    GTEST_SKIP() << "the last landed release has this build's schema (" << old_schema
                 << "): a rollback to it has no newer schema to refuse";
  }
  ASSERT_TRUE(daemon_->Start()) << daemon_->log();  // migrates
  ASSERT_EQ(daemon_->Stop(), 0) << daemon_->log();
  ASSERT_EQ(SchemaVersion(), store::PostgresStore::kSchemaVersion);
  EXPECT_FALSE(old.Start(std::chrono::seconds(10)));
  const std::string log = old.log();
  EXPECT_NE(log.find("schema version " + std::to_string(store::PostgresStore::kSchemaVersion) +
                     ", newer than this interlock knows (" + std::to_string(old_schema) + ")"),
            std::string::npos)
      << log;
  EXPECT_EQ(SchemaVersion(), store::PostgresStore::kSchemaVersion);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
