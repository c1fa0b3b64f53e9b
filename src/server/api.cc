#include "server/api.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <limits>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "approval/sweeper.h"
#include "approval/unheard.h"
#include "common/crypto.h"
#include "common/json.h"
#include "common/json_write.h"
#include "engine/call_parser.h"
#include "engine/engine.h"
#include "governance/drift.h"
#include "governance/fatigue.h"
#include "governance/suggest.h"
#include "governance/trust.h"
#include "identity/jwt.h"
#include "policy/egress.h"
#include "policy/workflow.h"
#include "server/ui_assets.h"

namespace interlock::server {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr size_t kMaxTokenBytes = 512;
constexpr size_t kMaxIdBytes = 128;
constexpr size_t kMaxReasonBytes = 1024;
constexpr size_t kMaxViewTools = 1000;
constexpr size_t kMaxToolNameBytes = 256;

HttpResponse JsonResponse(unsigned status, const json::value& body) {
  HttpResponse res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.body() = ToJsonText(body);
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

HttpResponse Forbidden(std::string_view reason) {
  return JsonError(403, "PERMISSION_DENIED", reason);
}

// Opaque ids (runs, calls) are short printable ASCII; anything else cannot exist.
bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == ':';
  });
}

constexpr size_t kMaxIdempotencyKeyBytes = 255;

// The request's Idempotency-Key (docs/api.md#idempotency): nullopt without one; an error for
// a key that is empty, longer than 255 bytes, not printable ASCII, or sent twice. The key
// is bound to the SHA-256 of `what` (the route and its id) and the body's canonical JSON,
// so the same key with another request is told apart (409).
Result<std::optional<core::IdempotencyKey>> ReadIdempotencyKey(const HttpRequest& req,
                                                               std::string_view what,
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
  std::string canonical(what);
  canonical.push_back('\n');
  AppendJson(body, JsonStyle::kCanonical, &canonical);
  return std::optional<core::IdempotencyKey>(
      core::IdempotencyKey{std::string(key), Sha256Hex(canonical)});
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

// A run as GET /v1/runs/{id} and GET /v1/runs show it; an active run's age is from `now`.
// With the run's sequence state (issue 15): "labels" (the labels its allowed calls carried)
// and, for an agent with a workflow (`policies` has it) or a run that moved, "workflow":
// {"state", "vars"} (the initial state until the first move).
json::object RunJson(const core::RunInfo& run, TimePoint now,
                     const policy::PolicySet* policies = nullptr) {
  RunState state = run.state;
  if (!run.ended) {
    state.elapsed_ms = std::max<int64_t>(0, ToUnixMillis(now) - ToUnixMillis(run.started));
  }
  json::object out = RunStateJson(state);
  out["run_id"] = run.run_id;
  out["agent_id"] = run.agent_id;
  out["started"] = FormatRfc3339(run.started);
  out["ended"] = run.ended;
  out["state"] = store::RunListStateName(run);
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
  }
  if ((agent != nullptr && agent->workflow != nullptr) || !run.state.workflow_state.empty() ||
      !run.state.workflow_vars.empty()) {
    json::object vars;
    for (const auto& [k, v] : run.state.workflow_vars) vars[k] = v;
    std::string name = run.state.workflow_state;
    if (name.empty() && agent != nullptr && agent->workflow != nullptr) {
      name = agent->workflow->initial;
    }
    out["workflow"] = json::object{{"state", std::move(name)}, {"vars", std::move(vars)}};
  }
  return out;
}

json::object KillJson(const store::KillEntry& k) {
  return {{"scope", k.scope},   {"target", k.target}, {"engaged", k.engaged},
          {"reason", k.reason}, {"actor", k.actor},   {"at", FormatRfc3339(k.at)}};
}

struct Route {
  enum Kind {
    kNone,
    kHealth,
    kReady,
    kMetrics,
    kMetricsSummary,
    kRuns,
    kRun,
    kRunCalls,
    kRunUsage,
    kRunEnd,
    kRunReplay,
    kCall,
    kCallResult,
    kCallRehearsal,
    kRunEgress,
    kCallEgressResult,
    kKill,
    kAudit,
    kApprovals,
    kApproval,
    kApprovalWithdraw,
    kRunGrantRevoke,
    kToolView,
    kUi,
    kMcp,
    kGovernance,  // GET /v1/governance/{report}: drift, trust, fatigue
    kOidcLogin,   // reviewer sign-in with OpenID Connect (oidc_routes.cc)
    kOidcCallback,
    kOidcSession,
    kOidcLogout,
  } kind = kNone;
  std::string id;
  std::vector<http::verb> methods;  // allowed
  std::string allow_text;           // the Allow header of a 405
  int wait_seconds = 0;
  audit::AuditQuery audit;  // GET /v1/audit?run_id=&agent=&since=&until=&after_seq=&limit=
  store::RunFilter runs;    // GET /v1/runs?agent=&state=&since=&until=&cursor=&limit=
  std::string state;        // GET /v1/approvals?state=
  size_t limit = 100;
  bool audit_jsonl = false;  // GET /v1/audit?format=jsonl
  bool bad_id = false;
  std::string bad_query;
  GovernanceQuery governance;  // GET /v1/governance/{report}?agent=&days=
};

// A query parameter's integer in [lo, hi]: decimal digits (an optional sign) and nothing
// else. The one parser of every integer a query carries (limit, after_seq, before_seq).
std::optional<int64_t> BoundedInt(std::string_view v, int64_t lo, int64_t hi) {
  int64_t x = 0;
  const char* end = v.data() + v.size();
  const auto [p, ec] = std::from_chars(v.data(), end, x);
  if (v.empty() || ec != std::errc() || p != end || x < lo || x > hi) return std::nullopt;
  return x;
}

// GET /v1/runs: agent, state (active|ended|halted), since/until (RFC 3339, on the start
// time), cursor (next_cursor of the previous page), limit (1..1000, default 100).
void ParseRunsQuery(boost::urls::params_view params, store::RunFilter* f, std::string* bad) {
  for (const auto& p : params) {
    const std::string v(p.value);
    if (p.key == "agent") {
      f->agent_id = v;
    } else if (p.key == "state") {
      if (v == "active") {
        f->state = store::RunListState::kActive;
      } else if (v == "ended") {
        f->state = store::RunListState::kEnded;
      } else if (v == "halted") {
        f->state = store::RunListState::kHalted;
      } else {
        *bad = "state must be active, ended or halted";
      }
    } else if (p.key == "since" || p.key == "until") {
      auto t = ParseRfc3339(v);
      if (!t.ok()) {
        *bad = p.key + ": " + t.error().message;
      } else {
        (p.key == "since" ? f->started_since : f->started_until) = *t;
      }
    } else if (p.key == "cursor") {
      f->cursor = v;
    } else if (p.key == "limit") {
      if (const auto l = BoundedInt(v, 1, 1000)) {
        f->limit = static_cast<size_t>(*l);
      } else {
        *bad = "limit must be 1..1000";
      }
    } else {
      *bad = "unknown query parameter '" + std::string(p.key) + "'";
    }
  }
}

// --- governance: GET /v1/governance/{drift,trust,fatigue}?agent=&days= ---
// agent: one agent of the policy set (empty: all); days: the window, 1..3650 (default 30;
// trust reads the whole retained log, as `interlock trust report`, and refuses days);
// drift also min_runs (default 20) and min_days (default 7): the evidence a suggestion needs.
void ParseGovernanceQuery(boost::urls::params_view params, const std::string& report,
                          GovernanceQuery* q, std::string* bad) {
  for (const auto& p : params) {
    const std::string v(p.value);
    if (p.key == "agent") {
      q->agent_id = v;
    } else if (p.key == "refresh") {
      if (v == "1" || v == "true") {
        q->refresh = true;
      } else if (v != "0" && v != "false") {
        *bad = "refresh must be 1 or 0";
      }
    } else if (p.key == "days" && report != "trust") {
      if (const auto d = BoundedInt(v, 1, 3650)) {
        q->days = static_cast<int>(*d);
      } else {
        *bad = "days must be 1..3650";
      }
    } else if (p.key == "min_runs" && report == "drift") {
      if (const auto n = BoundedInt(v, 1, 1000000)) {
        q->min_runs = static_cast<uint64_t>(*n);
      } else {
        *bad = "min_runs must be 1..1000000";
      }
    } else if (p.key == "min_days" && report == "drift") {
      if (const auto n = BoundedInt(v, 0, 3650)) {
        q->min_days = static_cast<int>(*n);
      } else {
        *bad = "min_days must be 0..3650";
      }
    } else {
      *bad = "unknown query parameter '" + std::string(p.key) + "'";
    }
  }
}

// The route table: every (method, path) the daemon serves, the Route::Kind its handler is
// dispatched on, and who may call it. Path patterns are OpenAPI's ("{name}": one segment;
// "{asset}" under /ui: the page's files). ApiRoutes() exposes it (docs/openapi.yaml is
// checked against it, tests/integration/openapi). A new route is one row here plus its
// case in Api::Handle.
struct RouteRow {
  Route::Kind kind;
  http::verb verb;
  const char* method;
  const char* path;
  const char* role;  // as ApiRoute::role
};
constexpr RouteRow kRouteTable[] = {
    {Route::kHealth, http::verb::get, "GET", "/healthz", "none"},
    {Route::kReady, http::verb::get, "GET", "/readyz", "none"},
    {Route::kMetrics, http::verb::get, "GET", "/metrics", "metrics"},
    // Before /ui/{page}/{id}: reviewer sign-in with OpenID Connect (oidc_routes.cc).
    {Route::kOidcLogin, http::verb::get, "GET", "/ui/oidc/login", "none"},
    {Route::kOidcCallback, http::verb::get, "GET", "/ui/oidc/callback", "none"},
    {Route::kOidcSession, http::verb::get, "GET", "/ui/oidc/session", "none"},
    {Route::kOidcLogout, http::verb::post, "POST", "/ui/oidc/logout", "none"},
    {Route::kUi, http::verb::get, "GET", "/ui", "none"},
    {Route::kUi, http::verb::get, "GET", "/ui/{asset}", "none"},
    {Route::kUi, http::verb::get, "GET", "/ui/{page}/{id}", "none"},
    {Route::kMcp, http::verb::post, "POST", "/mcp/{upstream}", "agent"},
    {Route::kMcp, http::verb::get, "GET", "/mcp/{upstream}", "agent"},
    {Route::kMcp, http::verb::delete_, "DELETE", "/mcp/{upstream}", "agent"},
    {Route::kRuns, http::verb::post, "POST", "/v1/runs", "agent"},
    {Route::kRuns, http::verb::get, "GET", "/v1/runs", "reviewer,admin"},
    {Route::kRun, http::verb::get, "GET", "/v1/runs/{run_id}", "any"},
    {Route::kRunCalls, http::verb::post, "POST", "/v1/runs/{run_id}/calls", "agent"},
    {Route::kRunUsage, http::verb::post, "POST", "/v1/runs/{run_id}/usage", "agent"},
    {Route::kRunEnd, http::verb::post, "POST", "/v1/runs/{run_id}/end", "agent"},
    {Route::kRunReplay, http::verb::get, "GET", "/v1/runs/{run_id}/replay", "reviewer,admin"},
    {Route::kRunEgress, http::verb::post, "POST", "/v1/runs/{run_id}/egress", "agent"},
    {Route::kCall, http::verb::get, "GET", "/v1/calls/{call_id}", "any"},
    {Route::kCallResult, http::verb::post, "POST", "/v1/calls/{call_id}/result", "agent"},
    {Route::kCallRehearsal, http::verb::post, "POST", "/v1/calls/{call_id}/rehearsal", "agent"},
    {Route::kCallEgressResult, http::verb::post, "POST", "/v1/calls/{call_id}/egress-result",
     "agent"},
    {Route::kApprovals, http::verb::get, "GET", "/v1/approvals", "reviewer,admin"},
    {Route::kApproval, http::verb::get, "GET", "/v1/approvals/{approval_id}", "reviewer,admin"},
    {Route::kApproval, http::verb::post, "POST", "/v1/approvals/{approval_id}", "reviewer,admin"},
    {Route::kApprovalWithdraw, http::verb::post, "POST", "/v1/approvals/{approval_id}/withdraw",
     "agent"},
    {Route::kRunGrantRevoke, http::verb::post, "POST", "/v1/runs/{run_id}/grants/revoke",
     "reviewer,admin"},
    {Route::kToolView, http::verb::post, "POST", "/v1/tools/view", "agent"},
    {Route::kMetricsSummary, http::verb::get, "GET", "/v1/metrics/summary", "reviewer,admin"},
    {Route::kKill, http::verb::get, "GET", "/v1/kill", "reviewer,admin"},
    {Route::kKill, http::verb::post, "POST", "/v1/kill", "admin"},
    {Route::kAudit, http::verb::get, "GET", "/v1/audit", "reviewer,admin"},
    // --- governance (the console's Governance page; Api::HandleGovernance) ---
    {Route::kGovernance, http::verb::get, "GET", "/v1/governance/drift", "admin"},
    {Route::kGovernance, http::verb::get, "GET", "/v1/governance/trust", "admin"},
    {Route::kGovernance, http::verb::get, "GET", "/v1/governance/fatigue", "admin"},
};

