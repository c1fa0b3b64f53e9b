// The governance reports as the console asks for them (GET /v1/governance/{drift,trust,
// fatigue}): one report as JSON, computed from the audit history against a policy by the
// same functions as `interlock drift --format json` and `interlock trust report --format
// json` (src/governance/), with the drift report's suggested tighter policy per agent. The
// door parses the query, caches and serialises; what a report says is computed here.
//
// Errors are values: the history source's (kUnavailable when the store cannot answer,
// kCancelled once its stop flag is set) and the governance functions'.
// Thread-safety: pure over its arguments; blocks on the history source (call it off a
// network thread).
#ifndef INTERLOCK_CORE_APP_GOVERNANCE_H_
#define INTERLOCK_CORE_APP_GOVERNANCE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "common/time.h"
#include "core/ports/history_source.h"
#include "interlock/result.h"
#include "policy/policy.h"

namespace interlock::core {

// What one report is asked for.
struct GovernanceQuery {
  std::string agent_id;  // empty: every agent
  int days = 30;         // drift and fatigue window
  // Drift: the evidence a suggestion needs (as `interlock drift --min-runs --min-days`).
  uint64_t min_runs = 20;
  int min_days = 7;
};

// Report "drift", "trust" or any other name: "fatigue". `now_ms`: the end of the window
// (Unix milliseconds).
Result<boost::json::object> GovernanceReport(std::string_view report, const GovernanceQuery& query,
                                             const policy::PolicySet& set,
                                             const HistorySource& source, int64_t now_ms);

// Reports that read the whole audit log, computed off the request path and answered with
// their age (the console's Governance page; docs/console.md, "Governance over a large
// log"). The daemon implements it (server::ReportCache, daemon/report_cache.h: one
// computation per question at a time, on its own thread, a bounded queue) and hands it to
// the door that serves the reports; the door asks a question by key and serialises the
// answer. Thread-safety: Get may be called from any thread; `compute` runs on the
// implementation's thread, and may outlive the door that asked: it captures nothing of it.
class CachedReports {
 public:
  // `stop` is set when the cache is destroyed: a long computation should end early
  // (core::StoppableSource).
  using Compute = std::function<Result<boost::json::object>(const std::atomic<bool>& stop)>;

  struct Answer {
    std::shared_ptr<const boost::json::object> report;  // null: none computed yet
    TimePoint as_of{};                                  // when the report's computation began
    int64_t seq = -1;            // the log's last seq it covers (-1: unknown)
    bool current = false;        // covers the log as it is now
    bool refreshing = false;     // a newer computation is queued or running
    TimePoint queued_at{};       // when that computation was queued (refreshing only)
    std::optional<Error> error;  // the last computation failed
    bool busy = false;           // a computation was needed but too many others wait: ask later
  };

  virtual ~CachedReports() = default;
  // The last report of the question `key`, computed with `compute` if this call queues a
  // computation (`force`: even when a recent report exists).
  virtual Answer Get(const std::string& key, Compute compute, bool force = false) = 0;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_GOVERNANCE_H_
