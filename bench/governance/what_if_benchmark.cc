// What-if replay over a large audit log: 1,000,000 recorded calls by default.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "common/time.h"
#include "core/ports/history_source.h"
#include "governance/drift.h"
#include "governance/fatigue.h"
#include "governance/trust.h"
#include "governance/what_if.h"
#include "policy/loader.h"
#include "store/sqlite_audit_log.h"
#include "store/sqlite_history_source.h"

namespace {

namespace json = boost::json;
using namespace interlock;

constexpr const char* kPolicy = R"(agent:
  id: "support-agent-v2"
  identity: "support-agent@myco.iam"
tools:
  allowed:
    - name: "read_customer_record"
      scope: ["customer_id", "order_history", "contact_info"]
    - name: "update_order_status"
      constraints:
        max_records_per_run: 10
        allowed_statuses: ["cancelled", "refunded"]
  blocked:
    - "delete_customer_record"
execution:
  max_steps: 60
  max_tokens_per_run: 50000
  max_wall_clock_seconds: 120
  max_cost_usd: 2.00
)";

json::object Decision(const std::string& tool, int step, const std::string& code) {
  const bool allow = code == "ALLOWED";
  json::object d{{"decision", allow ? "allow" : "deny"},
                 {"code", code},
                 {"reason", allow ? "tool \"" + tool + "\" is allowed" : "denied"},
                 {"rule", "tools.allowed[\"" + tool + "\"]"},
                 {"at", "support-agent-v2.yaml:7:7"},
                 {"agent", "support-agent-v2"},
                 {"tool", tool}};
  json::object records;
  records["update_order_status"] = step / 3;
  return json::object{
      {"tool", tool},
      {"args", tool == "read_customer_record"
                   ? json::object{{"customer_id", "C-" + std::to_string(step)},
                                  {"fields", json::array{"customer_id", "order_history"}}}
                   : json::object{{"order_id", "O-" + std::to_string(step)},
                                  {"status", step % 2 ? "processing" : "refunded"}}},
      {"decision", std::move(d)},
      {"policy_sha256", std::string(64, 'a')},
      {"usage", {{"tokens", 120}, {"cost_usd", 0.0012}}},
      {"state_after",
       {{"steps", step},
        {"tokens", 120 * step},
        {"cost_usd", 0.0012 * step},
        {"elapsed_s", 0.4 * step},
        {"halted", false},
        {"records", std::move(records)}}}};
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  const std::string path = argc > 2 ? argv[2] : "/tmp/interlock_what_if_bench.db";
  // --keep: append to the store at PATH (made by `interlock token create`) and leave it, with
  // its policy beside it (PATH.policy/bench.yaml), for a daemon to serve
  // (bench/governance/bench-governance-page.sh); skips the timings.
  const bool keep = argc > 3 && std::string(argv[3]) == "--keep";
  if (!keep) std::remove(path.c_str());  // --keep appends to a store made by the daemon
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return 1;
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF", nullptr, nullptr, nullptr);
  if (!audit::EnsureAuditSchema(db).ok()) return 1;
  const auto t0 = std::chrono::steady_clock::now();
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  std::vector<audit::AuditEvent> batch;
  const TimePoint start = SystemClock().Now() - std::chrono::hours(24);
  for (long i = 0; i < n; ++i) {
    const int step = static_cast<int>(i % 100) + 1;
    const std::string run = "run_" + std::to_string(i / 100);
    const std::string tool = step % 3 == 0 ? "update_order_status" : "read_customer_record";
    batch.push_back({audit::kDecision, start + std::chrono::milliseconds(i), run,
                     "call_" + std::to_string(i), "support-agent-v2", "support-agent-v2",
                     Decision(tool, step, step > 50 ? "BUDGET_EXCEEDED" : "ALLOWED")});
    if (batch.size() == 10000 || i + 1 == n) {
      if (!audit::AppendAuditEvents(db, batch).ok()) return 1;
      batch.clear();
    }
  }
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  const double build_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (keep) {
    sqlite3_close(db);
    const std::string dir = path + ".policy";
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/bench.yaml") << kPolicy;
    std::printf("built %ld records in %.1f s: %s, policy in %s\n", n, build_s, path.c_str(),
                dir.c_str());
    return 0;
  }
  std::vector<policy::Diagnostic> diags;
  auto agent = policy::ParseAgentPolicy(kPolicy, "bench.yaml", &diags);
  if (!agent.ok()) {
    std::fprintf(stderr, "%s\n", agent.error().message.c_str());
    return 1;
  }
  policy::PolicySet ps;
  ps.agents[(*agent)->id] = *agent;
  const auto t1 = std::chrono::steady_clock::now();
  auto r = governance::RunWhatIf(store::SqliteHistorySource(db), ps, {});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.error().message.c_str());
    return 1;
  }
  std::printf(
      "built %ld records in %.1f s; what-if: %llu calls re-evaluated in %.2f s "
      "(%.0f calls/s), %llu changed\n",
      n, build_s, static_cast<unsigned long long>(r->evaluated), s, r->evaluated / s,
      static_cast<unsigned long long>(r->changed));
  for (const auto& [k, c] : r->transitions) {
    std::printf("  %s -> %s: %llu\n", k.first.c_str(), k.second.c_str(),
                static_cast<unsigned long long>(c));
  }
  // The console's Governance page asks these three over the same history (issue 17's
  // "each page under 200 ms with 1,000,000 records"): timed here as the daemon runs them.
  const store::SqliteHistorySource source(db);
  auto timed = [](const char* name, auto&& fn) {
    const auto a = std::chrono::steady_clock::now();
    const bool ok = fn();
    std::printf("%s: %.2f s%s\n", name,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count(),
                ok ? "" : " (failed)");
  };
  timed("drift (all agents, whole log)",
        [&] { return governance::RunDrift(source, ps, governance::DriftOptions{}).ok(); });
  timed("trust evidence",
        [&] { return governance::CollectTrustEvidence(source, governance::TrustOptions{}).ok(); });
  timed("approval fatigue",
        [&] { return governance::CollectFatigue(source, governance::FatigueOptions{}).ok(); });
  sqlite3_close(db);
  std::remove(path.c_str());
  return 0;
}