// Whether `seg` (the target's path segments) matches `pattern`; the last "{...}" segment
// it binds is put in *id.
bool MatchPattern(std::string_view pattern, const std::vector<std::string>& seg, std::string* id) {
  std::vector<std::string_view> parts;
  for (size_t from = 1; from <= pattern.size();) {
    const size_t slash = std::min(pattern.find('/', from), pattern.size());
    parts.push_back(pattern.substr(from, slash - from));
    from = slash + 1;
  }
  if (parts.size() != seg.size()) return false;
  std::string bound;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].size() >= 2 && parts[i].front() == '{' && parts[i].back() == '}') {
      bound = seg[i];
    } else if (parts[i] != seg[i]) {
      return false;
    }
  }
  *id = std::move(bound);
  return true;
}

Route Match(std::string_view target) {
  Route r;
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return r;
  std::vector<std::string> seg;
  for (auto s : url->segments()) seg.push_back(std::string(s));
  if (seg.size() == 2 && seg[0] == "ui" && seg[1].empty()) seg.pop_back();  // "/ui/": the page
  for (const RouteRow& row : kRouteTable) {
    std::string id;
    if (!MatchPattern(row.path, seg, &id)) continue;
    if (r.kind == Route::kNone) {
      r.kind = row.kind;
      r.id = std::move(id);
    } else if (r.kind != row.kind) {
      continue;  // the first matching route's rows only
    }
    r.methods.push_back(row.verb);
    r.allow_text += r.allow_text.empty() ? row.method : std::string(", ") + row.method;
  }
  // A parameter given twice is refused, never read one way here and another elsewhere
  // (`?tool=a&tool=b` is not a search for a).
  {
    std::vector<std::string> keys;  // decoded: "to%6Fl" is "tool"
    for (const auto& p : url->params()) keys.push_back(p.key);
    std::sort(keys.begin(), keys.end());
    if (auto d = std::adjacent_find(keys.begin(), keys.end()); d != keys.end()) {
      r.bad_query = "query parameter '" + std::string(*d) + "' is given more than once";
    }
  }
  // The console's pages under a run and the like: "/ui/runs/{run_id}" is the asset
  // "runs/{run_id}" (FindUiAsset decides what exists).
  if (r.kind == Route::kUi && seg.size() == 3) r.id = seg[1] + "/" + seg[2];
  if (r.kind != Route::kNone &&
      (r.kind == Route::kRun || r.kind == Route::kRunCalls || r.kind == Route::kRunUsage ||
       r.kind == Route::kRunEnd || r.kind == Route::kRunReplay || r.kind == Route::kCall ||
       r.kind == Route::kCallResult || r.kind == Route::kCallRehearsal ||
       r.kind == Route::kApproval || r.kind == Route::kApprovalWithdraw ||
       r.kind == Route::kRunGrantRevoke || r.kind == Route::kRunEgress ||
       r.kind == Route::kCallEgressResult)) {
    r.bad_id = !ValidId(r.id);
  }
  if (r.kind == Route::kApprovals) {
    auto params = url->params();
    r.state = "pending";
    if (auto it = params.find("state"); it != params.end()) r.state = std::string((*it).value);
    if (r.state != "pending" && r.state != "decided" && r.state != "all") {
      r.bad_query = "state must be pending, decided or all";
    }
    if (auto it = params.find("limit"); it != params.end()) {
      if (const auto l = BoundedInt(std::string_view((*it).value), 1, 1000)) {
        r.limit = static_cast<size_t>(*l);
      } else {
        r.bad_query = "limit must be 1..1000";
      }
    }
  }
  if (r.kind == Route::kGovernance) {
    r.id = seg.back();  // drift | trust | fatigue
    ParseGovernanceQuery(url->params(), r.id, &r.governance, &r.bad_query);
  }
  if (r.kind == Route::kAudit) {
    auto params = url->params();
    auto get = [&](const char* k) -> std::optional<std::string> {
      auto it = params.find(k);
      if (it == params.end()) return std::nullopt;
      return std::string((*it).value);
    };
    auto integer = [&](const char* k, int64_t lo, int64_t hi, int64_t* out) {
      const auto v = get(k);
      if (!v) return;
      if (const auto x = BoundedInt(*v, lo, hi)) {
        *out = *x;
      } else {
        r.bad_query = std::string(k) + " must be an integer from " + std::to_string(lo) + " to " +
                      std::to_string(hi);
      }
    };
    auto time = [&](const char* k, std::optional<TimePoint>* out) {
      const auto v = get(k);
      if (!v) return;
      auto t = ParseRfc3339(*v);
      if (!t.ok()) {
        r.bad_query = std::string(k) + ": " + t.error().message;
      } else {
        *out = *t;
      }
    };
    for (const auto& p : params) {
      static constexpr std::array<std::string_view, 13> kKnown = {
          "run_id", "agent", "since", "until", "after_seq", "before_seq", "limit",
          "tool",   "code",  "type",  "q",     "order",     "format"};
      if (std::find(kKnown.begin(), kKnown.end(), std::string_view(p.key)) == kKnown.end()) {
        r.bad_query = "unknown query parameter '" + std::string(p.key) + "'";
      }
    }
    r.audit.filter.run_id = get("run_id").value_or("");
    r.audit.filter.agent_id = get("agent").value_or("");
    r.audit.filter.tool = get("tool").value_or("");
    r.audit.filter.code = get("code").value_or("");
    r.audit.filter.type = get("type").value_or("");
    r.audit.filter.text = get("q").value_or("");
    if (r.audit.filter.text.size() > kMaxReasonBytes) r.bad_query = "q must be at most 1024 bytes";
    if (const auto order = get("order"); order && *order != "asc" && *order != "desc") {
      r.bad_query = "order must be asc or desc";
    } else {
      r.audit.filter.descending = order && *order == "desc";
    }
    if (const auto format = get("format"); format && *format != "json" && *format != "jsonl") {
      r.bad_query = "format must be json or jsonl";
    } else {
      r.audit_jsonl = format && *format == "jsonl";
    }
    integer("before_seq", 1, std::numeric_limits<int64_t>::max(), &r.audit.filter.before_seq);
    time("since", &r.audit.filter.since);
    time("until", &r.audit.filter.until);
    integer("after_seq", 0, std::numeric_limits<int64_t>::max(), &r.audit.filter.after_seq);
    integer("limit", 1, audit::kMaxAuditQueryLimit, &r.audit.limit);
  }
  if (r.kind == Route::kRuns) ParseRunsQuery(url->params(), &r.runs, &r.bad_query);
  if (r.kind == Route::kCall) {
    auto params = url->params();
    if (auto it = params.find("wait"); it != params.end()) {
      const std::string v = std::string((*it).value);
      char* end = nullptr;
      const double w = std::strtod(v.c_str(), &end);
      if (v.empty() || end != v.c_str() + v.size() || !std::isfinite(w) || w < 0) {
        r.bad_query = "wait must be a non-negative number of seconds";
      } else {
        r.wait_seconds = static_cast<int>(std::min(w, 3600.0));
      }
    }
  }
  return r;
}

}  // namespace

std::vector<ApiRoute> ApiRoutes() {
  std::vector<ApiRoute> out;
  for (const RouteRow& row : kRouteTable) out.push_back(ApiRoute{row.method, row.path, row.role});
  return out;
}

RouteInfo DescribeRoute(std::string_view target) {
  Route r = Match(target);
  return {static_cast<int>(r.kind), std::move(r.id), r.bad_id, std::move(r.bad_query)};
}

// Positive authentication results for a short TTL, keyed by the token's SHA-256, so the
// hot path does not ask the store on every request. Sharded to avoid one global lock.
class Api::AuthCache {
 public:
  explicit AuthCache(std::chrono::milliseconds ttl) : ttl_(ttl) {}

  std::optional<store::Principal> Get(const std::string& key) {
    if (ttl_.count() <= 0) return std::nullopt;
    Shard& s = ShardFor(key);
    std::lock_guard lock(s.mu);
    auto it = s.map.find(key);
    if (it == s.map.end()) return std::nullopt;
    if (std::chrono::steady_clock::now() >= it->second.expires) {
      s.map.erase(it);
      return std::nullopt;
    }
    return it->second.principal;
  }

  void Put(const std::string& key, const store::Principal& p) {
    if (ttl_.count() <= 0) return;
    Shard& s = ShardFor(key);
    std::lock_guard lock(s.mu);
    if (s.map.size() >= kMaxPerShard) s.map.clear();
    s.map[key] = Entry{p, std::chrono::steady_clock::now() + ttl_};
  }

 private:
  static constexpr size_t kMaxPerShard = 4096;
  struct Entry {
    store::Principal principal;
    std::chrono::steady_clock::time_point expires;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry> map;
  };
  Shard& ShardFor(const std::string& key) {
    return shards_[static_cast<unsigned char>(key[0]) % shards_.size()];
  }
  std::chrono::milliseconds ttl_;
  std::array<Shard, 16> shards_;
};

Api::Api(ApiOptions options, core::Guard* guard, store::Store* store,
         const core::PolicySource* policies, const Clock* clock, Metrics* metrics)
    : options_(options),
      guard_(guard),
      store_(store),
      policies_(policies),
      clock_(clock),
      metrics_(metrics),
      auth_cache_(std::make_unique<AuthCache>(options.auth_cache_ttl)),
      reports_(std::make_unique<ReportCache>(
          ReportCache::Options{.wait = options.governance_wait,
                               .min_interval = options.governance_min_interval},
          clock,
          [store]() -> std::optional<int64_t> {
            Result<int64_t> seq = store->LastSeq();
            if (!seq.ok()) return std::nullopt;
            return *seq;
          })),
      pool_(static_cast<size_t>(std::max(1, options.blocking_threads))),
      public_url_(options.public_url),
      auth_fail_timer_(pool_.get_executor()) {}

Api::~Api() { Shutdown(); }

std::string Api::ApprovalUrl(std::string_view approval_id) const {
  std::lock_guard lock(url_mu_);
  if (public_url_.empty()) return "";
  return approval::ApprovalLink(public_url_, approval_id);
}

void Api::SetPublicUrl(std::string url) {
  std::lock_guard lock(url_mu_);
  public_url_ = std::move(url);
}

void Api::Shutdown() {
  if (shut_down_.exchange(true)) return;
  waiters_.ShutDown();
  FlushAuthFailures();  // what the timer would have written
  pool_.join();
}

