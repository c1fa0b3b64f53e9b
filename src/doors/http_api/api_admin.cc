// Operations: kill switches, the audit search, readiness, metrics, the console's assets
// and its governance reports.
#include <algorithm>
#include <string>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "common/json.h"
#include "core/app/governance.h"
#include "doors/http_api/api.h"
#include "doors/http_api/api_internal.h"
#include "doors/http_api/ui_assets.h"

namespace interlock::server {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;

void Api::HandleSetKill(const Caller& c, const HttpRequest& req, Responder r) {
  auto body = ParseObjectBody(req, options_.max_body_bytes, false);
  if (!body.ok()) return r.Send(InvalidRequest(body.error().message));
  const json::object& o = *body;
  for (const auto& kv : o) {
    const std::string_view k = kv.key();
    if (k != "scope" && k != "target" && k != "engaged" && k != "reason" && k != "end_runs") {
      return r.Send(InvalidRequest("unknown field '" + std::string(k) + "'"));
    }
  }
  core::KillEntry e;
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
    Result<std::string> text = FreeText(*reason, "reason");
    if (!text.ok()) return r.Send(InvalidRequest(text.error().message));
    e.reason = std::move(text).value();
  }
  if (const json::value* end = o.if_contains("end_runs"); end && !end->is_null()) {
    if (!end->is_bool()) return r.Send(InvalidRequest("end_runs must be a boolean"));
    if (end->as_bool() && !e.engaged) {
      return r.Send(InvalidRequest("end_runs goes with engaging a switch, not releasing one"));
    }
    e.end_runs = end->as_bool();
  }
  e.actor = c.principal.name;
  e.at = clock_->Now();
  Blocking([this, r, e = std::move(e)] {
    core::Kills::Outcome done;
    Status s = kills_.Set(e, &done);
    if (!s.ok()) return r.Send(StoreError(s.error()));
    // Engaged: 200, whatever became of ending its runs (named, for the operator to retry).
    json::object out = KillJson(e);
    if (e.end_runs) out["runs_ended"] = done.runs_ended;
    if (!done.end_runs_error.empty()) {
      if (metrics_ != nullptr) metrics_->RecordStoreError();
      out["end_runs_error"] = "the switch is engaged, but ending its runs stopped after " +
                              std::to_string(done.runs_ended) + ": " + done.end_runs_error +
                              " (engage it again with end_runs to end the rest)";
    }
    r.Send(JsonResponse(200, std::move(out)));
  });
}

void Api::HandleAudit(audit::AuditQuery query, bool jsonl, Responder r) {
  Blocking([this, query = std::move(query), jsonl, r] {
    auto page = audit_.Page(query);
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

void Api::HandleListKill(const Caller&, Responder r) {
  Blocking([this, r] {
    auto kills = kills_.List();
    if (!kills.ok()) return r.Send(StoreError(kills.error()));
    json::array arr;
    for (const core::KillEntry& k : *kills) arr.push_back(KillJson(k));
    r.Send(JsonResponse(200, json::object{{"kill_switches", std::move(arr)}}));
  });
}

void Api::HandleReady(Responder r) {
  Blocking([this, r] {
    auto set = policies_->Current();
    if (!set) return r.Send(JsonError(503, "NOT_READY", "no policy set loaded"));
    auto kills = kills_.List();
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
    const core::DoorMetrics::Summary m = metrics_->Summarize();
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
    core::ApprovalFilter f;
    f.which = core::ApprovalFilter::Which::kPending;
    f.limit = 1000;
    if (auto pending = calls_.approvals().List(f); pending.ok()) {
      out["pending_approvals"] = pending->size();
    } else {
      return r.Send(StoreError(pending.error()));
    }
    int64_t engaged = 0;
    if (auto kills = kills_.List(); kills.ok()) {
      for (const core::KillEntry& k : *kills) engaged += k.engaged ? 1 : 0;
    } else {
      return r.Send(StoreError(kills.error()));
    }
    out["kill_switches_engaged"] = engaged;
    r.Send(JsonResponse(200, out));
  });
}

void Api::HandleMetrics(Responder r) {
  Blocking([this, r] {
    std::vector<core::DoorMetrics::KillGauge> gauges = {{"global", 0}, {"agent", 0}, {"run", 0}};
    if (auto kills = kills_.List(); kills.ok()) {
      for (const core::KillEntry& k : *kills) {
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

// --- governance: the console's Governance page (GET /v1/governance/...) ---------------
// One path with the CLI: core::GovernanceReport (core/app/governance.h) runs the same
// functions as `interlock drift --format json` and `interlock trust report --format json`,
// over the store's HistorySource instead of a SQLite handle. The reports are computed by
// the daemon's core::CachedReports (ApiOptions::reports), off the request path, and answered
// with their age: a page over a million records answers in milliseconds.
void Api::HandleGovernance(std::string report, GovernanceQuery query, Responder r) {
  if (options_.reports == nullptr) return r.Send(JsonError(404, "NOT_FOUND", "no such endpoint"));
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
    // The computation may outlive this Api (the cache is the daemon's): it holds copies.
    core::CachedReports::Answer a = options_.reports->Get(
        key,
        [audit = audit_, clock = clock_, report, query, set](const std::atomic<bool>& stop) {
          const core::StoppableSource source = audit.History(&stop);
          return core::GovernanceReport(report, query, *set, source, ToUnixMillis(clock->Now()));
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
