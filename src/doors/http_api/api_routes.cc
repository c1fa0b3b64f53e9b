// The Api's router: the route table (who may call what), target matching and the
// dispatch to the handlers in api_*.cc.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "core/app/calls.h"
#include "doors/http_api/api.h"
#include "doors/http_api/api_internal.h"

namespace interlock::server {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

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
    kClaudeCodeHook,      // POST /v1/hooks/claude-code (api_hooks.cc)
    kSlackInteractions,   // POST /v1/slack/interactions (api_slack.cc)
    kDrills,              // POST, GET /v1/drills (api_drills.cc)
    kAuthzenEvaluation,   // POST /access/v1/evaluation (api_authzen.cc)
    kAuthzenEvaluations,  // POST /access/v1/evaluations
  } kind = kNone;
  std::string id;
  // The route table's rows of the matched path (their verbs are the methods allowed):
  // indexes into kRouteTable, so that matching allocates nothing for them.
  std::array<uint8_t, 8> rows{};
  size_t row_count = 0;
  int wait_seconds = 0;
  audit::AuditQuery audit;  // GET /v1/audit?run_id=&agent=&since=&until=&after_seq=&limit=
  core::RunFilter runs;     // GET /v1/runs?agent=&state=&since=&until=&cursor=&limit=
  std::string state;        // GET /v1/approvals?state=
  size_t limit = 100;
  bool audit_jsonl = false;  // GET /v1/audit?format=jsonl
  bool bad_id = false;
  std::string bad_query;
  GovernanceQuery governance;  // GET /v1/governance/{report}?agent=&days=
  bool hook_defer = false;     // POST /v1/hooks/claude-code?on_approval=defer
};