template <class Fn>
void Api::Blocking(Fn&& fn) {
  net::post(pool_, std::forward<Fn>(fn));
}

namespace {

// The request's Authorization header, and its token when it is "Bearer <token>" (scheme
// case-insensitive, token 1..identity::kMaxTokenBytes bytes: JWTs are longer than
// Interlock's tokens, which Authenticate bounds to kMaxTokenBytes).
struct BearerHeader {
  std::string_view header;
  std::optional<std::string_view> token;
};

BearerHeader ReadBearer(const HttpRequest& req) {
  BearerHeader b;
  auto it = req.find(http::field::authorization);
  if (it != req.end()) b.header = std::string_view(it->value().data(), it->value().size());
  constexpr std::string_view kBearer = "bearer ";
  if (b.header.size() > kBearer.size() &&
      b.header.size() <= kBearer.size() + identity::kMaxTokenBytes &&
      std::equal(kBearer.begin(), kBearer.end(), b.header.begin(),
                 [](char a, char c) { return a == std::tolower(static_cast<unsigned char>(c)); })) {
    b.token = b.header.substr(kBearer.size());
  }
  return b;
}

}  // namespace

bool Api::MetricsTokenMatches(const HttpRequest& req) const {
  const BearerHeader b = ReadBearer(req);
  return b.token && ConstantTimeEquals(*b.token, options_.metrics_token);
}

void Api::NoteAuthFailure(std::string_view why, const store::RefusedSignIn* who) {
  metrics_->RecordAuthFailure();
  std::optional<store::AuthFailures> due;
  {
    std::lock_guard lock(auth_fail_mu_);
    const TimePoint now = clock_->Now();
    if (auth_fail_.count == 0) auth_fail_.first = now;
    ++auth_fail_.count;
    ++auth_fail_.reasons[std::string(why)];
    auth_fail_.last = now;
    if (who != nullptr && auth_fail_.sign_ins.size() < store::kMaxListedSignIns) {
      auth_fail_.sign_ins.push_back(*who);
    }
    // After Shutdown nothing is held back: no timer and no pool are left to write it.
    if (now - auth_fail_written_ >= std::chrono::seconds(1) || shut_down_) {
      due = std::exchange(auth_fail_, store::AuthFailures{});
      auth_fail_written_ = now;
    } else if (!auth_fail_timer_armed_) {
      // Held back: written within a second even if no other failure comes.
      auth_fail_timer_armed_ = true;
      auth_fail_timer_.expires_after(std::chrono::milliseconds(1100));
      auth_fail_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec != net::error::operation_aborted) FlushAuthFailures();
      });
    }
  }
  if (!due) return;
  if (shut_down_) return WriteAuthFailures(std::move(*due));
  Blocking([this, f = std::move(*due)]() mutable { WriteAuthFailures(std::move(f)); });
}

void Api::FlushAuthFailures() {
  std::optional<store::AuthFailures> due;
  {
    std::lock_guard lock(auth_fail_mu_);
    if (auth_fail_timer_armed_) {
      auth_fail_timer_armed_ = false;
      auth_fail_timer_.cancel();
    }
    if (auth_fail_.count > 0) {
      due = std::exchange(auth_fail_, store::AuthFailures{});
      auth_fail_written_ = clock_->Now();
    }
  }
  if (due) WriteAuthFailures(std::move(*due));
}

void Api::WriteAuthFailures(store::AuthFailures f) {
  if (Status s = store_->RecordAuthFailures(f); !s.ok()) {
    std::cerr << "interlock serve: could not record " << f.count
              << " authentication failure(s): " << s.error().message << '\n';
  }
}

std::optional<HttpResponse> Api::Authenticate(const HttpRequest& req, Caller* caller) {
  const BearerHeader bearer = ReadBearer(req);
  if (bearer.header.empty() && options_.oidc != nullptr && !SessionCookie(req).empty()) {
    return AuthenticateSession(req, caller);  // a signed-in reviewer's browser
  }
  if (!bearer.token) {
    NoteAuthFailure(bearer.header.empty() ? "missing token" : "malformed Authorization header");
    HttpResponse res = JsonError(
        401, "UNAUTHENTICATED",
        bearer.header.empty() ? "missing bearer token" : "Authorization must be 'Bearer <token>'");
    res.set(http::field::www_authenticate, "Bearer");
    return res;
  }
  const std::string_view token = *bearer.token;
  if (options_.jwt != nullptr && identity::LooksLikeJwt(token)) {
    return AuthenticateJwt(token, caller);
  }
  if (token.size() > kMaxTokenBytes) {
    NoteAuthFailure("invalid or revoked token");
    HttpResponse res = JsonError(401, "UNAUTHENTICATED", "invalid or revoked token");
    res.set(http::field::www_authenticate, "Bearer");
    return res;
  }
  const Sha256Digest digest = Sha256(token);
  const std::string key(reinterpret_cast<const char*>(digest.data()), digest.size());
  if (auto p = auth_cache_->Get(key)) {
    caller->principal = std::move(*p);
    return std::nullopt;
  }
  auto p = store_->Authenticate(token);
  if (!p.ok()) {
    if (p.error().kind == ErrorKind::kUnavailable || p.error().kind == ErrorKind::kTimeout) {
      metrics_->RecordStoreError();
      Decision d = DenyDecision(
          Code::kStoreUnavailable,
          "the store is unavailable, so the token cannot be checked: " + p.error().message,
          "store");
      return JsonResponse(503, DecisionJson(d));
    }
    NoteAuthFailure("invalid or revoked token");
    HttpResponse res = JsonError(401, "UNAUTHENTICATED", "invalid or revoked token");
    res.set(http::field::www_authenticate, "Bearer");
    return res;
  }
  auth_cache_->Put(key, *p);
  caller->principal = std::move(*p);
  return std::nullopt;
}

std::optional<HttpResponse> Api::AuthenticateJwt(std::string_view token, Caller* caller) {
  auto refuse = [this](std::string_view why, const std::string& reason) {
    NoteAuthFailure(why);
    HttpResponse res = JsonError(401, "UNAUTHENTICATED", reason);
    res.set(http::field::www_authenticate, "Bearer error=\"invalid_token\"");
    return res;
  };
  // Verified tokens are cached by the verifier until their exp. This runs on a network
  // thread, so it never waits for the identity provider: a token whose keys are not known
  // (none yet, or an unknown kid) is refused at once and asks the verifier's own thread
  // for a refresh (at most once per 30 s per issuer; identity/verifier.h).
  auto id = options_.jwt->Verify(token);
  if (!id.ok()) {
    const std::string_view code = identity::RefusalCode(id.error());
    return refuse(code.empty() ? std::string_view("invalid JWT") : code, id.error().message);
  }
  // The agent is the policy whose agent.identity equals the claim (the loader refuses two
  // policies with one identity).
  std::shared_ptr<const policy::PolicySet> set = policies_->Current();
  const policy::AgentPolicy* agent = nullptr;
  if (set) {
    for (const auto& [agent_id, p] : set->agents) {
      if (p->identity == id->agent) {
        if (agent != nullptr) return refuse("JWT_AMBIGUOUS_IDENTITY", "two policies claim it");
        agent = p.get();
      }
    }
  }
  if (agent == nullptr) {
    return refuse("JWT_NO_AGENT", "no policy has agent.identity '" + id->agent + "'");
  }
  store::Principal& p = caller->principal;
  p.role = store::Role::kAgent;
  p.agent_id = agent->id;
  p.token_id = "jwt:" + Sha256Hex(token).substr(0, 16);
  // The name the call is recorded and shown under (approvals show it): who, from whom,
  // and for whom.
  p.name = id->agent + " (" + id->issuer + ")";
  if (!id->on_behalf_of.empty()) p.name += " on behalf of " + id->on_behalf_of;
  caller->identity = {id->issuer, id->agent, id->on_behalf_of, id->on_behalf_of_groups};
  return std::nullopt;
}

// ---- MCP OAuth: /mcp/{upstream} as OAuth 2.1 protected resources (identity.oauth) ----
// Outside the route table on purpose: the well-known metadata and the /mcp challenge are
// the MCP authorization specification's, not Interlock's API (docs/identity.md).

