// POST /v1/slack/interactions (docs/approvals.md, "Approving from Slack"): a reviewer's
// Approve or Deny button in Slack. Authenticated by Slack's request signature (the app's
// signing secret), never a token; the Slack user is mapped to a reviewer by `slack.users`;
// the vote is core::Approvals::Vote, as POST /v1/approvals/{id}.
#include <iostream>
#include <string>
#include <utility>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "core/app/approvals.h"
#include "core/app/slack_interactions.h"
#include "doors/http_api/api.h"
#include "doors/http_api/api_internal.h"

namespace interlock::server {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

// What Slack shows the person who pressed the button (only to them).
HttpResponse SlackReply(std::string text) {
  return JsonResponse(200, json::object{{"response_type", "ephemeral"},
                                        {"replace_original", false},
                                        {"text", std::move(text)}});
}

}  // namespace

void Api::HandleSlackInteraction(const HttpRequest& req, Responder r) {
  if (slack_ == nullptr) return r.Send(JsonError(404, "NOT_FOUND", "no such endpoint"));
  const std::string_view body = req.body();
  const std::string timestamp(req["X-Slack-Request-Timestamp"]);
  const std::string signature(req["X-Slack-Signature"]);
  const TimePoint now = clock_->Now();
  // Forged, late or replayed: nothing changes, and the refusal is recorded (the auth_failed
  // audit record counts it under its reason, /metrics counts it).
  if (const std::optional<std::string_view> refused =
          slack_->SignatureRefusal(timestamp, body, signature, now)) {
    NoteAuthFailure("slack callback: " + std::string(*refused));
    return r.Send(JsonError(401, "UNAUTHENTICATED",
                            "Slack request signature refused: " + std::string(*refused)));
  }
  if (!slack_->FirstSeen(signature, timestamp, now)) {
    NoteAuthFailure("slack callback: replayed");
    return r.Send(JsonError(401, "UNAUTHENTICATED", "this Slack request was seen before"));
  }
  Result<core::SlackAction> action = slack_->ParseAction(body);
  if (!action.ok()) return r.Send(InvalidRequest(action.error().message));
  if (std::optional<std::string> who = slack_->MappedReviewer(action->user_id)) {
    return SlackVote(std::move(action).value(), *who, r);
  }
  if (!slack_->ReviewersByEmail()) {
    NoteAuthFailure("slack callback: unmapped user");
    std::cerr << "interlock: slack: user " << action->user_id << " is not in slack.users; their "
              << (action->approve ? "approve" : "deny") << " of " << action->approval_id
              << " changed nothing\n";
    return r.Send(SlackReply(
        "Your Slack user is not mapped to an Interlock reviewer (slack.users): nothing changed."));
  }
  // slack.users_by_email: the user's verified e-mail (one Web API call) names the reviewer,
  // off the network threads. No e-mail, an unconfirmed one or a failed lookup changes
  // nothing and is recorded.
  Blocking([this, r, act = std::move(action).value()]() mutable {
    Result<std::string> reviewer = slack_->ReviewerByEmail(act.user_id);
    if (!reviewer.ok()) {
      NoteAuthFailure(reviewer.error().kind == ErrorKind::kUnavailable
                          ? "slack callback: e-mail lookup failed"
                          : "slack callback: unmapped user");
      std::cerr << "interlock: slack: user " << act.user_id << " is not in slack.users and has no "
                << "reviewer by e-mail (" << reviewer.error().message << "); their "
                << (act.approve ? "approve" : "deny") << " of " << act.approval_id
                << " changed nothing\n";
      return r.Send(SlackReply("Your Slack user is not mapped to an Interlock reviewer (" +
                               reviewer.error().message + "): nothing changed."));
    }
    SlackVote(std::move(act), *reviewer, r);
  });
}

void Api::SlackVote(core::SlackAction action, const std::string& reviewer_name, Responder r) {
  core::Approvals::VoteAsk vote;
  vote.approval_id = action.approval_id;
  vote.reviewer.name = reviewer_name;
  vote.reviewer.role = core::Role::kReviewer;
  vote.approve = action.approve;
  // The audit record of the vote says where it came from and which Slack user cast it.
  vote.comment = "via Slack, user " + action.user_id +
                 (action.team_id.empty() ? std::string() : " of team " + action.team_id);
  vote.policies = policies_->Current();
  Blocking([this, r, vote = std::move(vote), slack_user = action.user_id]() mutable {
    const std::string id = vote.approval_id;
    const std::string reviewer = vote.reviewer.name;
    const bool approve = vote.approve;
    auto out = calls_.approvals().Vote(std::move(vote));
    if (!out.ok()) {
      // Self-approval, a second vote of one person, an unknown or decided approval: the
      // core refused, nothing changed.
      NoteAuthFailure("slack callback: vote refused");
      std::cerr << "interlock: slack: vote of " << reviewer << " (" << slack_user << ") on " << id
                << " refused: " << out.error().message << '\n';
      return r.Send(SlackReply("Not recorded: " + out.error().message));
    }
    if (out->settled) NotifyCall(out->approval.call_id);
    const char* state = core::ApprovalStateName(out->approval.state);
    r.Send(SlackReply(std::string(approve ? "Approved" : "Denied") + " as " + reviewer + ": " + id +
                      " is " + state + "."));
  });
}

}  // namespace interlock::server
