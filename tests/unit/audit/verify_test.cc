// Tamper-detection tests: build a log with AppendAuditEvents, alter it with raw SQL,
// and check that verify names the first bad seq and never says ok.
#include "audit/verify.h"

#include <gtest/gtest.h>

#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "audit/replay.h"
#include "audit_test_util.h"
#include "common/json.h"
#include "signed_log_test.h"
#include "store/sqlite_audit_checkpoint.h"
#include "store/sqlite_audit_log.h"
#include "store/sqlite_audit_read.h"

namespace interlock::audit {
namespace INTERLOCK_TEST_NS {

using testing::Append;
using testing::AppendDecisions;
using testing::Exec;
using testing::TempDir;

class VerifyTest : public testing::SignedLogTest {
 protected:
  VerifyReport Verify(const std::vector<audit::Checkpoint>& cps = {}) {
    VerifyOptions opt;
    opt.checkpoints = cps;
    opt.public_key = &keys_->public_key;
    Result<VerifyReport> r = VerifyAuditLog(db_.get(), opt);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : VerifyReport{};
  }
};

// Tests that an untouched log verifies with the documented one-line summary.
TEST_F(VerifyTest, IntactLogIsOk) {
  VerifyReport r = Verify({CheckpointAt(10), CheckpointAt(20)});
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.records, 20);
  EXPECT_EQ(r.checkpoints_verified, 2);
  EXPECT_EQ(VerifySummary(r).rfind(
                "ok: 20 records, head 20 " + r.head_hash + ", 2 checkpoints verified", 0),
            0u)
      << VerifySummary(r);
}

// Tests that the verifier's hash equals AuditRecordHash (the writer's definition).
TEST_F(VerifyTest, DeepModeAcceptsWriterOutput) {
  VerifyOptions opt;
  opt.deep = true;
  auto r = VerifyAuditLog(db_.get(), opt);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok) << r->problem;
}

// Tests that a modified body is a hash mismatch at its seq.
TEST_F(VerifyTest, ModifiedBodyIsDetected) {
  Exec(db_.get(),
       "UPDATE audit_log SET body = replace(body, 'example.com/6', 'evil.com/6') "
       "WHERE seq = 7");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 7);
  EXPECT_NE(r.problem.find("hash mismatch"), std::string::npos) << r.problem;
}

// Tests that changing an indexed column (not hashed directly) is still detected.
TEST_F(VerifyTest, ModifiedColumnIsDetected) {
  Exec(db_.get(), "UPDATE audit_log SET agent_id = 'other-agent' WHERE seq = 5");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 5);
  EXPECT_NE(r.problem.find("agent_id"), std::string::npos) << r.problem;
}

// Tests that a changed time column is detected.
TEST_F(VerifyTest, ModifiedTimeColumnIsDetected) {
  Exec(db_.get(), "UPDATE audit_log SET time_ms = time_ms + 1 WHERE seq = 3");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 3);
}

// Tests that a row deleted from the middle is a gap at its seq.
TEST_F(VerifyTest, DeletedMiddleRowIsDetected) {
  Exec(db_.get(), "DELETE FROM audit_log WHERE seq = 10");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 10);
  EXPECT_NE(r.problem.find("missing"), std::string::npos) << r.problem;
}

// Tests that deleting the tail is invisible to the chain alone: the run heads and the
// head row still name the deleted records, and once those are rewritten too, only a
// checkpoint catches it.
TEST_F(VerifyTest, DeletedTailNeedsCheckpoint) {
  const audit::Checkpoint cp = CheckpointAt(20);
  Exec(db_.get(), "DELETE FROM audit_log WHERE seq >= 18");
  VerifyReport heads = Verify();
  EXPECT_FALSE(heads.ok);
  EXPECT_EQ(heads.bad_seq, 18);
  EXPECT_NE(heads.problem.find("head row names seq 20"), std::string::npos) << heads.problem;
  Exec(db_.get(),
       "UPDATE audit_runs SET head_seq = (SELECT MAX(seq) FROM audit_log a"
       " WHERE a.run_id = audit_runs.run_id)");
  EXPECT_FALSE(Verify().ok);  // the head row still names seq 20
  Exec(db_.get(),
       "UPDATE audit_head SET seq = 17, hash = (SELECT hash FROM audit_log WHERE seq = 17)");
  EXPECT_TRUE(Verify().ok);  // every head rewound: the chain alone cannot see it
  VerifyReport r = Verify({cp});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 18);
  EXPECT_NE(r.problem.find("truncated"), std::string::npos) << r.problem;
}