std::string Api::OAuthResourceBase() const {
  if (!options_.oauth.resource_base.empty()) return options_.oauth.resource_base;
  std::lock_guard lock(url_mu_);
  std::string base = public_url_;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

void Api::HandleOAuthMetadata(const HttpRequest& req, std::string_view path, Responder r) {
  const std::string base = OAuthResourceBase();
  if (base.empty()) return r.Send(JsonError(503, "NOT_READY", "the public URL is not known yet"));
  const std::string upstream = identity::UpstreamOfMetadataPath(base, path);
  if (upstream.empty() || !mcp_->HasUpstream(upstream)) {
    return r.Send(JsonError(404, "NOT_FOUND", "no protected resource here"));
  }
  if (req.method() != http::verb::get) {
    HttpResponse res = JsonError(405, "METHOD_NOT_ALLOWED",
                                 std::string(req.method_string()) + " is not allowed here");
    res.set(http::field::allow, "GET");
    return r.Send(std::move(res));
  }
  HttpResponse res =
      JsonResponse(200, identity::ProtectedResourceMetadata(options_.oauth, base, upstream));
  res.set(http::field::cache_control, "max-age=300");
  r.Send(std::move(res));
}

std::optional<HttpResponse> Api::AuthenticateMcp(const HttpRequest& req,
                                                 const std::string& upstream, Caller* caller) {
  const std::string base = OAuthResourceBase();
  if (base.empty()) return JsonError(503, "NOT_READY", "the public URL is not known yet");
  const BearerHeader bearer = ReadBearer(req);
  auto challenge = [&](HttpResponse res, bool invalid_token) {
    res.set(http::field::www_authenticate,
            identity::BearerChallenge(options_.oauth, base, upstream, invalid_token));
    return res;
  };
  if (!bearer.token || !identity::LooksLikeJwt(*bearer.token)) {
    // No token, or an Interlock token: as everywhere, with the OAuth challenge.
    std::optional<HttpResponse> fail = Authenticate(req, caller);
    if (fail && fail->result() == http::status::unauthorized) {
      return challenge(std::move(*fail), bearer.token.has_value());
    }
    return fail;
  }
  auto refuse = [&](std::string_view why, const std::string& reason) {
    NoteAuthFailure(why);
    return challenge(JsonError(401, "UNAUTHENTICATED", reason), true);
  };
  if (options_.jwt == nullptr) return refuse("invalid JWT", "no issuer is trusted");
  const std::string resource = identity::McpResourceUrl(base, upstream);
  auto id = options_.jwt->VerifyAccessToken(*bearer.token, resource,
                                            options_.oauth.authorization_servers);
  if (!id.ok()) {
    const std::string_view code = identity::RefusalCode(id.error());
    return refuse(code.empty() ? std::string_view("invalid JWT") : code, id.error().message);
  }
  // The agent is fixed per upstream: the human (sub) and the dynamically registered client
  // say who authorized, never which policy applies.
  auto agent_it = options_.oauth.agents.find(upstream);
  std::shared_ptr<const policy::PolicySet> set = policies_->Current();
  if (agent_it == options_.oauth.agents.end() || !set || set->Find(agent_it->second) == nullptr) {
    NoteAuthFailure("OAUTH_NO_AGENT");
    return Forbidden(
        agent_it == options_.oauth.agents.end()
            ? "no agent acts for OAuth clients of /mcp/" + upstream + " (identity.oauth.agents)"
            : "identity.oauth.agents names agent '" + agent_it->second + "', which has no policy");
  }
  store::Principal& p = caller->principal;
  p.role = store::Role::kAgent;
  p.agent_id = agent_it->second;
  p.token_id = "oauth:" + Sha256Hex(*bearer.token).substr(0, 16);
  p.name = "oauth client " + id->client_id + " (" + id->issuer + ") on behalf of " + id->agent;
  caller->identity = {id->issuer, id->client_id, id->on_behalf_of, id->on_behalf_of_groups};
  return std::nullopt;
}

HttpResponse Api::StoreError(const Error& e) {
  switch (e.kind) {
    case ErrorKind::kNotFound:
      return JsonError(404, "NOT_FOUND", e.message);
    case ErrorKind::kPermissionDenied:
      return Forbidden(e.message);
    case ErrorKind::kInvalidArgument:
      return InvalidRequest(e.message);
    case ErrorKind::kAlreadyExists:
      return JsonError(409, "CONFLICT", e.message);
    case ErrorKind::kUnavailable:
    case ErrorKind::kTimeout:
      metrics_->RecordStoreError();
      return JsonError(503, "STORE_UNAVAILABLE", e.message);
    default:
      metrics_->RecordStoreError();
      return JsonError(500, "INTERNAL", e.message);
  }
}

void Api::Handle(HttpRequest req, Responder r) {
  if (options_.oauth.enabled() && mcp_ != nullptr) {
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    if (path.starts_with(identity::kProtectedResourceWellKnown)) {
      return HandleOAuthMetadata(req, path, std::move(r));
    }
  }
  Route route = Match(req.target());
  if (route.kind == Route::kNone) {
    return r.Send(JsonError(404, "NOT_FOUND", "no such endpoint"));
  }
  if (std::find(route.methods.begin(), route.methods.end(), req.method()) == route.methods.end()) {
    HttpResponse res = JsonError(405, "METHOD_NOT_ALLOWED",
                                 std::string(req.method_string()) + " is not allowed here");
    res.set(http::field::allow, route.allow_text);
    return r.Send(std::move(res));
  }
  switch (route.kind) {
    case Route::kHealth:
      return r.Send(JsonResponse(200, json::object{{"status", "ok"}}));
    case Route::kReady:
      return HandleReady(std::move(r));
    case Route::kMetrics:
      if (!options_.metrics_token.empty() && !MetricsTokenMatches(req)) {
        NoteAuthFailure("bad metrics secret");
        HttpResponse res = JsonError(401, "UNAUTHENTICATED", "/metrics needs its bearer token");
        res.set(http::field::www_authenticate, "Bearer");
        return r.Send(std::move(res));
      }
      return HandleMetrics(std::move(r));
    case Route::kUi:
      return HandleUi(route.id, std::move(r));
    case Route::kOidcLogin:
      return HandleOidcLogin(std::move(r));
    case Route::kOidcCallback:
      return HandleOidcCallback(req, std::move(r));
    case Route::kOidcSession:
      return HandleOidcSession(req, std::move(r));
    case Route::kOidcLogout:
      return HandleOidcLogout(req, std::move(r));
    case Route::kMcp: {
      if (mcp_ == nullptr) return r.Send(JsonError(404, "NOT_FOUND", "no such endpoint"));
      if (auto fail = mcp_->CheckOrigin(req)) return r.Send(std::move(*fail));
      Caller caller;
      if (options_.oauth.enabled() && mcp_->HasUpstream(route.id)) {
        if (auto fail = AuthenticateMcp(req, route.id, &caller)) return r.Send(std::move(*fail));
      } else if (auto fail = Authenticate(req, &caller)) {
        return r.Send(std::move(*fail));
      }
      if (caller.principal.role != store::Role::kAgent) {
        return r.Send(Forbidden("only agent tokens may use MCP endpoints"));
      }
      return mcp_->Handle(std::move(route.id), caller.principal, caller.identity, std::move(req),
                          std::move(r));
    }
    default:
      break;
  }
  Caller caller;
  if (auto fail = Authenticate(req, &caller)) return r.Send(std::move(*fail));
  if (route.bad_id) return r.Send(JsonError(404, "NOT_FOUND", "no such run, call or approval"));
  const store::Principal& p = caller.principal;
  const bool agent = p.role == store::Role::kAgent;
  switch (route.kind) {
    case Route::kRunCalls:
      if (!agent) return r.Send(Forbidden("only agent tokens may propose tool calls"));
      return HandleDecide(caller, std::move(req), std::move(r), std::move(route.id));
    case Route::kRuns:
      if (req.method() == http::verb::get) {
        if (agent) return r.Send(Forbidden("agent tokens cannot list runs"));
        if (!route.bad_query.empty()) return r.Send(InvalidRequest(route.bad_query));
        return HandleListRuns(std::move(route.runs), std::move(r));
      }
      if (!agent) return r.Send(Forbidden("only agent tokens may start runs"));
      return HandleCreateRun(caller, std::move(r));
    case Route::kRun:
      return HandleGetRun(caller, std::move(route.id), std::move(r));
    case Route::kRunUsage:
      if (!agent) return r.Send(Forbidden("only agent tokens may report usage"));
      return HandleUsage(caller, req, std::move(route.id), std::move(r));
    case Route::kRunEnd:
      if (!agent) return r.Send(Forbidden("only agent tokens may end runs"));
      return HandleEndRun(caller, std::move(route.id), std::move(r));
    case Route::kRunReplay:
      if (agent) return r.Send(Forbidden("agent tokens cannot read the audit log"));
      return HandleReplay(std::move(route.id), std::move(r));
    case Route::kCall:
      if (!route.bad_query.empty()) return r.Send(InvalidRequest(route.bad_query));
      return HandleGetCall(caller, std::move(route.id), route.wait_seconds, std::move(r));
    case Route::kCallResult:
      if (!agent) return r.Send(Forbidden("only agent tokens may report results"));
      return HandleResult(caller, req, std::move(route.id), std::move(r));
    case Route::kCallRehearsal:
      if (!agent) return r.Send(Forbidden("only agent tokens may report rehearsals"));
      return HandleRehearsal(caller, req, std::move(route.id), std::move(r));
    case Route::kRunEgress:
      if (!agent) return r.Send(Forbidden("only agent tokens may ask for egress decisions"));
      return HandleEgress(caller, req, std::move(r), std::move(route.id));
    case Route::kCallEgressResult:
      if (!agent) return r.Send(Forbidden("only agent tokens may report egress results"));
      return HandleEgressResult(caller, req, std::move(route.id), std::move(r));
    case Route::kKill:
      if (req.method() == http::verb::post) {
        if (p.role != store::Role::kAdmin) {
          return r.Send(Forbidden("only admin tokens may set kill switches"));
        }
        return HandleSetKill(caller, req, std::move(r));
      }
      if (agent) return r.Send(Forbidden("agent tokens cannot read kill switches"));
      return HandleListKill(caller, std::move(r));
    case Route::kAudit:
      if (agent) return r.Send(Forbidden("agent tokens cannot read the audit log"));
      if (!route.bad_query.empty()) return r.Send(InvalidRequest(route.bad_query));
      return HandleAudit(std::move(route.audit), route.audit_jsonl, std::move(r));
    case Route::kApprovals:
      if (agent) return r.Send(Forbidden("agent tokens cannot review approvals"));
      if (!route.bad_query.empty()) return r.Send(InvalidRequest(route.bad_query));
      return HandleListApprovals(caller, std::move(route.state), route.limit, std::move(r));
    case Route::kApproval:
      if (agent) return r.Send(Forbidden("agent tokens can never approve or deny"));
      if (req.method() == http::verb::post) {
        return HandleVote(caller, req, std::move(route.id), std::move(r));
      }
      return HandleGetApproval(caller, std::move(route.id), std::move(r));
    case Route::kApprovalWithdraw:
      if (!agent) {
        return r.Send(Forbidden("only the agent that made the call may withdraw its approval"));
      }
      return HandleWithdraw(caller, req, std::move(route.id), std::move(r));
    case Route::kRunGrantRevoke:
      if (agent) return r.Send(Forbidden("agent tokens can never revoke approvals"));
      return HandleRevokeRunGrant(caller, req, std::move(route.id), std::move(r));
    case Route::kMetricsSummary:
      if (agent) return r.Send(Forbidden("agent tokens cannot read the console's metrics"));
      return HandleMetricsSummary(std::move(r));
    case Route::kToolView:
      if (!agent) return r.Send(Forbidden("only agent tokens have a tool view"));
      return HandleToolView(caller, req, std::move(r));
    case Route::kGovernance:
      // Admin only: drift shows the policy files, fatigue judges the reviewers themselves.
      if (p.role != store::Role::kAdmin) {
        return r.Send(Forbidden("only admin tokens may read the governance reports"));
      }
      if (!route.bad_query.empty()) return r.Send(InvalidRequest(route.bad_query));
      return HandleGovernance(std::move(route.id), std::move(route.governance), std::move(r));
    default:
      return r.Send(JsonError(404, "NOT_FOUND", "no such endpoint"));
  }
}

void Api::HandleDecide(const Caller& c, HttpRequest req, Responder r, std::string run_id) {
  const auto start = std::chrono::steady_clock::now();
  const std::string& agent_id = c.principal.agent_id;
  auto body = ParseObjectBody(req, options_.max_body_bytes, /*allow_empty=*/false);
  Result<std::optional<core::IdempotencyKey>> key =
      body.ok() ? ReadIdempotencyKey(req, "POST /v1/runs/" + run_id + "/calls", *body)
                : Result<std::optional<core::IdempotencyKey>>(std::nullopt);
  if (!key.ok()) return r.Send(InvalidRequest(key.error().message));
  Result<ToolCall> call =
      body.ok() ? engine::ToolCallFromJson(json::value(std::move(*body))) : body.error();
  if (!call.ok()) {
    metrics_->RecordDecision(agent_id, Code::kInvalidRequest,
                             std::chrono::steady_clock::now() - start);
    return r.Send(InvalidRequest(call.error().message));
  }
  call->elapsed_s.reset();  // run age comes from the server's clock only
  // The W3C trace context goes to the Guard, which validates and records it.
  std::string traceparent;
  if (auto it = req.find("traceparent"); it != req.end() && it->value().size() <= 128) {
    traceparent = std::string(it->value());
  }
  DecideAndReply(c, std::move(run_id), std::move(call).value(), std::move(r), start,
                 std::move(traceparent), {}, key->value_or(core::IdempotencyKey{}));
}

void Api::DecideAndReply(const Caller& c, std::string run_id, ToolCall call, Responder r,
                         std::chrono::steady_clock::time_point start, std::string traceparent,
                         std::function<void(const core::GuardResponse&)> observe,
                         core::IdempotencyKey idempotency) {
  const std::string& agent_id = c.principal.agent_id;
  guard_->DecideAsync(
      agent_id, c.principal.name, run_id, std::move(call),
      [this, r, start, agent_id, principal = c.principal.name,
       observe = std::move(observe)](core::GuardResponse g) {
        if (observe) observe(g);
        // Runs on the store's writer thread: hand the work to the connection strand.
        net::post(r.executor(), [this, r, start, agent_id, principal, g = std::move(g)]() mutable {
          if (g.error) {
            switch (*g.error) {
              case ErrorKind::kNotFound:
                return r.Send(JsonError(404, "NOT_FOUND", "unknown run"));
              case ErrorKind::kPermissionDenied:
                return r.Send(Forbidden("the run belongs to another agent"));
              case ErrorKind::kAlreadyExists:  // the Idempotency-Key with another request
                return r.Send(IdempotencyConflict(g.decision.reason));
              case ErrorKind::kInvalidArgument:
                metrics_->RecordDecision(agent_id, Code::kInvalidRequest,
                                         std::chrono::steady_clock::now() - start);
                return r.Send(InvalidRequest(g.decision.reason));
              default:
                metrics_->RecordStoreError();
                break;  // a STORE_UNAVAILABLE deny: still a decision, still 200
            }
          }
          metrics_->RecordDecision(agent_id, g.decision.code,
                                   std::chrono::steady_clock::now() - start);
          if (g.state.halted && g.decision.code != Code::kRunHalted &&
              g.decision.code != Code::kKillSwitch) {
            metrics_->RunHalted();
          }
          HttpResponse res = JsonResponse(200, DecideReply(g));
          if (g.replayed) res.set("Idempotent-Replayed", "true");
          if (g.decision.verdict != Verdict::kApprovalRequired || g.call_id.empty() ||
              g.existing_call || g.replayed) {
            return r.Send(std::move(res));
          }
          // This request queued the approval: if its answer (the only place the approval
          // id is given) cannot reach the client, nobody will collect it.
          r.Send(std::move(res), [this, agent_id, principal, call_id = g.call_id](bool delivered) {
            if (!delivered) WithdrawUnheard(agent_id, principal, call_id);
          });
        });
      },
      traceparent, std::move(idempotency), c.identity.issuer.empty() ? nullptr : &c.identity);
}

namespace {

// The ReceiptBook's key of an egress decision: its call id's hash (ids are random 128-bit
// values, so two of the book's at most 1024 x 256 entries never share one in practice); 0 is
// the book's "none".
uint64_t EgressSerial(std::string_view egress_call_id) {
  return std::hash<std::string_view>{}(egress_call_id) | 1u;
}

// The egress request body: {"host","port","address"[,"tunnel"][,"in_flight_call_id"]},
// strictly.
struct EgressRequestBody {
  std::string host;  // normalised (policy::NormalizeHostName)
  int64_t port = 0;
  std::string address;  // the IP literal's canonical text
  bool tunnel = false;  // CONNECT: allowed only where an entry allows tunnels to the port
  std::string in_flight_call_id;
};

Result<EgressRequestBody> ParseEgressBody(const json::object& o) {
  for (const auto& kv : o) {
    const std::string_view k = kv.key();
    if (k != "host" && k != "port" && k != "address" && k != "tunnel" && k != "in_flight_call_id") {
      return Error::Invalid("unknown field '" + std::string(k) +
                            "' (an egress request has host, port, address, tunnel and "
                            "in_flight_call_id only; the agent comes from the token)");
    }
  }
  EgressRequestBody b;
  const json::value* host = o.if_contains("host");
  if (host == nullptr || !host->is_string()) return Error::Invalid("host (a string) is required");
  auto normal = policy::NormalizeHostName(std::string_view(host->get_string()));
  if (!normal) return Error::Invalid("host is not a DNS name or an IP literal");
  b.host = std::move(*normal);
  const json::value* port = o.if_contains("port");
  if (port == nullptr || !port->is_int64() || port->get_int64() < 1 || port->get_int64() > 65535) {
    return Error::Invalid("port (an integer 1-65535) is required");
  }
  b.port = port->get_int64();
  const json::value* address = o.if_contains("address");
  if (address == nullptr || !address->is_string()) {
    return Error::Invalid("address (the IP literal connected to) is required");
  }
  auto ip = policy::ParseIpLiteral(std::string_view(address->get_string()));
  if (!ip) return Error::Invalid("address is not an IP literal");
  b.address = ip->ToString();
  if (const json::value* t = o.if_contains("tunnel"); t != nullptr) {
    if (!t->is_bool()) return Error::Invalid("tunnel must be true or false");
    b.tunnel = t->get_bool();
  }
  if (const json::value* f = o.if_contains("in_flight_call_id"); f != nullptr && !f->is_null()) {
    if (!f->is_string() || !ValidId(std::string_view(f->get_string()))) {
      return Error::Invalid("in_flight_call_id must be a call id");
    }
    b.in_flight_call_id = std::string(f->get_string());
  }
  return b;
}

}  // namespace

void Api::HandleEgress(const Caller& c, const HttpRequest& req, Responder r, std::string run_id) {
  const auto start = std::chrono::steady_clock::now();
  auto body = ParseObjectBody(req, options_.max_body_bytes, /*allow_empty=*/false);
  Result<EgressRequestBody> parsed = body.ok() ? ParseEgressBody(*body) : body.error();
  if (!parsed.ok()) {
    metrics_->RecordDecision(c.principal.agent_id, Code::kInvalidRequest,
                             std::chrono::steady_clock::now() - start);
    return r.Send(InvalidRequest(parsed.error().message));
  }
  // The kind is set here, for this route only: a request body never sets it. The engine
  // classifies the address itself (policy::MatchEgress): a private, loopback, link-local
  // or metadata address is refused unless an entry names it literally, whatever the
  // proxy claims the name resolved to.
  ToolCall call;
  call.kind = CallKind::kEgress;
  call.tool = kEgressToolName;
  call.args = {{"host", parsed->host}, {"port", parsed->port}, {"address", parsed->address}};
  if (parsed->tunnel) call.args["tunnel"] = true;
  if (parsed->in_flight_call_id.empty()) {
    return DecideAndReply(c, std::move(run_id), std::move(call), std::move(r), start, "");
  }
  Blocking([this, c, r, start, run_id = std::move(run_id), call = std::move(call),
            in_flight = parsed->in_flight_call_id]() mutable {
    // The call in flight must be one of this run's (and so this agent's) calls, made by
    // this identity: another person's token for the same agent attaches nothing to it.
    auto rec = store_->GetCall(in_flight);
    if (!rec.ok() || rec->record.run_id != run_id || rec->record.agent_id != c.principal.agent_id) {
      return r.Send(InvalidRequest("in_flight_call_id is not a call of run " + run_id));
    }
    if (std::string why =
            core::PrincipalRefusal("call " + in_flight, rec->record.principal, c.principal.name);
        !why.empty()) {
      return r.Send(Forbidden(why));
    }
    call.args["call_id"] = in_flight;
    egress::EgressAttempt attempt{std::string(call.args.at("host").as_string()),
                                  static_cast<uint16_t>(call.args.at("port").as_int64()),
                                  std::string(call.args.at("address").as_string()),
                                  call.args.contains("tunnel")};
    // Listed on the in-flight call's result record when its agent posts it.
    auto observe = [this, attempt = std::move(attempt), in_flight](const core::GuardResponse& g) {
      if (g.call_id.empty() || g.error) return;
      egress::EgressOutcome o;
      o.attempt = attempt;
      o.decision = g.decision;
      o.call_id = g.call_id;
      o.in_flight_call_id = in_flight;
      o.serial = EgressSerial(g.call_id);
      o.open = g.decision.allowed();  // until its egress-result says what it carried
      egress_receipts_.Observe(o);
    };
    DecideAndReply(c, std::move(run_id), std::move(call), r, start, "", std::move(observe));
  });
}

void Api::HandleEgressResult(const Caller& c, const HttpRequest& req, std::string call_id,
                             Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, false);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  store::CallResult result;
  uint64_t up = 0, down = 0;
  bool have_ok = false, have_up = false, have_down = false;
  for (const auto& kv : *body) {
    const std::string_view k = kv.key();
    const json::value& v = kv.value();
    if (k == "ok") {
      if (!v.is_bool()) return r.Send(InvalidRequest("ok must be a boolean"));
      result.ok = v.get_bool();
      have_ok = true;
    } else if (k == "bytes_up" || k == "bytes_down") {
      if (!(v.is_int64() && v.get_int64() >= 0) && !v.is_uint64()) {
        return r.Send(InvalidRequest(std::string(k) + " must be an integer >= 0"));
      }
      const uint64_t n = v.is_uint64() ? v.get_uint64() : static_cast<uint64_t>(v.get_int64());
      (k == "bytes_up" ? up : down) = n;
      (k == "bytes_up" ? have_up : have_down) = true;
    } else if (k == "error") {
      if (v.is_null()) continue;
      if (!v.is_string()) return r.Send(InvalidRequest("error must be a string"));
      result.error = std::string(
          v.get_string().subview(0, std::min<size_t>(v.get_string().size(), kMaxReasonBytes)));
    } else {
      return r.Send(InvalidRequest("unknown field '" + std::string(k) +
                                   "' (an egress result has ok, bytes_up, bytes_down and error)"));
    }
  }
  if (!have_ok || !have_up || !have_down) {
    return r.Send(InvalidRequest("ok, bytes_up and bytes_down are required"));
  }
  result.output_json = json::serialize(json::object{{"bytes_up", up}, {"bytes_down", down}});
  Blocking([this, c, r, call_id, up, down, result = std::move(result)] {
    // Only an egress decision (made by POST /v1/runs/{id}/egress or a proxy of the daemon's
    // own) takes an egress result; another agent's call is refused before anything is read
    // back to the caller.
    auto call = store_->GetCall(call_id);
    if (!call.ok()) return r.Send(StoreError(call.error()));
    if (call->record.agent_id != c.principal.agent_id) {
      return r.Send(Forbidden("the call belongs to another agent"));
    }
    if (call->record.call.tool != kEgressToolName ||
        call->record.decision.rule.rfind("egress", 0) != 0) {
      return r.Send(InvalidRequest("call " + call_id + " is not an egress decision"));
    }
    Status s = store_->RecordResult(call_id, c.principal.agent_id, c.principal.name, result,
                                    clock_->Now());
    if (s.ok()) egress_receipts_.Closed(EgressSerial(call_id), up, down);
    r.Send(s.ok() ? NoContent() : StoreError(s.error()));
  });
}

