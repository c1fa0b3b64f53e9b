// Tests for audit keys, checkpoint files and the Checkpointer.
#include "audit/keys.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include "audit/checkpoint.h"
#include "audit_test_util.h"
#include "store/sqlite_audit_checkpoint.h"

namespace interlock::audit {
namespace INTERLOCK_TEST_NS {

using testing::TempDir;

mode_t Mode(const std::string& path) {
  struct stat sb;
  EXPECT_EQ(::stat(path.c_str(), &sb), 0) << path;
  return sb.st_mode & 0777;
}

// Tests that keys are created once with private modes and loaded unchanged after.
TEST(KeysTest, CreatesThenLoadsTheSameKeys) {
  TempDir dir;
  const std::string kd = dir.File("keys");
  auto a = LoadOrCreateAuditKeys(kd);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->hmac_key.size(), kHmacKeyBytes);
  EXPECT_EQ(Mode(kd + "/audit-hmac.key"), 0600u);
  EXPECT_EQ(Mode(kd + "/checkpoint-ed25519.pem"), 0600u);
  auto b = LoadOrCreateAuditKeys(kd);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->hmac_key, b->hmac_key);
  EXPECT_EQ(a->public_key.KeyId(), b->public_key.KeyId());
  auto c = LoadAuditKeys(kd);
  ASSERT_TRUE(c.ok());
  auto sig = c->signing_key.Sign("hello");
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(a->public_key.Verify("hello", *sig));
  EXPECT_FALSE(a->public_key.Verify("hellO", *sig));
}

// Tests that LoadAuditKeys never creates keys.
TEST(KeysTest, MissingKeysAreAnErrorWhenNotCreating) {
  TempDir dir;
  auto r = LoadAuditKeys(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(r.error().message.find("audit-hmac.key"), std::string::npos);
  EXPECT_FALSE(LoadHmacKey(dir.path()).ok());
}

// Tests that a corrupt HMAC key is an error and is never replaced.
TEST(KeysTest, CorruptHmacKeyIsNotRegenerated) {
  TempDir dir;
  std::ofstream(dir.File("audit-hmac.key")) << "short";
  auto r = LoadOrCreateAuditKeys(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kCorrupt);
  EXPECT_EQ(testing::ReadAll(dir.File("audit-hmac.key")), "short");
}

// Tests that a corrupt signing key is an error and is never replaced.
TEST(KeysTest, CorruptSigningKeyIsNotRegenerated) {
  TempDir dir;
  ASSERT_TRUE(LoadOrCreateAuditKeys(dir.path()).ok());
  std::ofstream(dir.File("checkpoint-ed25519.pem")) << "-----BEGIN PRIVATE KEY-----\nAAAA\n";
  auto r = LoadOrCreateAuditKeys(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("checkpoint-ed25519.pem"), std::string::npos);
  EXPECT_EQ(testing::ReadAll(dir.File("checkpoint-ed25519.pem")),
            "-----BEGIN PRIVATE KEY-----\nAAAA\n");
}

// Tests that a public key without its private key is an error, not a new key pair.
TEST(KeysTest, PublicKeyWithoutPrivateKeyIsAnError) {
  TempDir dir;
  ASSERT_TRUE(LoadOrCreateAuditKeys(dir.path()).ok());
  ASSERT_EQ(::unlink(dir.File("checkpoint-ed25519.pem").c_str()), 0);
  auto r = LoadOrCreateAuditKeys(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("restore"), std::string::npos);
}

// Tests that a public key file that belongs to another private key is refused.
TEST(KeysTest, MismatchedPublicKeyIsAnError) {
  TempDir a, b;
  ASSERT_TRUE(LoadOrCreateAuditKeys(a.path()).ok());
  ASSERT_TRUE(LoadOrCreateAuditKeys(b.path()).ok());
  std::ofstream(a.File("checkpoint-ed25519.pub.pem"))
      << testing::ReadAll(b.File("checkpoint-ed25519.pub.pem"));
  auto r = LoadAuditKeys(a.path());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("does not belong"), std::string::npos);
}

// Tests that a non-Ed25519 or garbage public key file is a clear error.
TEST(KeysTest, GarbagePublicKeyFileIsAnError) {
  TempDir dir;
  std::ofstream(dir.File("pub.pem")) << "not a key";
  auto r = PublicKey::LoadFile(dir.File("pub.pem"));
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(PublicKey::LoadFile(dir.File("nope.pem")).ok());
}

// Tests that checkpoints round-trip through the file and verify.
TEST(CheckpointTest, FileRoundTrip) {
  TempDir dir;
  auto keys = LoadOrCreateAuditKeys(dir.path());
  ASSERT_TRUE(keys.ok());
  auto cp = MakeCheckpoint(keys->signing_key, 42, std::string(64, 'a'), testing::T0());
  ASSERT_TRUE(cp.ok());
  ASSERT_TRUE(AppendCheckpoint(dir.File("cp.jsonl"), *cp).ok());
  ASSERT_TRUE(AppendCheckpoint(dir.File("cp.jsonl"), *cp).ok());
  auto read = ReadCheckpoints(dir.File("cp.jsonl"));
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[1].line, 2);
  EXPECT_EQ((*read)[0].seq, 42);
  EXPECT_TRUE(VerifyCheckpoint(keys->public_key, (*read)[0]));
  // The signed message is domain-separated and covers seq, hash and time.
  EXPECT_EQ(CheckpointMessage(1, "ab", "t"), std::string("interlock.checkpoint.v1") + '\0' +
                                                 "{\"hash\":\"ab\",\"seq\":1,\"time\":\"t\"}");
}