// Tests that a whole-log truncation (empty table, head row deleted too) is caught by a
// checkpoint.
TEST_F(VerifyTest, EmptiedLogNeedsCheckpoint) {
  const audit::Checkpoint cp = CheckpointAt(5);
  Exec(db_.get(), "DELETE FROM audit_log; DELETE FROM audit_head");
  VerifyReport r = Verify({cp});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 1);
}

// Appends records that belong to no run: a kill switch, a token created, a policy load.
void AppendNonRunRecords(sqlite3* db) {
  Append(db, {testing::Event(kKillSwitch, testing::T0(), "", "",
                             {{"scope", "global"}, {"engaged", true}, {"reason", "x"}})});
  Append(db, {testing::Event(kTokenCreated, testing::T0(), "", "", {{"token_id", "tok_1"}}),
              testing::Event(kPolicyLoaded, testing::T0(), "", "", {{"sha256", "ab"}})});
}

// Tests that deleting a tail made only of records without a run (kill switch, token,
// policy), which no run head names, is reported without any checkpoint.
TEST_F(VerifyTest, DeletedTailOfOnlyNonRunRecordsIsDetected) {
  AppendNonRunRecords(db_.get());
  ASSERT_TRUE(Verify().ok);
  Exec(db_.get(), "DELETE FROM audit_log WHERE seq >= 21");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 21);
  EXPECT_NE(r.problem.find("records 21..23 were deleted from the tail"), std::string::npos)
      << r.problem;
}

// Tests that deleting a tail that mixes run records and non-run records is reported
// even when the deleter rewinds every run head to the run's remaining last record.
TEST_F(VerifyTest, DeletedMixedTailIsDetected) {
  AppendNonRunRecords(db_.get());
  AppendDecisions(db_.get(), 2, testing::T0(), "run-2");
  Exec(db_.get(),
       "DELETE FROM audit_log WHERE seq >= 19; DELETE FROM audit_runs WHERE run_id = 'run-2';"
       "UPDATE audit_runs SET head_seq = (SELECT MAX(seq) FROM audit_log a"
       " WHERE a.run_id = audit_runs.run_id)");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 19);
  EXPECT_NE(r.problem.find("head row names seq 25"), std::string::npos) << r.problem;
}

// Tests that deleting every record (the whole log after any checkpoint) is reported by
// the head row alone.
TEST_F(VerifyTest, WholeLogDeletedIsDetectedWithoutCheckpoint) {
  Exec(db_.get(), "DELETE FROM audit_log; DELETE FROM audit_runs");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 1);
  EXPECT_NE(r.problem.find("the log is empty but its head row names seq 20"), std::string::npos)
      << r.problem;
}

// Tests that deleting the head row itself (to hide a deleted tail) is reported.
TEST_F(VerifyTest, DeletedHeadRowIsDetected) {
  Exec(db_.get(), "DELETE FROM audit_log WHERE seq = 20; DELETE FROM audit_head");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("head row (audit_head) is missing"), std::string::npos) << r.problem;
}

// Tests that a log written before the head row verifies read-only the old way, and that
// the first append by a writer of this version adds the row naming the last record.
TEST_F(VerifyTest, LogWithoutHeadRowVerifiesAndIsMigratedOnAppend) {
  Exec(db_.get(), "DROP TABLE audit_head");
  ASSERT_FALSE(*HasHeadRow(db_.get()));
  VerifyReport old = Verify();
  EXPECT_TRUE(old.ok) << old.problem;
  EXPECT_FALSE(old.head_row_checked);
  AppendNonRunRecords(db_.get());
  EXPECT_TRUE(*HasHeadRow(db_.get()));
  EXPECT_EQ(testing::QueryText(db_.get(), "SELECT seq FROM audit_head"), "23");
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_TRUE(r.head_row_checked);
}

// Tests that the appender refuses to extend a log whose head row is gone, rather than
// write over a tail it cannot see.
TEST_F(VerifyTest, AppendRefusesALogWithoutItsHeadRow) {
  Exec(db_.get(), "DELETE FROM audit_head");
  const std::vector<AuditEvent> ev{testing::Event(kKillSwitch, testing::T0(), "", "")};
  Exec(db_.get(), "BEGIN IMMEDIATE");
  Result<AuditHead> h = AppendAuditEvents(db_.get(), ev);
  Exec(db_.get(), "ROLLBACK");
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().kind, ErrorKind::kCorrupt);
}