json::object Api::DecideReply(const core::GuardResponse& g) const {
  json::object out = DecisionJson(g.decision);
  if (!g.call_id.empty()) out["call_id"] = g.call_id;
  if (!g.call_id.empty() && (g.decision.verdict == Verdict::kApprovalRequired ||
                             (g.existing_call && g.decision.rule == "approval"))) {
    const std::string approval_id = store::ApprovalIdForCall(g.call_id);
    out["approval_id"] = approval_id;
    if (std::string url = ApprovalUrl(approval_id); !url.empty()) {
      out["approval_url"] = std::move(url);
    }
  }
  if (g.existing_call) out["existing_call"] = true;
  if (!g.error) out["run"] = RunStateJson(g.state);
  return out;
}

void Api::HandleCreateRun(const Caller& c, Responder r) {
  Blocking([this, c, r] {
    auto run = store_->CreateRun(c.principal.agent_id, "", clock_->Now());
    if (!run.ok()) return r.Send(StoreError(run.error()));
    metrics_->RunStarted();
    r.Send(JsonResponse(201, json::object{{"run_id", run->run_id},
                                          {"agent_id", run->agent_id},
                                          {"started", FormatRfc3339(run->started)}}));
  });
}

void Api::HandleGetRun(const Caller& c, std::string run_id, Responder r) {
  Blocking([this, c, r, run_id] {
    auto run = store_->GetRun(run_id);
    if (!run.ok()) return r.Send(StoreError(run.error()));
    if (c.principal.role == store::Role::kAgent && run->agent_id != c.principal.agent_id) {
      return r.Send(Forbidden("the run belongs to another agent"));
    }
    r.Send(JsonResponse(200, RunJson(*run, clock_->Now(), policies_->Current().get())));
  });
}

void Api::HandleListRuns(store::RunFilter filter, Responder r) {
  Blocking([this, r, filter = std::move(filter)] {
    auto page = store_->ListRuns(filter);
    if (!page.ok()) return r.Send(StoreError(page.error()));
    const TimePoint now = clock_->Now();
    const std::shared_ptr<const policy::PolicySet> set = policies_->Current();
    json::array runs;
    for (const core::RunInfo& run : page->runs) runs.push_back(RunJson(run, now, set.get()));
    json::object out{{"runs", std::move(runs)}};
    if (!page->next_cursor.empty()) out["next_cursor"] = page->next_cursor;
    r.Send(JsonResponse(200, out));
  });
}

