// Helpers shared by the Api's files (api_internal.h): JSON answers, ids, bodies, runs.
#include <algorithm>
#include <string>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "common/json_write.h"
#include "core/app/authn.h"
#include "core/app/calls.h"
#include "core/app/free_text.h"
#include "core/app/kills.h"
#include "doors/http_api/api.h"
#include "doors/http_api/api_internal.h"

namespace interlock::server {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

// An Idempotency-Key is at most this long (docs/api.md#idempotency).
constexpr size_t kMaxIdempotencyKeyBytes = 255;

HttpResponse JsonResponse(unsigned status, const json::value& body) {
  HttpResponse res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.body() = ToJsonText(body);
  return res;
}

HttpResponse JsonTextResponse(unsigned status, std::string body) {
  HttpResponse res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

HttpResponse NoContent() { return HttpResponse{http::status::no_content, 11}; }

// A decision as the API documents it (docs/api.md, openapi.yaml): DecisionToJson, whose
// "agent" key is also the stored and hashed audit form (never renamed there), with the
// agent under "agent_id" as in every other response.
json::object DecisionJson(const Decision& d) { return DecisionToJson(d, "agent_id"); }

HttpResponse InvalidRequest(std::string reason) {
  // The same object a deny decision has, so clients can treat a 400 like a decision.
  Decision d = DenyDecision(Code::kInvalidRequest, std::move(reason), "request");
  return JsonResponse(400, DecisionJson(d));
}

Result<std::string> FreeText(const json::value& v, std::string_view field) {
  if (!v.is_string()) return Error::Invalid(std::string(field) + " must be a string");
  const std::string_view text = v.get_string();
  if (Status s = core::CheckFreeText(text, field, kMaxReasonBytes); !s.ok()) return s.error();
  return std::string(text);
}

HttpResponse Forbidden(std::string_view reason) {
  return JsonError(403, "PERMISSION_DENIED", reason);
}

// Opaque ids (runs, calls) are short printable ASCII; anything else cannot exist.
bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  // ASCII by hand (the daemon never sets a locale, so std::isalnum is this, at a call into
  // the C library per byte).
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':';
  });
}

// The request's Idempotency-Key (docs/api.md#idempotency): nullopt without one; an error for
// a key that is empty, longer than 255 bytes, not printable ASCII, or sent twice. The key
// is bound to the SHA-256 of `what` (the route and its id, in pieces: joined only when a
// key was sent) and the body's canonical JSON, so the same key with another request is
// told apart (409).
Result<std::optional<core::IdempotencyKey>> ReadIdempotencyKey(
    const HttpRequest& req, std::initializer_list<std::string_view> what,
    const json::object& body) {
  auto range = req.equal_range("Idempotency-Key");
  if (range.first == range.second) return std::optional<core::IdempotencyKey>();
  if (std::next(range.first) != range.second) {
    return Error::Invalid("Idempotency-Key must be sent once");
  }
  const std::string_view key(range.first->value().data(), range.first->value().size());
  if (key.empty() || key.size() > kMaxIdempotencyKeyBytes ||
      !std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x20 && c <= 0x7e; })) {
    return Error::Invalid("Idempotency-Key must be 1 to 255 printable ASCII characters");
  }
  return std::optional<core::IdempotencyKey>(
      core::IdempotencyKey{std::string(key), IdempotencyRequestSha256(what, body)});
}

std::string IdempotencyRequestSha256(std::initializer_list<std::string_view> what,
                                     const json::object& body) {
  std::string canonical;
  for (std::string_view piece : what) canonical.append(piece);
  canonical.push_back('\n');
  AppendJson(body, JsonStyle::kCanonical, &canonical);
  return Sha256Hex(canonical);
}

HttpResponse IdempotencyConflict(std::string_view reason) {
  return JsonError(409, "IDEMPOTENCY_KEY_REUSED", reason);
}

// Parses a request body that must be a JSON object; an empty body is `{}` when allowed.
Result<json::object> ParseObjectBody(const HttpRequest& req, size_t max_bytes, bool allow_empty) {
  if (req.body().empty()) {
    if (allow_empty) return json::object{};
    return Error::Invalid("request body is empty; a JSON object is required");
  }
  JsonLimits limits;
  limits.max_bytes = max_bytes;
  auto doc = ParseJsonStrict(req.body(), limits);
  if (!doc.ok()) return Error::Invalid("request body is not valid JSON: " + doc.error().message);
  if (!doc->is_object()) return Error::Invalid("request body must be a JSON object");
  return std::move(doc->as_object());
}

json::object RunStateJson(const RunState& s) {
  json::object records;
  for (const auto& [tool, n] : s.records) records[tool] = n;
  return {{"steps", s.steps},
          {"tokens", s.tokens},
          {"cost_usd", static_cast<double>(s.cost_micros) / 1e6},
          {"elapsed_s", static_cast<double>(s.elapsed_ms) / 1e3},
          {"halted", s.halted},
          {"halt_reason", s.halt_reason},
          {"records", std::move(records)}};
}

void AppendRunStateJson(const RunState& s, std::string* out) {
  JsonObjectWriter w(JsonStyle::kReadable, out);
  AppendJsonUint(s.steps, w.Key("steps"));
  AppendJsonUint(s.tokens, w.Key("tokens"));
  AppendJsonScaled(s.cost_micros, 6, w.Key("cost_usd"));
  AppendJsonScaled(s.elapsed_ms, 3, w.Key("elapsed_s"));
  w.Bool("halted", s.halted);
  w.String("halt_reason", s.halt_reason);
  // Tool names are data: escaped as keys, which JsonObjectWriter's keys never are.
  AppendJsonCounts(s.records, w.Key("records"));
  w.End();
}

