// Runs: start, read, list, usage, end, and the replay of a run from the audit log.
#include <algorithm>
#include <string>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "common/json.h"
#include "core/app/tool_calls.h"
#include "doors/claude_code/contract.h"
#include "doors/http_api/api.h"
#include "doors/http_api/api_internal.h"

namespace interlock::server {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

void Api::HandleCreateRun(const Caller& c, const HttpRequest& req, Responder r) {
  auto body = ParseObjectBody(req, 4096, /*allow_empty=*/true);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  if (const json::value* session = body->if_contains("claude_code_session")) {
    // The session's one run, whatever the client remembers (a hook that lost its state
    // file lands in the same run, with the same budgets).
    if (!session->is_string() || session->get_string().empty() ||
        session->get_string().size() > 1024) {
      return r.Send(InvalidRequest("claude_code_session must be a string of 1 to 1024 bytes"));
    }
    const std::string run_id =
        claude_code::ClaudeCodeRunId(c.principal.agent_id, std::string_view(session->get_string()));
    // The session's cwd (the command hook's input), the workspace of a run started now.
    core::SessionOrigin origin{"", c.principal.workspace_roots};
    if (const json::value* cwd = body->if_contains("cwd")) {
      if (!cwd->is_string() || cwd->get_string().size() > 4096) {
        return r.Send(InvalidRequest("cwd must be a string of at most 4096 bytes"));
      }
      origin.cwd = std::string(cwd->get_string());
    }
    return Blocking([this, c, r, run_id, origin = std::move(origin)] {
      if (Status s = JoinHookRun(c.principal.agent_id, run_id, origin); !s.ok()) {
        return r.Send(StoreError(s.error()));
      }
      r.Send(
          JsonResponse(200, json::object{{"run_id", run_id}, {"agent_id", c.principal.agent_id}}));
    });
  }
  if (const json::value* parent = body->if_contains("parent_run_id")) {
    return CreateChildRun(c, *parent, body->if_contains("role"), std::move(r));
  }
  Blocking([this, c, r] {
    auto run = calls_.StartRun(c.principal.agent_id);
    if (!run.ok()) return r.Send(StoreError(run.error()));
    metrics_->RunStarted();
    r.Send(JsonResponse(201, json::object{{"run_id", run->run_id},
                                          {"agent_id", run->agent_id},
                                          {"started", FormatRfc3339(run->started)}}));
  });
}

void Api::CreateChildRun(const Caller& c, const json::value& parent, const json::value* role,
                         Responder r) {
  if (!parent.is_string() || parent.get_string().empty() || parent.get_string().size() > 256) {
    return r.Send(InvalidRequest("parent_run_id must be a string of 1 to 256 bytes"));
  }
  if (role != nullptr && (!role->is_string() || role->get_string().size() > 256)) {
    return r.Send(InvalidRequest("role must be a string of at most 256 bytes"));
  }
  core::ChildRunRequest rq;
  rq.agent_id = c.principal.agent_id;
  rq.parent_run_id = std::string(parent.get_string());
  if (role != nullptr) rq.role = std::string(role->get_string());
  rq.limits = options_.child_runs;
  Blocking([this, r, rq = std::move(rq)]() mutable {
    auto run = calls_.StartChildRun(std::move(rq));
    if (!run.ok()) return r.Send(StoreError(run.error()));
    metrics_->RunStarted();
    json::object out{{"run_id", run->run_id},
                     {"agent_id", run->agent_id},
                     {"started", FormatRfc3339(run->started)},
                     {"parent_run_id", run->parent_run_id},
                     {"depth", run->depth}};
    if (!run->role.empty()) out["role"] = run->role;
    r.Send(JsonResponse(201, std::move(out)));
  });
}

Result<json::array> Api::ChildRunIds(const std::string& run_id) {
  core::RunFilter f;
  f.parent_run_id = run_id;
  f.limit = 1000;
  Result<core::RunPage> page = calls_.ListRuns(f);
  if (!page.ok()) return page.error();
  json::array ids;
  for (const core::RunInfo& child : page->runs) ids.emplace_back(child.run_id);
  return ids;
}

void Api::HandleGetRun(const Caller& c, std::string run_id, Responder r) {
  Blocking([this, c, r, run_id] {
    auto run = calls_.GetRun(run_id);
    if (!run.ok()) return r.Send(StoreError(run.error()));
    if (c.principal.role == core::Role::kAgent && run->agent_id != c.principal.agent_id) {
      return r.Send(Forbidden("the run belongs to another agent"));
    }
    // The switch covering the run now (core::Kills' precedence), null when none: the MCP
    // gateway asks before it continues a call decided earlier (DaemonEnforcer).
    auto kill = kills_.Effective(run->agent_id, run_id);
    if (!kill.ok()) return r.Send(StoreError(kill.error()));
    json::object out = RunJson(*run, clock_->Now(), policies_->Current().get());
    out["kill_switch"] =
        *kill ? json::value(json::object{{"scope", (*kill)->scope}, {"reason", (*kill)->reason}})
              : json::value(nullptr);
    Result<json::array> children = ChildRunIds(run_id);
    if (!children.ok()) return r.Send(StoreError(children.error()));
    out["children"] = std::move(children).value();
    r.Send(JsonResponse(200, std::move(out)));
  });
}

void Api::HandleListRuns(core::RunFilter filter, Responder r) {
  Blocking([this, r, filter = std::move(filter)] {
    auto page = calls_.ListRuns(filter);
    if (!page.ok()) return r.Send(StoreError(page.error()));
    const TimePoint now = clock_->Now();
    const std::shared_ptr<const policy::PolicySet> set = policies_->Current();
    json::array runs;
    // Kill-switch drills' runs are listed only when asked for by their agent (docs/drill.md):
    // a page may then hold fewer runs than the limit, and next_cursor still leads on.
    const bool drills = filter.agent_id == core::kDrillAgentId;
    for (const core::RunInfo& run : page->runs) {
      if (!drills && run.agent_id == core::kDrillAgentId) continue;
      runs.push_back(RunJson(run, now, set.get()));
    }
    json::object out{{"runs", std::move(runs)}};
    if (!page->next_cursor.empty()) out["next_cursor"] = page->next_cursor;
    r.Send(JsonResponse(200, out));
  });
}

void Api::HandleUsage(const Caller& c, const HttpRequest& req, std::string run_id, Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, false);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  auto key = ReadIdempotencyKey(req, {"POST /v1/runs/", run_id, "/usage"}, *body);
  if (!key.ok()) return r.Send(InvalidRequest(key.error().message));
  auto usage = core::ReadUsage(json::value(std::move(*body)));
  if (!usage.ok()) return r.Send(InvalidRequest(usage.error().message));
  Blocking([this, c, r, run_id, u = *usage, k = key->value_or(core::IdempotencyKey{})] {
    Status s = calls_.AddUsage(run_id, c.principal.agent_id, u, k);
    if (!s.ok() && s.error().kind == ErrorKind::kAlreadyExists && !k.key.empty()) {
      return r.Send(IdempotencyConflict(s.error().message));
    }
    r.Send(s.ok() ? NoContent() : StoreError(s.error()));
  });
}

