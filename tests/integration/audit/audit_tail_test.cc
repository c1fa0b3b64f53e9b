// Deleting the end of the audit log, whatever its record types, against the real daemon
// and CLI: `audit verify` reports it, `interlock serve` refuses to start on it, and the
// store-direct commands refuse to widen access when their record cannot be anchored.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "daemon_harness.h"
#include "sqlite_query.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "wait.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

constexpr const char* kPolicy = R"(agent:
  id: tail-agent
  identity: tail-agent@test
tools:
  allowed:
    - name: ping
)";

ProcessResult Interlock(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {std::string(INTERLOCK_BINARY_DIR) + "/interlock"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, "", std::chrono::seconds(30));
}

int64_t Count(const std::string& store, const std::string& sql) {
  return interlock::testing::SqliteFirstInt(store, sql);
}

class AuditTailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policies_ = dir_.path() + "/policies";
    dir_.Write("policies/tail.yaml", kPolicy);
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies_);
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    admin_ = CreateToken(daemon_->store(), "--admin", "root");
    ASSERT_FALSE(admin_.empty());
  }

  // Engages the global kill switch with the CLI, its anchor pointed at a file that cannot
  // be written: the switch is engaged all the same, and its record lies after the last
  // checkpoint, where only the head row can show that it was deleted.
  void EngageUnanchored() {
    ProcessResult r = Interlock({"kill", "engage", "--store", daemon_->store(), "--reason",
                                 "incident", "--checkpoints", dir_.path() + "/no/such/cp.jsonl"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("WITHOUT its signed checkpoint"), std::string::npos) << r.err;
  }

  TempDir dir_;
  std::string policies_;
  std::unique_ptr<Daemon> daemon_;
  std::string admin_;
};

// Tests that deleting a tail of only kill switch records written after the last
// checkpoint is reported by `audit verify` and makes the daemon refuse to start, naming
// the missing records and how to investigate.
TEST_F(AuditTailTest, DeletedKillSwitchTailAfterLastCheckpointStopsTheDaemon) {
  ASSERT_EQ(daemon_->Stop(), 0);  // its final checkpoint covers everything so far
  EngageUnanchored();
  EngageUnanchored();
  const int64_t last = Count(daemon_->store(), "SELECT MAX(seq) FROM audit_log");
  ASSERT_EQ(Count(daemon_->store(), "SELECT type = 'kill_switch' FROM audit_log WHERE seq = " +
                                        std::to_string(last - 1)),
            1);
  ASSERT_TRUE(SqliteExec(daemon_->store(), "DELETE FROM audit_log WHERE type = 'kill_switch'"));

  ProcessResult v = Interlock({"audit", "verify", "--store", daemon_->store()});
  EXPECT_EQ(v.exit_code, 1) << v.out << v.err;
  EXPECT_NE(v.out.find("deleted from the tail"), std::string::npos) << v.out << v.err;

  EXPECT_FALSE(daemon_->Start(std::chrono::seconds(10)));
  EXPECT_FALSE(daemon_->Running());
  const std::string log = daemon_->log();
  EXPECT_NE(log.find("fails its tail check"), std::string::npos) << log;
  EXPECT_NE(log.find("deleted from the tail"), std::string::npos) << log;
  EXPECT_NE(log.find("interlock audit verify"), std::string::npos) << log;
}

// Tests that a daemon started on a log whose checkpoint file is gone (deleted, which
// would hide a cut tail, or a new --checkpoints path) says so at start, naming the file,
// the log's last seq and the verify command, instead of starting silently.
TEST_F(AuditTailTest, MissingCheckpointFileForANonEmptyLogIsReportedAtStart) {
  ASSERT_EQ(daemon_->Stop(), 0);
  const std::string file = daemon_->store() + ".keys/checkpoints.jsonl";
  ASSERT_TRUE(std::filesystem::remove(file)) << file;
  ASSERT_TRUE(daemon_->Start()) << daemon_->log();
  const std::string log = daemon_->log();
  EXPECT_NE(log.find("warning: no checkpoint file at " + file), std::string::npos) << log;
  EXPECT_NE(log.find("interlock audit verify --checkpoints"), std::string::npos) << log;
}