// A run as GET /v1/runs/{id} and GET /v1/runs show it; an active run's age is from `now`.
// With the run's sequence state (issue 15): "labels" (the labels its allowed calls carried)
// and, for an agent with a workflow (`policies` has it) or a run that moved, "workflow":
// {"state", "vars"} (the initial state until the first move).
json::object RunJson(const core::RunInfo& run, TimePoint now, const policy::PolicySet* policies) {
  RunState state = run.state;
  // The run's age: until now while it is open (halted too: a halted run is still open),
  // until it was ended once it is; an ended run whose end time was not kept says null.
  const std::optional<TimePoint> until = run.ended ? run.ended_at : std::optional(now);
  if (until)
    state.elapsed_ms = std::max<int64_t>(0, ToUnixMillis(*until) - ToUnixMillis(run.started));
  json::object out = RunStateJson(state);
  if (!until) out["elapsed_s"] = nullptr;
  if (run.ended_at) out["ended_at"] = FormatRfc3339(*run.ended_at);
  out["run_id"] = run.run_id;
  out["agent_id"] = run.agent_id;
  out["started"] = FormatRfc3339(run.started);
  out["ended"] = run.ended;
  out["state"] = core::RunListStateName(run);
  // The run's own workspace (a Claude Code session's project), null: the daemon's.
  out["workspace"] =
      run.state.workspace.empty() ? json::value(nullptr) : json::value(run.state.workspace);
  if (!run.state.workspace_refused.empty()) out["workspace_refused"] = run.state.workspace_refused;
  if (!run.parent_run_id.empty()) {  // a child run (docs/governance.md#child-runs)
    out["parent_run_id"] = run.parent_run_id;
    out["depth"] = run.depth;
    if (!run.role.empty()) out["role"] = run.role;
  }
  json::array labels;
  for (const std::string& l : run.state.labels) labels.emplace_back(l);
  out["labels"] = std::move(labels);
  // Approvals for the rest of the run (docs/approvals.md): what covers its later calls.
  json::array grants;
  for (const auto& [tool, g] : run.state.grants) {
    grants.push_back(json::object{{"tool", tool},
                                  {"approval_id", g.approval_id},
                                  {"reviewer", g.reviewer},
                                  {"granted", FormatRfc3339(FromUnixMillis(g.at_ms))}});
  }
  out["grants"] = std::move(grants);
  const policy::AgentPolicy* agent = policies != nullptr ? policies->Find(run.agent_id) : nullptr;
  if (agent != nullptr) {
    // The agent's per-run limits under the current policy (the console draws against them).
    const policy::Execution& x = agent->execution;
    json::object limits;
    if (x.max_steps) limits["steps"] = *x.max_steps;
    if (x.max_tokens_per_run) limits["tokens"] = *x.max_tokens_per_run;
    if (x.max_cost_micros) limits["cost_usd"] = static_cast<double>(*x.max_cost_micros) / 1e6;
    if (x.max_wall_clock_ms) limits["elapsed_s"] = static_cast<double>(*x.max_wall_clock_ms) / 1e3;
    out["limits"] = std::move(limits);
    // The limits this run has reached or passed (the console marks the run; a run past its
    // wall clock is halted by the daemon's deadline sweep, core::Calls::HaltOverdueRuns).
    json::array reached;
    if (x.max_steps && state.steps >= *x.max_steps) reached.emplace_back("steps");
    if (x.max_tokens_per_run && state.tokens >= *x.max_tokens_per_run)
      reached.emplace_back("tokens");
    if (x.max_cost_micros && state.cost_micros >= *x.max_cost_micros) {
      reached.emplace_back("cost_usd");
    }
    if (x.max_wall_clock_ms && until && state.elapsed_ms >= *x.max_wall_clock_ms) {
      reached.emplace_back("elapsed_s");
    }
    out["limits_reached"] = std::move(reached);
  }
  if (std::optional<std::string> name = core::ShownWorkflowState(run, agent)) {
    json::object vars;
    for (const auto& [k, v] : run.state.workflow_vars) vars[k] = v;
    out["workflow"] = json::object{{"state", std::move(*name)}, {"vars", std::move(vars)}};
  }
  return out;
}

json::object KillJson(const core::KillEntry& k) {
  return {{"scope", k.scope},   {"target", k.target}, {"engaged", k.engaged},
          {"reason", k.reason}, {"actor", k.actor},   {"at", FormatRfc3339(k.at)}};
}

BearerHeader ReadBearer(const HttpRequest& req) {
  BearerHeader b;
  auto it = req.find(http::field::authorization);
  if (it != req.end()) b.header = std::string_view(it->value().data(), it->value().size());
  constexpr std::string_view kBearer = "bearer ";
  if (b.header.size() > kBearer.size() &&
      b.header.size() <= kBearer.size() + core::kMaxBearerBytes &&
      std::equal(kBearer.begin(), kBearer.end(), b.header.begin(),
                 [](char a, char c) { return a == ((c >= 'A' && c <= 'Z') ? c + 32 : c); })) {
    b.token = b.header.substr(kBearer.size());
  }
  return b;
}
}  // namespace interlock::server
