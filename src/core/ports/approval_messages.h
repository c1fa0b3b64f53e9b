// ApprovalMessage: a chat message posted for an approval (Slack today: the channel and the
// message's ts), kept in the store so that any daemon sharing it (a fleet on one
// PostgreSQL database) can update the message in place once the approval is decided there
// (docs/approvals.md#approving-from-slack). Rows only: which message to post or update is
// server::SlackApprovals' business.
// Thread-safety: values.
#ifndef INTERLOCK_CORE_PORTS_APPROVAL_MESSAGES_H_
#define INTERLOCK_CORE_PORTS_APPROVAL_MESSAGES_H_

#include <string>

#include "common/time.h"

namespace interlock::core {

struct ApprovalMessage {
  std::string approval_id;
  std::string service = "slack";  // the chat service; (approval_id, service) is the key
  std::string channel;            // where it was posted
  std::string ts;                 // the service's id of the message in its channel
  // The message shows the decision: it will not change again. Once set a later write of
  // the same key cannot clear it.
  bool final = false;
  TimePoint updated;
};

// Messages not final, at most this many, are listed for a daemon's start-up catch-up.
inline constexpr size_t kMaxOpenApprovalMessages = 1000;

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_PORTS_APPROVAL_MESSAGES_H_
