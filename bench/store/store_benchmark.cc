// Audited decisions per second through the Guard into the SQLite store: the daemon's
// decision path without HTTP. Each iteration decides 1,000 calls spread over 64 runs,
// all in flight at once, so group commit batches them as a loaded daemon would; and the
// latency of one decision at a time (BM_SequentialDecision, the stdio MCP gateway's case).
//   build/bench/store/store_benchmark --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>

#include <unistd.h>

#include "common/time.h"
#include "core/guard.h"
#include "core/policy_source.h"
#include "policy/loader.h"
#include "store/sqlite_store.h"

namespace interlock {
namespace {

constexpr int kRuns = 64;
constexpr int kCallsPerIteration = 1000;

void BM_AuditedDecisions(benchmark::State& st) {
  const bool durable_full = st.range(0) != 0;
  std::vector<policy::Diagnostic> diags;
  auto set =
      policy::LoadPolicySet({std::string(INTERLOCK_SOURCE_DIR) + "/bench/daemon/policies"}, &diags);
  if (!set.ok()) {
    st.SkipWithError(set.error().message.c_str());
    return;
  }
  const std::string agent = (*set)->agents.begin()->first;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("interlock-store-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    store::StoreOptions o;
    o.path = (dir / "bench.db").string();
    o.durable_full = durable_full;
    o.audit_key = "bench-key";
    auto opened = store::SqliteStore::Open(o);
    if (!opened.ok()) {
      st.SkipWithError(opened.error().message.c_str());
      return;
    }
    std::unique_ptr<store::SqliteStore> s = std::move(opened).value();
    core::PolicySource source(*set);
    SystemClock clock;
    core::Guard guard(&source, s.get(), &clock, nullptr);
    std::vector<std::string> runs;
    for (int i = 0; i < kRuns; ++i) runs.push_back(s->CreateRun(agent, "", clock.Now())->run_id);

    std::mutex mu;
    std::condition_variable cv;
    for (auto _ : st) {
      int done = 0;
      for (int i = 0; i < kCallsPerIteration; ++i) {
        ToolCall call;
        call.tool = "read_document";
        call.args = {{"path", "/docs/report-" + std::to_string(i) + ".md"}};
        guard.DecideAsync(agent, agent, runs[i % kRuns], std::move(call), [&](core::GuardResponse) {
          std::lock_guard lock(mu);
          if (++done == kCallsPerIteration) cv.notify_all();
        });
      }
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return done == kCallsPerIteration; });
    }
    st.SetItemsProcessed(st.iterations() * kCallsPerIteration);
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AuditedDecisions)
    ->Arg(1)
    ->Arg(0)
    ->ArgName("durable_full")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Latency of one decision at a time (the stdio MCP gateway's case: nothing to batch
// with), from Guard::Decide to the answer, the commit (and fsync with durable_full)
// included. Reported per decision in microseconds.
void BM_SequentialDecision(benchmark::State& st) {
  const bool durable_full = st.range(0) != 0;
  std::vector<policy::Diagnostic> diags;
  auto set =
      policy::LoadPolicySet({std::string(INTERLOCK_SOURCE_DIR) + "/bench/daemon/policies"}, &diags);
  if (!set.ok()) {
    st.SkipWithError(set.error().message.c_str());
    return;
  }
  const std::string agent = (*set)->agents.begin()->first;
  const auto dir = std::filesystem::temp_directory_path() /
                   ("interlock-store-seq-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    store::StoreOptions o;
    o.path = (dir / "bench.db").string();
    o.durable_full = durable_full;
    o.audit_key = "bench-key";
    auto opened = store::SqliteStore::Open(o);
    if (!opened.ok()) {
      st.SkipWithError(opened.error().message.c_str());
      return;
    }
    std::unique_ptr<store::SqliteStore> s = std::move(opened).value();
    core::PolicySource source(*set);
    SystemClock clock;
    core::Guard guard(&source, s.get(), &clock, nullptr);
    const std::string run = s->CreateRun(agent, "", clock.Now())->run_id;
    int i = 0;
    for (auto _ : st) {
      ToolCall call;
      call.tool = "read_document";
      call.args = {{"path", "/docs/report-" + std::to_string(i++) + ".md"}};
      core::GuardResponse r = guard.Decide(agent, agent, run, std::move(call));
      benchmark::DoNotOptimize(r);
    }
    st.SetItemsProcessed(st.iterations());
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SequentialDecision)
    ->Arg(1)
    ->Arg(0)
    ->ArgName("durable_full")
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace interlock

BENCHMARK_MAIN();