// Tests that records appended after a tail was deleted behind the writer's back chain
// onto the head row, so the deleted records stay a visible gap instead of being written
// over.
TEST_F(VerifyTest, AppendAfterDeletedTailLeavesAGap) {
  Exec(db_.get(), "DELETE FROM audit_log WHERE seq >= 19");
  Append(db_.get(), {testing::Event(kKillSwitch, testing::T0(), "", "")});
  EXPECT_EQ(testing::QueryText(db_.get(), "SELECT MAX(seq) FROM audit_log"), "21");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 19);
  EXPECT_NE(r.problem.find("missing"), std::string::npos) << r.problem;
}

// Tests that a row inserted in the middle (later rows renumbered) is detected.
TEST_F(VerifyTest, InsertedRowIsDetected) {
  Exec(db_.get(), "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 11");
  Exec(db_.get(), "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1011");
  Exec(db_.get(),
       "INSERT INTO audit_log SELECT 11, time_ms, type, run_id, call_id, agent_id, principal, "
       "body, prev_hash, hash, run_prev FROM audit_log WHERE seq = 10");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 11);
}

// Tests that a well-formed forged record spliced into the chain breaks the next link.
TEST_F(VerifyTest, ForgedChainedInsertIsDetectedAtNextRecord) {
  Statement st;
  ASSERT_TRUE(st.Prepare(db_.get(), "SELECT hash FROM audit_log WHERE seq = 10").ok());
  ASSERT_EQ(sqlite3_step(st.get()), SQLITE_ROW);
  const std::string h10(st.Text(0));
  Exec(db_.get(), "UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 11");
  Exec(db_.get(), "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1011");
  AuditEvent e = testing::Event(kDecision, testing::T0(), "run-1", "forged");
  const std::string body = AuditRecordBody(11, e, h10);
  Exec(db_.get(), "INSERT INTO audit_log VALUES (11, " +
                      std::to_string(ToUnixMillis(testing::T0())) +
                      ", 'decision', 'run-1', 'forged', 'billing-agent', 'billing-agent', '" +
                      body + "', '" + h10 + "', '" + AuditRecordHash(h10, body) + "', 10)");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 12);
}

// Tests that swapping two rows' seq numbers is detected at the first of them.
TEST_F(VerifyTest, SwappedRowsAreDetected) {
  Exec(db_.get(), "UPDATE audit_log SET seq = -5 WHERE seq = 5");
  Exec(db_.get(), "UPDATE audit_log SET seq = 5 WHERE seq = 6");
  Exec(db_.get(), "UPDATE audit_log SET seq = 6 WHERE seq = -5");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 5);
}

// Tests that truncation after a checkpoint names the first missing record.
TEST_F(VerifyTest, TruncatedAfterCheckpointIsDetected) {
  const audit::Checkpoint cp = CheckpointAt(15);
  Exec(db_.get(), "DELETE FROM audit_log WHERE seq >= 13");
  VerifyReport r = Verify({cp});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 13);
}

// Tests that a consistently rewritten chain passes alone but fails against a checkpoint.
TEST_F(VerifyTest, RewrittenChainFailsAgainstCheckpoint) {
  const audit::Checkpoint cp = CheckpointAt(15);
  Exec(db_.get(), "DELETE FROM audit_log WHERE seq >= 8");
  // A careful forger also rewinds the run heads and the head row, or the new records
  // link to deleted ones (and leave a gap).
  Exec(db_.get(),
       "UPDATE audit_runs SET head_seq = 7;"
       "UPDATE audit_head SET seq = 7, hash = (SELECT hash FROM audit_log WHERE seq = 7)");
  std::vector<AuditEvent> ev;
  for (int i = 0; i < 13; ++i) {
    ev.push_back(testing::Event(kDecision, testing::T0(), "run-1", "rewritten"));
  }
  Append(db_.get(), ev);
  EXPECT_TRUE(Verify().ok);
  VerifyReport r = Verify({cp});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 15);
  EXPECT_NE(r.problem.find("rewritten"), std::string::npos) << r.problem;
}

