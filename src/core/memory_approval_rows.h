// ApprovalRows in memory (core/ports/approvals.h): the approval rows, the decisions of
// the calls they settle and the engaged kill switches, in plain maps. For tests of the
// core's approval functions (core/approval_txn.h) and any in-process store that keeps
// approvals. Not durable; not thread-safe (the owner serialises transactions). Writes take
// effect at once: the owner snapshots and restores it (copy) to roll a transaction back.
#ifndef INTERLOCK_CORE_MEMORY_APPROVAL_ROWS_H_
#define INTERLOCK_CORE_MEMORY_APPROVAL_ROWS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ports/approvals.h"

namespace interlock::core {

class MemoryApprovalRows final : public ApprovalRows {
 public:
  Result<std::optional<Approval>> Load(std::string_view approval_id) override;
  Result<std::vector<Approval>> Pending(const PendingQuery& q) override;
  Result<std::vector<Approval>> DecidedTwins(const PendingQuery& q,
                                             TimePoint decided_since) override;
  Status Insert(const Approval& a) override;
  Status InsertVote(std::string_view approval_id, const ApprovalVote& vote) override;
  Status Update(const Approval& before, const Approval& after) override;
  Result<std::string> LoadDecisionJson(std::string_view call_id) override;
  Status SaveDecision(std::string_view call_id, std::string_view decision_json, Verdict verdict,
                      Code code) override;
  Result<std::vector<KillEntry>> EngagedKills() override { return kills; }

  // The rows, for the owner (and tests) to seed and read.
  std::map<std::string, Approval, std::less<>> approvals;
  std::map<std::string, std::string, std::less<>> decisions;  // call id -> decision JSON
  std::vector<KillEntry> kills;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_MEMORY_APPROVAL_ROWS_H_
