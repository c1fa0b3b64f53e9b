// POST /v1/hooks/claude-code: Claude Code's HTTP hook (docs/mcp.md#claude-code-http-hooks).
// A door written against the core facade only: core::Authenticator (who), core::Calls
// (the session's run, results), core::Guard (the decision) and doors/claude_code/contract.h
// (the hook contract, shared with `interlock hook claude-code`).
//
// Claude Code takes a non-2xx answer, or one that is not JSON, as a hook error and lets
// the tool run (unless the hook says "onFailure": "block"). So everything this door refuses
// (no or a wrong bearer, a reviewer's token, a bad body, a store that cannot answer) is a
// 200 whose JSON denies the call, in the shape of the event that was sent.
//
// One Interlock run per agent and Claude Code session: "cc-" + 32 hex digits of
// SHA-256(agent id, session id), started on the session's first event. A session id sent
// under another agent's token is another run, so no agent sees or moves another's. A
// sub-agent's events (agent_id, agent_type) are decided in a child run of the session's
// (claude_code::ClaudeCodeSubagentRunId), started by SubagentStart or its first event, whichever
// comes first, and ended by SubagentStop (docs/governance.md#child-runs).
// With a tool_use_id the events of one tool use share an Idempotency-Key
// (claude_code::ToolUseKeyOf, as the command hook): a PermissionRequest after a PreToolUse of the
// same call is answered the verdict already given (counted once), and a PostToolUse finds the call
// its PreToolUse allowed.
#include <iostream>
#include <string>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>

#include "common/json.h"
#include "core/app/calls.h"
#include "doors/claude_code/contract.h"
#include "doors/http_api/api.h"
#include "doors/http_api/api_internal.h"

namespace interlock::server {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

// Runs remembered as joined (Api::hook_runs_, Api::JoinRunOnce): ~100 bytes each.
constexpr size_t kMaxJoinedRuns = 1 << 16;

HttpResponse HookResponse(claude_code::HookEvent event, const claude_code::HookAnswer& answer) {
  HttpResponse res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = claude_code::HookAnswerJson(event, answer);
  return res;
}

// The tool use's key (claude_code::ToolUseKeyOf: shared with the command hook).
core::IdempotencyKey ToolUseKey(const claude_code::HookInput& in) {
  claude_code::HookToolUseKey k = claude_code::ToolUseKeyOf(in);
  return {std::move(k.key), std::move(k.request_sha256)};
}

}  // namespace

