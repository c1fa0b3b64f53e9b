#include "approval/sweeper.h"

#include <algorithm>
#include <iostream>

#include "core/app/approvals.h"

namespace interlock::approval {

namespace {
// Decided approvals are re-announced to long polls for this long (a verdict written by a
// kill switch in another process, or in a batch the sweep raced with).
constexpr auto kSettledWindow = std::chrono::seconds(3);
}  // namespace

Notification ApprovalNotice(NoticeKind kind, const core::Approval& a,
                            const policy::AgentPolicy* agent, const SweeperOptions& options,
                            core::CallRecord* context) {
  Notification n;
  n.kind = Notification::Kind::kEscalation;
  n.channel = agent != nullptr && !agent->execution.notify.empty() ? agent->execution.notify
                                                                   : options.channel;
  const std::vector<std::string> none;
  const std::vector<std::string>& contacts = agent != nullptr ? agent->escalation_contacts : none;
  if (!contacts.empty()) {
    const size_t i =
        std::min(static_cast<size_t>(std::max(0, a.escalation_level)), contacts.size() - 1);
    n.contacts.push_back(contacts[i]);
  }
  const std::string what = "agent \"" + a.agent_id + "\" wants to call \"" + a.tool + "\"";
  const std::string link = core::ApprovalLink(options.public_url, a.approval_id);
  n.approval_id = a.approval_id;
  n.approval_url = link;
  switch (kind) {
    case NoticeKind::kRequested:
      n.event = "approval_requested";
      n.text = "Approval needed: " + what + " (" + std::to_string(a.required) + " reviewer(s), " +
               std::to_string(a.timeout_seconds) + " s). Review: <" + link + "|" + a.approval_id +
               ">";
      break;
    case NoticeKind::kEscalated:
      n.event = "approval_escalated";
      n.text = "Approval escalated (level " + std::to_string(a.escalation_level) + "): " + what +
               " is still waiting" +
               (n.contacts.empty() ? std::string() : " for " + n.contacts.front()) + ". Review: <" +
               link + "|" + a.approval_id + ">";
      break;
    case NoticeKind::kTimedOut:
      n.event = "approval_timed_out";
      n.text = "Approval timed out and was denied: " + what + " (" + a.approval_id + ")";
      break;
    case NoticeKind::kCancelled:
      n.event = "approval_cancelled";
      n.text = "Approval cancelled: " + what + ": " + a.outcome_reason;
      break;
  }
  context->call_id = a.call_id;
  context->run_id = a.run_id;
  context->agent_id = a.agent_id;
  context->principal = a.principal;
  context->at = a.created;
  context->call.tool = a.tool;
  context->decision.agent_id = a.agent_id;
  context->decision.tool = a.tool;
  switch (kind) {
    case NoticeKind::kRequested:
    case NoticeKind::kEscalated:
      context->decision.verdict = Verdict::kApprovalRequired;
      context->decision.code = Code::kApprovalRequired;
      context->decision.reason = "waiting for approval " + a.approval_id + ": " + link;
      break;
    case NoticeKind::kTimedOut:
      context->decision.code = Code::kApprovalTimeout;
      context->decision.reason = a.outcome_reason;
      break;
    case NoticeKind::kCancelled:
      context->decision.code = Code::kApprovalDenied;
      context->decision.reason = a.outcome_reason;
      break;
  }
  context->decision.rule = "approval";
  return n;
}

Sweeper::Sweeper(core::Store* store, const core::PolicySource* policies, const Clock* clock,
                 core::Notifier* notifier, SweeperOptions options, SettledFn settled)
    : store_(store),
      policies_(policies),
      clock_(clock),
      notifier_(notifier),
      options_(std::move(options)),
      settled_(std::move(settled)) {}

Sweeper::~Sweeper() { Stop(); }

void Sweeper::Start() {
  if (task_) return;
  task_ = std::make_unique<PeriodicTask>(std::chrono::milliseconds(0), options_.interval,
                                         [this] { SweepOnce(); });
}

void Sweeper::Stop() { task_.reset(); }

void Sweeper::Send(NoticeKind kind, const core::Approval& a) {
  if (notifier_ == nullptr) return;
  std::shared_ptr<const policy::PolicySet> set = policies_ ? policies_->Current() : nullptr;
  const policy::AgentPolicy* agent = set ? set->Find(a.agent_id) : nullptr;
  core::CallRecord context;
  Notification n = ApprovalNotice(kind, a, agent, options_, &context);
  // The arguments as stored: redacted (hmac-sha256:...) where the policy says so.
  if (auto call = store_->GetCall(a.call_id); call.ok()) context.call.args = call->record.call.args;
  notifier_->Notify(n, context);
}

void Sweeper::SweepOnce() {
  const TimePoint now = clock_->Now();
  // 1. Deadlines and kill switches.
  auto changes = store_->ExpireApprovals(now);
  if (!changes.ok()) {
    std::cerr << "interlock: approval sweep: " << changes.error().message << '\n';
  } else {
    for (const core::ApprovalChange& c : *changes) {
      switch (c.kind) {
        case core::ApprovalChange::Kind::kEscalated:
          Send(NoticeKind::kEscalated, c.approval);
          break;
        case core::ApprovalChange::Kind::kTimedOut:
          Send(NoticeKind::kTimedOut, c.approval);
          settled_(c.approval.call_id);
          break;
        case core::ApprovalChange::Kind::kCancelled:
          Send(NoticeKind::kCancelled, c.approval);
          settled_(c.approval.call_id);
          break;
      }
    }
  }
  // 2. Wake long polls of recently decided approvals (kill switches, other writers).
  core::ApprovalFilter decided;
  decided.which = core::ApprovalFilter::Which::kDecided;
  decided.decided_since = now - kSettledWindow;
  decided.limit = 1000;
  decided.with_votes = false;
  if (auto d = store_->ListApprovals(decided); d.ok()) {
    for (const core::Approval& a : *d) settled_(a.call_id);
  }
  // 3. Announce new approvals (after a restart, every pending one once more).
  core::ApprovalFilter fresh;
  fresh.which = core::ApprovalFilter::Which::kPending;
  if (last_created_) fresh.created_since = *last_created_ - kSettledWindow;
  fresh.limit = 1000;
  fresh.with_votes = false;
  if (auto p = store_->ListApprovals(fresh); p.ok()) {
    for (const core::Approval& a : *p) {
      if (!announced_.emplace(a.approval_id, a.created).second) continue;
      Send(NoticeKind::kRequested, a);
      if (!last_created_ || a.created > *last_created_) last_created_ = a.created;
    }
  }
  if (last_created_) {
    std::erase_if(announced_,
                  [&](const auto& kv) { return kv.second < *last_created_ - 2 * kSettledWindow; });
  }
}

}  // namespace interlock::approval
