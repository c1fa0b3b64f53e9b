// `interlock doctor` on installations made by the real CLI: what passes, and each
// problem it must name with its fix (docs/operations.md#checking-an-installation).
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "sqlite_query.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace fs = std::filesystem;

const std::string kBin = std::string(INTERLOCK_BINARY_DIR) + "/interlock";

// Complete by the checklist (`interlock check` gives no warning): doctor says "ok".
constexpr const char* kPolicy = R"(agent:
  id: doctor-agent
  identity: doctor-agent@test
tools:
  allowed:
    - name: ping
  blocked:
    - drop_everything
execution:
  max_steps: 10
  max_wall_clock_seconds: 600
  max_cost_usd: 1.00
escalation:
  contacts: ["oncall@example.com"]
)";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The first line starting with `level` that contains `needle`, or "".
std::string Line(const ProcessResult& r, const std::string& level, const std::string& needle) {
  for (const std::string& line : Lines(r.out)) {
    if (line.rfind(level, 0) == 0 && line.find(needle) != std::string::npos) return line;
  }
  return "";
}

class DoctorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policies_ = dir_.path() + "/policies";
    ::chmod(dir_.Write("policies/doctor.yaml", kPolicy).c_str(), 0644);  // whatever the umask
    ::chmod(policies_.c_str(), 0755);
    store_ = dir_.path() + "/state/interlock.db";
    keys_ = store_ + ".keys";
    fs::create_directories(dir_.path() + "/state");
    fs::permissions(dir_.path() + "/state", fs::perms::owner_all);
  }

  // A store with `tokens` token records, their checkpoints, and files of mode 0600.
  void MakeStore(int tokens = 1) {
    for (int i = 0; i < tokens; ++i) {
      ProcessResult r = RunProcess({kBin, "token", "create", "--store", store_, "--agent",
                                    "doctor-agent", "--policy", policies_});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    for (const char* suffix : {"", "-wal", "-shm"}) {
      if (fs::exists(store_ + suffix)) ::chmod((store_ + suffix).c_str(), 0600);
    }
  }

  ProcessResult Doctor(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {kBin, "doctor", "--policies", policies_, "--store", store_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunProcess(argv, "", std::chrono::seconds(60));
  }

  TempDir dir_;
  std::string policies_;
  std::string store_;
  std::string keys_;
};

// Tests that a healthy installation passes with every line in the `ok|warn|FAIL` format.
TEST_F(DoctorTest, HealthyInstallationPassesAndEveryLineHasTheFormat) {
  MakeStore();
  ProcessResult r = Doctor();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::regex format("^(ok   .+|warn .+ \u2014 .+|FAIL .+ \u2014 .+)$");
  for (const std::string& line : Lines(r.out)) {
    EXPECT_TRUE(std::regex_match(line, format)) << line;
  }
  EXPECT_NE(Line(r, "ok", "policies"), "") << r.out;
  EXPECT_NE(Line(r, "ok", "opens read-only"), "") << r.out;
  EXPECT_NE(Line(r, "ok", "audit chain: 1 records, 1 checkpoints verified"), "") << r.out;
  EXPECT_NE(Line(r, "", "sandbox:"), "") << r.out;
  EXPECT_NE(Line(r, "", "egress:"), "") << r.out;
}

// Tests that doctor warns on what `interlock check` warns about (the checklist's gaps), with
// the first warning's file:line, and still exits 0 (issue 56: it said "ok policies").
TEST_F(DoctorTest, PolicyWithChecklistGapsIsAWarningAsInCheck) {
  MakeStore();
  ::chmod(dir_.Write("policies/doctor.yaml",
                     "agent:\n  id: doctor-agent\n  identity: doctor-agent@test\ntools:\n"
                     "  allowed:\n    - name: ping\nexecution:\n  max_steps: 10\n")
              .c_str(),
          0644);
  ProcessResult r = Doctor();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string line = Line(r, "warn", "policies");
  EXPECT_NE(line.find("3 warning(s), the first: "), std::string::npos) << r.out;
  EXPECT_NE(line.find("doctor.yaml:"), std::string::npos) << line;
  EXPECT_NE(line.find("interlock check"), std::string::npos) << line;
}

// Tests that before the first start a missing store and keys are warnings, not failures.
TEST_F(DoctorTest, NewInstallationWarnsThatTheStoreIsMadeAtFirstStart) {
  ProcessResult r = Doctor();
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(Line(r, "warn", "does not exist yet"), "") << r.out;
  EXPECT_NE(Line(r, "warn", "audit keys"), "") << r.out;
}

// Tests that a group-readable HMAC key (anyone in the group could unmask redacted values)
// fails, with the chmod that fixes it.
TEST_F(DoctorTest, GroupReadableAuditKeyFailsWithTheFix) {
  MakeStore();
  const std::string key = keys_ + "/audit-hmac.key";
  ASSERT_EQ(::chmod(key.c_str(), 0640), 0);
  ProcessResult r = Doctor();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r, "FAIL", "chmod 600 " + key), "") << r.out;
}