void Api::HandleClaudeCodeHook(const Route& route, HttpRequest req, bool defer,
                               std::string bad_query, Responder r) {
  const std::string_view body(req.body().data(), req.body().size());
  // Parsed once; a body that does not parse is sniffed for its event (a second, failing
  // parse), so the refusal still comes in the shape of the event sent.
  auto input = claude_code::ParseAnyHookInput(body);
  const claude_code::HookEvent event =
      input.ok() ? input->event : claude_code::SniffHookEvent(body);
  auto deny = [&](std::string why) { r.Send(HookResponse(event, claude_code::HookDeny(why))); };
  const BearerHeader bearer = ReadBearer(req);
  core::AuthnResult who = authn_->Bearer(bearer.token, !bearer.header.empty());
  if (!who.ok()) {
    if (who.refusal.outcome == core::AuthnOutcome::kUnavailable) metrics_->RecordStoreError();
    return deny("the hook's bearer token was refused (" + who.refusal.message +
                "); send the agent's token: \"headers\": {\"Authorization\": \"Bearer "
                "$INTERLOCK_TOKEN\"} with INTERLOCK_TOKEN in \"allowedEnvVars\"");
  }
  if (const char* refusal = RoleRefusal(route, http::verb::post, who.caller->principal.role)) {
    return deny(refusal);
  }
  if (!bad_query.empty()) return deny("the hook's URL is wrong: " + bad_query);
  if (!input.ok()) return deny(input.error().message);
  const std::string& agent = who.caller->principal.agent_id;
  std::string run_id = claude_code::ClaudeCodeRunId(agent, input->session_id);
  // An event of a sub-agent is decided in the sub-agent's child run of the session's run.
  std::string child_id;
  if (!input->agent_id.empty()) {
    child_id = claude_code::ClaudeCodeSubagentRunId(agent, input->session_id, input->agent_id);
  }
  const bool lifecycle = input->event == claude_code::HookEvent::kSubagentStart ||
                         input->event == claude_code::HookEvent::kSubagentStop;
  const std::string& target = child_id.empty() ? run_id : child_id;
  bool joined;
  {
    std::lock_guard lock(hook_runs_mu_);
    joined = hook_runs_.count(target) != 0;
  }
  if (joined && !lifecycle) {
    return ServeHookEvent(*who.caller, target, std::move(*input), defer, std::move(r));
  }
  Blocking([this, c = std::move(*who.caller), in = std::move(*input), run_id = std::move(run_id),
            child_id = std::move(child_id), lifecycle, defer, r]() mutable {
    // The session's workspace is taken from its first event (core::Calls::JoinRun): a later
    // event's cwd (a `cd` in the Bash tool) never moves it; a sub-agent's run takes its
    // parent's (core::CreateChildRunInTxn).
    const core::SessionOrigin origin{in.cwd, c.principal.workspace_roots};
    Status s = JoinHookRun(c.principal.agent_id, run_id, origin);
    if (s.ok() && !child_id.empty()) {
      s = JoinHookChildRun(c.principal.agent_id, run_id, child_id, in.agent_type);
    }
    const std::string& target = child_id.empty() ? run_id : child_id;
    if (!s.ok()) {
      if (lifecycle) {
        std::cerr << "interlock serve: the Claude Code hook could not start the sub-agent's run "
                  << target << ": " << s.error().message << '\n';
      }
      return r.Send(HookResponse(in.event, claude_code::HookDeny("cannot start the run " + target +
                                                                 ": " + s.error().message)));
    }
    if (lifecycle) return ServeSubagentEvent(c, target, std::move(in), std::move(r));
    ServeHookEvent(c, target, std::move(in), defer, std::move(r));
  });
}

Status Api::JoinHookChildRun(const std::string& agent_id, const std::string& run_id,
                             const std::string& child_id, const std::string& agent_type) {
  return JoinRunOnce(child_id, [&]() -> Status {
    core::ChildRunRequest rq;
    rq.agent_id = agent_id;
    rq.run_id = child_id;
    rq.parent_run_id = run_id;
    rq.role = agent_type;
    rq.limits = options_.child_runs;
    auto run = calls_.JoinChildRun(std::move(rq));
    return run.ok() ? Status::Ok() : Status(run.error());
  });
}

void Api::ServeSubagentEvent(const Caller& c, const std::string& child_id,
                             claude_code::HookInput in, Responder r) {
  // SubagentStart: the child run is started (above). SubagentStop: it ends; a later event
  // of the sub-agent is refused (the run has ended). Neither event takes a decision: a
  // sub-agent is never kept running by Interlock.
  if (in.event == claude_code::HookEvent::kSubagentStop) {
    if (Status s = calls_.EndRun(child_id, c.principal.agent_id); !s.ok()) {
      if (s.error().kind == ErrorKind::kUnavailable) metrics_->RecordStoreError();
      std::cerr << "interlock serve: the Claude Code hook could not end the sub-agent's run "
                << child_id << ": " << s.error().message << '\n';
    }
  }
  r.Send(HookResponse(in.event, {claude_code::HookVerdict::kNoDecision, ""}));
}

Status Api::JoinHookRun(const std::string& agent_id, const std::string& run_id,
                        const core::SessionOrigin& origin) {
  return JoinRunOnce(run_id, [&]() -> Status {
    auto run = calls_.JoinRun(agent_id, run_id, &origin);
    return run.ok() ? Status::Ok() : Status(run.error());
  });
}

Status Api::JoinRunOnce(const std::string& run_id, const std::function<Status()>& join) {
  {
    std::lock_guard lock(hook_runs_mu_);
    if (hook_runs_.count(run_id) != 0) return Status::Ok();
  }
  if (Status s = join(); !s.ok()) {
    if (s.error().kind == ErrorKind::kUnavailable) metrics_->RecordStoreError();
    return s;
  }
  std::lock_guard lock(hook_runs_mu_);
  if (hook_runs_.size() >= kMaxJoinedRuns) hook_runs_.clear();
  hook_runs_.insert(run_id);
  return Status::Ok();
}