void Api::HandleUsage(const Caller& c, const HttpRequest& req, std::string run_id, Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, false);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  auto key = ReadIdempotencyKey(req, "POST /v1/runs/" + run_id + "/usage", *body);
  if (!key.ok()) return r.Send(InvalidRequest(key.error().message));
  auto usage = engine::UsageFromJson(json::value(std::move(*body)));
  if (!usage.ok()) return r.Send(InvalidRequest(usage.error().message));
  Blocking([this, c, r, run_id, u = *usage, k = key->value_or(core::IdempotencyKey{})] {
    Status s = store_->AddUsageOnce(run_id, c.principal.agent_id, u, k);
    if (!s.ok() && s.error().kind == ErrorKind::kAlreadyExists && !k.key.empty()) {
      return r.Send(IdempotencyConflict(s.error().message));
    }
    r.Send(s.ok() ? NoContent() : StoreError(s.error()));
  });
}

void Api::HandleEndRun(const Caller& c, std::string run_id, Responder r) {
  Blocking([this, c, r, run_id] {
    Status s = store_->EndRun(run_id, c.principal.agent_id, clock_->Now());
    if (s.ok()) metrics_->RunEnded();
    r.Send(s.ok() ? NoContent() : StoreError(s.error()));
  });
}

HttpResponse Api::CallResponse(const Caller& c, const std::string& call_id, bool* pending) {
  *pending = false;
  // The agent's read delivers the outcome: the store releases an approved call then
  // (or denies it if a kill switch or halt came first). Reviewers and admins only look.
  const bool agent = c.principal.role == store::Role::kAgent;
  // Only to the identity it was decided for (the principal its decision records).
  auto call = agent ? store_->ReleaseCall(call_id, c.principal.agent_id, c.principal.name,
                                          clock_->Now(), policies_->Current())
                    : store_->GetCall(call_id);
  if (!call.ok()) {
    if (call.error().kind == ErrorKind::kPermissionDenied) {
      return Forbidden(call.error().message);
    }
    return StoreError(call.error());
  }
  const core::CallRecord& rec = call->record;
  *pending = rec.decision.verdict == Verdict::kApprovalRequired;
  json::object out = DecisionJson(rec.decision);
  out["call_id"] = rec.call_id;
  if (*pending || rec.decision.rule == "approval") {
    const std::string approval_id = store::ApprovalIdForCall(rec.call_id);
    if (*pending || store_->GetApproval(approval_id).ok()) {
      out["approval_id"] = approval_id;
      if (std::string url = ApprovalUrl(approval_id); !url.empty()) {
        out["approval_url"] = std::move(url);
      }
    }
  }
  out["run_id"] = rec.run_id;
  out["at"] = FormatRfc3339(rec.at);
  out["pending"] = *pending;
  if (call->result) {
    json::object res{{"ok", call->result->ok},
                     {"error", call->result->error},
                     {"tokens", call->result->usage.tokens},
                     {"cost_usd", static_cast<double>(call->result->usage.cost_micros) / 1e6}};
    out["result"] = std::move(res);
  }
  return JsonResponse(200, out);
}

namespace {

// One long poll: a timer on the connection strand, woken by CallWaiters or expiry.
struct LongPoll {
  LongPoll(net::any_io_executor ex, Responder resp, std::string id)
      : timer(std::move(ex)), responder(std::move(resp)), call_id(std::move(id)) {}
  net::steady_timer timer;
  Responder responder;
  std::string call_id;
  uint64_t waiter_id = 0;
  std::atomic<bool> woken{false};
  std::atomic<bool> answered{false};
};

}  // namespace

void Api::HandleGetCall(const Caller& c, std::string call_id, int wait_seconds, Responder r) {
  const int wait = std::min(wait_seconds, options_.max_wait_seconds);
  Blocking([this, c, r, call_id, wait] {
    if (wait <= 0) {
      bool pending = false;
      return r.Send(CallResponse(c, call_id, &pending));
    }
    // Register before reading, so a verdict landing in between still wakes us.
    auto poll = std::make_shared<LongPoll>(r.executor(), r, call_id);
    poll->waiter_id = waiters_.Add(call_id, [poll] {
      poll->woken.store(true);
      net::post(poll->timer.get_executor(), [poll] { poll->timer.cancel(); });
    });
    bool pending = false;
    HttpResponse first = CallResponse(c, call_id, &pending);
    if (!pending || poll->woken.load()) {
      waiters_.Remove(call_id, poll->waiter_id);
      poll->answered.store(true);
      return r.Send(std::move(first));
    }
    net::post(poll->timer.get_executor(), [this, c, poll, wait] {
      poll->timer.expires_after(std::chrono::seconds(wait));
      poll->timer.async_wait([this, c, poll](boost::system::error_code) {
        waiters_.Remove(poll->call_id, poll->waiter_id);
        if (poll->answered.exchange(true)) return;
        Blocking([this, c, poll] {
          bool still_pending = false;
          poll->responder.Send(CallResponse(c, poll->call_id, &still_pending));
        });
      });
      if (poll->woken.load()) poll->timer.cancel();
    });
  });
}

Result<store::CallResult> Api::ParseResultBody(const json::object& o) const {
  auto invalid = [](std::string m) { return Error::Invalid(std::move(m)); };
  store::CallResult result;
  if (auto* ok = o.if_contains("ok")) {
    if (!ok->is_bool()) return invalid(("ok must be a boolean"));
    result.ok = ok->as_bool();
  } else {
    return invalid(("ok is required"));
  }
  if (auto* err = o.if_contains("error"); err && !err->is_null()) {
    if (!err->is_string()) return invalid(("error must be a string"));
    result.error = std::string(err->as_string().subview(
        0, std::min<size_t>(err->as_string().size(), kMaxReasonBytes * 4)));
  }
  if (auto* out = o.if_contains("output"); out && !out->is_null()) {
    std::string canonical = CanonicalJson(*out);
    if (canonical.size() > options_.max_output_bytes) {
      // Truncated JSON is not JSON: keep a marker with the size and digest instead.
      canonical = json::serialize(json::object{
          {"truncated", true}, {"bytes", canonical.size()}, {"sha256", Sha256Hex(canonical)}});
    }
    result.output_json = std::move(canonical);
  }
  if (auto* u = o.if_contains("usage"); u && !u->is_null()) {
    auto usage = engine::UsageFromJson(*u);
    if (!usage.ok()) return usage.error();
    result.usage = *usage;
  }
  return result;
}

void Api::HandleResult(const Caller& c, const HttpRequest& req, std::string call_id, Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, false);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  auto key = ReadIdempotencyKey(req, "POST /v1/calls/" + call_id + "/result", *body);
  if (!key.ok()) return r.Send(InvalidRequest(key.error().message));
  auto parsed = ParseResultBody(*body);
  if (!parsed.ok()) return r.Send(InvalidRequest(parsed.error().message));
  store::CallResult result = std::move(parsed).value();
  result.policies = policies_->Current();  // a result may move the run's workflow
  if (*key) result.idempotency = std::move(**key);
  Blocking([this, c, r, call_id, result = std::move(result)]() mutable {
    // Receipts of this daemon's egress decisions made while the call was in flight: taken
    // only for the call's own agent and identity (another agent's token, or another
    // identity of the same agent, whose report the store refuses, cannot make them vanish).
    if (egress_receipts_.Has(call_id)) {
      auto call = store_->GetCall(call_id);
      if (call.ok() && call->record.agent_id == c.principal.agent_id &&
          call->record.principal == c.principal.name) {
        result.egress_json = egress_receipts_.TakeJson(call_id);
      }
    }
    Status s = store_->RecordResult(call_id, c.principal.agent_id, c.principal.name, result,
                                    clock_->Now());
    if (!s.ok() && s.error().kind == ErrorKind::kAlreadyExists && !result.idempotency.key.empty() &&
        s.error().message.rfind("Idempotency-Key", 0) == 0) {
      return r.Send(IdempotencyConflict(s.error().message));
    }
    r.Send(s.ok() ? NoContent() : StoreError(s.error()));
  });
}

void Api::HandleRehearsal(const Caller& c, const HttpRequest& req, std::string call_id,
                          Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, false);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  for (const auto& kv : *body) {
    const std::string_view k = kv.key();
    if (k != "ok" && k != "output" && k != "error" && k != "usage" && k != "args") {
      return r.Send(InvalidRequest("unknown field '" + std::string(k) + "'"));
    }
  }
  auto parsed = ParseResultBody(*body);
  if (!parsed.ok()) return r.Send(InvalidRequest(parsed.error().message));
  std::optional<json::object> args;
  if (const json::value* a = body->if_contains("args"); a != nullptr && !a->is_null()) {
    if (!a->is_object()) return r.Send(InvalidRequest("args must be an object"));
    args = a->get_object();
  }
  Blocking([this, c, r, call_id, result = std::move(parsed).value(), args = std::move(args)] {
    const auto start = std::chrono::steady_clock::now();
    core::GuardResponse g =
        guard_->CompleteRehearsal(c.principal.agent_id, c.principal.name, call_id, result, args);
    if (g.error && *g.error != ErrorKind::kUnavailable && *g.error != ErrorKind::kInternal) {
      return r.Send(StoreError(Error{*g.error, g.decision.reason}));
    }
    if (g.error) metrics_->RecordStoreError();
    metrics_->RecordDecision(c.principal.agent_id, g.decision.code,
                             std::chrono::steady_clock::now() - start);
    r.Send(JsonResponse(200, DecideReply(g)));
  });
}

void Api::HandleSetKill(const Caller& c, const HttpRequest& req, Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, false);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  const json::object& o = *body;
  for (const auto& kv : o) {
    const std::string_view k = kv.key();
    if (k != "scope" && k != "target" && k != "engaged" && k != "reason") {
      return r.Send(InvalidRequest("unknown field '" + std::string(k) + "'"));
    }
  }
  store::KillEntry e;
  const json::value* scope = o.if_contains("scope");
  if (scope == nullptr || !scope->is_string() ||
      (scope->as_string() != "global" && scope->as_string() != "agent" &&
       scope->as_string() != "run")) {
    return r.Send(InvalidRequest("scope must be \"global\", \"agent\" or \"run\""));
  }
  e.scope = std::string(scope->as_string());
  if (const json::value* t = o.if_contains("target"); t && !t->is_null()) {
    if (!t->is_string()) return r.Send(InvalidRequest("target must be a string"));
    e.target = std::string(t->as_string());
  }
  if (e.scope == "global" && !e.target.empty()) {
    return r.Send(InvalidRequest("a global kill switch has no target"));
  }
  if (e.scope != "global" && !ValidId(e.target)) {
    return r.Send(InvalidRequest("target must be the agent id or run id the switch covers"));
  }
  const json::value* engaged = o.if_contains("engaged");
  if (engaged == nullptr || !engaged->is_bool()) {
    return r.Send(InvalidRequest("engaged must be a boolean"));
  }
  e.engaged = engaged->as_bool();
  if (const json::value* reason = o.if_contains("reason"); reason && !reason->is_null()) {
    if (!reason->is_string() || reason->as_string().size() > kMaxReasonBytes) {
      return r.Send(InvalidRequest("reason must be a string of at most 1024 bytes"));
    }
    e.reason = std::string(reason->as_string());
  }
  e.actor = c.principal.name;
  e.at = clock_->Now();
  Blocking([this, r, e = std::move(e)] {
    Status s = store_->SetKill(e);
    if (!s.ok()) return r.Send(StoreError(s.error()));
    r.Send(JsonResponse(200, KillJson(e)));
  });
}

