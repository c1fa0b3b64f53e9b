// SlackInteractions: what a door needs to take a reviewer's Approve or Deny button press
// in Slack (POST /v1/slack/interactions; docs/approvals.md, "Approving from Slack"): the
// checks of Slack's signed callback and who the Slack user is as a reviewer. The daemon
// implements it with the app's signing secret and its user mapping (server::SlackCallbacks,
// daemon/slack.h) and hands it to the HTTP API door, which maps the answers to HTTP and
// casts the vote through core::Approvals::Vote like every other vote.
// Thread-safety: every method may be called from any thread; ReviewerByEmail blocks (one
// Web API call): call it off the network threads.
#ifndef INTERLOCK_CORE_APP_SLACK_INTERACTIONS_H_
#define INTERLOCK_CORE_APP_SLACK_INTERACTIONS_H_

#include <optional>
#include <string>
#include <string_view>

#include "common/time.h"
#include "interlock/result.h"

namespace interlock::core {

// One button press of a block_actions payload.
struct SlackAction {
  std::string approval_id;
  bool approve = false;
  std::string user_id;  // Slack's user id ("U0123")
  std::string team_id;
};

class SlackInteractions {
 public:
  virtual ~SlackInteractions() = default;

  // Why Slack's request signature of `body` is refused ("missing signature", "stale
  // timestamp", "forged signature"), or nullopt when it passes.
  virtual std::optional<std::string_view> SignatureRefusal(std::string_view timestamp,
                                                           std::string_view body,
                                                           std::string_view signature,
                                                           TimePoint now) const = 0;
  // True the first time (signature, timestamp) is seen; false for a replay.
  virtual bool FirstSeen(std::string_view signature, std::string_view timestamp, TimePoint now) = 0;
  // The first Interlock button action of a form body "payload=<JSON>" (kInvalidArgument
  // saying what is wrong with it).
  virtual Result<SlackAction> ParseAction(std::string_view form_body) const = 0;
  // The reviewer the configured mapping (slack.users) names for `slack_user`, or nullopt.
  virtual std::optional<std::string> MappedReviewer(std::string_view slack_user) const = 0;
  // Whether an unmapped user may be named by their verified e-mail (slack.users_by_email).
  virtual bool ReviewersByEmail() const = 0;
  // The reviewer an unmapped Slack user is, by their verified e-mail (kUnavailable when
  // the lookup failed). Blocks.
  virtual Result<std::string> ReviewerByEmail(std::string_view slack_user) const = 0;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_SLACK_INTERACTIONS_H_