// Tests that the run links (outside the hashed bodies) are checked like the records: an
// unlinked record, a link skipping one, a forward (cyclic) link and a moved head each fail
// at the record they concern, and reading the run still ends.
TEST_F(VerifyTest, EditedRunLinksAreDetected) {
  struct Case {
    const char* sql;
    int64_t bad_seq;
  };
  const Case cases[] = {
      {"UPDATE audit_log SET run_prev = 0 WHERE seq = 10", 10},
      {"UPDATE audit_log SET run_prev = 8 WHERE seq = 10", 10},
      {"UPDATE audit_log SET run_prev = 15 WHERE seq = 10", 10},
      {"UPDATE audit_log SET run_prev = 10 WHERE seq = 10", 10},
      {"UPDATE audit_runs SET head_seq = 19", 20},
      {"DELETE FROM audit_runs", 20},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.sql);
    Exec(db_.get(), "SAVEPOINT t");
    Exec(db_.get(), c.sql);
    VerifyReport r = Verify();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.bad_seq, c.bad_seq) << r.problem;
    EXPECT_NE(r.problem.find("record list was edited"), std::string::npos) << r.problem;
    Result<RunReplay> replay = ReplayRun(db_.get(), "run-1");  // ends on any links
    EXPECT_TRUE(replay.ok() || replay.error().kind == ErrorKind::kNotFound);
    Exec(db_.get(), "ROLLBACK TO t; RELEASE t");
  }
  EXPECT_TRUE(Verify().ok);
}

// Tests that a one-off writer (the CLI, trust) appending to a log from before the run
// links migrates it first: links back-filled, the new record linked, the log verifies.
TEST_F(VerifyTest, AppendMigratesALogWithoutRunLinks) {
  Exec(db_.get(),
       "CREATE INDEX audit_log_run ON audit_log(run_id, seq);"
       "ALTER TABLE audit_log DROP COLUMN run_prev; DROP TABLE audit_runs;");
  ASSERT_TRUE(HasRunLinks(db_.get()).ok());
  EXPECT_FALSE(*HasRunLinks(db_.get()));
  EXPECT_TRUE(Verify().ok);  // nothing to link-check yet
  Append(db_.get(), {testing::Event(kRunHalted, testing::T0(), "run-1", "")});
  EXPECT_TRUE(*HasRunLinks(db_.get()));
  EXPECT_EQ(testing::QueryText(db_.get(), "SELECT run_prev FROM audit_log WHERE seq = 21"), "20");
  EXPECT_EQ(testing::QueryText(db_.get(), "SELECT head_seq FROM audit_runs"), "21");
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.problem;
}

// Tests that a record without a run that carries a run link is reported.
TEST_F(VerifyTest, RunLinkOnARecordWithoutRunIsDetected) {
  std::vector<AuditEvent> ev{testing::Event(kKillSwitch, testing::T0(), "", "")};
  Append(db_.get(), ev);
  Exec(db_.get(), "UPDATE audit_log SET run_prev = 20 WHERE seq = 21");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 21);
  EXPECT_NE(r.problem.find("no run but a run link"), std::string::npos) << r.problem;
}

// Tests that a checkpoint with an altered signature or hash fails signature checking.
TEST_F(VerifyTest, BadCheckpointSignatureFails) {
  audit::Checkpoint cp = CheckpointAt(10);
  cp.signature[3] ^= 1;
  VerifyReport r = Verify({cp});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("bad signature"), std::string::npos);
  audit::Checkpoint cp2 = CheckpointAt(10);
  cp2.seq = 11;
  EXPECT_FALSE(Verify({cp2}).ok);
}

// Tests that a checkpoint signed by another key names both keys.
TEST_F(VerifyTest, CheckpointFromAnotherKeyFails) {
  auto other = SigningKey::Generate();
  ASSERT_TRUE(other.ok());
  auto cp = MakeCheckpoint(*other, 10, CheckpointAt(10).hash, testing::T0());
  ASSERT_TRUE(cp.ok());
  VerifyReport r = Verify({*cp});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("names key"), std::string::npos) << r.problem;
}

// Tests that checkpoints of another log (same key) do not match this one.
TEST_F(VerifyTest, CheckpointOfAnotherLogFails) {
  TempDir other_dir;
  SqliteDb other = testing::OpenRw(other_dir.File("other.db"));
  AppendDecisions(other.get(), 20, testing::T0() + std::chrono::hours(1));
  auto cp = WriteCheckpointNow(other.get(), keys_->signing_key, other_dir.File("cp.jsonl"),
                               testing::T0());
  ASSERT_TRUE(cp.ok());
  VerifyReport r = Verify({*cp});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 20);
}