// Tests that a world-readable store (the audit trail and run state) fails.
TEST_F(DoctorTest, WorldReadableStoreFailsWithTheFix) {
  MakeStore();
  ASSERT_EQ(::chmod(store_.c_str(), 0644), 0);
  ProcessResult r = Doctor();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r, "FAIL", "chmod 600 " + store_), "") << r.out;
}

// Tests that a store and keys owned by someone other than the daemon's user fail, naming
// the chown (`--user` another user than the one running the test).
TEST_F(DoctorTest, StoreNotOwnedByTheServiceUserFails) {
  MakeStore();
  const passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user nobody on this machine";
  const std::string other = nobody->pw_uid == ::geteuid() ? "root" : "nobody";
  ProcessResult r = Doctor({"--user", other});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  // Run by root, doctor checks as nobody, who cannot even reach the store's directory.
  EXPECT_NE(Line(r, "FAIL", "chown " + std::string(::geteuid() == 0 ? "-R " : "") + other), "")
      << r.out;
}

// Tests that root checking a service's store without --user is told to pass the daemon's
// user, not only to chown the store to root (which would stop the daemon).
TEST_F(DoctorTest, RootWithoutUserIsToldToNameTheDaemonsUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (files owned by another user)";
  const passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user nobody on this machine";
  MakeStore();
  ASSERT_EQ(::chown(store_.c_str(), nobody->pw_uid, static_cast<gid_t>(-1)), 0);
  ProcessResult r = Doctor();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r, "FAIL", "run `interlock doctor --user nobody`"), "") << r.out;
}

// Tests that a policy anyone can write (and so anyone can widen) fails.
TEST_F(DoctorTest, WorldWritablePolicyFails) {
  MakeStore();
  ASSERT_EQ(::chmod((policies_ + "/doctor.yaml").c_str(), 0666), 0);
  ProcessResult r = Doctor();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r, "FAIL", "chmod go-w " + policies_ + "/doctor.yaml"), "") << r.out;
}

// Tests that an invalid policy set (the daemon would not start) fails, naming the fix.
TEST_F(DoctorTest, InvalidPolicyFailsAndNamesInterlockCheck) {
  dir_.Write("policies/broken.yaml", "agent:\n  id: x\n  no_such_key: 1\n");
  ProcessResult r = Doctor();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r, "FAIL", "interlock check"), "") << r.out;
}

// Tests that a deleted tail of the audit log (records a signed checkpoint covers) fails.
TEST_F(DoctorTest, DeletedAuditTailFails) {
  MakeStore(2);
  ASSERT_TRUE(
      SqliteExec(store_, "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)"));
  ProcessResult r = Doctor();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r, "FAIL", "audit chain"), "") << r.out;
}

// Tests that a key directory swapped for another one (new keys cannot verify the trail's
// checkpoints) fails, naming both keys.
TEST_F(DoctorTest, KeysThatDidNotSignTheCheckpointsFail) {
  MakeStore();
  const std::string other = dir_.path() + "/other.db";
  ProcessResult made = RunProcess({kBin, "token", "create", "--store", other, "--agent",
                                   "doctor-agent", "--policy", policies_});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  fs::remove(keys_ + "/checkpoint-ed25519.pem");
  fs::remove(keys_ + "/checkpoint-ed25519.pub.pem");
  fs::copy_file(other + ".keys/checkpoint-ed25519.pem", keys_ + "/checkpoint-ed25519.pem");
  fs::copy_file(other + ".keys/checkpoint-ed25519.pub.pem", keys_ + "/checkpoint-ed25519.pub.pem");
  ::chmod((keys_ + "/checkpoint-ed25519.pem").c_str(), 0600);
  ProcessResult r = Doctor();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r, "FAIL", "was signed by key"), "") << r.out;
}

// Tests that a store written by a newer interlock (a rollback onto a migrated store) fails.
TEST_F(DoctorTest, StoreWithANewerSchemaFails) {
  MakeStore();
  ASSERT_TRUE(SqliteExec(store_, "UPDATE schema_version SET version = 999"));
  ProcessResult r = Doctor();
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r, "FAIL", "schema version 999, newer than this interlock"), "") << r.out;
}

// Tests that without bubblewrap the sandbox is a warning, and a failure when the config
// runs an MCP upstream in the sandbox.
TEST_F(DoctorTest, MissingBwrapIsAFailureOnlyWhenTheConfigUsesTheSandbox) {
  MakeStore();
  const std::string no_bwrap = "INTERLOCK_BWRAP=" + dir_.path() + "/no-such-bwrap";
  ProcessResult r = RunProcess(
      {"/usr/bin/env", no_bwrap, kBin, "doctor", "--policies", policies_, "--store", store_});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(Line(r, "warn", "sandbox:"), "") << r.out;

  const std::string config = dir_.Write("interlock.yaml", "policies: policies\nstore: " + store_ +
                                                              "\nmcp:\n  upstreams:\n    fs:\n"
                                                              "      command: [\"/bin/true\"]\n"
                                                              "      sandbox: true\n");
  r = RunProcess({"/usr/bin/env", no_bwrap, kBin, "doctor", "--config", config});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r, "FAIL", "sandbox:"), "") << r.out;
}

