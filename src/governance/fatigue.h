// Approval fatigue per reviewer: is the human gate still reading what it approves?
//
// From the audit log's approval records (requested, voted, granted, denied) and the
// decision record of each call (its canonical arguments, as the reviewer page shows them),
// per reviewer:
//   median_decide_s   median seconds from "requested" to the reviewer's verdict;
//   too_fast          approvals decided faster than the arguments could be read, under the
//                     reading-time model: ReadingTime(chars) = kReadFloorS +
//                     chars x kReadSecondsPerChar seconds (2 s to take in the tool and
//                     reason, then 50 characters a second of canonical JSON: a fast
//                     skim; careful reading of arguments is slower, so the model errs
//                     on the reviewer's side);
//   too_fast_share    too_fast / approvals with a known request time;
//   longest_streak    the most approvals in a row (by time) without a deny.
// A reviewer is warned about (rubber-stamping) when either rule holds:
//   1. at least kMinTimedApprovals (5) timed approvals and too_fast_share >= 0.5;
//   2. longest_streak >= kStreakWarn (50) approvals in a row without a single deny.
// Fewer timed approvals than that is not evidence either way: no warning.
// Thread-safety: CollectFatigue reads `source` on the calling thread only.
#ifndef INTERLOCK_GOVERNANCE_FATIGUE_H_
#define INTERLOCK_GOVERNANCE_FATIGUE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "core/ports/history_source.h"
#include "interlock/result.h"

namespace interlock::governance {

inline constexpr double kReadFloorS = 2.0;
inline constexpr double kReadSecondsPerChar = 0.02;
inline constexpr uint64_t kMinTimedApprovals = 5;
inline constexpr double kTooFastShareWarn = 0.5;
inline constexpr uint64_t kStreakWarn = 50;

// Seconds a reviewer needs to read a call whose canonical arguments have `chars` bytes.
double ReadingTimeS(size_t chars);

// One reviewer verdict, as the audit log tells it.
struct VerdictEvent {
  std::string reviewer;
  int64_t time_ms = 0;
  bool approve = false;
  std::optional<int64_t> requested_ms;  // unknown when the request is outside the window
  size_t args_chars = 0;                // canonical arguments shown to the reviewer
};

struct ReviewerFatigue {
  std::string reviewer;
  uint64_t decisions = 0, approvals = 0, denials = 0;
  uint64_t timed_approvals = 0;  // with a known request time
  double median_decide_s = -1;   // -1: no request time known
  uint64_t too_fast = 0;
  double too_fast_share = 0;
  uint64_t longest_streak = 0;
  bool warning = false;
  std::vector<std::string> reasons;  // why warned, in words
};

struct FatigueReport {
  int64_t since_ms = 0;
  std::vector<ReviewerFatigue> reviewers;  // by name
};

// The figures from verdicts (any order; sorted by time here). Exposed for tests.
std::vector<ReviewerFatigue> FatigueFromVerdicts(std::vector<VerdictEvent> verdicts);

struct FatigueOptions {
  int64_t since_ms = 0;
  std::string agent_id;  // empty: every agent
};
Result<FatigueReport> CollectFatigue(const core::HistorySource& source,
                                     const FatigueOptions& options);

boost::json::object FatigueToJson(const FatigueReport& r);

}  // namespace interlock::governance

#endif  // INTERLOCK_GOVERNANCE_FATIGUE_H_