void Api::ServeHookEvent(const Caller& c, const std::string& run_id, claude_code::HookInput in,
                         bool defer, Responder r) {
  switch (in.event) {
    case claude_code::HookEvent::kPreToolUse:
    case claude_code::HookEvent::kPermissionRequest:
      return DecideHook(c, run_id, std::move(in), defer, std::move(r));
    case claude_code::HookEvent::kPostToolUse:
    case claude_code::HookEvent::kPermissionDenied:
      return RecordHookReport(c, run_id, std::move(in), std::move(r));
    case claude_code::HookEvent::kSubagentStart:
    case claude_code::HookEvent::kSubagentStop:
      return Blocking([this, c, run_id, in = std::move(in), r]() mutable {
        ServeSubagentEvent(c, run_id, std::move(in), std::move(r));
      });
  }
}

void Api::DecideHook(const Caller& c, const std::string& run_id, claude_code::HookInput in,
                     bool defer, Responder r) {
  core::IdempotencyKey key = ToolUseKey(in);
  ToolCall call = claude_code::HookCall(in);
  guard_->DecideAsync(
      c.principal.agent_id, c.principal.name, run_id, std::move(call),
      [this, r, agent_id = c.principal.agent_id, in = std::move(in),
       defer](core::GuardResponse&& g) {
        // Counted by the core's observer (daemon/decision_metrics.h), as every door's.
        net::post(r.executor(), [this, r, agent_id, in, defer, g = std::move(g)]() mutable {
          claude_code::HookContext ctx;
          ctx.defer_pending = defer;
          ctx.permission_mode = in.permission_mode;
          if (g.decision.verdict == Verdict::kApprovalRequired && !g.call_id.empty()) {
            const std::string approval_id = core::ApprovalIdOf(g.call_id);
            const std::string url = ApprovalUrl(approval_id);
            ctx.pending_where = "approval " + approval_id + (url.empty() ? "" : " at " + url);
          }
          r.Send(HookResponse(in.event, claude_code::HookAnswerFor(g.decision, ctx)));
        });
      },
      {}, std::move(key), c.identity.issuer.empty() ? nullptr : &c.identity);
}

void Api::RecordHookReport(const Caller& c, const std::string& run_id, claude_code::HookInput in,
                           Responder r) {
  // What Claude Code reports without asking is recorded as a refused call (core::
  // HookReportedCall); with the tool use's key a PostToolUse of a call decided before finds
  // that call instead (RecordRanOrResult), and a resent PermissionDenied is recorded once.
  const bool post = in.event == claude_code::HookEvent::kPostToolUse;
  ToolCall call = claude_code::HookReportedCall(in);
  core::IdempotencyKey key = ToolUseKey(in);
  // The command hook with --daemon decided its PreToolUse through POST /v1/runs/{run}/calls
  // under the same key name, bound to that route's request: asked the same way, so its
  // decision is found too (the key's name holds the call's hash: the same tool use).
  core::IdempotencyKey routed{
      key.key,
      IdempotencyRequestSha256({"POST /v1/runs/", run_id, "/calls"},
                               json::object{{"tool", in.tool_name}, {"args", in.tool_input}})};
  auto answer = [r](claude_code::HookEvent event) mutable {
    net::post(r.executor(), [r, event]() mutable {
      r.Send(HookResponse(event, {claude_code::HookVerdict::kNoDecision, ""}));
    });
  };
  guard_->DecideAsync(
      c.principal.agent_id, c.principal.name, run_id, std::move(call),
      [this, c, r, run_id, in = std::move(in), post, routed = std::move(routed),
       answer](core::GuardResponse&& g) mutable {
        if (post && g.replayed && !g.call_id.empty()) {
          return Blocking([this, c, r, run_id, in = std::move(in), g = std::move(g)]() mutable {
            RecordRanOrResult(c, run_id, std::move(in), std::move(g), std::move(r));
          });
        }
        if (!post || g.error != ErrorKind::kAlreadyExists || routed.key.empty()) {
          return answer(in.event);
        }
        // The key is taken by a request of another shape: the command hook's PreToolUse.
        guard_->DecideAsync(
            c.principal.agent_id, c.principal.name, run_id, claude_code::HookCall(in),
            [this, c, r, run_id, in, answer](core::GuardResponse&& h) mutable {
              if (!h.replayed || h.call_id.empty()) return answer(in.event);
              Blocking([this, c, r, run_id, in = std::move(in), h = std::move(h)]() mutable {
                RecordRanOrResult(c, run_id, std::move(in), std::move(h), std::move(r));
              });
            },
            {}, std::move(routed), c.identity.issuer.empty() ? nullptr : &c.identity);
      },
      {}, std::move(key), c.identity.issuer.empty() ? nullptr : &c.identity);
}