// Tests that a store made outside the packaged unit, under a umask that lets everyone
// read (000), is private anyway: the store, its WAL and keys pass without a chmod.
TEST_F(DoctorTest, StoreMadeUnderAnOpenUmaskIsNotReadableByOtherUsers) {
  fs::remove_all(dir_.path() + "/state");
  ProcessResult made =
      RunProcess({"/bin/sh", "-c", "umask 000; exec \"$0\" \"$@\"", kBin, "token", "create",
                  "--store", store_, "--create", "--agent", "doctor-agent", "--policy", policies_});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  for (const std::string& path : {store_, dir_.path() + "/state", keys_}) {
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 077, 0u) << path << " is mode " << std::oct << (st.st_mode & 0777);
  }
  ProcessResult r = Doctor();
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(Line(r, "FAIL", ""), "") << r.out;
  EXPECT_NE(Line(r, "ok", "private"), "") << r.out;
}

// Tests that secret files the config names are checked: a world-readable TLS key and an
// upstream secret file fail with the chmod, a group-readable metrics token warns, a
// private client secret passes; no secret's content is printed.
TEST_F(DoctorTest, WorldReadableSecretFilesTheConfigNamesFail) {
  MakeStore();
  auto secret = [&](const std::string& name, mode_t mode) {
    const std::string path = dir_.Write(name, "s3cret-" + name + "-value-0123456789\n");
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  };
  const std::string tls_key = secret("tls.key", 0644);
  const std::string tls_cert = secret("tls.pem", 0644);
  const std::string metrics = secret("metrics.token", 0640);
  const std::string gh = secret("gh.token", 0604);
  const std::string oidc = secret("oidc.secret", 0600);
  const std::string config = dir_.Write(
      "interlock.yaml", "policies: policies\nstore: " + store_ + "\ntls_cert: " + tls_cert +
                            "\ntls_key: " + tls_key + "\nmetrics_token_file: " + metrics +
                            "\nidentity:\n  oidc:\n    issuer: https://idp.example\n"
                            "    client_id: interlock\n    client_secret_file: " +
                            oidc +
                            "\n    redirect_uri: https://interlock.example/ui/oidc/callback\n    "
                            "reviewer_values: [reviewers]\n"
                            "mcp:\n  upstreams:\n    gh:\n      command: [\"/bin/true\"]\n"
                            "      secret_files: {GH_TOKEN: \"" +
                            gh + "\"}\n");
  ASSERT_EQ(::chmod(config.c_str(), 0600), 0);
  ProcessResult r = RunProcess({kBin, "doctor", "--config", config}, "", std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(Line(r, "FAIL", "tls_key " + tls_key + " is mode 0644"), "") << r.out;
  EXPECT_NE(Line(r, "FAIL", "chmod 600 " + tls_key), "") << r.out;
  EXPECT_NE(Line(r, "FAIL", "secret_files.GH_TOKEN " + gh + " is mode 0604"), "") << r.out;
  EXPECT_NE(Line(r, "warn", "metrics_token_file " + metrics + " is mode 0640"), "") << r.out;
  EXPECT_NE(Line(r, "ok", "client_secret_file " + oidc + " is private"), "") << r.out;
  EXPECT_EQ(r.out.find("s3cret"), std::string::npos) << r.out;
}

// Tests that secrets written into the config itself are named (never shown): a warning
// while the config is private, a failure once others can read it.
TEST_F(DoctorTest, ConfigHoldingInlineSecretsWarnsAndFailsWhenReadable) {
  MakeStore();
  const std::string config =
      dir_.Write("interlock.yaml",
                 "policies: policies\nstore: " + store_ +
                     "\nmcp:\n  upstreams:\n    api:\n      url: \"http://127.0.0.1:9/mcp\"\n"
                     "      headers: {Authorization: \"Bearer inline-s3cret-token\"}\n"
                     "    tool:\n      command: [\"/bin/true\"]\n"
                     "      env: {API_TOKEN: \"inline-s3cret-env\", LOG_LEVEL: debug}\n");
  ASSERT_EQ(::chmod(config.c_str(), 0600), 0);
  ProcessResult r = RunProcess({kBin, "doctor", "--config", config}, "", std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string warn = Line(r, "warn", "holds secrets inline");
  EXPECT_NE(warn.find("mcp.upstreams.api.headers.Authorization"), std::string::npos) << r.out;
  EXPECT_NE(warn.find("mcp.upstreams.tool.env.API_TOKEN"), std::string::npos) << r.out;
  EXPECT_EQ(warn.find("LOG_LEVEL"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("inline-s3cret"), std::string::npos) << r.out;

  ASSERT_EQ(::chmod(config.c_str(), 0644), 0);
  r = RunProcess({kBin, "doctor", "--config", config}, "", std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(Line(r, "FAIL", "holds secrets inline"), "") << r.out;
  EXPECT_EQ(r.out.find("inline-s3cret"), std::string::npos) << r.out;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
