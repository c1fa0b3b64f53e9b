// Metrics: the daemon's counters, rendered in the Prometheus text exposition format.
//
// The doors record through core::DoorMetrics (core/app/door_metrics.h), which this
// implements; the daemon's own wiring (the decision observer, the policy watcher) calls it
// directly. Every Record*() is on a hot path and costs a few relaxed atomic increments;
// per-agent decision counters are found under a shared (reader) lock and created once per agent.
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

#include "core/app/door_metrics.h"
#include "interlock/decision.h"

namespace interlock::server {

class Metrics final : public core::DoorMetrics {
 public:
  // Upper bounds (seconds) of the decision latency histogram buckets; +Inf is implied.
  static constexpr std::array<double, 14> kLatencyBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

  void RecordDecision(std::string_view agent_id, Code code,
                      std::chrono::nanoseconds latency) override;
  void RecordHttpStatus(unsigned status) override;
  void RecordStoreError() override { store_errors_.fetch_add(1, std::memory_order_relaxed); }
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
  std::optional<std::string> PolicyReloadError() const override {
    std::lock_guard lock(reload_mu_);
    if (!reload_failed_) return std::nullopt;
    return reload_error_;
  }
  void RecordAuthFailure() override { auth_failures_.fetch_add(1, std::memory_order_relaxed); }
  void RecordHookRanAnyway() override { hook_ran_anyway_.fetch_add(1, std::memory_order_relaxed); }
  void RunStarted() override { runs_active_.fetch_add(1, std::memory_order_relaxed); }
  void RunEnded() override { runs_active_.fetch_sub(1, std::memory_order_relaxed); }
  void RunHalted() { runs_halted_.fetch_add(1, std::memory_order_relaxed); }
  void McpSessionOpened() override {
    mcp_sessions_active_.fetch_add(1, std::memory_order_relaxed);
    mcp_sessions_opened_.fetch_add(1, std::memory_order_relaxed);
  }
  void McpSessionClosed() override { mcp_sessions_active_.fetch_sub(1, std::memory_order_relaxed); }
  void McpSessionRefused() override {
    mcp_sessions_refused_.fetch_add(1, std::memory_order_relaxed);
  }

  std::string Render(const std::vector<KillGauge>& kills) const override;
  // Families another module keeps (the telemetry exporter's interlock_telemetry_*),
  // appended to Render(). Set at start-up, before the first Render.
  void SetExtra(std::function<std::string()> extra) { extra_ = std::move(extra); }

  Summary Summarize() const override;

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
