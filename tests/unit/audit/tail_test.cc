// The daemon's start check (audit/tail.h) against the tails an attacker with write
// access to the database can cut: every record type, with and without rewinding the
// head rows, and with the signed checkpoints that the rewinding cannot get past.
#include "audit/tail.h"

#include <gtest/gtest.h>

#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "audit_test_util.h"
#include "signed_log_test.h"
#include "store/sqlite_audit_read.h"

namespace interlock::audit {
namespace INTERLOCK_TEST_NS {

using testing::Append;
using testing::AppendDecisions;
using testing::Exec;
using testing::TempDir;

class TailTest : public testing::SignedLogTest {
 protected:
  void SetUp() override {
    SignedLogTest::SetUp();
    if (HasFatalFailure()) return;
    // A kill switch engaged, a token created, a policy loaded: records of no run.
    Append(db_.get(), {testing::Event(kKillSwitch, testing::T0(), "", "",
                                      {{"scope", "global"}, {"engaged", true}})});
    Append(db_.get(), {testing::Event(kTokenCreated, testing::T0(), "", "")});
    Append(db_.get(), {testing::Event(kPolicyLoaded, testing::T0(), "", "")});
  }

  TailReport Check(const std::vector<audit::Checkpoint>& cps = {}) {
    Result<TailReport> r =
        CheckAuditTail(db_.get(), {.checkpoints = cps, .public_key = &keys_->public_key});
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : TailReport{};
  }

  // What a careful deleter does after cutting the log after `seq`: every head names
  // the new last record.
  void RewindHeadsTo(int64_t seq) {
    Exec(db_.get(), "DELETE FROM audit_log WHERE seq > " + std::to_string(seq) +
                        "; UPDATE audit_head SET seq = " + std::to_string(seq) +
                        ", hash = (SELECT hash FROM audit_log WHERE seq = " + std::to_string(seq) +
                        "); UPDATE audit_runs SET head_seq = (SELECT MAX(seq) FROM audit_log a"
                        " WHERE a.run_id = audit_runs.run_id)");
  }
};

// Tests that an intact log passes, with and without checkpoints.
TEST_F(TailTest, IntactLogPasses) {
  EXPECT_TRUE(Check().ok);
  TailReport r = Check({CheckpointAt(10), CheckpointAt(21)});
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.head_seq, 23);
  EXPECT_EQ(r.checkpoint_seq, 21);
}

// Tests that deleting a tail of only kill switch and token records (no run head names
// them) fails the start check.
TEST_F(TailTest, DeletedNonRunTailFails) {
  Exec(db_.get(), "DELETE FROM audit_log WHERE seq >= 21");
  TailReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 21);
  EXPECT_NE(r.problem.find("records 21..23 were deleted from the tail"), std::string::npos)
      << r.problem;
}

// Tests that a mixed tail (run records and the kill switch) cut with the head row
// rewound but a run head left behind fails on the run head.
TEST_F(TailTest, RunHeadPastTheEndFails) {
  Exec(db_.get(),
       "DELETE FROM audit_log WHERE seq >= 19; UPDATE audit_head SET seq = 18,"
       " hash = (SELECT hash FROM audit_log WHERE seq = 18)");
  TailReport r = Check();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("run-1's head names seq 20"), std::string::npos) << r.problem;
}

// Tests that the kill switch record, once anchored by a signed checkpoint, cannot be cut
// away even by rewinding every head.
TEST_F(TailTest, CutPastAnAnchoredKillSwitchFails) {
  const audit::Checkpoint anchor = CheckpointAt(21);
  RewindHeadsTo(20);
  EXPECT_TRUE(Check().ok);  // every head rewound: only the checkpoint shows it
  TailReport r = Check({CheckpointAt(10), anchor});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 21);
  EXPECT_NE(r.problem.find("truncated from the tail"), std::string::npos) << r.problem;
}

// Tests that the whole log deleted after a checkpoint, heads and all, fails.
TEST_F(TailTest, WholeLogDeletedAfterCheckpointFails) {
  const audit::Checkpoint cp = CheckpointAt(5);
  Exec(db_.get(), "DELETE FROM audit_log; DELETE FROM audit_head; DELETE FROM audit_runs");
  TailReport r = Check({cp});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("the log is empty"), std::string::npos) << r.problem;
}

// Tests that a tail cut and re-written with forged records (heads consistent) fails
// against the latest checkpoint: the record it names has another hash.
TEST_F(TailTest, RewrittenAfterCheckpointFails) {
  const audit::Checkpoint cp = CheckpointAt(22);
  RewindHeadsTo(20);
  Append(db_.get(), {testing::Event(kRunStarted, testing::T0(), "run-9", ""),
                     testing::Event(kRunStarted, testing::T0(), "run-9", "")});
  TailReport r = Check({cp});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 22);
  EXPECT_NE(r.problem.find("rewritten"), std::string::npos) << r.problem;
}

// Tests that a record after the checkpoint whose body was edited fails.
TEST_F(TailTest, EditedRecordAfterCheckpointFails) {
  const audit::Checkpoint cp = CheckpointAt(20);
  Exec(db_.get(), "UPDATE audit_log SET body = replace(body, 'global', 'agent') WHERE seq = 21");
  TailReport r = Check({cp});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_seq, 21);
}

// Tests that a forged checkpoint fails rather than being trusted.
TEST_F(TailTest, ForgedCheckpointFails) {
  audit::Checkpoint cp = CheckpointAt(23);
  cp.seq = 22;
  TailReport r = Check({cp});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("bad signature"), std::string::npos) << r.problem;
}

// Tests that a pruned log whose latest checkpoint is the prune's anchor (the record
// before the first kept one) passes.
TEST_F(TailTest, PruneAnchorAsLatestCheckpointPasses) {
  const audit::Checkpoint anchor = CheckpointAt(22);
  Exec(db_.get(), "DELETE FROM audit_log WHERE seq <= 22");
  TailReport r = Check({anchor});
  EXPECT_TRUE(r.ok) << r.problem;
}

// Tests that a store written before the head row (read-only, unmigrated) is checked by
// its checkpoints alone.
TEST_F(TailTest, UnmigratedLogIsCheckedByCheckpoints) {
  const audit::Checkpoint cp = CheckpointAt(23);
  Exec(db_.get(), "DROP TABLE audit_head");
  EXPECT_TRUE(Check({cp}).ok);
  Exec(db_.get(), "DELETE FROM audit_log WHERE seq = 23");
  EXPECT_FALSE(Check({cp}).ok);
}

// Tests the daemon's wrapper: a missing checkpoint file is no checkpoints, and a failure
// names what is missing and the verify command to investigate with.
TEST_F(TailTest, StoreCheckNamesTheProblemAndTheInvestigation) {
  const std::string cps = dir_.File("cp.jsonl");
  EXPECT_TRUE(
      CheckStoreTail(dir_.File("store.db"), cps, dir_.File("keys"), keys_->public_key).ok());
  ASSERT_TRUE(AppendCheckpoint(cps, CheckpointAt(23)).ok());
  RewindHeadsTo(20);
  Status s = CheckStoreTail(dir_.File("store.db"), cps, dir_.File("keys"), keys_->public_key);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("records 21..23 were truncated"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("interlock audit verify --store"), std::string::npos);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::audit
