// POST /access/v1/evaluation and /access/v1/evaluations: the OpenID AuthZEN 1.0 evaluation
// API (docs/gateways.md#authzen). A door written against the core facade only: the agent is
// the bearer token's (core::Authenticator, through Api::Authenticate), the request is read
// onto tool calls by core::ReadAuthzenRequest, each is decided by core::Guard::DecideAsync
// (the decide route's one decision path: budgets, workflows, approvals, kill switches,
// audit), one after another from the store's answers (no thread waits for a commit), and
// answered by core::AuthzenAnswerJson. A request that is no AuthZEN request this door can
// read is 400 with a JSON body saying why (and `decision` false); every decision, deny and
// error included, is 200 with `decision` false unless the core allowed the call.
//
// The run: the X-Interlock-Run header's (a run of the caller's, started by POST /v1/runs:
// an unknown run is 404, another agent's 403), else one per agent and credential, "az-" +
// 32 hex digits of SHA-256(agent, the JWT's issuer and subject, the bearer token), started
// on its first evaluation, so budgets and workflows count across a client's evaluations
// and an approved call retried identically redeems its grant.
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "common/crypto.h"
#include "core/app/authzen.h"
#include "core/app/calls.h"
#include "doors/http_api/api.h"
#include "doors/http_api/api_internal.h"

