#include "governance/fatigue.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include <boost/json/array.hpp>

#include "audit/audit_log.h"
#include "governance/history.h"

namespace interlock::governance {
namespace {

namespace json = boost::json;

std::string Percent(double share) { return std::to_string(std::lround(share * 100)) + "%"; }

}  // namespace

double ReadingTimeS(size_t chars) {
  return kReadFloorS + static_cast<double>(chars) * kReadSecondsPerChar;
}

std::vector<ReviewerFatigue> FatigueFromVerdicts(std::vector<VerdictEvent> verdicts) {
  std::stable_sort(
      verdicts.begin(), verdicts.end(),
      [](const VerdictEvent& a, const VerdictEvent& b) { return a.time_ms < b.time_ms; });
  struct Acc {
    ReviewerFatigue f;
    std::vector<double> decide_s;
    uint64_t streak = 0;
  };
  std::map<std::string, Acc> by;
  for (const VerdictEvent& v : verdicts) {
    Acc& a = by[v.reviewer];
    ++a.f.decisions;
    std::optional<double> took;
    if (v.requested_ms) {
      took = static_cast<double>(v.time_ms - *v.requested_ms) / 1e3;
      a.decide_s.push_back(*took);
    }
    if (!v.approve) {
      ++a.f.denials;
      a.streak = 0;
      continue;
    }
    ++a.f.approvals;
    a.f.longest_streak = std::max(a.f.longest_streak, ++a.streak);
    if (took) {
      ++a.f.timed_approvals;
      if (*took < ReadingTimeS(v.args_chars)) ++a.f.too_fast;
    }
  }
  std::vector<ReviewerFatigue> out;
  for (auto& [name, a] : by) {
    ReviewerFatigue f = std::move(a.f);
    f.reviewer = name;
    f.median_decide_s = Median(std::move(a.decide_s));
    f.too_fast_share = f.timed_approvals ? static_cast<double>(f.too_fast) / f.timed_approvals : 0;
    if (f.timed_approvals >= kMinTimedApprovals && f.too_fast_share >= kTooFastShareWarn) {
      f.reasons.push_back(Percent(f.too_fast_share) + " of " + std::to_string(f.timed_approvals) +
                          " approvals were decided faster than the arguments can be read");
    }
    if (f.longest_streak >= kStreakWarn) {
      f.reasons.push_back(std::to_string(f.longest_streak) +
                          " approvals in a row without a single deny");
    }
    f.warning = !f.reasons.empty();
    out.push_back(std::move(f));
  }
  return out;
}

Result<FatigueReport> CollectFatigue(const core::HistorySource& source,
                                     const FatigueOptions& options) {
  FatigueReport report;
  report.since_ms = options.since_ms;
  std::unordered_map<std::string, size_t> args_chars;  // call_id -> canonical args size
  ApprovalRequests approvals;
  std::vector<VerdictEvent> verdicts;
  HistoryFilter filter;
  filter.types = {audit::kDecision, audit::kApproval};
  if (options.since_ms > 0) filter.since_ms = options.since_ms;
  filter.agent_id = options.agent_id;
  Status st = source.ForEachRecord(filter, [&](const RecordView& r) {
    if (r.type == audit::kDecision) {
      // Only a call sent for approval is ever shown to a reviewer: the others are not kept
      // (a million decisions would otherwise be a million map entries).
      DecisionFields f;
      if (ParseDecisionFields(r.data, &f) && f.verdict == "\"approval_required\"") {
        args_chars[std::string(r.call_id)] = f.args.size();
      }
      return;
    }
    const ApprovalEvent a = approvals.Read(r);
    const std::string& event = a.event;
    if (event == "requested") return;
    VerdictEvent v;
    if (event == "granted") {
      v.approve = true;
    } else if (event == "voted") {
      v.approve = MemberString(r.data, "verdict") == "approve";
    } else if (event != "denied") {
      return;  // timed out, cancelled, withdrawn: nobody decided
    }
    v.reviewer = MemberString(r.data, "reviewer");
    if (v.reviewer.empty()) return;  // denied by the daemon (a re-check), not a person
    v.time_ms = r.time_ms;
    v.requested_ms = a.requested_ms;
    if (auto c = args_chars.find(std::string(r.call_id)); c != args_chars.end()) {
      v.args_chars = c->second;
    }
    verdicts.push_back(std::move(v));
  });
  if (!st.ok()) return st.error();
  report.reviewers = FatigueFromVerdicts(std::move(verdicts));
  return report;
}

json::object FatigueToJson(const FatigueReport& r) {
  json::array reviewers;
  for (const ReviewerFatigue& f : r.reviewers) {
    json::array reasons;
    for (const std::string& s : f.reasons) reasons.emplace_back(s);
    reviewers.push_back(json::object{{"reviewer", f.reviewer},
                                     {"decisions", f.decisions},
                                     {"approvals", f.approvals},
                                     {"denials", f.denials},
                                     {"timed_approvals", f.timed_approvals},
                                     {"median_decide_s", f.median_decide_s},
                                     {"too_fast", f.too_fast},
                                     {"too_fast_share", f.too_fast_share},
                                     {"longest_streak", f.longest_streak},
                                     {"warning", f.warning},
                                     {"reasons", std::move(reasons)}});
  }
  return {{"since_ms", r.since_ms},
          {"reading_model",
           json::object{{"floor_s", kReadFloorS}, {"seconds_per_char", kReadSecondsPerChar}}},
          {"thresholds", json::object{{"min_timed_approvals", kMinTimedApprovals},
                                      {"too_fast_share", kTooFastShareWarn},
                                      {"streak", kStreakWarn}}},
          {"reviewers", std::move(reviewers)}};
}

}  // namespace interlock::governance
