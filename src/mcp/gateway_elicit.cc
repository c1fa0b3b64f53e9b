// ServerRequestHandlers (server_request_handlers.h): an approval asked at the MCP client
// (elicitation/create) and the client's answers to Interlock's own requests; the Gateway's
// helpers that read them (gateway_internal.h).
#include "mcp/server_request_handlers.h"

#include <algorithm>
#include <iostream>

#include <boost/json.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "core/app/approvals.h"
#include "mcp/framing.h"
#include "mcp/gateway_internal.h"

namespace interlock::mcp {

namespace json = boost::json;

using gateway_internal::kOwnIdPrefix;
using gateway_internal::Log;
using gateway_internal::Quoted;

namespace {

constexpr size_t kMaxElicitCommentBytes = 1024;
constexpr size_t kMaxShownArgsBytes = 4096;
constexpr size_t kMaxElicitsRemembered = 4096;

}  // namespace

namespace gateway_internal {

// The answer to elicitation/create (MCP 2025-06-18 / 2025-11-25): {"action": "accept",
// "content": {"approve": bool, "comment"?: string}} | {"action": "decline"|"cancel"}.
// Anything else is refused: an answer that cannot be read is never an approval.
Enforcer::ClientAnswer ReadElicitAnswer(const json::object& msg, const std::string& who) {
  using Kind = Enforcer::ClientAnswer::Kind;
  auto refused = [](std::string why) {
    return Enforcer::ClientAnswer{Kind::kRefused,
                                  "the MCP client's answer to the approval question is not "
                                  "valid (" +
                                      std::move(why) + "), so the call is denied"};
  };
  if (const json::value* e = msg.if_contains("error")) {
    const json::value* m = e->is_object() ? e->get_object().if_contains("message") : nullptr;
    // Quoted: the client's words may hold anything JSON can (a NUL among them).
    std::string text =
        m != nullptr && m->is_string()
            ? Quoted(m->get_string().subview(0, std::min<size_t>(m->get_string().size(), 200)))
            : std::string("no message");
    return {Kind::kRefused,
            "the MCP client could not ask its user (error: " + text + "), so the call is denied"};
  }
  const json::value* r = msg.if_contains("result");
  if (r == nullptr || !r->is_object()) return refused("no result object");
  const json::object& result = r->get_object();
  for (const auto& kv : result) {
    if (kv.key() != "action" && kv.key() != "content" && kv.key() != "_meta") {
      return refused("unknown field " + Quoted(std::string(kv.key().substr(0, 64))));
    }
  }
  const json::value* action = result.if_contains("action");
  if (action == nullptr || !action->is_string()) return refused("no action");
  if (action->get_string() == "decline") {
    return {Kind::kDeny, "declined at the MCP client by " + who};
  }
  if (action->get_string() == "cancel") {
    return {Kind::kDeny, "dismissed at the MCP client by " + who + " (cancel)"};
  }
  if (action->get_string() != "accept") return refused("action is not accept, decline or cancel");
  const json::value* content = result.if_contains("content");
  if (content == nullptr || !content->is_object()) return refused("accept without content");
  const json::value* approve = nullptr;
  std::string comment;
  for (const auto& kv : content->get_object()) {
    if (kv.key() == "approve") {
      approve = &kv.value();
    } else if (kv.key() == "comment") {
      if (!kv.value().is_string()) return refused("comment is not a string");
      if (Status s = core::CheckAnswerComment(kv.value().get_string(), kMaxElicitCommentBytes);
          !s.ok()) {
        return refused(s.error().message);
      }
      comment = std::string(kv.value().get_string());
    } else {
      return refused("unknown content field");
    }
  }
  if (approve == nullptr || !approve->is_bool()) return refused("approve is not true or false");
  std::string text =
      (approve->get_bool() ? "approved at the MCP client by " : "denied at the MCP client by ") +
      who;
  if (!comment.empty()) text += ": " + comment;
  return {approve->get_bool() ? Kind::kApprove : Kind::kDeny, std::move(text)};
}

ApprovalQuestion QuestionFor(const std::string& tool, const Enforcer::Outcome& pending) {
  const auto left = pending.time_left;
  const std::string left_s = std::to_string((left.count() + 999) / 1000) + " s";
  std::string args = pending.shown_args_json;
  if (args.size() > kMaxShownArgsBytes) {
    args = args.substr(0, kMaxShownArgsBytes) + "... (" + std::to_string(args.size()) + " bytes)";
  }
  ApprovalQuestion q;
  q.message =
      "Interlock: approve this tool call?\n"
      "Tool: " +
      tool + "\n" + "Arguments (as audited; redacted fields masked): " + args + "\n" +
      "Why: " + pending.decision.reason + "\n" + "Time left: " + left_s +
      " (then the call is denied)\n" +
      "Your answer is recorded as the verdict of the local user (approval " + pending.approval_id +
      ").";
  q.schema = json::object{
      {"type", "object"},
      {"properties",
       json::object{{"approve", json::object{{"type", "boolean"},
                                             {"title", "Approve this call of " + tool + "?"},
                                             {"default", false}}},
                    {"comment", json::object{{"type", "string"},
                                             {"title", "Comment (optional)"},
                                             {"maxLength", kMaxElicitCommentBytes}}}}},
      {"required", json::array{"approve"}}};
  return q;
}

}  // namespace gateway_internal

using gateway_internal::QuestionFor;
using gateway_internal::ReadElicitAnswer;

Enforcer::ClientAnswer ServerRequestHandlers::AskClient(const std::string& tool,
                                                        const Enforcer::Outcome& pending,
                                                        const std::atomic<bool>& cancelled) {
  using Kind = Enforcer::ClientAnswer::Kind;
  auto wait = std::make_shared<RehearsalWait>();
  std::string id;
  {
    std::lock_guard lock(mu_);
    // Unguessable and never shown to the server: only the client that was asked can answer.
    id = std::string(kOwnIdPrefix) +
         HexEncode(reinterpret_cast<const uint8_t*>(RandomBytes(16).data()), 16);
    elicits_.emplace(IdKey(json::value(id)), wait);
  }
  const auto left = pending.time_left;
  const std::string left_s = std::to_string((left.count() + 999) / 1000) + " s";
  gateway_internal::ApprovalQuestion q = QuestionFor(tool, pending);
  const std::string& message = q.message;
  json::object& schema = q.schema;
  link_.SendToClient(json::object{
      {"jsonrpc", "2.0"},
      {"id", id},
      {"method", "elicitation/create"},
      // Interlock's _meta key marks the question as Interlock's (a server's never carries
      // it: StripInterlockMeta), as on the 2026-07-28 approval (gateway_mrtr.cc).
      {"params",
       json::object{{"message", message},
                    {"requestedSchema", std::move(schema)},
                    {"_meta", json::object{{"interlock.dev/approval",
                                            json::object{{"approval_id", pending.approval_id},
                                                         {"answered_by", "the local user"}}}}}}}});
  const auto deadline = std::chrono::steady_clock::now() + left;
  std::unique_lock lock(wait->mu);
  while (!wait->response && !cancelled.load() && std::chrono::steady_clock::now() < deadline) {
    wait->cv.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() +
                                                     std::chrono::milliseconds(200)));
  }
  std::optional<json::object> response = std::move(wait->response);
  lock.unlock();
  {
    std::lock_guard g(mu_);
    elicits_.erase(IdKey(json::value(id)));
    if (elicits_done_.size() >= kMaxElicitsRemembered) elicits_done_.clear();
    elicits_done_[IdKey(json::value(id))] = tool;
  }
  if (!response) {
    // The question is withdrawn at the client (MCP cancellation of our own request).
    link_.SendToClient(json::object{
        {"jsonrpc", "2.0"},
        {"method", "notifications/cancelled"},
        {"params",
         json::object{{"requestId", id},
                      {"reason", cancelled.load() ? std::string("the tool call was cancelled")
                                                  : std::string("the approval timed out")}}}});
    return {Kind::kTimeout, "no answer at the MCP client within " + left_s +
                                " (the approval's timeout), so the call is denied"};
  }
  return ReadElicitAnswer(*response, "the local user");
}

