// DoorMetrics: what a door records in the daemon's metrics, and what it reads back to serve
// them (GET /metrics, GET /v1/metrics/summary, GET /readyz). The daemon implements it
// (server::Metrics, daemon/metrics.h) and hands it to its doors: a door records through
// this interface and never names the daemon's counters.
//
// A door counts what only it sees: the HTTP statuses it answers, the requests it refuses
// before the core does (a body that is not a call: RecordDecision as INVALID_REQUEST), store
// errors of the facade calls it makes, refused credentials, runs it starts and ends, MCP
// sessions. The core's decisions are counted by the daemon itself (a core::DecisionObserver).
// Thread-safety: every method may be called from any thread concurrently; the Record*()
// calls are on hot paths and cost a few relaxed atomic increments.
#ifndef INTERLOCK_CORE_APP_DOOR_METRICS_H_
#define INTERLOCK_CORE_APP_DOOR_METRICS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interlock/decision.h"

namespace interlock::core {

class DoorMetrics {
 public:
  virtual ~DoorMetrics() = default;

  // One decision under `code`, taking `latency` (a door records only the requests it
  // refused itself, as Code::kInvalidRequest).
  virtual void RecordDecision(std::string_view agent_id, Code code,
                              std::chrono::nanoseconds latency) = 0;
  // One HTTP response sent with `status`.
  virtual void RecordHttpStatus(unsigned status) = 0;
  virtual void RecordStoreError() = 0;
  // A refused credential (core::Authenticator's count_failure).
  virtual void RecordAuthFailure() = 0;
  // A call Claude Code reported as run although Interlock had not allowed it (an incident,
  // core::kRanAnywayRule): interlock_hook_ran_anyway_total.
  virtual void RecordHookRanAnyway() = 0;
  virtual void RunStarted() = 0;
  virtual void RunEnded() = 0;
  // MCP Streamable HTTP sessions (/mcp/{upstream}).
  virtual void McpSessionOpened() = 0;
  virtual void McpSessionClosed() = 0;
  virtual void McpSessionRefused() = 0;

  // Why the policy on disk is refused (the older set serving), or nullopt.
  virtual std::optional<std::string> PolicyReloadError() const = 0;

  struct KillGauge {
    std::string scope;
    int64_t engaged = 0;
  };
  // The Prometheus text exposition. `kills` holds the number of engaged switches per scope.
  virtual std::string Render(const std::vector<KillGauge>& kills) const = 0;

  // The same counters for the console's "metrics at a glance" (GET /v1/metrics/summary).
  struct Summary {
    std::map<std::string, uint64_t> by_code;  // over all agents; codes seen only
    uint64_t decisions = 0;
    // The upper bound (seconds) of the histogram bucket holding the 99th percentile of
    // decision latency; nullopt before any decision, +inf above the last bucket (-1).
    std::optional<double> p99_s;
    int64_t runs_active = 0;
    int64_t runs_halted = 0;
  };
  virtual Summary Summarize() const = 0;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_DOOR_METRICS_H_