namespace {

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
void ParseRunsQuery(boost::urls::params_view params, core::RunFilter* f, std::string* bad) {
  for (const auto& p : params) {
    const std::string v(p.value);
    if (p.key == "agent") {
      f->agent_id = v;
    } else if (p.key == "state") {
      if (v == "active") {
        f->state = core::RunListState::kActive;
      } else if (v == "ended") {
        f->state = core::RunListState::kEnded;
      } else if (v == "halted") {
        f->state = core::RunListState::kHalted;
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
  // What a caller whose role the row does not name is told (403); nullptr exactly when the
  // row names no role ("none", "any", "metrics"). RoleRefusal enforces the column: no
  // handler checks a role of its own.
  const char* refusal;
};

constexpr RouteRow kRouteTable[] = {
    {Route::kHealth, http::verb::get, "GET", "/healthz", "none", nullptr},
    {Route::kReady, http::verb::get, "GET", "/readyz", "none", nullptr},
    {Route::kMetrics, http::verb::get, "GET", "/metrics", "metrics", nullptr},
    // Before /ui/{page}/{id}: reviewer sign-in with OpenID Connect (oidc_routes.cc).
    {Route::kOidcLogin, http::verb::get, "GET", "/ui/oidc/login", "none", nullptr},
    {Route::kOidcCallback, http::verb::get, "GET", "/ui/oidc/callback", "none", nullptr},
    {Route::kOidcSession, http::verb::get, "GET", "/ui/oidc/session", "none", nullptr},
    {Route::kOidcLogout, http::verb::post, "POST", "/ui/oidc/logout", "none", nullptr},
    {Route::kUi, http::verb::get, "GET", "/ui", "none", nullptr},
    {Route::kUi, http::verb::get, "GET", "/ui/{asset}", "none", nullptr},
    {Route::kUi, http::verb::get, "GET", "/ui/{page}/{id}", "none", nullptr},
    {Route::kMcp, http::verb::post, "POST", "/mcp/{upstream}", "agent",
     "only agent tokens may use MCP endpoints"},
    {Route::kMcp, http::verb::get, "GET", "/mcp/{upstream}", "agent",
     "only agent tokens may use MCP endpoints"},
    {Route::kMcp, http::verb::delete_, "DELETE", "/mcp/{upstream}", "agent",
     "only agent tokens may use MCP endpoints"},
    {Route::kRuns, http::verb::post, "POST", "/v1/runs", "agent",
     "only agent tokens may start runs"},
    {Route::kRuns, http::verb::get, "GET", "/v1/runs", "reviewer,admin",
     "agent tokens cannot list runs"},
    {Route::kRun, http::verb::get, "GET", "/v1/runs/{run_id}", "any", nullptr},
    {Route::kRunCalls, http::verb::post, "POST", "/v1/runs/{run_id}/calls", "agent",
     "only agent tokens may propose tool calls"},
    {Route::kRunUsage, http::verb::post, "POST", "/v1/runs/{run_id}/usage", "agent",
     "only agent tokens may report usage"},
    {Route::kRunEnd, http::verb::post, "POST", "/v1/runs/{run_id}/end", "agent",
     "only agent tokens may end runs"},
    {Route::kRunReplay, http::verb::get, "GET", "/v1/runs/{run_id}/replay", "reviewer,admin",
     "agent tokens cannot read the audit log"},
    {Route::kRunEgress, http::verb::post, "POST", "/v1/runs/{run_id}/egress", "agent",
     "only agent tokens may ask for egress decisions"},
    {Route::kCall, http::verb::get, "GET", "/v1/calls/{call_id}", "any", nullptr},
    {Route::kCallResult, http::verb::post, "POST", "/v1/calls/{call_id}/result", "agent",
     "only agent tokens may report results"},
    {Route::kCallRehearsal, http::verb::post, "POST", "/v1/calls/{call_id}/rehearsal", "agent",
     "only agent tokens may report rehearsals"},
    {Route::kCallEgressResult, http::verb::post, "POST", "/v1/calls/{call_id}/egress-result",
     "agent", "only agent tokens may report egress results"},
    {Route::kApprovals, http::verb::get, "GET", "/v1/approvals", "reviewer,admin",
     "agent tokens cannot review approvals"},
    {Route::kApproval, http::verb::get, "GET", "/v1/approvals/{approval_id}", "reviewer,admin",
     "agent tokens can never approve or deny"},
    {Route::kApproval, http::verb::post, "POST", "/v1/approvals/{approval_id}", "reviewer,admin",
     "agent tokens can never approve or deny"},
    {Route::kApprovalWithdraw, http::verb::post, "POST", "/v1/approvals/{approval_id}/withdraw",
     "agent", "only the agent that made the call may withdraw its approval"},
    {Route::kRunGrantRevoke, http::verb::post, "POST", "/v1/runs/{run_id}/grants/revoke",
     "reviewer,admin", "agent tokens can never revoke approvals"},
    {Route::kToolView, http::verb::post, "POST", "/v1/tools/view", "agent",
     "only agent tokens have a tool view"},
    {Route::kClaudeCodeHook, http::verb::post, "POST", "/v1/hooks/claude-code", "agent",
     "only agent tokens may ask through the Claude Code hook"},
    // The AuthZEN 1.0 evaluation API (docs/gateways.md#authzen): an agent's own tool calls.
    {Route::kAuthzenEvaluation, http::verb::post, "POST", "/access/v1/evaluation", "agent",
     "only agent tokens may ask AuthZEN evaluations"},
    {Route::kAuthzenEvaluations, http::verb::post, "POST", "/access/v1/evaluations", "agent",
     "only agent tokens may ask AuthZEN evaluations"},
    // Signed by Slack (X-Slack-Signature), not a token: docs/approvals.md.
    {Route::kSlackInteractions, http::verb::post, "POST", "/v1/slack/interactions", "none",
     nullptr},
    {Route::kMetricsSummary, http::verb::get, "GET", "/v1/metrics/summary", "reviewer,admin",
     "agent tokens cannot read the console's metrics"},
    {Route::kKill, http::verb::get, "GET", "/v1/kill", "reviewer,admin",
     "agent tokens cannot read kill switches"},
    {Route::kKill, http::verb::post, "POST", "/v1/kill", "admin",
     "only admin tokens may set kill switches"},
    {Route::kDrills, http::verb::get, "GET", "/v1/drills", "reviewer,admin",
     "agent tokens cannot read drills"},
    {Route::kDrills, http::verb::post, "POST", "/v1/drills", "admin",
     "only admin tokens may drill"},
    {Route::kAudit, http::verb::get, "GET", "/v1/audit", "reviewer,admin",
     "agent tokens cannot read the audit log"},
    // --- governance (the console's Governance page; Api::HandleGovernance) ---
    {Route::kGovernance, http::verb::get, "GET", "/v1/governance/drift", "admin",
     "only admin tokens may read the governance reports"},
    {Route::kGovernance, http::verb::get, "GET", "/v1/governance/trust", "admin",
     "only admin tokens may read the governance reports"},
    {Route::kGovernance, http::verb::get, "GET", "/v1/governance/fatigue", "admin",
     "only admin tokens may read the governance reports"},
};

// GET /v1/audit?run_id=&agent=&tool=&code=&type=&q=&since=&until=&after_seq=&before_seq=
// &limit=&order=&format=: the console's search (an unknown parameter is refused).
void ParseAuditQuery(boost::urls::params_view params, Route* route) {
  Route& r = *route;
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

// The most path segments a pattern of kRouteTable has; a longer target matches none.
constexpr size_t kMaxSegments = 8;
static_assert(std::size(kRouteTable) <= 256, "Route::rows holds row indexes as uint8_t");

// Every row that names roles says what a caller of another role is told, and no other row
// does: RoleRefusal cannot pass a role list by mistake.
constexpr bool RouteRowsNameTheirRefusals() {
  for (const RouteRow& row : kRouteTable) {
    const std::string_view role = row.role;
    const bool names_roles = role != "none" && role != "any" && role != "metrics";
    if (names_roles != (row.refusal != nullptr)) return false;
  }
  return true;
}
static_assert(RouteRowsNameTheirRefusals(), "a row that names roles needs its refusal");

// Whether the row's role column ("agent", "reviewer,admin", "admin", ...) names `role`.
bool RouteRowAdmits(const RouteRow& row, core::Role role) {
  const std::string_view roles = row.role;
  const std::string_view name = core::RoleName(role);
  for (size_t at = 0; at <= roles.size();) {
    const size_t comma = std::min(roles.find(',', at), roles.size());
    if (roles.substr(at, comma - at) == name) return true;
    at = comma + 1;
  }
  return false;
}

// kRouteTable's patterns split into their segments, once: the router runs on every
// request, and splitting each pattern per request cost a quarter of an io thread's work on
// a decision (callgrind, session 19).
struct CompiledPattern {
  std::array<std::string_view, kMaxSegments> parts{};
  size_t count = 0;
  int bound = -1;  // the last "{...}" segment's index, -1: none
};

const std::array<CompiledPattern, std::size(kRouteTable)>& CompiledPatterns() {
  static const auto* compiled = [] {
    auto* out = new std::array<CompiledPattern, std::size(kRouteTable)>();
    for (size_t r = 0; r < std::size(kRouteTable); ++r) {
      const std::string_view pattern = kRouteTable[r].path;
      CompiledPattern& c = (*out)[r];
      for (size_t from = 1; from <= pattern.size();) {
        const size_t slash = std::min(pattern.find('/', from), pattern.size());
        const std::string_view part = pattern.substr(from, slash - from);
        if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
          c.bound = static_cast<int>(c.count);
        }
        if (c.count == kMaxSegments) std::abort();  // a pattern longer than the router takes
        c.parts[c.count++] = part;
        from = slash + 1;
      }
    }
    return out;
  }();
  return *compiled;
}

// Whether `seg` (the target's path segments) matches pattern `c`; a "{...}" segment
// matches any one segment.
bool MatchPattern(const CompiledPattern& c, const std::string_view* seg, size_t n) {
  if (c.count != n) return false;
  for (size_t i = 0; i < n; ++i) {
    const std::string_view part = c.parts[i];
    const bool placeholder = part.size() >= 2 && part.front() == '{' && part.back() == '}';
    if (!placeholder && part != seg[i]) return false;
  }
  return true;
}

// The route table's rows that `seg` (a target's n decoded path segments) matches: the
// first matching route's, its id when the pattern binds one.
void MatchTable(const std::string_view* seg, size_t n, Route* r) {
  const auto& compiled = CompiledPatterns();
  for (size_t i = 0; i < std::size(kRouteTable); ++i) {
    const RouteRow& row = kRouteTable[i];
    if (!MatchPattern(compiled[i], seg, n)) continue;
    if (r->kind == Route::kNone) {
      r->kind = row.kind;
      if (compiled[i].bound >= 0) r->id = std::string(seg[compiled[i].bound]);
    } else if (r->kind != row.kind) {
      continue;  // the first matching route's rows only
    }
    if (r->row_count < r->rows.size()) r->rows[r->row_count++] = static_cast<uint8_t>(i);
  }
}

// Routes whose id is a run, call or approval id (ValidId, else Route::bad_id).
bool TakesId(Route::Kind k) {
  return k == Route::kRun || k == Route::kRunCalls || k == Route::kRunUsage ||
         k == Route::kRunEnd || k == Route::kRunReplay || k == Route::kCall ||
         k == Route::kCallResult || k == Route::kCallRehearsal || k == Route::kApproval ||
         k == Route::kApprovalWithdraw || k == Route::kRunGrantRevoke || k == Route::kRunEgress ||
         k == Route::kCallEgressResult;
}

// The common target, matched without the URL parser (which was half of matching a
// decision's route): segments of unreserved characters, ':' and '@' only, none empty, "."
// or "..", no query; whose segments are then those the parser gives. True with *r set for
// a route that reads no query and is not the console's; false (nothing set) for anything
// else, which MatchParsed decides (RouteMatch.PlainTargetsMatchAsParsed).
bool MatchPlain(std::string_view target, Route* r) {
  if (target.size() < 2 || target.front() != '/') return false;
  std::array<std::string_view, kMaxSegments> seg{};
  size_t n = 0;
  for (size_t from = 1;;) {
    const size_t slash = std::min(target.find('/', from), target.size());
    const std::string_view part = target.substr(from, slash - from);
    if (part.empty() || part == "." || part == ".." || n == kMaxSegments) return false;
    for (const char c : part) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '@')) {
        return false;
      }
    }
    seg[n++] = part;
    if (slash == target.size()) break;
    from = slash + 1;
  }
  Route out;
  MatchTable(seg.data(), n, &out);
  switch (out.kind) {
    case Route::kNone:  // the parsed path decides, as it always did
    case Route::kUi:
    case Route::kRuns:  // these read their query
    case Route::kCall:
    case Route::kAudit:
    case Route::kApprovals:
    case Route::kGovernance:
    case Route::kClaudeCodeHook:
      return false;
    default:
      break;
  }
  if (TakesId(out.kind)) out.bad_id = !ValidId(out.id);
  *r = std::move(out);
  return true;
}

Route MatchParsed(std::string_view target) {
  Route r;
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return r;
  // The decoded segments: views into the target where a segment has no escape (the
  // common case), into `decoded` otherwise.
  std::array<std::string_view, kMaxSegments> seg{};
  std::array<std::string, kMaxSegments> decoded;
  size_t n = 0;
  bool too_long = false;
  for (auto s : url->encoded_segments()) {
    if (n == kMaxSegments) {
      too_long = true;
      break;
    }
    if (s.find('%') == std::string_view::npos) {
      seg[n] = std::string_view(s.data(), s.size());
    } else {
      decoded[n] = s.decode();
      seg[n] = decoded[n];
    }
    ++n;
  }
  if (n == 2 && seg[0] == "ui" && seg[1].empty()) --n;  // "/ui/": the page
  if (!too_long) MatchTable(seg.data(), n, &r);
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
  if (r.kind == Route::kUi && n == 3) r.id = std::string(seg[1]) + "/" + std::string(seg[2]);
  if (TakesId(r.kind)) r.bad_id = !ValidId(r.id);
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
    r.id = std::string(seg[n - 1]);  // drift | trust | fatigue
    ParseGovernanceQuery(url->params(), r.id, &r.governance, &r.bad_query);
  }
  if (r.kind == Route::kAudit) ParseAuditQuery(url->params(), &r);
  if (r.kind == Route::kRuns) ParseRunsQuery(url->params(), &r.runs, &r.bad_query);
  if (r.kind == Route::kClaudeCodeHook) {
    auto params = url->params();
    if (auto it = params.find("on_approval"); it != params.end()) {
      const std::string v((*it).value);
      if (v != "deny" && v != "defer") r.bad_query = "on_approval must be deny or defer";
      r.hook_defer = v == "defer";
    }
  }
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

Route Match(std::string_view target) {
  if (Route r; MatchPlain(target, &r)) return r;
  return MatchParsed(target);
}

}  // namespace

