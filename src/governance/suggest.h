// The suggested tighter policy of a drift report as text and as a line diff, for
// `interlock drift --suggest` and the console's Governance page (one path for both).
#ifndef INTERLOCK_GOVERNANCE_SUGGEST_H_
#define INTERLOCK_GOVERNANCE_SUGGEST_H_

#include <string>
#include <vector>

#include <boost/json/array.hpp>

#include "governance/drift.h"
#include "interlock/result.h"

namespace interlock::governance {

struct SuggestedPolicy {
  std::string file;           // the agent's policy file
  std::string before, after;  // its text now, and with Suggest(drift) applied
};

// Reads the agent's file, applies Suggest(drift) and checks the result still loads.
// An Error for an unreadable file or an edit that does not load (nothing is written).
Result<SuggestedPolicy> SuggestPolicyText(const AgentDrift& drift);

// A line diff (longest common subsequence; "=" kept, "-" removed, "+" added).
struct DiffLine {
  char op = '=';
  std::string text;
};
std::vector<DiffLine> LineDiff(const std::string& before, const std::string& after);
// Only the changed lines with `context` kept lines around each; "..." rows mark gaps.
boost::json::array DiffToJson(const std::vector<DiffLine>& diff, size_t context = 2);

}  // namespace interlock::governance

#endif  // INTERLOCK_GOVERNANCE_SUGGEST_H_
