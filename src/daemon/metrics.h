// Metrics: the daemon's counters, rendered in the Prometheus text exposition format.
//
// Every Record*() is on a hot path and costs a few relaxed atomic increments; per-agent
// decision counters are found under a shared (reader) lock and created once per agent.
// Gauges that the store knows better than this process (kill switches) are passed in at
// scrape time. Thread-safety: every method may be called from any thread concurrently.
#ifndef INTERLOCK_DAEMON_METRICS_H_
#define INTERLOCK_DAEMON_METRICS_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "interlock/decision.h"

namespace interlock::server {

class Metrics {
 public:
  // Upper bounds (seconds) of the decision latency histogram buckets; +Inf is implied.
  static constexpr std::array<double, 14> kLatencyBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

  void RecordDecision(std::string_view agent_id, Code code, std::chrono::nanoseconds latency);
  void RecordHttpStatus(unsigned status);
  void RecordStoreError() { store_errors_.fetch_add(1, std::memory_order_relaxed); }
  // A reload attempt. A refused one (`error` says why) leaves the older policy set in
  // force until the next good reload: /metrics shows interlock_policy_reload_failed 1 and
  // /readyz the error meanwhile.
  void RecordReload(bool ok, std::string error = "") {
    (ok ? reloads_ok_ : reloads_error_).fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(reload_mu_);
    reload_error_ = ok ? std::string() : std::move(error);
    reload_failed_ = !ok;
  }
  // Why the policy on disk is refused (the older set serving), or nullopt.
  std::optional<std::string> PolicyReloadError() const {
    std::lock_guard lock(reload_mu_);
    if (!reload_failed_) return std::nullopt;
    return reload_error_;
  }
  void RecordAuthFailure() { auth_failures_.fetch_add(1, std::memory_order_relaxed); }
  // A call Claude Code reported as run although Interlock had not allowed it (an incident,
  // core::kRanAnywayRule): interlock_hook_ran_anyway_total.
  void RecordHookRanAnyway() { hook_ran_anyway_.fetch_add(1, std::memory_order_relaxed); }
  void RunStarted() { runs_active_.fetch_add(1, std::memory_order_relaxed); }
  void RunEnded() { runs_active_.fetch_sub(1, std::memory_order_relaxed); }
  void RunHalted() { runs_halted_.fetch_add(1, std::memory_order_relaxed); }
  // MCP Streamable HTTP sessions (/mcp/{upstream}).
  void McpSessionOpened() {
    mcp_sessions_active_.fetch_add(1, std::memory_order_relaxed);
    mcp_sessions_opened_.fetch_add(1, std::memory_order_relaxed);
  }
  void McpSessionClosed() { mcp_sessions_active_.fetch_sub(1, std::memory_order_relaxed); }
  void McpSessionRefused() { mcp_sessions_refused_.fetch_add(1, std::memory_order_relaxed); }

  struct KillGauge {
    std::string scope;
    int64_t engaged = 0;
  };
  // The exposition text. `kills` holds the number of engaged switches per scope.
  std::string Render(const std::vector<KillGauge>& kills) const;
  // Families another module keeps (the telemetry exporter's interlock_telemetry_*),
  // appended to Render(). Set at start-up, before the first Render.
  void SetExtra(std::function<std::string()> extra) { extra_ = std::move(extra); }

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
  Summary Summarize() const;

 private:
  struct AgentCounters {
    std::array<std::atomic<uint64_t>, kCodeCount> by_code{};
  };
  AgentCounters* CountersFor(std::string_view agent_id);

  mutable std::shared_mutex agents_mu_;
  std::map<std::string, std::unique_ptr<AgentCounters>, std::less<>> agents_;

  std::array<std::atomic<uint64_t>, kLatencyBuckets.size() + 1> latency_buckets_{};
  std::atomic<uint64_t> latency_sum_ns_{0};
  std::atomic<uint64_t> latency_count_{0};
  std::array<std::atomic<uint64_t>, 600> http_status_{};
  std::atomic<uint64_t> store_errors_{0};
  std::atomic<uint64_t> reloads_ok_{0};
  std::atomic<uint64_t> reloads_error_{0};
  mutable std::mutex reload_mu_;
  bool reload_failed_ = false;  // guarded by reload_mu_
  std::string reload_error_;    // guarded by reload_mu_
  std::atomic<uint64_t> drill_decisions_{0};
  std::atomic<uint64_t> auth_failures_{0};
  std::atomic<uint64_t> hook_ran_anyway_{0};
  std::atomic<int64_t> runs_active_{0};
  std::atomic<int64_t> runs_halted_{0};
  std::atomic<int64_t> mcp_sessions_active_{0};
  std::atomic<uint64_t> mcp_sessions_opened_{0};
  std::atomic<uint64_t> mcp_sessions_refused_{0};
  std::function<std::string()> extra_;
};

}  // namespace interlock::server

#endif  // INTERLOCK_DAEMON_METRICS_H_
