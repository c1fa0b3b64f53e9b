#include "daemon/metrics.h"

#include <mutex>
#include <sstream>

#include "common/drill_agent.h"
#include "common/text.h"

namespace interlock::server {
namespace {

// Label values escape backslash, double quote and newline (exposition format 0.0.4).
std::string EscapeLabel(std::string_view v) {
  return EscapeBytes(v, {{'\\', "\\\\"}, {'"', "\\\""}, {'\n', "\\n"}});
}

// The HELP and TYPE lines of the metric `name`.
void WriteFamily(std::ostream& out, std::string_view name, std::string_view type,
                 std::string_view help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

// A metric of one unlabelled sample, with its HELP and TYPE lines.
template <typename T>
void WriteSample(std::ostream& out, std::string_view name, std::string_view type,
                 std::string_view help, T value) {
  WriteFamily(out, name, type, help);
  out << name << ' ' << value << '\n';
}

}  // namespace

Metrics::AgentCounters* Metrics::CountersFor(std::string_view agent_id) {
  {
    std::shared_lock lock(agents_mu_);
    if (auto it = agents_.find(agent_id); it != agents_.end()) return it->second.get();
  }
  std::unique_lock lock(agents_mu_);
  auto [it, inserted] = agents_.try_emplace(std::string(agent_id));
  if (inserted) it->second = std::make_unique<AgentCounters>();
  return it->second.get();
}

void Metrics::RecordDecision(std::string_view agent_id, Code code,
                             std::chrono::nanoseconds latency) {
  // A kill-switch drill's decisions are not the agents' (docs/drill.md): counted apart.
  if (agent_id == kDrillAgentId) {
    drill_decisions_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  CountersFor(agent_id)->by_code[static_cast<size_t>(code)].fetch_add(1, std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(latency).count();
  size_t bucket = 0;
  while (bucket < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket]) ++bucket;
  latency_buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_.fetch_add(static_cast<uint64_t>(latency.count()), std::memory_order_relaxed);
  latency_count_.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::RecordHttpStatus(unsigned status) {
  if (status < http_status_.size()) http_status_[status].fetch_add(1, std::memory_order_relaxed);
}

Metrics::Summary Metrics::Summarize() const {
  Summary out;
  {
    std::shared_lock lock(agents_mu_);
    for (const auto& [agent, counters] : agents_) {
      for (int c = 0; c < kCodeCount; ++c) {
        const uint64_t n = counters->by_code[c].load(std::memory_order_relaxed);
        if (n == 0) continue;
        out.by_code[std::string(CodeName(static_cast<Code>(c)))] += n;
      }
    }
  }
  uint64_t total = 0;
  std::array<uint64_t, kLatencyBuckets.size() + 1> buckets{};
  for (size_t i = 0; i < buckets.size(); ++i) {
    buckets[i] = latency_buckets_[i].load(std::memory_order_relaxed);
    total += buckets[i];
  }
  out.decisions = total;
  if (total > 0) {
    const uint64_t rank = (total * 99 + 99) / 100;  // ceil(0.99 * total)
    uint64_t cumulative = 0;
    for (size_t i = 0; i < buckets.size(); ++i) {
      cumulative += buckets[i];
      if (cumulative >= rank) {
        out.p99_s = i < kLatencyBuckets.size() ? kLatencyBuckets[i] : -1.0;
        break;
      }
    }
  }
  out.runs_active = runs_active_.load(std::memory_order_relaxed);
  out.runs_halted = runs_halted_.load(std::memory_order_relaxed);
  return out;
}

std::string Metrics::Render(const std::vector<KillGauge>& kills) const {
  std::ostringstream out;
  out << "# HELP interlock_decisions_total Decisions made, by agent and decision code.\n"
         "# TYPE interlock_decisions_total counter\n";
  {
    std::shared_lock lock(agents_mu_);
    for (const auto& [agent, counters] : agents_) {
      for (int c = 0; c < kCodeCount; ++c) {
        const uint64_t n = counters->by_code[c].load(std::memory_order_relaxed);
        if (n == 0) continue;
        out << "interlock_decisions_total{agent=\"" << EscapeLabel(agent) << "\",code=\""
            << CodeName(static_cast<Code>(c)) << "\"} " << n << '\n';
      }
    }
  }
  WriteSample(out, "interlock_drill_decisions_total", "counter",
              "Decisions of kill-switch drills (left out of interlock_decisions_total).",
              drill_decisions_.load(std::memory_order_relaxed));
  out << "# HELP interlock_decision_latency_seconds Time from the call's receipt to its "
         "decision.\n"
         "# TYPE interlock_decision_latency_seconds histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < latency_buckets_.size(); ++i) {
    cumulative += latency_buckets_[i].load(std::memory_order_relaxed);
    out << "interlock_decision_latency_seconds_bucket{le=\"";
    if (i < kLatencyBuckets.size()) {
      out << kLatencyBuckets[i];
    } else {
      out << "+Inf";
    }
    out << "\"} " << cumulative << '\n';
  }
  out << "interlock_decision_latency_seconds_sum "
      << static_cast<double>(latency_sum_ns_.load(std::memory_order_relaxed)) / 1e9 << '\n'
      << "interlock_decision_latency_seconds_count "
      << latency_count_.load(std::memory_order_relaxed) << '\n';
  WriteSample(out, "interlock_runs_active", "gauge", "Runs started and not ended by this process.",
              runs_active_.load(std::memory_order_relaxed));
  WriteSample(out, "interlock_runs_halted", "gauge",
              "Runs halted by a budget since this process started.",
              runs_halted_.load(std::memory_order_relaxed));
  WriteSample(out, "interlock_mcp_sessions_active", "gauge",
              "MCP Streamable HTTP sessions open now.",
              mcp_sessions_active_.load(std::memory_order_relaxed));
  WriteSample(out, "interlock_mcp_sessions_opened_total", "counter",
              "MCP sessions opened since start.",
              mcp_sessions_opened_.load(std::memory_order_relaxed));
  WriteSample(out, "interlock_mcp_sessions_refused_total", "counter",
              "MCP sessions refused over a cap.",
              mcp_sessions_refused_.load(std::memory_order_relaxed));
  out << "# HELP interlock_kill_switch_engaged Engaged kill switches, by scope.\n"
         "# TYPE interlock_kill_switch_engaged gauge\n";
  for (const KillGauge& k : kills) {
    out << "interlock_kill_switch_engaged{scope=\"" << EscapeLabel(k.scope) << "\"} " << k.engaged
        << '\n';
  }
  WriteSample(out, "interlock_store_errors_total", "counter", "Store operations that failed.",
              store_errors_.load(std::memory_order_relaxed));
  WriteSample(out, "interlock_hook_ran_anyway_total", "counter",
              "Calls Claude Code reported as run although Interlock denied them or held them for "
              "approval (incidents).",
              hook_ran_anyway_.load(std::memory_order_relaxed));
  WriteSample(out, "interlock_auth_failures_total", "counter",
              "Requests refused for a missing or bad token.",
              auth_failures_.load(std::memory_order_relaxed));
  out << "# HELP interlock_http_requests_total HTTP responses, by status.\n"
         "# TYPE interlock_http_requests_total counter\n";
  for (size_t s = 0; s < http_status_.size(); ++s) {
    const uint64_t n = http_status_[s].load(std::memory_order_relaxed);
    if (n != 0) out << "interlock_http_requests_total{status=\"" << s << "\"} " << n << '\n';
  }
  out << "# HELP interlock_policy_reloads_total Policy reloads, by result.\n"
         "# TYPE interlock_policy_reloads_total counter\n"
         "interlock_policy_reloads_total{result=\"ok\"} "
      << reloads_ok_.load(std::memory_order_relaxed) << '\n'
      << "interlock_policy_reloads_total{result=\"error\"} "
      << reloads_error_.load(std::memory_order_relaxed) << '\n';
  WriteSample(out, "interlock_policy_reload_failed", "gauge",
              "Whether the policy on disk is refused and an older set is in force.",
              PolicyReloadError() ? 1 : 0);
  if (extra_) out << extra_();
  return out.str();
}

}  // namespace interlock::server
