// Approval fatigue (governance/fatigue.h): the figures and the rubber-stamp warning.
#include "governance/fatigue.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "governance/suggest.h"

namespace interlock::governance {
namespace INTERLOCK_TEST_NS {

VerdictEvent MakeVerdict(std::string reviewer, int64_t requested_ms, double took_s, bool approve,
                         size_t chars = 100) {
  VerdictEvent v;
  v.reviewer = std::move(reviewer);
  v.requested_ms = requested_ms;
  v.time_ms = requested_ms + static_cast<int64_t>(took_s * 1000);
  v.approve = approve;
  v.args_chars = chars;
  return v;
}

const ReviewerFatigue& Find(const std::vector<ReviewerFatigue>& all, const std::string& name) {
  for (const ReviewerFatigue& f : all) {
    if (f.reviewer == name) return f;
  }
  ADD_FAILURE() << "no reviewer " << name;
  static ReviewerFatigue none;
  return none;
}
// The result must outlive the reference: Find(FatigueFromVerdicts(v), ...) would dangle.
const ReviewerFatigue& Find(std::vector<ReviewerFatigue>&&, const std::string&) = delete;

TEST(Fatigue, ReadingTimeGrowsWithTheArguments) {
  EXPECT_DOUBLE_EQ(ReadingTimeS(0), kReadFloorS);
  EXPECT_DOUBLE_EQ(ReadingTimeS(500), kReadFloorS + 500 * kReadSecondsPerChar);
}

TEST(Fatigue, ReviewerApprovingFasterThanReadingIsFlagged) {
  std::vector<VerdictEvent> v;
  for (int i = 0; i < 6; ++i) v.push_back(MakeVerdict("speedy", i * 60000, 0.8, true));
  auto out = FatigueFromVerdicts(v);
  const ReviewerFatigue& f = Find(out, "speedy");
  EXPECT_EQ(f.approvals, 6u);
  EXPECT_EQ(f.too_fast, 6u);
  EXPECT_DOUBLE_EQ(f.too_fast_share, 1.0);
  EXPECT_DOUBLE_EQ(f.median_decide_s, 0.8);
  EXPECT_TRUE(f.warning);
  ASSERT_FALSE(f.reasons.empty());
}

TEST(Fatigue, CarefulReviewerIsNotFlagged) {
  std::vector<VerdictEvent> v;
  for (int i = 0; i < 10; ++i) v.push_back(MakeVerdict("careful", i * 60000, 30, i % 3 != 0));
  const std::vector<ReviewerFatigue> all = FatigueFromVerdicts(v);
  const ReviewerFatigue& f = Find(all, "careful");
  EXPECT_EQ(f.too_fast, 0u);
  EXPECT_FALSE(f.warning);
}

// Long arguments take longer to read: 6 s is fine for 100 characters, too fast for 2,000.
TEST(Fatigue, QuickApprovalOfLongArgumentsIsTooFast) {
  std::vector<VerdictEvent> v;
  for (int i = 0; i < 5; ++i) v.push_back(MakeVerdict("skimmer", i * 60000, 6, true, 2000));
  for (int i = 0; i < 5; ++i) v.push_back(MakeVerdict("reader", i * 60000, 6, true, 100));
  auto out = FatigueFromVerdicts(v);
  EXPECT_TRUE(Find(out, "skimmer").warning);
  EXPECT_FALSE(Find(out, "reader").warning);
}

// A handful of fast clicks is not evidence: no warning under kMinTimedApprovals.
TEST(Fatigue, TooFewApprovalsIsNoEvidence) {
  std::vector<VerdictEvent> v;
  for (int i = 0; i < 4; ++i) v.push_back(MakeVerdict("new", i * 60000, 0.5, true));
  const std::vector<ReviewerFatigue> all = FatigueFromVerdicts(v);
  EXPECT_FALSE(Find(all, "new").warning);
}

// Slow but never saying no: a streak of approvals without a deny is warned about.
TEST(Fatigue, LongStreakWithoutADenyIsFlagged) {
  std::vector<VerdictEvent> v;
  v.push_back(MakeVerdict("always", 0, 40, false));
  for (int i = 1; i <= 50; ++i) v.push_back(MakeVerdict("always", i * 60000, 40, true));
  const std::vector<ReviewerFatigue> all = FatigueFromVerdicts(v);
  const ReviewerFatigue& f = Find(all, "always");
  EXPECT_EQ(f.longest_streak, 50u);
  EXPECT_EQ(f.too_fast, 0u);
  EXPECT_TRUE(f.warning);
}

// A deny breaks the streak; the order is the verdicts' time, not the input order.
TEST(Fatigue, ADenyResetsTheStreakInTimeOrder) {
  std::vector<VerdictEvent> v;
  for (int i = 0; i < 60; ++i) v.push_back(MakeVerdict("mixed", i * 60000, 40, i != 30));
  std::reverse(v.begin(), v.end());
  const std::vector<ReviewerFatigue> all = FatigueFromVerdicts(v);
  const ReviewerFatigue& f = Find(all, "mixed");
  EXPECT_EQ(f.longest_streak, 30u);
  EXPECT_EQ(f.denials, 1u);
  EXPECT_FALSE(f.warning);
}

// A verdict whose request is outside the window has no timing: it is never "too fast".
TEST(Fatigue, UntimedApprovalIsNotCountedTooFast) {
  std::vector<VerdictEvent> v;
  for (int i = 0; i < 6; ++i) {
    VerdictEvent e = MakeVerdict("late", i * 60000, 0.1, true);
    e.requested_ms.reset();
    v.push_back(e);
  }
  const std::vector<ReviewerFatigue> all = FatigueFromVerdicts(v);
  const ReviewerFatigue& f = Find(all, "late");
  EXPECT_EQ(f.timed_approvals, 0u);
  EXPECT_EQ(f.too_fast, 0u);
  EXPECT_DOUBLE_EQ(f.median_decide_s, -1);
  EXPECT_FALSE(f.warning);
}

TEST(SuggestDiff, RemovedToolLineIsShownAsRemoved) {
  const auto d = LineDiff("a\nb\nc\n", "a\nc\n");
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[1].op, '-');
  EXPECT_EQ(d[1].text, "b");
  EXPECT_EQ(DiffToJson(d).size(), 3u);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::governance
