// ApprovalRows in memory (see memory_approval_rows.h).
#include "core/memory_approval_rows.h"

#include <algorithm>
#include <tuple>

namespace interlock::core {

Result<std::optional<Approval>> MemoryApprovalRows::Load(std::string_view approval_id) {
  auto it = approvals.find(approval_id);
  if (it == approvals.end()) return std::optional<Approval>();
  return std::optional<Approval>(it->second);
}

Result<std::vector<Approval>> MemoryApprovalRows::Pending(const PendingQuery& q) {
  using Kind = PendingQuery::Kind;
  std::vector<Approval> out;
  for (const auto& [id, a] : approvals) {
    if (a.state != ApprovalState::kPending) continue;
    bool match = true;
    switch (q.kind) {
      case Kind::kAll:
        break;
      case Kind::kAgent:
        match = a.agent_id == q.agent_id;
        break;
      case Kind::kRun:
        match = a.run_id == q.run_id;
        break;
      case Kind::kTwin:
        match = a.run_id == q.run_id && a.agent_id == q.agent_id && a.tool == q.tool &&
                a.args_sha256 == q.args_sha256;
        break;
      case Kind::kDue:
        match = a.deadline <= q.due;
        break;
    }
    if (!match) continue;
    out.push_back(a);
    out.back().votes.clear();
  }
  std::sort(out.begin(), out.end(), [&](const Approval& x, const Approval& y) {
    if (q.kind == Kind::kDue)
      return std::tie(x.deadline, x.approval_id) < std::tie(y.deadline, y.approval_id);
    return std::tie(x.created, x.approval_id) < std::tie(y.created, y.approval_id);
  });
  if (q.kind == Kind::kDue && out.size() > PendingQuery::kMaxDue) out.resize(PendingQuery::kMaxDue);
  return out;
}

Result<std::vector<Approval>> MemoryApprovalRows::DecidedTwins(const PendingQuery& q,
                                                               TimePoint decided_since) {
  std::vector<Approval> out;
  for (const auto& [id, a] : approvals) {
    if (a.state == ApprovalState::kPending || !a.decided || *a.decided < decided_since) continue;
    if (a.run_id != q.run_id || a.agent_id != q.agent_id || a.tool != q.tool ||
        a.args_sha256 != q.args_sha256) {
      continue;
    }
    out.push_back(a);
    out.back().votes.clear();
  }
  std::sort(out.begin(), out.end(), [](const Approval& x, const Approval& y) {
    return std::tie(x.created, x.approval_id) < std::tie(y.created, y.approval_id);
  });
  return out;
}

Status MemoryApprovalRows::Insert(const Approval& a) {
  if (!approvals.emplace(a.approval_id, a).second) {
    return Error{ErrorKind::kAlreadyExists, "approval " + a.approval_id + " exists"};
  }
  return Status::Ok();
}

Status MemoryApprovalRows::InsertVote(std::string_view approval_id, const ApprovalVote& vote) {
  auto it = approvals.find(approval_id);
  if (it == approvals.end()) return Error::NotFound("no approval " + std::string(approval_id));
  for (const ApprovalVote& v : it->second.votes) {
    if (v.reviewer == vote.reviewer) {
      return Error{ErrorKind::kAlreadyExists, "vote of " + vote.reviewer + " exists"};
    }
  }
  it->second.votes.push_back(vote);
  return Status::Ok();
}

Status MemoryApprovalRows::Update(const Approval& before, const Approval& after) {
  auto it = approvals.find(before.approval_id);
  if (it == approvals.end()) return Error::NotFound("no approval " + before.approval_id);
  Approval& row = it->second;
  if (row.state != before.state || row.escalation_level != before.escalation_level ||
      row.used.has_value() != before.used.has_value()) {
    return Error{ErrorKind::kAlreadyExists,
                 "approval " + before.approval_id + " is already decided"};
  }
  std::vector<ApprovalVote> votes = std::move(row.votes);  // InsertVote keeps them
  row = after;
  row.votes = std::move(votes);
  return Status::Ok();
}

Result<std::string> MemoryApprovalRows::LoadDecisionJson(std::string_view call_id) {
  auto it = decisions.find(call_id);
  if (it == decisions.end()) return Error::NotFound("no call " + std::string(call_id));
  return it->second;
}

Status MemoryApprovalRows::SaveDecision(std::string_view call_id, std::string_view decision_json,
                                        Verdict, Code) {
  decisions[std::string(call_id)] = std::string(decision_json);
  return Status::Ok();
}

}  // namespace interlock::core