namespace interlock::server {

namespace http = boost::beast::http;
namespace json = boost::json;

// One AuthZEN request's evaluations and their answers so far, shared by the chain of the
// Guard's asynchronous answers.
struct AuthzenPending {
  core::Caller caller;
  std::string run_id;
  core::AuthzenRequest ask;
  Responder r;
  json::array answers;                 // AuthzenAnswerJson per evaluation decided
  std::vector<std::string> approvals;  // call ids whose approval this request queued
  std::optional<HttpResponse> failed;  // not a decision: the named run is unknown or not theirs
};

namespace {

// 400 as an AuthZEN client reads it: `decision` false beside the error, so a client that
// reads `decision` before the status never takes the refusal for a permit.
HttpResponse AuthzenBadRequest(std::string why) {
  return JsonResponse(
      400,
      json::object{{"decision", false}, {"code", "INVALID_REQUEST"}, {"reason", std::move(why)}});
}

}  // namespace

Status Api::JoinAuthzenRun(const Caller& c, const std::string& run_id) {
  return JoinRunOnce(run_id, [&]() -> Status {
    auto run = calls_.JoinRun(c.principal.agent_id, run_id);
    return run.ok() ? Status::Ok() : Status(run.error());
  });
}

void Api::AuthzenDecideNext(std::shared_ptr<AuthzenPending> p) {
  const Caller& c = p->caller;
  ToolCall call = std::move(p->ask.evaluations[p->answers.size()].call);
  guard_->DecideAsync(
      c.principal.agent_id, c.principal.name, p->run_id, std::move(call),
      [this, p](core::GuardResponse&& g) mutable {
        // On the store's thread: the answer is built and handed on, nothing waits here.
        const Outcome outcome = g.outcome();
        if (const unsigned status = core::AuthzenStatusOf(outcome); status != 200) {
          p->failed =
              status == 404
                  ? JsonError(404, "NOT_FOUND", "unknown run " + p->run_id + " (X-Interlock-Run)")
                  : Forbidden("the run " + p->run_id + " belongs to another agent");
          return AuthzenFinish(std::move(p));
        }
        // Counted by the core's observer (daemon/decision_metrics.h), as every door's.
        core::AuthzenOutcome out;
        out.outcome = outcome;
        out.decision = std::move(g.decision);
        out.call_id = std::move(g.call_id);
        out.run_id = p->run_id;
        if (out.decision.verdict == Verdict::kApprovalRequired && !out.call_id.empty()) {
          out.approval_id = core::ApprovalIdOf(out.call_id);
          out.approval_url = ApprovalUrl(out.approval_id);
          if (!g.existing_call && !g.replayed) p->approvals.push_back(out.call_id);
        }
        json::object answer = core::AuthzenAnswerJson(out);
        const bool decided = answer.at("decision").as_bool();
        p->answers.push_back(std::move(answer));
        if (core::AuthzenStopsAfter(p->ask.semantic, decided) ||
            p->answers.size() == p->ask.evaluations.size()) {
          return AuthzenFinish(std::move(p));
        }
        AuthzenDecideNext(std::move(p));
      },
      {}, {}, c.identity.issuer.empty() ? nullptr : &c.identity);
}

void Api::AuthzenFinish(std::shared_ptr<AuthzenPending> p) {
  if (p->failed) {
    // Approvals an earlier evaluation queued are withdrawn: the answer that would have
    // named them is not a decision.
    for (const std::string& call_id : p->approvals) {
      WithdrawUnheard(p->caller.principal.agent_id, p->caller.principal.name, call_id);
    }
    return p->r.Send(std::move(*p->failed));
  }
  HttpResponse res = p->ask.batch_answer
                         ? JsonResponse(200, json::object{{"evaluations", std::move(p->answers)}})
                         : JsonResponse(200, p->answers.at(0));
  if (p->approvals.empty()) return p->r.Send(std::move(res));
  // This answer is the only place the queued approvals are named: if it cannot reach the
  // client, nobody will collect them, so they are withdrawn.
  p->r.Send(std::move(res),
            [this, agent_id = p->caller.principal.agent_id, principal = p->caller.principal.name,
             calls = std::move(p->approvals)](bool delivered) {
              if (delivered) return;
              for (const std::string& call_id : calls)
                WithdrawUnheard(agent_id, principal, call_id);
            });
}

void Api::HandleAuthzen(const Caller& c, HttpRequest req, bool batch, Responder r) {
  if (req.find("Idempotency-Key") != req.end()) {
    return r.Send(AuthzenBadRequest(
        "Idempotency-Key is not taken on the AuthZEN routes (docs/gateways.md#authzen): an "
        "evaluation asked again is decided again, and an approved call asked again "
        "identically in the same run redeems its grant"));
  }
  std::string named_run;
  if (auto it = req.find("X-Interlock-Run"); it != req.end()) {
    named_run = std::string(it->value());
    if (!ValidId(named_run)) return r.Send(AuthzenBadRequest("X-Interlock-Run is not a run id"));
  }
  Result<json::object> body = ParseObjectBody(req, options_.max_body_bytes, false);
  if (!body.ok()) return r.Send(AuthzenBadRequest("AuthZEN request: " + body.error().message));
  Result<core::AuthzenRequest> ask = core::ReadAuthzenRequest(*body, batch, c.principal.agent_id);
  if (!ask.ok()) return r.Send(AuthzenBadRequest(ask.error().message));
  auto p = std::make_shared<AuthzenPending>(
      AuthzenPending{c, std::move(named_run), std::move(*ask), std::move(r), {}, {}, {}});
  if (!p->run_id.empty()) return AuthzenDecideNext(std::move(p));  // the store checks the run
  const BearerHeader bearer = ReadBearer(req);
  p->run_id = "az-" + Sha256Hex(c.principal.agent_id + "\n" + c.identity.issuer + "\n" +
                                c.identity.subject + "\n" + std::string(bearer.token.value_or("")))
                          .substr(0, 32);
  {
    std::lock_guard lock(hook_runs_mu_);
    if (hook_runs_.count(p->run_id) != 0) return AuthzenDecideNext(std::move(p));
  }
  Blocking([this, p]() mutable {
    if (Status s = JoinAuthzenRun(p->caller, p->run_id); !s.ok()) {
      // Fail closed: no run, no decision, and never an allow.
      const std::string why = "Interlock could not open the run " + p->run_id + ": " +
                              s.error().message + "; the evaluation is denied (fail closed)";
      json::object deny{{"decision", false},
                        {"context", json::object{{"code", "STORE_UNAVAILABLE"},
                                                 {"reason", why},
                                                 {"reason_user", json::object{{"en", why}}}}}};
      if (!p->ask.batch_answer) return p->r.Send(JsonResponse(200, deny));
      return p->r.Send(JsonResponse(200, json::object{{"evaluations", json::array{deny}}}));
    }
    AuthzenDecideNext(std::move(p));
  });
}

}  // namespace interlock::server