std::vector<ApiRoute> ApiRoutes() {
  std::vector<ApiRoute> out;
  for (const RouteRow& row : kRouteTable) out.push_back(ApiRoute{row.method, row.path, row.role});
  return out;
}

const char* RoleRefusal(const Route& route, http::verb verb, core::Role role) {
  for (uint8_t i : std::span(route.rows.data(), route.row_count)) {
    const RouteRow& row = kRouteTable[i];
    if (row.verb != verb) continue;
    if (row.refusal == nullptr || RouteRowAdmits(row, role)) return nullptr;
    return row.refusal;
  }
  // Api::Handle answers 405 before any handler for a method no row has; should one get here
  // anyway, it is refused.
  return "no route admits this method";
}

RouteInfo DescribeRoute(std::string_view target) {
  Route r = Match(target);
  return {static_cast<int>(r.kind), std::move(r.id), r.bad_id, std::move(r.bad_query)};
}

void Api::Handle(HttpRequest req, Responder r) {
  if (options_.oauth.enabled() && mcp_ != nullptr) {
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    if (core::McpOAuth::IsMetadataPath(path)) {
      return HandleOAuthMetadata(req, path, std::move(r));
    }
  }
  Route route = Match(req.target());
  if (route.kind == Route::kNone) {
    return r.Send(JsonError(404, "NOT_FOUND", "no such endpoint"));
  }
  const auto rows = std::span(route.rows.data(), route.row_count);
  if (std::none_of(rows.begin(), rows.end(),
                   [&](uint8_t i) { return kRouteTable[i].verb == req.method(); })) {
    HttpResponse res = JsonError(405, "METHOD_NOT_ALLOWED",
                                 std::string(req.method_string()) + " is not allowed here");
    std::string allow;
    for (uint8_t i : rows)
      allow += (allow.empty() ? "" : ", ") + std::string(kRouteTable[i].method);
    res.set(http::field::allow, allow);
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
    case Route::kClaudeCodeHook:
      // Authenticates itself: every refusal is answered as a deny Claude Code honours.
      return HandleClaudeCodeHook(route, std::move(req), route.hook_defer, route.bad_query,
                                  std::move(r));
    case Route::kSlackInteractions:
      return HandleSlackInteraction(req, std::move(r));
    case Route::kMcp: {
      if (mcp_ == nullptr) return r.Send(JsonError(404, "NOT_FOUND", "no such endpoint"));
      if (auto fail = mcp_->CheckOrigin(req)) return r.Send(std::move(*fail));
      Caller caller;
      if (options_.oauth.enabled() && mcp_->HasUpstream(route.id)) {
        if (auto fail = AuthenticateMcp(req, route.id, &caller)) return r.Send(std::move(*fail));
      } else if (auto fail = Authenticate(req, &caller)) {
        return r.Send(std::move(*fail));
      }
      if (const char* refusal = RoleRefusal(route, req.method(), caller.principal.role)) {
        return r.Send(Forbidden(refusal));
      }
      return mcp_->Handle(std::move(route.id), caller.principal, caller.identity, std::move(req),
                          std::move(r));
    }
    default:
      break;
  }
  HandleAuthenticated(route, std::move(req), std::move(r));
}