void ServerRequestHandlers::HandleOwnResponse(const json::value& doc, const std::string& key) {
  std::shared_ptr<RehearsalWait> wait;
  std::string tool;
  bool answered = false;
  {
    std::lock_guard lock(mu_);
    if (auto it = elicits_.find(key); it != elicits_.end()) {
      wait = it->second;
      elicits_.erase(it);  // a second answer finds it answered
      if (elicits_done_.size() >= kMaxElicitsRemembered) elicits_done_.clear();
      elicits_done_[key] = "";
    } else if (auto d = elicits_done_.find(key); d != elicits_done_.end()) {
      answered = true;
      tool = d->second;
    }
  }
  if (wait) {
    {
      std::lock_guard lock(wait->mu);
      wait->response = doc.get_object();
    }
    wait->cv.notify_all();
    return;
  }
  // Not an answer to a question still open: recorded as a refusal through the core, never
  // taken for a verdict.
  const std::string shown = key.substr(0, std::min<size_t>(key.size(), 100));
  const std::string reason =
      answered ? "the MCP client answered Interlock's request " + shown +
                     " again (already answered or timed out); the answer is ignored"
               : "the MCP client answered Interlock's request " + shown +
                     ", which Interlock never sent (or is not waiting for); the answer is ignored";
  json::object params;
  if (!tool.empty()) params["name"] = tool;
  const json::value pv(std::move(params));
  Enforcer::Outcome o = link_.DecideRefusal(&pv, reason);
  Log("refused a client response: " + reason + " (call " + o.call_id + ")");
}

}  // namespace interlock::mcp
