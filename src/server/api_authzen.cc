// POST /access/v1/evaluation and /access/v1/evaluations: the OpenID AuthZEN 1.0 evaluation
// API (docs/gateways.md#authzen). A door written against the core facade only: the agent is
// the bearer token's (core::Authenticator, through Api::Authenticate), the request is read
// onto tool calls by core::ReadAuthzenRequest, each is decided by core::Guard (the decide
// route's one decision path: budgets, workflows, approvals, kill switches, audit) and
// answered by core::AuthzenAnswerJson. A request that is no AuthZEN request this door can
// read is 400 with a JSON body saying why; every decision, deny and error included, is 200
// with `decision` false unless the core allowed the call.
//
// The run: one per agent and credential, "az-" + 32 hex digits of SHA-256(agent, the JWT's
// issuer and subject, the bearer token), started on its first evaluation, so budgets and
// workflows count across a client's evaluations and an approved call retried identically
// redeems its grant.
#include <chrono>
#include <future>
#include <string>
#include <utility>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "common/crypto.h"
#include "core/app/authzen.h"
#include "core/app/calls.h"
#include "server/api.h"
#include "server/api_internal.h"

namespace interlock::server {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr size_t kMaxCachedAuthzenRuns = 1 << 16;

HttpResponse AuthzenBadRequest(std::string why) { return JsonError(400, "INVALID_REQUEST", why); }

}  // namespace

Status Api::JoinAuthzenRun(const Caller& c, const std::string& run_id) {
  {
    std::lock_guard lock(hook_runs_mu_);
    if (hook_runs_.count(run_id) != 0) return Status::Ok();
  }
  if (auto run = calls_.JoinRun(c.principal.agent_id, run_id); !run.ok()) {
    if (run.error().kind == ErrorKind::kUnavailable) metrics_->RecordStoreError();
    return run.error();
  }
  std::lock_guard lock(hook_runs_mu_);
  if (hook_runs_.size() >= kMaxCachedAuthzenRuns) hook_runs_.clear();
  hook_runs_.insert(run_id);
  return Status::Ok();
}

core::AuthzenOutcome Api::DecideAuthzen(const Caller& c, const std::string& run_id, ToolCall call) {
  const auto start = std::chrono::steady_clock::now();
  std::promise<core::GuardResponse> promise;
  std::future<core::GuardResponse> future = promise.get_future();
  guard_->DecideAsync(
      c.principal.agent_id, c.principal.name, run_id, std::move(call),
      [&promise](core::GuardResponse&& g) { promise.set_value(std::move(g)); }, {}, {},
      c.identity.issuer.empty() ? nullptr : &c.identity);
  core::GuardResponse g = future.get();
  core::AuthzenOutcome out;
  out.error = g.error.has_value();
  if (g.error && *g.error != ErrorKind::kInvalidArgument) metrics_->RecordStoreError();
  metrics_->RecordDecision(
      c.principal.agent_id,
      g.error == ErrorKind::kInvalidArgument ? Code::kInvalidRequest : g.decision.code,
      std::chrono::steady_clock::now() - start);
  out.decision = std::move(g.decision);
  out.call_id = std::move(g.call_id);
  out.run_id = run_id;
  if (out.decision.verdict == Verdict::kApprovalRequired && !out.call_id.empty()) {
    out.approval_id = core::ApprovalIdOf(out.call_id);
    out.approval_url = ApprovalUrl(out.approval_id);
  }
  return out;
}

void Api::HandleAuthzen(const Caller& c, HttpRequest req, bool batch, Responder r) {
  Result<json::object> body = ParseObjectBody(req, options_.max_body_bytes, false);
  if (!body.ok()) return r.Send(AuthzenBadRequest("AuthZEN request: " + body.error().message));
  Result<core::AuthzenRequest> ask = core::ReadAuthzenRequest(*body, batch, c.principal.agent_id);
  if (!ask.ok()) return r.Send(AuthzenBadRequest(ask.error().message));
  const BearerHeader bearer = ReadBearer(req);
  std::string run_id =
      "az-" + Sha256Hex(c.principal.agent_id + "\n" + c.identity.issuer + "\n" +
                        c.identity.subject + "\n" + std::string(bearer.token.value_or("")))
                  .substr(0, 32);
  Blocking([this, c, run_id = std::move(run_id), ask = std::move(*ask), r]() mutable {
    if (Status s = JoinAuthzenRun(c, run_id); !s.ok()) {
      // Fail closed: no run, no decision, and never an allow.
      const std::string why = "Interlock could not open the run " + run_id + ": " +
                              s.error().message + "; the evaluation is denied (fail closed)";
      json::object deny{{"decision", false},
                        {"context", json::object{{"code", "STORE_UNAVAILABLE"},
                                                 {"reason", why},
                                                 {"reason_user", json::object{{"en", why}}}}}};
      if (!ask.batch_answer) return r.Send(JsonResponse(200, deny));
      return r.Send(JsonResponse(200, json::object{{"evaluations", json::array{deny}}}));
    }
    json::array answers;
    for (core::AuthzenEvaluation& e : ask.evaluations) {
      core::AuthzenOutcome o = DecideAuthzen(c, run_id, std::move(e.call));
      json::object answer = core::AuthzenAnswerJson(o);
      const bool decided = answer.at("decision").as_bool();
      answers.push_back(std::move(answer));
      if (core::AuthzenStopsAfter(ask.semantic, decided)) break;
    }
    if (!ask.batch_answer) return r.Send(JsonResponse(200, answers.at(0)));
    r.Send(JsonResponse(200, json::object{{"evaluations", std::move(answers)}}));
  });
}

}  // namespace interlock::server
