#include "core/app/governance.h"

#include <cstdio>
#include <utility>

#include <boost/json/array.hpp>

#include "governance/drift.h"
#include "governance/fatigue.h"
#include "governance/suggest.h"
#include "governance/trust.h"

namespace interlock::core {

namespace json = boost::json;

Result<json::object> GovernanceReport(std::string_view report, const GovernanceQuery& query,
                                      const policy::PolicySet& set, const HistorySource& source,
                                      int64_t now_ms) {
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

}  // namespace interlock::core