// Tests that checkpoints without a public key are refused, not skipped.
TEST_F(VerifyTest, CheckpointsWithoutKeyIsAnError) {
  const audit::Checkpoint cp = CheckpointAt(10);
  VerifyOptions opt;
  opt.checkpoints = std::span<const audit::Checkpoint>(&cp, 1);
  EXPECT_FALSE(VerifyAuditLog(db_.get(), opt).ok());
}

// Tests that deleting the first records (not a prune) fails: nothing anchors the log.
TEST_F(VerifyTest, DeletedHeadIsDetected) {
  Exec(db_.get(), "DELETE FROM audit_log WHERE seq <= 3");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 4);
  EXPECT_NE(r.problem.find("anchors"), std::string::npos) << r.problem;
}

// Tests that bodies holding tricky strings and a nested "prev" key verify (scanner).
TEST_F(VerifyTest, TrickyBodiesVerify) {
  boost::json::object data{
      {"prev", "x"},
      {"args", {{"q", "a \"quoted\" ,\"prev\":\"0\" } ] \\ \n \u00e9 \xf0\x9f\x94\x91"}}},
      {"nested", boost::json::array{1, 2.5, nullptr, true, {{"seq", 99}}}}};
  AuditEvent e = testing::Event(kDecision, testing::T0(), "run \"x\"", "c\\1", data);
  e.principal = "ünïcode";
  Append(db_.get(), {e});
  VerifyOptions opt;
  opt.deep = true;
  auto r = VerifyAuditLog(db_.get(), opt);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok) << r->problem;
  Exec(db_.get(), "UPDATE audit_log SET run_id = 'run x' WHERE seq = 21");
  EXPECT_EQ(Verify().bad_seq, 21);
}

// Tests that a database without the audit table is an error, not an empty ok.
TEST(VerifyInputTest, ForeignDatabaseIsAnError) {
  TempDir dir;
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(dir.File("foreign.db").c_str(), &raw), SQLITE_OK);
  SqliteDb db(raw);
  Exec(db.get(), "CREATE TABLE t(x)");
  EXPECT_FALSE(VerifyAuditLog(db.get(), {}).ok());
  EXPECT_FALSE(OpenAuditStore(dir.File("foreign.db"), true).ok());
}

// Tests that garbage, truncated and missing store files are clear errors.
TEST(VerifyInputTest, CorruptStoreFileIsAnError) {
  TempDir dir;
  { std::ofstream(dir.File("garbage.db")) << std::string(8192, 'x'); }
  auto g = OpenAuditStore(dir.File("garbage.db"), true);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message.find("garbage.db"), std::string::npos) << g.error().message;
  EXPECT_FALSE(OpenAuditStore(dir.File("missing.db"), true).ok());

  {
    SqliteDb db = testing::OpenRw(dir.File("s.db"));
    AppendDecisions(db.get(), 500);
  }
  const std::string bytes = testing::ReadAll(dir.File("s.db"));
  std::ofstream(dir.File("half.db"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  auto half = OpenAuditStore(dir.File("half.db"), true);
  if (half.ok()) {
    auto r = VerifyAuditLog(half->get(), {});
    EXPECT_TRUE(!r.ok() || !r->ok);  // never a silent ok on a damaged file
  }
}

// Tests that the hand-written record body is byte-identical to CanonicalJson() of the
// record as an object, for awkward strings too: the chain's hash depends on it.
TEST(AuditRecordBodyTest, MatchesCanonicalJson) {
  AuditEvent e;
  e.type = kDecision;
  e.time = FromUnixMillis(1795341600123);
  e.run_id = "run_\"q\"";
  e.call_id = "call_\\x";
  e.agent_id = "agent\u00e9\n";
  e.principal = "p\x01";
  e.data = {{"z", 1}, {"a", {{"y", "\t"}, {"b", 0.5}}}, {"m", boost::json::array{1, "x"}}};
  boost::json::object o;
  o["seq"] = 42;
  o["time"] = FormatRfc3339(e.time);
  o["type"] = e.type;
  o["run_id"] = e.run_id;
  o["call_id"] = e.call_id;
  o["agent_id"] = e.agent_id;
  o["principal"] = e.principal;
  o["data"] = e.data;
  o["prev"] = kGenesisHash;
  EXPECT_EQ(AuditRecordBody(42, e, kGenesisHash), CanonicalJson(o));
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::audit