void Api::RecordRanOrResult(const Caller& c, const std::string& run_id, claude_code::HookInput in,
                            core::GuardResponse g, Responder r) {
  const std::string call_id = g.call_id;
  Decision decided = std::move(g.decision);
  if (decided.verdict == Verdict::kApprovalRequired) {
    // Held for approval when decided: what its approval made of it since.
    if (auto now = calls_.GetCall(call_id); now.ok()) decided = now->record.decision;
  }
  std::optional<ToolCall> ran = claude_code::HookRanAnywayCall(in, decided, call_id);
  if (!ran) {
    // A PostToolUse of a call allowed: its result (capped as POST .../result).
    core::CallResult result;
    const boost::json::value* is_error = in.tool_response.is_object()
                                             ? in.tool_response.get_object().if_contains("is_error")
                                             : nullptr;
    result.ok = !(is_error != nullptr && is_error->is_bool() && is_error->get_bool());
    result.output_json = CanonicalJson(in.tool_response);
    result.max_output_bytes = options_.max_output_bytes;
    if (Status s =
            calls_.RecordResult(call_id, c.principal.agent_id, c.principal.name, std::move(result));
        !s.ok() && s.error().kind != ErrorKind::kAlreadyExists) {
      std::cerr << "interlock serve: the Claude Code hook could not record the result of "
                << call_id << ": " << s.error().message << '\n';
    }
    return r.Send(HookResponse(in.event, {claude_code::HookVerdict::kNoDecision, ""}));
  }
  // Under a key of its own: a resent report is replayed (recorded once), never swallowed
  // by the replay of the PreToolUse's key.
  claude_code::HookToolUseKey k = claude_code::RanAnywayKeyOf(in);
  const std::string tool = in.tool_name;
  std::string reason = ran->refusal_reason;
  guard_->DecideAsync(
      c.principal.agent_id, c.principal.name, run_id, std::move(*ran),
      [this, c, r, run_id, tool, reason = std::move(reason),
       event = in.event](core::GuardResponse&& h) mutable {
        if (h.replayed || h.call_id.empty()) {
          if (h.call_id.empty()) {
            metrics_->RecordStoreError();
            std::cerr << "interlock serve: could not record a call Claude Code ran although it "
                         "was not allowed: "
                      << h.decision.reason << '\n';
          }
          net::post(r.executor(), [r, event]() mutable {
            r.Send(HookResponse(event, {claude_code::HookVerdict::kNoDecision, ""}));
          });
          return;
        }
        metrics_->RecordHookRanAnyway();
        Blocking([this, c, r, run_id, tool, reason = std::move(reason), event,
                  call_id = h.call_id]() mutable {
          std::cerr << "interlock serve: INCIDENT: call " << call_id << " (" << tool
                    << ") ran although Interlock did not allow it\n";
          if (Status s = calls_.RecordIncident(call_id, run_id, c.principal.agent_id, tool, reason,
                                               "interlock (Claude Code PostToolUse)");
              !s.ok()) {
            metrics_->RecordStoreError();
            std::cerr << "interlock serve: could not record the incident of call " << call_id
                      << ": " << s.error().message << '\n';
          }
          r.Send(HookResponse(event, {claude_code::HookVerdict::kNoDecision, ""}));
        });
      },
      {}, core::IdempotencyKey{std::move(k.key), std::move(k.request_sha256)},
      c.identity.issuer.empty() ? nullptr : &c.identity);
}

}  // namespace interlock::server
