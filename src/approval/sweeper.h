// Sweeper: the daemon's approval timer. Every `interval` (250 ms by default) it asks the
// store to escalate or time out approvals past their deadline and to cancel the ones a
// kill switch covers (Store::ExpireApprovals; deadlines are persisted, so an approval
// whose deadline passed while the daemon was down is timed out on the first sweep). It
// sends notifications for new approvals, escalations and timeouts through the
// core::Notifier (which never blocks), and calls `settled(call_id)` for every approval
// that was decided, so long polls on the call wake up.
//
// Thread-safety: one small thread of its own; Start()/Stop() from the owning thread.
// Collaborators are not owned and must outlive the Sweeper.
#ifndef INTERLOCK_APPROVAL_SWEEPER_H_
#define INTERLOCK_APPROVAL_SWEEPER_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/periodic.h"
#include "common/time.h"
#include "core/app/policy_source.h"
#include "core/guard.h"
#include "core/ports/store.h"

namespace interlock::approval {

struct SweeperOptions {
  std::chrono::milliseconds interval{250};
  std::string public_url;             // base of links, e.g. "http://127.0.0.1:8181"
  std::string channel = "approvals";  // when the agent's policy names no notify channel
};

enum class NoticeKind { kRequested, kEscalated, kTimedOut, kCancelled };

// The notice for an approval event: channel, contacts (the escalation contact for the
// level) and a Slack-compatible text with the link; `context` gets the call's fields.
Notification ApprovalNotice(NoticeKind kind, const core::Approval& a,
                            const policy::AgentPolicy* agent, const SweeperOptions& options,
                            core::CallRecord* context);

class Sweeper {
 public:
  using SettledFn = std::function<void(const std::string& call_id)>;

  Sweeper(core::Store* store, const core::PolicySource* policies, const Clock* clock,
          core::Notifier* notifier /* may be null */, SweeperOptions options, SettledFn settled);
  ~Sweeper();
  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;

  void Start();
  void Stop();  // idempotent; joins the thread

  // One sweep (exposed for tests).
  void SweepOnce();

 private:
  void Send(NoticeKind kind, const core::Approval& a);

  core::Store* store_;
  const core::PolicySource* policies_;
  const Clock* clock_;
  core::Notifier* notifier_;
  SweeperOptions options_;
  SettledFn settled_;
  std::optional<TimePoint> last_created_;       // newest pending approval already announced
  std::map<std::string, TimePoint> announced_;  // recent announcements (same-ms dedupe)

  std::unique_ptr<PeriodicTask> task_;  // last: stopped first on destruction
};

}  // namespace interlock::approval

#endif  // INTERLOCK_APPROVAL_SWEEPER_H_