void Api::HandleAudit(audit::AuditQuery query, bool jsonl, Responder r) {
  Blocking([this, query = std::move(query), jsonl, r] {
    auto page = store_->QueryAuditPage(query);
    if (!page.ok()) return r.Send(StoreError(page.error()));
    const bool desc = query.filter.descending;
    const char* cursor_key = desc ? "next_before_seq" : "next_after_seq";
    if (jsonl) {
      // One record a line, as `interlock audit export` writes them; the cursor in headers.
      HttpResponse res{http::status::ok, 11};
      res.set(http::field::content_type, "application/x-ndjson");
      std::string body;
      for (const json::value& rec : page->records) {
        body += ToJsonText(rec);
        body += '\n';
      }
      if (page->more) {
        res.set(desc ? "Interlock-Next-Before-Seq" : "Interlock-Next-After-Seq",
                std::to_string(page->next_cursor));
      }
      res.body() = std::move(body);
      return r.Send(std::move(res));
    }
    json::object out;
    if (page->more) {
      out[cursor_key] = page->next_cursor;
    } else if (!desc && !page->records.empty()) {
      out[cursor_key] = page->records.back().as_object().at("seq");  // as before: the tail
    }
    out["more"] = page->more;
    out["records"] = std::move(page->records);
    r.Send(JsonResponse(200, out));
  });
}

void Api::HandleReplay(std::string run_id, Responder r) {
  Blocking([this, run_id = std::move(run_id), r] {
    auto replay = store_->ReplayRun(run_id);
    if (!replay.ok()) return r.Send(StoreError(replay.error()));
    json::object out = std::move(*replay);
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

void Api::HandleListKill(const Caller&, Responder r) {
  Blocking([this, r] {
    auto kills = store_->ListKills();
    if (!kills.ok()) return r.Send(StoreError(kills.error()));
    json::array arr;
    for (const store::KillEntry& k : *kills) arr.push_back(KillJson(k));
    r.Send(JsonResponse(200, json::object{{"kill_switches", std::move(arr)}}));
  });
}

void Api::HandleReady(Responder r) {
  Blocking([this, r] {
    auto set = policies_->Current();
    if (!set) return r.Send(JsonError(503, "NOT_READY", "no policy set loaded"));
    auto kills = store_->ListKills();
    if (!kills.ok()) {
      metrics_->RecordStoreError();
      return r.Send(JsonError(503, "NOT_READY", "store unreachable: " + kills.error().message));
    }
    json::object out{{"status", "ready"},
                     {"policy_sha256", set->sha256},
                     {"agents", set->agents.size()},
                     {"policy_reload_failed", false}};
    if (std::optional<std::string> refused = metrics_->PolicyReloadError()) {
      // Still ready: the older policy set decides. Say so, with the reason.
      out["policy_reload_failed"] = true;
      out["policy_reload_error"] = *refused;
    }
    r.Send(JsonResponse(200, out));
  });
}

void Api::HandleMetricsSummary(Responder r) {
  Blocking([this, r] {
    const Metrics::Summary m = metrics_->Summarize();
    json::object by_code;
    uint64_t denied = 0;
    for (const auto& [code, n] : m.by_code) {
      by_code[code] = n;
      if (code != "ALLOWED") denied += n;
    }
    json::object out{{"decisions_total", m.decisions},
                     {"by_code", std::move(by_code)},
                     {"not_allowed_total", denied},
                     {"runs_active", m.runs_active},
                     {"runs_halted", m.runs_halted}};
    out["decision_p99_s"] = m.p99_s ? json::value(*m.p99_s) : json::value(nullptr);
    store::ApprovalFilter f;
    f.which = store::ApprovalFilter::Which::kPending;
    f.limit = 1000;
    if (auto pending = store_->ListApprovals(f); pending.ok()) {
      out["pending_approvals"] = pending->size();
    } else {
      return r.Send(StoreError(pending.error()));
    }
    int64_t engaged = 0;
    if (auto kills = store_->ListKills(); kills.ok()) {
      for (const store::KillEntry& k : *kills) engaged += k.engaged ? 1 : 0;
    } else {
      return r.Send(StoreError(kills.error()));
    }
    out["kill_switches_engaged"] = engaged;
    r.Send(JsonResponse(200, out));
  });
}

void Api::HandleMetrics(Responder r) {
  Blocking([this, r] {
    std::vector<Metrics::KillGauge> gauges = {{"global", 0}, {"agent", 0}, {"run", 0}};
    if (auto kills = store_->ListKills(); kills.ok()) {
      for (const store::KillEntry& k : *kills) {
        if (!k.engaged) continue;
        for (auto& g : gauges) {
          if (g.scope == k.scope) ++g.engaged;
        }
      }
    } else {
      metrics_->RecordStoreError();
    }
    HttpResponse res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain; version=0.0.4");
    res.body() = metrics_->Render(gauges);
    r.Send(std::move(res));
  });
}

namespace {

json::object ApprovalJson(const store::Approval& a, TimePoint now) {
  json::array votes;
  int approvals = 0;
  for (const store::ApprovalVote& v : a.votes) {
    if (v.verdict == "approve") ++approvals;
    votes.push_back(json::object{{"reviewer", v.reviewer},
                                 {"verdict", v.verdict},
                                 {"comment", v.comment},
                                 {"at", FormatRfc3339(v.at)}});
  }
  json::object o{{"approval_id", a.approval_id},
                 {"call_id", a.call_id},
                 {"run_id", a.run_id},
                 {"agent_id", a.agent_id},
                 {"principal", a.principal},
                 {"tool", a.tool},
                 {"args_sha256", a.args_sha256},
                 {"edited_args_sha256", a.edited_args_sha256},
                 {"state", store::ApprovalStateName(a.state)},
                 {"required", a.required},
                 {"approvals", approvals},
                 {"votes", std::move(votes)},
                 {"created", FormatRfc3339(a.created)},
                 {"deadline", FormatRfc3339(a.deadline)},
                 {"hard_deadline", FormatRfc3339(a.hard_deadline)},
                 {"timeout_seconds", a.timeout_seconds},
                 {"auto_deny_on_timeout", a.auto_deny_on_timeout},
                 {"escalation_level", a.escalation_level},
                 {"outcome_reason", a.outcome_reason}};
  if (a.state == store::ApprovalState::kPending) {
    const int64_t left = ToUnixMillis(a.deadline) - ToUnixMillis(now);
    o["time_left_s"] = std::max<int64_t>(0, (left + 999) / 1000);
  }
  if (a.decided) o["decided"] = FormatRfc3339(*a.decided);
  if (a.used) {
    o["used"] = FormatRfc3339(*a.used);
    o["used_call_id"] = a.used_call_id;
  }
  return o;
}

}  // namespace

void Api::HandleListApprovals(const Caller&, std::string state, size_t limit, Responder r) {
  Blocking([this, r, state, limit] {
    store::ApprovalFilter f;
    f.which = state == "pending"   ? store::ApprovalFilter::Which::kPending
              : state == "decided" ? store::ApprovalFilter::Which::kDecided
                                   : store::ApprovalFilter::Which::kAll;
    f.limit = limit;
    auto list = store_->ListApprovals(f);
    if (!list.ok()) return r.Send(StoreError(list.error()));
    const TimePoint now = clock_->Now();
    json::array arr;
    for (const store::Approval& a : *list) arr.push_back(ApprovalJson(a, now));
    r.Send(JsonResponse(200, json::object{{"approvals", std::move(arr)}}));
  });
}

void Api::HandleGetApproval(const Caller&, std::string approval_id, Responder r) {
  Blocking([this, r, approval_id] {
    auto a = store_->GetApproval(approval_id);
    if (!a.ok()) return r.Send(StoreError(a.error()));
    json::object out = ApprovalJson(*a, clock_->Now());
    // The call as stored: arguments redacted (hmac-sha256:...), why approval is needed.
    if (auto call = store_->GetCall(a->call_id); call.ok()) {
      out["args"] = call->record.call.args;
      out["decision"] = DecisionJson(call->record.decision);
      // What the call's rehearsal showed ("in staging this deletes 14 resources"), beside
      // the arguments, for the reviewer.
      if (call->record.decision.rehearsal) {
        out["rehearsal"] = RehearsalToJson(*call->record.decision.rehearsal);
      }
    }
    std::shared_ptr<const policy::PolicySet> set = policies_->Current();
    const policy::AgentPolicy* agent = set ? set->Find(a->agent_id) : nullptr;
    if (agent != nullptr) {
      out["identity"] = agent->identity;
      if (const policy::ToolRule* found = agent->Resolve(a->tool).rule) {
        const policy::ToolRule& rule = *found;
        json::object cls{{"reversible", rule.reversible.value_or(true)},
                         {"blast_radius", policy::BlastRadiusName(rule.blast_radius)}};
        if (rule.requires_approval) cls["requires_approval"] = *rule.requires_approval;
        out["classification"] = std::move(cls);
        json::array redact;
        for (const std::string& f : rule.redact) redact.emplace_back(f);
        out["redacted_fields"] = std::move(redact);
      }
    }
    json::array calls;
    if (auto run = store_->ListRunCalls(a->run_id, 100); run.ok()) {
      for (const store::CallSummary& c : *run) {
        calls.push_back(json::object{{"call_id", c.call_id},
                                     {"at", FormatRfc3339(c.at)},
                                     {"tool", c.tool},
                                     {"decision", c.verdict},
                                     {"code", c.code},
                                     {"reason", c.reason},
                                     {"this", c.call_id == a->call_id}});
      }
    }
    out["run_calls"] = std::move(calls);
    r.Send(JsonResponse(200, out));
  });
}

void Api::HandleVote(const Caller& c, const HttpRequest& req, std::string approval_id,
                     Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, false);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  const json::object& o = *body;
  for (const auto& kv : o) {
    if (kv.key() != "verdict" && kv.key() != "comment" && kv.key() != "arguments" &&
        kv.key() != "scope") {
      return r.Send(InvalidRequest("unknown field '" + std::string(kv.key()) + "'"));
    }
  }
  const json::value* verdict = o.if_contains("verdict");
  if (verdict == nullptr || !verdict->is_string() ||
      (verdict->as_string() != "approve" && verdict->as_string() != "deny")) {
    return r.Send(InvalidRequest("verdict must be \"approve\" or \"deny\""));
  }
  // A reviewer's edit (docs/approvals.md, "Editing the arguments"): an object, with an
  // approve only; judged by the core (core::EvaluateEdit) below.
  std::optional<json::object> edited;
  if (const json::value* a = o.if_contains("arguments"); a != nullptr && !a->is_null()) {
    if (!a->is_object()) return r.Send(InvalidRequest("arguments must be a JSON object"));
    if (verdict->as_string() != "approve") {
      return r.Send(InvalidRequest("only an approve may carry edited arguments"));
    }
    edited = a->as_object();
  }
  // "scope": "run": approved for the rest of the run (docs/approvals.md); the core refuses
  // it for irreversible and two-approver tools.
  bool for_run = false;
  if (const json::value* scope = o.if_contains("scope"); scope != nullptr && !scope->is_null()) {
    if (!scope->is_string() || (scope->as_string() != "call" && scope->as_string() != "run")) {
      return r.Send(InvalidRequest("scope must be \"call\" or \"run\""));
    }
    for_run = scope->as_string() == "run";
    if (for_run && verdict->as_string() != "approve") {
      return r.Send(InvalidRequest("only an approve may be for the rest of the run"));
    }
  }
  store::VoteRequest vote;
  vote.for_run = for_run;
  vote.approval_id = std::move(approval_id);
  vote.reviewer = c.principal;
  vote.approve = verdict->as_string() == "approve";
  if (const json::value* comment = o.if_contains("comment"); comment && !comment->is_null()) {
    if (!comment->is_string() || comment->as_string().size() > kMaxReasonBytes) {
      return r.Send(InvalidRequest("comment must be a string of at most 1024 bytes"));
    }
    vote.comment = std::string(comment->as_string());
  }
  vote.now = clock_->Now();
  std::shared_ptr<const policy::PolicySet> set = policies_->Current();
  vote.policy = store::PolicyFactsLookup(set);
  Blocking([this, r, set, vote = std::move(vote), edited = std::move(edited)]() mutable {
    if (edited) {
      // The edited call, evaluated by the engine again: same agent, run and tool, against
      // the run as it is now. The store re-checks that the approval is still pending.
      auto a = store_->GetApproval(vote.approval_id);
      if (!a.ok()) return r.Send(StoreError(a.error()));
      if (a->state != store::ApprovalState::kPending) {
        return r.Send(JsonError(
            409, "CONFLICT",
            "approval " + a->approval_id + " is already " + store::ApprovalStateName(a->state)));
      }
      auto run = store_->GetRun(a->run_id);
      if (!run.ok()) return r.Send(StoreError(run.error()));
      const policy::AgentPolicy* agent = set ? set->Find(a->agent_id) : nullptr;
      auto edit =
          core::EvaluateEdit(agent, run->state, a->tool, a->required, std::move(*edited), vote.now);
      if (!edit.ok()) {
        if (edit.error().kind == ErrorKind::kPermissionDenied) {
          return r.Send(JsonError(422, "EDIT_REFUSED", edit.error().message));
        }
        return r.Send(InvalidRequest(edit.error().message));
      }
      vote.edit = std::move(edit).value();
    }
    auto out = store_->Vote(vote);
    if (!out.ok()) return r.Send(StoreError(out.error()));
    if (out->settled) NotifyCall(out->approval.call_id);
    json::object body = ApprovalJson(out->approval, clock_->Now());
    body["settled"] = out->settled;
    r.Send(JsonResponse(200, body));
  });
}

void Api::HandleRevokeRunGrant(const Caller& c, const HttpRequest& req, std::string run_id,
                               Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, /*allow_empty=*/false);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  std::string tool, reason;
  for (const auto& kv : *body) {
    if (kv.key() != "tool" && kv.key() != "reason") {
      return r.Send(InvalidRequest("unknown field '" + std::string(kv.key()) + "'"));
    }
    if (kv.value().is_null()) continue;
    if (!kv.value().is_string() || kv.value().as_string().size() > kMaxReasonBytes) {
      return r.Send(
          InvalidRequest(std::string(kv.key()) + " must be a string of at most 1024 bytes"));
    }
    (kv.key() == "tool" ? tool : reason) = std::string(kv.value().as_string());
  }
  if (tool.empty()) return r.Send(InvalidRequest("tool is required"));
  Blocking([this, c, r, run_id, tool, reason] {
    Status s = store_->RevokeRunGrant(run_id, tool, c.principal, reason, clock_->Now());
    if (!s.ok()) return r.Send(StoreError(s.error()));
    r.Send(JsonResponse(200, json::object{{"run_id", run_id}, {"tool", tool}, {"revoked", true}}));
  });
}

void Api::WithdrawUnheard(std::string agent_id, std::string principal, std::string call_id) {
  Blocking([this, agent_id = std::move(agent_id), principal = std::move(principal),
            call_id = std::move(call_id)] {
    auto a = approval::WithdrawUnheard(*store_, call_id, agent_id, principal, clock_->Now());
    if (!a.ok()) {
      // The approval stays pending until its deadline (the sweeper then times it out).
      std::fprintf(stderr,
                   "interlock: approval of call %s not withdrawn after its client hung up: %s\n",
                   call_id.c_str(), a.error().message.c_str());
      return;
    }
    if (*a) NotifyCall(call_id);
  });
}

void Api::HandleWithdraw(const Caller& c, const HttpRequest& req, std::string approval_id,
                         Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, /*allow_empty=*/true);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  std::string reason;
  for (const auto& kv : *body) {
    if (kv.key() != "reason") {
      return r.Send(InvalidRequest("unknown field '" + std::string(kv.key()) + "'"));
    }
    if (!kv.value().is_null()) {
      if (!kv.value().is_string() || kv.value().as_string().size() > kMaxReasonBytes) {
        return r.Send(InvalidRequest("reason must be a string of at most 1024 bytes"));
      }
      reason = std::string(kv.value().as_string());
    }
  }
  Blocking([this, c, r, approval_id, reason] {
    auto a = store_->WithdrawApproval(approval_id, c.principal.agent_id, c.principal.name, reason,
                                      clock_->Now());
    if (!a.ok()) return r.Send(StoreError(a.error()));
    NotifyCall(a->call_id);
    r.Send(JsonResponse(200, ApprovalJson(*a, clock_->Now())));
  });
}

