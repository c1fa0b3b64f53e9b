// ServerRequestHandlers (server_request_handlers.h): a legacy (2025) server's requests to the
// client when the client speaks 2026-07-28 (docs/mcp.md#revisions, "Server-to-client requests").
// 2026-07-28 has no server-to-client requests: a server asks for input by answering the call
// input_required (multi round-trip requests). A legacy server asks with elicitation/create,
// sampling/createMessage or roots/list while the client's tools/call is at it; the gateway
// answers that call input_required with the question under a requestState of its own, and
// when the client retries with its inputResponses, returns the answer to the server as the
// JSON-RPC response to its request. The call stays at the server all along: the retry takes
// it over (decided once, when it first came), and its result is recorded once.
#include <algorithm>
#include <chrono>

#include <boost/json.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "mcp/framing.h"
#include "mcp/gateway_internal.h"
#include "mcp/revision.h"
#include "mcp/server_request_handlers.h"

namespace interlock::mcp {

namespace json = boost::json;

using gateway_internal::kMaxRecordedServerRefusals;
using gateway_internal::kMaxServerRequestsInFlight;
using gateway_internal::kRelayError;
using gateway_internal::Log;
using gateway_internal::OpenKey;
using gateway_internal::Quoted;

namespace {

// The requestState of a round (never one of core::RequestStates': those start "ilrs1.").
constexpr std::string_view kRelayStatePrefix = "interlock-relay.";

// Why the client, declaring `caps`, cannot be asked `request` ("" when it can).
std::string Undeclared(const json::object& request, const json::object& caps) {
  const std::string method(request.at("method").get_string());
  const json::value* params = request.if_contains("params");
  const json::object* p =
      params != nullptr && params->is_object() ? &params->get_object() : nullptr;
  if (method == "elicitation/create") {
    const gateway_internal::ElicitModes modes = gateway_internal::ElicitModesOf(&caps);
    const json::value* mode = p != nullptr ? p->if_contains("mode") : nullptr;
    const bool url = mode != nullptr && mode->is_string() && mode->get_string() == "url";
    if (mode != nullptr &&
        !(mode->is_string() && (mode->get_string() == "url" || mode->get_string() == "form"))) {
      return "its elicitation mode is neither form nor url";
    }
    if (url ? !modes.url : !modes.form) {
      return std::string("the MCP client did not declare the elicitation capability") +
             (url ? " for url mode" : " for form mode");
    }
    return "";
  }
  if (method == "sampling/createMessage") {
    const json::value* s = caps.if_contains("sampling");
    if (s == nullptr || !s->is_object()) {
      return "the MCP client did not declare the sampling capability";
    }
    if (p != nullptr && (p->contains("tools") || p->contains("toolChoice")) &&
        !s->get_object().contains("tools")) {
      return "the MCP client did not declare sampling with tools";
    }
    return "";
  }
  const json::value* r = caps.if_contains("roots");
  if (r == nullptr || !r->is_object()) return "the MCP client did not declare the roots capability";
  return "";
}

}  // namespace

bool ServerRequestHandlers::RefusedOwnIdSpace(const json::value& doc, const json::value& id) {
  const std::string key = IdKey(id);
  bool own = gateway_internal::InOwnIdSpace(id);
  bool record = false;
  {
    std::lock_guard lock(mu_);
    own = own || elicits_.count(key) != 0 || elicits_done_.count(key) != 0;
    if (own) record = link_.CountRefusalLocked();
  }
  if (!own) return false;
  // A server posing as Interlock (an elicitation under the id of Interlock's approval
  // question) is refused and recorded, never relayed.
  const std::string reason =
      "the MCP server sent a request (" +
      Quoted(std::string(doc.get_object().at("method").get_string().subview(0, 64))) +
      ") with an id in Interlock's own id space (" + key.substr(0, 100) +
      "); refused, never shown to the client";
  if (record) {
    Enforcer::Outcome o = link_.DecideRefusal(nullptr, reason);
    Log("refused a server request: " + reason + " (call " + o.call_id + ")");
  } else {
    Log("refused a server request (not recorded: over " +
        std::to_string(kMaxRecordedServerRefusals) + " this session): " + reason);
  }
  link_.SendToServer(ErrorResponse(id, kInvalidRequest,
                                   "Interlock refuses a request id in Interlock's own id space"));
  return true;
}

void ServerRequestHandlers::HandleServerRequestForModernClient(json::value doc,
                                                               const json::value& id,
                                                               const std::string& method,
                                                               const json::value* related) {
  if (method == "ping") {
    // The gateway is the server's client on this connection, and it is alive.
    link_.SendToServer(ResultResponse(id, json::object{}));
    return;
  }
  const bool relayed = method == "elicitation/create" || method == "sampling/createMessage" ||
                       method == "roots/list";
  if (!relayed || !link_.ForwardsServerRequest(method)) {
    link_.SendToServer(ErrorResponse(id, kMethodNotFound,
                                     "Method not found: Interlock does not relay " +
                                         Quoted(method.substr(0, 64)) +
                                         " to the MCP client behind it (MCP 2026-07-28)"));
    return;
  }
  if (RefusedOwnIdSpace(doc, id)) return;
  // Interlock's _meta keys were removed and recorded by ScreenServerMessage before this.
  json::object& request = doc.get_object();
  const std::string rkey = IdKey(id);
  std::string refuse;
  int code = kRelayError;
  json::object response;  // the input_required answer to the client, when a round opens
  json::value client_id;
  {
    std::lock_guard lock(mu_);
    // The tools/call of the client the question belongs to: the one on whose reply stream
    // it came (an HTTP upstream), else the one at the server (a legacy server names no
    // request its question belongs to; with more than one, the gateway cannot tell whose).
    auto candidate = [](const PendingRequest& p) {
      return p.method == "tools/call" && !p.internal && !p.rehearsal && !p.call_id.empty() &&
             (!p.client_id.is_null() || p.relayed);
    };
    std::string target;
    size_t candidates = 0;
    const PendingRequest* named = related != nullptr ? link_.CallLocked(IdKey(*related)) : nullptr;
    if (named != nullptr && candidate(*named)) {
      candidates = 1;
      target = IdKey(*related);
    } else {
      link_.ForEachCallLocked([&](const std::string& key, PendingRequest& p) {
        if (!candidate(p)) return;
        ++candidates;
        target = key;
      });
    }
    if (relay_request_ids_.count(rkey) != 0) {
      refuse = "request id already in use by a request in flight";
      code = kInvalidRequest;
    } else if (relay_request_ids_.size() >= kMaxServerRequestsInFlight) {
      refuse = "too many requests to the client in flight";
      code = kInvalidRequest;
    } else if (candidates != 1) {
      // None: as before the translation, "not found" (nothing can take it now).
      if (candidates == 0) code = kMethodNotFound;
      refuse = candidates == 0
                   ? "no tool call of the MCP client is at the server to ask about (the client "
                     "speaks MCP 2026-07-28, which takes a server's questions only as the "
                     "input_required answer to its call)"
                   : "more than one tool call of the MCP client is at the server and a 2025 "
                     "server's request does not say which one it belongs to";
    } else {
      PendingRequest& p = *link_.CallLocked(target);
      auto [it, fresh] = relayed_.try_emplace(target);
      RelayedCall& c = it->second;
      if (fresh) {
        c.open_key = p.open_key;
        c.tool = p.tool;
        c.call_id = p.call_id;
        c.credential_json = p.credential_json;
        const json::object call{{"params", p.params}};
        if (const json::object* caps = MetaClientCapabilities(call)) c.caps = *caps;
        c.rounds = p.input_rounds;
      }
      if (std::string why = Undeclared(request, c.caps); !why.empty()) {
        refuse = why + "; Interlock cannot put the server's " + Quoted(method) + " to it";
        code = kMethodNotFound;
      } else if (c.rounds >= kMaxInputRounds) {
        refuse = "the MCP server asked for input more than " + std::to_string(kMaxInputRounds) +
                 " times in one call";
      } else {
        relay_request_ids_[rkey] = target;
        c.queued.push_back(request);
        if (c.state.empty()) {
          client_id = p.client_id;
          response = OpenRelayRoundLocked(c, target, client_id);
          p.client_id = nullptr;
          p.client_progress_token = nullptr;  // progress for a request nobody holds: dropped
          p.relayed = true;
        }
      }
      if (fresh && !refuse.empty()) relayed_.erase(it);
    }
    if (!response.empty() && !relay_reaper_.joinable()) {
      relay_reaper_ = std::thread(&ServerRequestHandlers::RelayReaper, this);
    }
  }
  if (!refuse.empty()) {
    Log("refused the server's " + Quoted(method) + ": " + refuse);
    link_.SendToServer(ErrorResponse(id, code, "Interlock: " + refuse));
    return;
  }
  if (response.empty()) return;  // queued: shown in the call's next round
  relay_cv_.notify_all();
  if (auto trace = link_.TraceOf(client_id)) trace->UpstreamEnded(true, "input_required");
  link_.AnswerClient(response);
}

json::object ServerRequestHandlers::OpenRelayRoundLocked(RelayedCall& c,
                                                         const std::string& server_call,
                                                         const json::value& client_id) {
  c.state = std::string(kRelayStatePrefix) +
            HexEncode(reinterpret_cast<const uint8_t*>(RandomBytes(16).data()), 16);
  relay_states_[c.state] = server_call;
  ++c.rounds;
  c.deadline = std::chrono::steady_clock::now() + relay_round_timeout_;
  json::object requests;
  for (json::object& q : c.queued) {
    // Keys of the gateway's choosing: never Interlock's own (interlock_approval), never one
    // the server picked.
    const std::string key = "server_request_" + std::to_string(c.next_key++);
    json::object r{{"method", q.at("method")}};
    if (const json::value* params = q.if_contains("params")) r["params"] = *params;
    requests[key] = std::move(r);
    c.asked.emplace_back(key, q.at("id"));
  }
  c.queued.clear();
  return ResultResponse(client_id, json::object{{"resultType", "input_required"},
                                                {"inputRequests", std::move(requests)},
                                                {"requestState", c.state}});
}

std::string ServerRequestHandlers::ClaimRelayState(const std::string& state,
                                                   const std::string& open_key,
                                                   std::string* call_key, RelayedCall* c) {
  std::lock_guard lock(mu_);
  auto st = relay_states_.find(state);
  if (st == relay_states_.end()) {
    return "requestState refused: no question of the MCP server is open under it (answered "
           "already, timed out, or never issued by this gateway); not forwarded";
  }
  if (relayed_.at(st->second).open_key != open_key) {
    return "requestState refused: it belongs to another call (tool or arguments differ); "
           "not forwarded";
  }
  *call_key = st->second;
  relay_states_.erase(st);
  RelayedCall& open = relayed_.at(*call_key);
  open.state.clear();
  c->asked.swap(open.asked);
  c->tool = open.tool;
  c->call_id = open.call_id;
  return "";
}

void ServerRequestHandlers::SendRelayAnswers(
    const json::object& params, const std::vector<std::pair<std::string, json::value>>& asked,
    bool cleared) {
  // The client's answers go back as the JSON-RPC responses to the server's requests.
  const json::value* responses = params.if_contains("inputResponses");
  for (const auto& [key, server_id] : asked) {
    const json::value* r = responses != nullptr && responses->is_object()
                               ? responses->get_object().if_contains(key)
                               : nullptr;
    {
      std::lock_guard lock(mu_);
      relay_request_ids_.erase(IdKey(server_id));
    }
    if (!cleared) {
      link_.SendToServer(ErrorResponse(server_id, kRelayError, "Interlock: the call was stopped"));
    } else if (r != nullptr && r->is_object()) {
      json::object result = r->get_object();
      result.erase("resultType");  // a 2025 server has none
      link_.SendToServer(ResultResponse(server_id, std::move(result)));
    } else {
      link_.SendToServer(ErrorResponse(server_id, kRelayError,
                                       "Interlock: the MCP client did not answer the request"));
    }
  }
}

bool ServerRequestHandlers::ContinueRelayedCall(json::value& doc, const json::value& id,
                                                const std::string& tool, const json::object& args) {
  json::object& params = doc.get_object().at("params").get_object();
  const json::value* state = params.if_contains("requestState");
  if (state == nullptr || !state->is_string() ||
      !state->get_string().starts_with(kRelayStatePrefix)) {
    return false;
  }
  std::string call_key;
  RelayedCall c;
  const std::string refuse =
      ClaimRelayState(std::string(state->get_string()), OpenKey(tool, args), &call_key, &c);
  if (!refuse.empty()) {
    Enforcer::Outcome o = link_.DecideRefusal(&doc.get_object().at("params"), refuse);
    Log("refused a retry: " + refuse + " (call " + o.call_id + ")");
    link_.AnswerClient(ResultResponse(id, link_.Denial(o.decision)));
    return true;
  }
  // Decided once, rounds ago: a kill switch engaged since stops the call at the server.
  Status clear = enforcer_->KillSwitchClear();
  SendRelayAnswers(params, c.asked, clear.ok());
  std::optional<PendingRequest> parked;
  std::optional<json::value> early;
  std::vector<json::object> stale;  // queued requests of a call already answered or stopped
  json::object next;                // the next round's input_required, if any
  bool gone = false;
  {
    std::lock_guard lock(mu_);
    auto kept = relayed_.find(call_key);
    PendingRequest* p = link_.CallLocked(call_key);
    if (kept == relayed_.end()) {
      gone = true;  // the session is ending (ReapRelayedCalls took every round)
    } else if (RelayedCall& open = kept->second; !clear.ok() || open.answer) {
      stale.swap(open.queued);
      for (const json::object& q : stale) relay_request_ids_.erase(IdKey(q.at("id")));
      if (open.answer) {
        early = std::move(open.answer);
        parked = std::move(open.answered);
      } else if (p != nullptr) {
        parked = link_.TakeCallLocked(call_key);
      }
      relayed_.erase(call_key);
    } else if (p == nullptr) {
      gone = true;
      stale.swap(open.queued);
      for (const json::object& q : stale) relay_request_ids_.erase(IdKey(q.at("id")));
      relayed_.erase(call_key);
    } else {
      // The retry takes over the call still at the server.
      PendingRequest& call = *p;
      call.client_id = id;
      call.relayed = !open.queued.empty();
      link_.BindClientIdLocked(id, std::stoull(call_key));
      if (const json::object* meta = MetaOf(doc.get_object())) {
        if (const json::value* t = meta->if_contains("progressToken")) {
          call.client_progress_token = *t;
        }
      }
      if (!open.queued.empty()) {
        next = OpenRelayRoundLocked(open, call_key, id);
        call.client_id = nullptr;
        call.client_progress_token = nullptr;
      }
      link_.TraceUpstreamStartedLocked(id);
    }
  }
  for (const json::object& q : stale) {
    link_.SendToServer(ErrorResponse(q.at("id"), kRelayError, "Interlock: the call has ended"));
  }
  if (!clear.ok()) {
    const bool kill = clear.error().kind == ErrorKind::kPermissionDenied;
    if (!early) {
      // The server stops the call (its answer, if any, is dropped as unmatched).
      link_.SendToServer(
          json::object{{"jsonrpc", "2.0"},
                       {"method", "notifications/cancelled"},
                       {"params", json::object{{"requestId", std::stoull(call_key)},
                                               {"reason", "stopped by Interlock"}}}});
    }
    link_.RefuseCall(id, tool, c.call_id, kill ? Code::kKillSwitch : Code::kStoreUnavailable,
                     (kill ? std::string() : "the kill switch could not be checked: ") +
                         clear.error().message + "; the continued call is not forwarded");
    return true;
  }
  if (gone) {
    link_.RefuseCall(id, tool, "", Code::kInvalidRequest,
                     "the MCP server is gone; the call may or may not have run");
    return true;
  }
  if (early) {
    // The server answered while the round was open: that answer is the retry's.
    parked->client_id = id;
    parked->relayed = false;
    {
      std::lock_guard lock(mu_);
      link_.BindClientIdLocked(id, std::stoull(call_key));
      link_.PutCallLocked(call_key, std::move(*parked));
    }
    link_.HandleServerResponse(std::move(*early), json::value(std::stoull(call_key)));
    return true;
  }
  if (!next.empty()) {
    relay_cv_.notify_all();
    link_.AnswerClient(next);
  }
  return true;
}

ServerRequestHandlers::RelayedAnswer ServerRequestHandlers::KeepRelayedAnswerLocked(
    json::value& doc, std::optional<PendingRequest>& p, std::vector<json::object>* stale) {
  const std::string key = IdKey(doc.get_object().at("id"));
  if (!p->relayed || !p->client_id.is_null()) {
    relayed_.erase(key);  // its rounds are over (none open: the client holds the call)
    return RelayedAnswer::kNotRelayed;
  }
  auto it = relayed_.find(key);
  if (it == relayed_.end() || it->second.abandoned) {
    if (it != relayed_.end()) relayed_.erase(it);
    return RelayedAnswer::kRecord;
  }
  it->second.answer = std::move(doc);
  it->second.answered = std::move(p);
  // Questions not yet shown are moot: the call is answered.
  stale->swap(it->second.queued);
  for (const json::object& q : *stale) relay_request_ids_.erase(IdKey(q.at("id")));
  return RelayedAnswer::kKept;
}

bool ServerRequestHandlers::ForgetRelayedRequest(const json::value& server_request_id) {
  const std::string rkey = IdKey(server_request_id);
  std::lock_guard lock(mu_);
  auto r = relay_request_ids_.find(rkey);
  if (r == relay_request_ids_.end()) return false;
  if (auto c = relayed_.find(r->second); c != relayed_.end()) {
    // Withdrawn: not shown any more, and an answer to it is not sent.
    auto& q = c->second.queued;
    q.erase(std::remove_if(q.begin(), q.end(),
                           [&](const json::object& o) { return IdKey(o.at("id")) == rkey; }),
            q.end());
    auto& a = c->second.asked;
    a.erase(std::remove_if(a.begin(), a.end(),
                           [&](const auto& kv) { return IdKey(kv.second) == rkey; }),
            a.end());
  }
  relay_request_ids_.erase(r);
  return true;
}

void ServerRequestHandlers::RelayReaper() {
  std::unique_lock lock(mu_);
  while (!relay_stop_) {
    auto next = std::chrono::steady_clock::now() + relay_round_timeout_;
    bool due = false;
    for (const auto& [key, c] : relayed_) {
      if (c.state.empty()) continue;
      next = std::min(next, c.deadline);
      due = due || c.deadline <= std::chrono::steady_clock::now();
    }
    if (due) {
      lock.unlock();
      ReapRelayedCalls(/*all=*/false, "");
      lock.lock();
      continue;
    }
    relay_cv_.wait_until(lock, next);
  }
}

void ServerRequestHandlers::ReapRelayedCalls(bool all, std::string_view why) {
  std::vector<json::value> refused;  // the server's requests nobody will answer
  std::vector<std::pair<json::value, PendingRequest>> answers;  // to record
  std::vector<OpenCall> never;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    for (auto it = relayed_.begin(); it != relayed_.end();) {
      RelayedCall& c = it->second;
      if (c.state.empty() && !all) {
        ++it;
        continue;
      }
      if (!all && c.deadline > now) {
        ++it;
        continue;
      }
      relay_states_.erase(c.state);
      for (auto& [key, sid] : c.asked) refused.push_back(sid);
      for (json::object& q : c.queued) refused.push_back(q.at("id"));
      for (const json::value& sid : refused) relay_request_ids_.erase(IdKey(sid));
      if (c.answer) {
        answers.emplace_back(std::move(*c.answer), std::move(*c.answered));
        it = relayed_.erase(it);
      } else if (all) {
        if (PendingRequest* p = link_.CallLocked(it->first);
            p != nullptr && p->relayed && p->client_id.is_null()) {
          OpenCall oc;
          oc.outcome = p->outcome;
          oc.credential_json = p->credential_json;
          never.push_back(std::move(oc));
          (void)link_.TakeCallLocked(it->first);
        }
        it = relayed_.erase(it);
      } else {
        // The outcome is recorded when the server answers (KeepRelayedAnswerLocked).
        c.state.clear();
        c.asked.clear();
        c.queued.clear();
        c.abandoned = true;
        ++it;
      }
    }
  }
  const std::string text = all ? "Interlock: " + std::string(why)
                               : "Interlock: the MCP client did not answer within " +
                                     std::to_string(relay_round_timeout_.count() / 1000) + " s";
  // The gateway ending sends nothing: its transport may be gone already.
  if (!all) {
    for (const json::value& sid : refused)
      link_.SendToServer(ErrorResponse(sid, kRelayError, text));
  }
  for (auto& [doc, p] : answers) link_.HandleToolResult(doc.get_object(), p);
  for (const OpenCall& c : never) {
    link_.RecordNeverRetried(c,
                             "the session ended before the client answered the server's question");
  }
}

}  // namespace interlock::mcp