void Api::HandleEndRun(const Caller& c, std::string run_id, Responder r) {
  Blocking([this, c, r, run_id] {
    Status s = calls_.EndRun(run_id, c.principal.agent_id);
    if (s.ok()) metrics_->RunEnded();
    r.Send(s.ok() ? NoContent() : StoreError(s.error()));
  });
}

void Api::HandleReplay(std::string run_id, Responder r) {
  Blocking([this, run_id = std::move(run_id), r] {
    auto replay = audit_.ReplayRun(run_id);
    if (!replay.ok()) return r.Send(StoreError(replay.error()));
    json::object out = std::move(*replay);
    // The tree of runs around it (docs/governance.md#child-runs).
    auto run = calls_.GetRun(run_id);
    if (!run.ok() && run.error().kind != ErrorKind::kNotFound) {
      return r.Send(StoreError(run.error()));
    }
    if (run.ok() && !run->parent_run_id.empty()) out["parent_run_id"] = run->parent_run_id;
    Result<json::array> children = ChildRunIds(run_id);
    if (!children.ok()) return r.Send(StoreError(children.error()));
    out["children"] = std::move(children).value();
    // Every record of the run re-hashed from its stored body (audit::ReplayRun); the
    // whole chain's links are `interlock audit verify`'s (docs/console.md).
    const int64_t tampered =
        out.contains("tampered_records") ? out.at("tampered_records").to_number<int64_t>() : 1;
    out["chain"] = json::object{{"verified", tampered == 0},
                                {"records_checked", out.at("records")},
                                {"tampered_records", tampered}};
    r.Send(JsonResponse(200, out));
  });
}
}  // namespace interlock::server