// Tests that a malformed checkpoint line is an error naming the line.
TEST(CheckpointTest, MalformedLineIsAnError) {
  TempDir dir;
  std::ofstream(dir.File("cp.jsonl")) << "\n{\"seq\":1}\n";
  auto r = ReadCheckpoints(dir.File("cp.jsonl"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cp.jsonl:2"), std::string::npos) << r.error().message;
  EXPECT_EQ(ReadCheckpoints(dir.File("none.jsonl")).error().kind, ErrorKind::kNotFound);
}

// Tests that the Checkpointer writes on interval or record count and resumes after restart.
TEST(CheckpointerTest, WritesWhenDueAndResumes) {
  TempDir dir;
  auto keys = LoadOrCreateAuditKeys(dir.File("keys"));
  ASSERT_TRUE(keys.ok());
  SqliteDb db = testing::OpenRw(dir.File("s.db"));
  ManualClock clock(testing::T0());
  CheckpointerOptions opt;
  opt.path = dir.File("cp.jsonl");
  opt.interval = std::chrono::seconds(60);
  opt.every_records = 5;
  auto c = Checkpointer::Create(&keys->signing_key, opt, &clock);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(MaybeCheckpoint(**c, db.get()).ok());  // empty log: nothing
  EXPECT_EQ((*c)->last_seq(), 0);
  testing::AppendDecisions(db.get(), 3);
  ASSERT_TRUE(MaybeCheckpoint(**c, db.get()).ok());  // first one is due at once
  EXPECT_EQ((*c)->last_seq(), 3);
  testing::AppendDecisions(db.get(), 2);
  ASSERT_TRUE(MaybeCheckpoint(**c, db.get()).ok());  // 2 records, 0 s: not due
  EXPECT_EQ((*c)->last_seq(), 3);
  testing::AppendDecisions(db.get(), 3);
  ASSERT_TRUE(MaybeCheckpoint(**c, db.get()).ok());  // 5 records: due
  EXPECT_EQ((*c)->last_seq(), 8);
  testing::AppendDecisions(db.get(), 1);
  clock.Advance(std::chrono::seconds(61));
  ASSERT_TRUE(MaybeCheckpoint(**c, db.get()).ok());  // interval: due
  EXPECT_EQ((*c)->last_seq(), 9);

  auto again = Checkpointer::Create(&keys->signing_key, opt, &clock);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->last_seq(), 9);
  auto read = ReadCheckpoints(opt.path);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->size(), 3u);

  // A head behind the last checkpoint means truncation: reported, never hidden.
  testing::Exec(db.get(), "DELETE FROM audit_log WHERE seq > 4");
  Status s = MaybeCheckpoint(**again, db.get());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind, ErrorKind::kCorrupt);
}

// Tests that the background thread writes a final checkpoint of the head on Stop().
TEST(CheckpointerTest, ThreadWritesFinalCheckpointOnStop) {
  TempDir dir;
  auto keys = LoadOrCreateAuditKeys(dir.File("keys"));
  ASSERT_TRUE(keys.ok());
  SqliteDb db = testing::OpenRw(dir.File("s.db"));
  testing::AppendDecisions(db.get(), 7);
  SystemClock clock;
  CheckpointerOptions opt;
  opt.path = dir.File("cp.jsonl");
  opt.interval = std::chrono::hours(1);
  opt.every_records = 1'000'000;
  auto c = Checkpointer::Create(&keys->signing_key, opt, &clock);
  ASSERT_TRUE(c.ok());
  int errors = 0;
  auto t = StartSqliteCheckpointThread(dir.File("s.db"), std::move(c).value(),
                                       std::chrono::milliseconds(10),
                                       [&errors](const Error&) { ++errors; });
  ASSERT_TRUE(t.ok()) << t.error().message;
  testing::AppendDecisions(db.get(), 3);
  (*t)->Stop();
  EXPECT_EQ(errors, 0);
  auto read = ReadCheckpoints(opt.path);
  ASSERT_TRUE(read.ok());
  ASSERT_FALSE(read->empty());
  EXPECT_EQ(read->back().seq, 10);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::audit

namespace interlock::audit {
namespace INTERLOCK_TEST_NS {

// Tests that processes creating the keys at the same moment (hooks, gateways starting
// together) all end up with the one key that was published, never a torn or a second one.
TEST(AuditKeysConcurrency, ConcurrentCreatorsAgreeOnOneKey) {
  for (int round = 0; round < 5; ++round) {
    const TempDir tmp;
    const std::string dir = tmp.File("keys");  // made by the racing creators
    std::vector<std::string> hmacs(8);
    std::vector<std::string> pubs(8);
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&, i] {
        Result<AuditKeys> k = LoadOrCreateAuditKeys(dir);
        ASSERT_TRUE(k.ok()) << k.error().message;
        hmacs[i] = k->hmac_key;
        pubs[i] = k->public_key.ToPem();
      });
    }
    for (auto& t : threads) t.join();
    for (int i = 1; i < 8; ++i) {
      EXPECT_EQ(hmacs[i], hmacs[0]);
      EXPECT_EQ(pubs[i], pubs[0]);
    }
    std::filesystem::remove_all(dir);
  }
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::audit
