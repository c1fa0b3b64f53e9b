// Tests of the `interlock audit` and `interlock replay` commands through the real
// binary (skipped when the binary has not been built). Checks exit codes and that
// bad input is never reported as ok.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>

#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "audit/redact.h"
#include "audit_test_util.h"

namespace interlock::audit {
namespace INTERLOCK_TEST_NS {

struct CliRun {
  int code = -1;
  std::string out;
};

CliRun Interlock(const std::string& args) {
  const std::string cmd = std::string(INTERLOCK_BINARY_DIR) + "/interlock " + args + " 2>&1";
  CliRun r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class AuditCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(std::string(INTERLOCK_BINARY_DIR) + "/interlock")) {
      GTEST_SKIP() << "interlock binary not built";
    }
    auto keys = LoadOrCreateAuditKeys(dir_.File("keys"));
    ASSERT_TRUE(keys.ok());
    hmac_ = keys->hmac_key;
    db_ = testing::OpenRw(store());
    testing::AppendDecisions(db_.get(), 30);
  }
  std::string store() const { return dir_.File("store.db"); }
  std::string Flags() const {
    return "--store " + store() + " --checkpoints " + dir_.File("cp.jsonl") + " --pubkey " +
           dir_.File("keys/checkpoint-ed25519.pub.pem");
  }

  testing::TempDir dir_;
  SqliteDb db_;
  std::string hmac_;
};

// Tests the ok path: checkpoint, verify with the documented summary, exit 0.
TEST_F(AuditCliTest, VerifyOk) {
  CliRun c = Interlock("audit checkpoint --store " + store() + " --keys " + dir_.File("keys") +
                       " --checkpoints " + dir_.File("cp.jsonl"));
  ASSERT_EQ(c.code, 0) << c.out;
  CliRun v = Interlock("audit verify " + Flags());
  EXPECT_EQ(v.code, 0) << v.out;
  EXPECT_EQ(v.out.rfind("ok: 30 records, head 30 ", 0), 0u) << v.out;
  EXPECT_NE(v.out.find("1 checkpoints verified"), std::string::npos) << v.out;
}

// Tests that `audit verify --store` alone finds the store's own checkpoints and public key
// in their default place (STORE.keys/) and says which it used (issue 56: it reported "0
// checkpoints verified; no checkpoints given" with both sitting there).
TEST_F(AuditCliTest, VerifyFindsTheStoresCheckpointsAndKeyByDefault) {
  const std::string keys = store() + ".keys";
  ASSERT_TRUE(LoadOrCreateAuditKeys(keys).ok());
  CliRun c = Interlock("audit checkpoint --store " + store() + " --keys " + keys +
                       " --checkpoints " + keys + "/checkpoints.jsonl");
  ASSERT_EQ(c.code, 0) << c.out;
  CliRun v = Interlock("audit verify --store " + store());
  EXPECT_EQ(v.code, 0) << v.out;
  EXPECT_NE(v.out.find("using the store's checkpoints " + keys + "/checkpoints.jsonl"),
            std::string::npos)
      << v.out;
  EXPECT_NE(v.out.find("1 checkpoints verified"), std::string::npos) << v.out;
}

// Tests that tampering gives a non-zero exit naming the seq.
TEST_F(AuditCliTest, VerifyTamperedFails) {
  ASSERT_EQ(Interlock("audit checkpoint --store " + store() + " --keys " + dir_.File("keys") +
                      " --checkpoints " + dir_.File("cp.jsonl"))
                .code,
            0);
  testing::Exec(db_.get(), "DELETE FROM audit_log WHERE seq > 25");
  CliRun v = Interlock("audit verify " + Flags());
  EXPECT_EQ(v.code, 1) << v.out;
  EXPECT_NE(v.out.find("FAILED at seq 26"), std::string::npos) << v.out;
  EXPECT_EQ(v.out.find("ok:"), std::string::npos);
}

// Tests that bad inputs are clear errors with a non-zero exit and never "ok".
TEST_F(AuditCliTest, BadInputsAreErrors) {
  std::ofstream(dir_.File("garbage.db")) << std::string(4096, 'g');
  std::ofstream(dir_.File("bad.jsonl")) << "{not json\n";
  for (const std::string& args :
       {"audit verify --store " + dir_.File("garbage.db"),
        "audit verify --store " + dir_.File("missing.db"),
        "audit verify --store " + store() + " --checkpoints " + dir_.File("bad.jsonl") +
            " --pubkey " + dir_.File("keys/checkpoint-ed25519.pub.pem"),
        "audit verify --store " + store() + " --checkpoints " + dir_.File("none.jsonl") +
            " --pubkey " + dir_.File("keys/checkpoint-ed25519.pub.pem"),
        "audit verify --store " + store() + " --checkpoints " + dir_.File("bad.jsonl"),
        "audit hash x --keys " + dir_.File("nokeys"),
        "audit checkpoint --store " + store() + " --keys " + dir_.File("nokeys") +
            " --checkpoints " + dir_.File("cp2.jsonl"),
        "replay run-1 --store " + dir_.File("garbage.db")}) {
    CliRun r = Interlock(args);
    EXPECT_NE(r.code, 0) << args << "\n" << r.out;
    EXPECT_EQ(r.out.find("ok:"), std::string::npos) << args << "\n" << r.out;
    EXPECT_FALSE(r.out.empty()) << args;
  }
}

// Tests that `audit hash` prints the same value the Redactor stored.
TEST_F(AuditCliTest, HashMatchesRedactor) {
  CliRun r = Interlock("audit hash 'sk-live-SECRET' --keys " + dir_.File("keys"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, Redactor(hmac_).Hash(boost::json::string("sk-live-SECRET")) + "\n");
  CliRun j = Interlock("audit hash '{\"b\":1,\"a\":[2]}' --json --keys " + dir_.File("keys"));
  ASSERT_EQ(j.code, 0) << j.out;
  EXPECT_EQ(j.out, Redactor(hmac_).Hash(boost::json::value{{"a", {2}}, {"b", 1}}) + "\n");
}

// Tests export, prune and replay end to end.
TEST_F(AuditCliTest, ExportPruneReplay) {
  CliRun e = Interlock("audit export --store " + store() + " --since 2026-11-22 --format jsonl");
  ASSERT_EQ(e.code, 0) << e.out;
  EXPECT_NE(e.out.find("\"hash\":"), std::string::npos);
  ASSERT_EQ(Interlock("audit checkpoint --store " + store() + " --keys " + dir_.File("keys") +
                      " --checkpoints " + dir_.File("cp.jsonl"))
                .code,
            0);
  CliRun p = Interlock("audit prune --store " + store() + " --keys " + dir_.File("keys") +
                       " --checkpoints " + dir_.File("cp.jsonl") + " --days 90");
  EXPECT_EQ(p.code, 0) << p.out;
  CliRun v = Interlock("audit verify " + Flags());
  EXPECT_EQ(v.code, 0) << v.out;
  CliRun r = Interlock("replay run-1 --store " + store());
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("http.get"), std::string::npos) << r.out;
  CliRun rj = Interlock("replay run-1 --store " + store() + " --format json");
  EXPECT_EQ(rj.code, 0);
  EXPECT_EQ(rj.out.rfind("{\"run_id\":\"run-1\"", 0), 0u) << rj.out.substr(0, 200);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::audit