void Api::HandleAuthenticated(Route& route, HttpRequest req, Responder r) {
  Caller caller;
  if (auto fail = Authenticate(req, &caller)) return r.Send(std::move(*fail));
  if (route.bad_id) return r.Send(JsonError(404, "NOT_FOUND", "no such run, call or approval"));
  // Who may call what is the route table's role column, and only that.
  if (const char* refusal = RoleRefusal(route, req.method(), caller.principal.role)) {
    return r.Send(Forbidden(refusal));
  }
  switch (route.kind) {
    case Route::kRunCalls:
      return HandleDecide(caller, std::move(req), std::move(r), std::move(route.id));
    case Route::kAuthzenEvaluation:
    case Route::kAuthzenEvaluations:
      return HandleAuthzen(caller, std::move(req), route.kind == Route::kAuthzenEvaluations,
                           std::move(r));
    case Route::kRuns:
      if (req.method() == http::verb::get) {
        if (!route.bad_query.empty()) return r.Send(InvalidRequest(route.bad_query));
        return HandleListRuns(std::move(route.runs), std::move(r));
      }
      return HandleCreateRun(caller, req, std::move(r));
    case Route::kRun:
      return HandleGetRun(caller, std::move(route.id), std::move(r));
    case Route::kRunUsage:
      return HandleUsage(caller, req, std::move(route.id), std::move(r));
    case Route::kRunEnd:
      return HandleEndRun(caller, std::move(route.id), std::move(r));
    case Route::kRunReplay:
      return HandleReplay(std::move(route.id), std::move(r));
    case Route::kCall:
      if (!route.bad_query.empty()) return r.Send(InvalidRequest(route.bad_query));
      return HandleGetCall(caller, std::move(route.id), route.wait_seconds, std::move(r));
    case Route::kCallResult:
      return HandleResult(caller, req, std::move(route.id), std::move(r));
    case Route::kCallRehearsal:
      return HandleRehearsal(caller, req, std::move(route.id), std::move(r));
    case Route::kRunEgress:
      return HandleEgress(caller, req, std::move(r), std::move(route.id));
    case Route::kCallEgressResult:
      return HandleEgressResult(caller, req, std::move(route.id), std::move(r));
    case Route::kKill:
      if (req.method() == http::verb::post) return HandleSetKill(caller, req, std::move(r));
      return HandleListKill(caller, std::move(r));
    case Route::kDrills:
      if (req.method() == http::verb::post) return HandleRunDrill(caller, req, std::move(r));
      return HandleDrillStatus(std::move(r));
    case Route::kAudit:
      if (!route.bad_query.empty()) return r.Send(InvalidRequest(route.bad_query));
      return HandleAudit(std::move(route.audit), route.audit_jsonl, std::move(r));
    case Route::kApprovals:
      if (!route.bad_query.empty()) return r.Send(InvalidRequest(route.bad_query));
      return HandleListApprovals(caller, std::move(route.state), route.limit, std::move(r));
    case Route::kApproval:
      if (req.method() == http::verb::post)
        return HandleVote(caller, req, std::move(route.id), std::move(r));
      return HandleGetApproval(caller, std::move(route.id), std::move(r));
    case Route::kApprovalWithdraw:
      return HandleWithdraw(caller, req, std::move(route.id), std::move(r));
    case Route::kRunGrantRevoke:
      return HandleRevokeRunGrant(caller, req, std::move(route.id), std::move(r));
    case Route::kMetricsSummary:
      return HandleMetricsSummary(std::move(r));
    case Route::kToolView:
      return HandleToolView(caller, req, std::move(r));
    case Route::kGovernance:
      // Admin only (the table): drift shows the policy files, fatigue judges the reviewers.
      if (!route.bad_query.empty()) return r.Send(InvalidRequest(route.bad_query));
      return HandleGovernance(std::move(route.id), std::move(route.governance), std::move(r));
    default:
      return r.Send(JsonError(404, "NOT_FOUND", "no such endpoint"));
  }
}
}  // namespace interlock::server