// Tests that a mixed tail (run records, then a kill switch) cut with every head rewound
// is still caught at start by the signed checkpoint anchoring the kill switch.
TEST_F(AuditTailTest, MixedTailCutWithHeadsRewoundStopsTheDaemon) {
  const std::string agent = CreateToken(daemon_->store(), "--agent", "tail-agent");
  HttpClient c(daemon_->port());
  HttpResult run = c.Request("POST", "/v1/runs", "", agent);
  ASSERT_EQ(run.status, 201) << run.body;
  const int64_t before = Count(daemon_->store(), "SELECT MAX(seq) FROM audit_log");
  HttpResult kill = c.Request("POST", "/v1/kill",
                              R"({"scope":"global","engaged":true,"reason":"incident"})", admin_);
  ASSERT_EQ(kill.status, 200) << kill.body;
  ASSERT_EQ(daemon_->Stop(), 0);
  // Keep only the checkpoints up to the kill switch's own anchor (drop the shutdown one):
  // the anchor alone must catch the cut.
  const int64_t kill_seq = Count(daemon_->store(),
                                 "SELECT MAX(seq) FROM audit_log WHERE type = "
                                 "'kill_switch'");
  ASSERT_GT(kill_seq, before);
  const std::string cps = daemon_->store() + ".keys/checkpoints.jsonl";
  std::string kept;
  bool anchored = false;
  {
    std::ifstream in(cps);
    for (std::string line; std::getline(in, line);) {
      const int64_t seq = boost::json::parse(line).at("seq").to_number<int64_t>();
      anchored = anchored || seq == kill_seq;
      if (seq <= kill_seq) kept += line + "\n";
    }
  }
  ASSERT_TRUE(anchored) << "no checkpoint anchors the kill switch record " << kill_seq;
  std::ofstream(cps, std::ios::trunc) << kept;
  ASSERT_TRUE(
      SqliteExec(daemon_->store(),
                 "DELETE FROM audit_log WHERE seq > " + std::to_string(before) +
                     "; UPDATE audit_head SET seq = " + std::to_string(before) +
                     ", hash = (SELECT hash FROM audit_log WHERE seq = " + std::to_string(before) +
                     "); UPDATE audit_runs SET head_seq = (SELECT MAX(seq) FROM audit_log a"
                     " WHERE a.run_id = audit_runs.run_id)"));
  EXPECT_FALSE(daemon_->Start(std::chrono::seconds(10)));
  const std::string log = daemon_->log();
  EXPECT_NE(log.find("truncated from the tail"), std::string::npos) << log;
}

// Tests that the store-direct CLI refuses to release a kill switch or create a token
// when their record cannot be anchored, and changes nothing.
TEST_F(AuditTailTest, UnanchorableReleaseAndTokenAreRefused) {
  ASSERT_EQ(daemon_->Stop(), 0);
  EngageUnanchored();
  const std::string bad = dir_.path() + "/no/such/cp.jsonl";
  ProcessResult release = Interlock(
      {"kill", "release", "--store", daemon_->store(), "--reason", "over", "--checkpoints", bad});
  EXPECT_EQ(release.exit_code, 1) << release.err;
  EXPECT_NE(release.err.find("NOT released"), std::string::npos) << release.err;
  EXPECT_EQ(Count(daemon_->store(), "SELECT engaged FROM kill_switches WHERE scope = 'global'"), 1);
  ProcessResult token = Interlock(
      {"token", "create", "--store", daemon_->store(), "--admin", "eve", "--checkpoints", bad});
  EXPECT_EQ(token.exit_code, 1) << token.err;
  EXPECT_TRUE(token.out.empty()) << token.out;
  EXPECT_EQ(Count(daemon_->store(), "SELECT count(*) FROM tokens WHERE name = 'eve'"), 0);
}