void Api::HandleToolView(const Caller& c, const HttpRequest& req, Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, /*allow_empty=*/false);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  for (const auto& kv : *body) {
    if (kv.key() != "tools") {
      return r.Send(InvalidRequest("unknown field '" + std::string(kv.key()) + "'"));
    }
  }
  const json::value* tools = body->if_contains("tools");
  if (tools == nullptr || !tools->is_array() || tools->as_array().size() > kMaxViewTools) {
    return r.Send(InvalidRequest("tools must be an array of at most 1000 tool names"));
  }
  std::shared_ptr<const policy::PolicySet> set = policies_->Current();
  const policy::AgentPolicy* agent = set ? set->Find(c.principal.agent_id) : nullptr;
  json::object view;
  for (const json::value& t : tools->as_array()) {
    if (!t.is_string() || t.as_string().empty() || t.as_string().size() > kMaxToolNameBytes) {
      return r.Send(InvalidRequest("each tool name must be a string of 1 to 256 bytes"));
    }
    engine::ToolView v = engine::ViewTool(agent, t.as_string());
    json::object entry{{"visible", v.visible}};
    if (v.scope) {
      json::array scope;
      for (const std::string& f : *v.scope) scope.emplace_back(f);
      entry["scope"] = std::move(scope);
    }
    view[t.as_string()] = std::move(entry);
  }
  json::object out{{"agent_id", c.principal.agent_id}, {"tools", std::move(view)}};
  if (set) out["policy_sha256"] = set->sha256;
  r.Send(JsonResponse(200, out));
}

void Api::HandleUi(const std::string& path, Responder r) {
  const UiAsset* asset = FindUiAsset(path);
  if (asset == nullptr) return r.Send(JsonError(404, "NOT_FOUND", "no such page"));
  HttpResponse res{http::status::ok, 11};
  res.set(http::field::content_type, asset->content_type);
  // The page runs only its own script and style, cannot be framed, and leaks no referrer.
  res.set("Content-Security-Policy",
          "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  res.set(http::field::x_frame_options, "DENY");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set(http::field::cache_control, "no-store");
  res.body() = std::string(asset->body);
  r.Send(std::move(res));
}

}  // namespace interlock::server

// --- governance: the console's Governance page (GET /v1/governance/...) ---------------
// One path with the CLI: RunDrift/DriftToJson as `interlock drift --format json`,
// CollectTrustEvidence/TrustRows/TrustReportToJson as `interlock trust report --format
// json`, over the store's HistorySource instead of a SQLite handle. The reports are
// computed by the ReportCache (server/report_cache.h), off the request path, and answered
// with their age: a page over a million records answers in milliseconds.
namespace interlock::server {
namespace {

// One report as JSON, read from `source` against `set` (on the ReportCache's thread).
Result<json::object> GovernanceReport(const std::string& report, const GovernanceQuery& query,
                                      const policy::PolicySet& set,
                                      const store::HistorySource& source, int64_t now_ms) {
  const int64_t since_ms = now_ms - int64_t{query.days} * 86400000;
  if (report == "drift") {
    governance::DriftOptions opt;
    opt.agent_id = query.agent_id;
    opt.since_ms = since_ms;
    opt.min_runs = query.min_runs;
    opt.min_days = query.min_days;
    Result<governance::DriftReport> d = governance::RunDrift(source, set, opt);
    if (!d.ok()) return d.error();
    json::object out = governance::DriftToJson(*d);
    // The suggested tighter policy per agent as a line diff of its file (only with
    // enough evidence, as `interlock drift --suggest`).
    json::array suggestions;
    for (const governance::AgentDrift& a : d->agents) {
      json::object s{{"agent_id", a.agent_id}, {"file", a.file}};
      if (!a.enough_evidence) {
        s["diff"] = nullptr;
        char days[32];
        std::snprintf(days, sizeof(days), "%.1f", a.days);
        s["note"] = std::to_string(a.runs) + " run(s) over " + days +
                    " day(s) is too little evidence for a suggestion (need " +
                    std::to_string(a.min_runs) + " over " + std::to_string(query.min_days) + ")";
      } else if (auto t = governance::SuggestPolicyText(a); !t.ok()) {
        s["diff"] = nullptr;
        s["note"] = t.error().message;
      } else {
        json::array diff = governance::DiffToJson(governance::LineDiff(t->before, t->after));
        s["note"] = diff.empty() ? "nothing to tighten" : "";
        s["diff"] = std::move(diff);
      }
      suggestions.push_back(std::move(s));
    }
    out["suggestions"] = std::move(suggestions);
    out["days"] = query.days;
    return out;
  }
  if (report == "trust") {
    governance::TrustOptions opt;
    opt.agent_id = query.agent_id;
    Result<governance::TrustEvidence> ev = governance::CollectTrustEvidence(source, opt);
    if (!ev.ok()) return ev.error();
    const auto rows = governance::TrustRows(*ev, set, query.agent_id);
    return governance::TrustReportToJson(rows, *ev, opt.fatigue_floor_s);
  }
  governance::FatigueOptions opt;
  opt.agent_id = query.agent_id;
  opt.since_ms = since_ms;
  Result<governance::FatigueReport> f = governance::CollectFatigue(source, opt);
  if (!f.ok()) return f.error();
  json::object out = governance::FatigueToJson(*f);
  out["days"] = query.days;
  return out;
}

}  // namespace

void Api::HandleGovernance(std::string report, GovernanceQuery query, Responder r) {
  Blocking([this, report = std::move(report), query = std::move(query), r] {
    std::shared_ptr<const policy::PolicySet> set = policies_->Current();
    if (set == nullptr) return r.Send(JsonError(503, "NO_POLICY", "no policy is loaded"));
    if (!query.agent_id.empty() && set->Find(query.agent_id) == nullptr) {
      return r.Send(JsonError(404, "NOT_FOUND", "no agent " + query.agent_id + " in the policy"));
    }
    // The question: the report, its parameters and the policy it is read against.
    const std::string key = report + '\n' + query.agent_id + '\n' + std::to_string(query.days) +
                            '\n' + std::to_string(query.min_runs) + '\n' +
                            std::to_string(query.min_days) + '\n' + set->sha256;
    ReportCache::Answer a = reports_->Get(
        key,
        [this, report, query, set](const std::atomic<bool>& stop) {
          const store::StoppableSource source(store_, &stop);
          return GovernanceReport(report, query, *set, source, ToUnixMillis(clock_->Now()));
        },
        query.refresh);
    if (a.report == nullptr) {
      if (a.error) return r.Send(StoreError(*a.error));
      if (a.busy) {
        HttpResponse res = JsonError(429, "TOO_MANY_REPORTS",
                                     "other governance reports are being computed; ask again "
                                     "in a few seconds");
        res.set(http::field::retry_after, "5");
        return r.Send(std::move(res));
      }
      // Nothing computed yet: the page shows that it is being computed and asks again.
      HttpResponse res = JsonResponse(
          202, json::object{{"status", "computing"},
                            {"report", report},
                            {"queued_at", FormatRfc3339(a.queued_at)},
                            {"message", "the " + report +
                                            " report is being computed over the audit log; "
                                            "ask again in a moment"}});
      res.set(http::field::retry_after, "1");
      return r.Send(std::move(res));
    }
    json::object out = *a.report;
    const int64_t age_ms =
        std::max<int64_t>(0, ToUnixMillis(clock_->Now()) - ToUnixMillis(a.as_of));
    out["as_of"] = FormatRfc3339(a.as_of);
    out["age_s"] = static_cast<double>(age_ms) / 1e3;
    out["audit_seq"] = a.seq;
    out["current"] = a.current;
    out["refreshing"] = a.refreshing;
    if (a.error) out["refresh_error"] = a.error->message;
    return r.Send(JsonResponse(200, out));
  });
}

}  // namespace interlock::server