constexpr const char* kPolicyWithPong = R"(agent:
  id: tail-agent
  identity: tail-agent@test
tools:
  allowed:
    - name: ping
    - name: pong
)";

// The decision code of one call of `tool` in `run`.
std::string CallCode(HttpClient& c, const std::string& token, const std::string& run,
                     const std::string& tool) {
  HttpResult r =
      c.Request("POST", "/v1/runs/" + run + "/calls", R"({"tool":")" + tool + R"("})", token);
  return r.json.is_object() && r.json.as_object().contains("code")
             ? std::string(r.json.at("code").as_string())
             : r.body;
}

// Tests that policy loads are recorded: at start and on reload (SIGHUP or the files
// changing), each reload's policy_loaded record anchored by a signed checkpoint naming it.
TEST_F(AuditTailTest, PolicyLoadsAreRecordedAndAnchored) {
  dir_.Write("policies/tail.yaml", kPolicyWithPong);
  daemon_->Signal(SIGHUP);
  const std::string reloads =
      "FROM audit_log WHERE type = 'policy_loaded' AND json_extract(body, '$.data.why') != 'start'";
  WaitUntil([&] { return Count(daemon_->store(), "SELECT count(*) " + reloads) >= 1; },
            std::chrono::seconds(10), std::chrono::milliseconds(50));
  const int64_t reload_seq = Count(daemon_->store(), "SELECT MIN(seq) " + reloads);
  ASSERT_GT(reload_seq, 0);
  EXPECT_EQ(Count(daemon_->store(),
                  "SELECT count(*) FROM audit_log WHERE type = 'policy_loaded'"
                  " AND json_extract(body, '$.data.why') = 'start'"),
            1);
  bool anchored = false;
  std::ifstream in(daemon_->store() + ".keys/checkpoints.jsonl");
  for (std::string line; std::getline(in, line);) {
    anchored = anchored || boost::json::parse(line).at("seq").to_number<int64_t>() == reload_seq;
  }
  EXPECT_TRUE(anchored) << "no checkpoint names the policy_loaded record " << reload_seq;
}

// Tests that a policy reload whose record cannot be anchored (the checkpoint file cannot
// be written) is refused: the new set, which would allow `pong`, never takes effect.
TEST_F(AuditTailTest, PolicyReloadWithoutAnchorIsRefused) {
  const std::string agent = CreateToken(daemon_->store(), "--agent", "tail-agent");
  HttpClient c(daemon_->port());
  HttpResult run = c.Request("POST", "/v1/runs", "", agent);
  ASSERT_EQ(run.status, 201) << run.body;
  const std::string run_id(run.json.at("run_id").as_string());
  EXPECT_EQ(CallCode(c, agent, run_id, "pong"), "TOOL_NOT_ALLOWED");
  const std::string cps = daemon_->store() + ".keys/checkpoints.jsonl";
  ASSERT_EQ(std::rename(cps.c_str(), (cps + ".saved").c_str()), 0);
  ASSERT_EQ(::mkdir(cps.c_str(), 0700), 0);  // a directory: every append fails
  dir_.Write("policies/tail.yaml", kPolicyWithPong);
  daemon_->Signal(SIGHUP);
  WaitUntil(
      [&] { return daemon_->log().find("could not be written and anchored") != std::string::npos; },
      std::chrono::seconds(10), std::chrono::milliseconds(50));
  EXPECT_NE(daemon_->log().find("could not be written and anchored"), std::string::npos)
      << daemon_->log();
  EXPECT_EQ(CallCode(c, agent, run_id, "pong"), "TOOL_NOT_ALLOWED");
  EXPECT_EQ(Count(daemon_->store(), "SELECT count(*) FROM audit_log WHERE type = 'policy_loaded'"),
            1);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
