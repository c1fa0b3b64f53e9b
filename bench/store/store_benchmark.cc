// Audited decisions per second through the Guard into the SQLite store: the daemon's
// decision path without HTTP. Each iteration decides 1,000 calls spread over 64 runs,
// all in flight at once, so group commit batches them as a loaded daemon would; and the
// latency of one decision at a time (BM_SequentialDecision, the stdio MCP gateway's case).
// The *WithTelemetry variants run the same with OpenTelemetry export on (a decision span
// per call into an OtlpExporter whose collector refuses connections, so every span is
// built, queued, encoded and dropped: the decision path's whole share of the export).
//   build/bench/store/store_benchmark --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <unistd.h>

#include "common/time.h"
#include "core/app/policy_source.h"
#include "core/guard.h"
#include "policy/loader.h"
#include "store/sqlite_store.h"
#include "telemetry/exporter.h"

namespace interlock {
namespace {

constexpr int kRuns = 64;
constexpr int kCallsPerIteration = 1000;

// The benchmark policy, a fresh store in a temporary directory and a Guard over them.
// Create() reports a setup failure on the benchmark state and returns null.
class BenchStore {
 public:
  static std::unique_ptr<BenchStore> Create(benchmark::State& st, bool durable_full,
                                            const std::string& tag, bool telemetry = false,
                                            bool commit_on_caller = false) {
    std::vector<policy::Diagnostic> diags;
    auto set = policy::LoadPolicySet({std::string(INTERLOCK_SOURCE_DIR) + "/bench/daemon/policies"},
                                     &diags);
    if (!set.ok()) {
      st.SkipWithError(set.error().message.c_str());
      return nullptr;
    }
    std::unique_ptr<BenchStore> b(new BenchStore(*set));
    b->dir_ = std::filesystem::temp_directory_path() /
              ("interlock-" + tag + "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(b->dir_);
    store::StoreOptions o;
    o.path = (b->dir_ / "bench.db").string();
    o.durable_full = durable_full;
    o.commit_on_caller = commit_on_caller;
    o.audit_key = "bench-key";
    auto opened = store::SqliteStore::Open(o);
    if (!opened.ok()) {
      st.SkipWithError(opened.error().message.c_str());
      return nullptr;
    }
    b->store_ = std::move(opened).value();
    b->guard_ = std::make_unique<core::Guard>(&b->source_, b->store_.get(), &b->clock_, nullptr);
    if (telemetry) {
      telemetry::TelemetryOptions t;
      t.enabled = true;
      t.endpoint = "http://127.0.0.1:9";  // discard: refused on loopback
      t.timeout = std::chrono::milliseconds(100);
      t.shutdown_timeout = std::chrono::milliseconds(100);
      auto e = telemetry::OtlpExporter::Create(t, {}, [](const std::string&) {});
      if (!e.ok()) {
        st.SkipWithError(e.error().message.c_str());
        return nullptr;
      }
      b->exporter_ = std::move(e).value();
      b->guard_->SetTelemetry(b->exporter_.get());
    }
    b->agent_ = (*set)->agents.begin()->first;
    return b;
  }
  ~BenchStore() {
    guard_.reset();
    exporter_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string NewRun() { return store_->CreateRun(agent_, "", clock_.Now())->run_id; }
  core::Guard& guard() { return *guard_; }
  const std::string& agent() const { return agent_; }

 private:
  explicit BenchStore(std::shared_ptr<const policy::PolicySet> set) : source_(std::move(set)) {}

  core::PolicySource source_;
  SystemClock clock_;
  std::filesystem::path dir_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<telemetry::OtlpExporter> exporter_;
  std::unique_ptr<core::Guard> guard_;
  std::string agent_;
};

ToolCall ReadDocument(int i) {
  ToolCall call;
  call.tool = "read_document";
  call.args = {{"path", "/docs/report-" + std::to_string(i) + ".md"}};
  return call;
}

void AuditedDecisions(benchmark::State& st, bool telemetry) {
  auto b = BenchStore::Create(st, st.range(0) != 0, "store-bench", telemetry);
  if (!b) return;
  std::vector<std::string> runs;
  for (int i = 0; i < kRuns; ++i) runs.push_back(b->NewRun());
  std::mutex mu;
  std::condition_variable cv;
  for (auto _ : st) {
    int done = 0;
    for (int i = 0; i < kCallsPerIteration; ++i) {
      b->guard().DecideAsync(b->agent(), b->agent(), runs[i % kRuns], ReadDocument(i),
                             [&](core::GuardResponse) {
                               std::lock_guard lock(mu);
                               if (++done == kCallsPerIteration) cv.notify_all();
                             });
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done == kCallsPerIteration; });
  }
  st.SetItemsProcessed(st.iterations() * kCallsPerIteration);
}
void BM_AuditedDecisions(benchmark::State& st) { AuditedDecisions(st, false); }
void BM_AuditedDecisionsWithTelemetry(benchmark::State& st) { AuditedDecisions(st, true); }
BENCHMARK(BM_AuditedDecisionsWithTelemetry)
    ->Arg(0)
    ->ArgName("durable_full")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AuditedDecisions)
    ->Arg(1)
    ->Arg(0)
    ->ArgName("durable_full")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Latency of one decision at a time (the stdio MCP gateway's case: nothing to batch
// with), from Guard::Decide to the answer, the commit (and fsync with durable_full)
// included. Reported per decision in microseconds. caller_commits: the stdio gateway's
// store (StoreOptions::commit_on_caller: the commit and fsync on the caller's thread).
void SequentialDecision(benchmark::State& st, bool telemetry) {
  const bool caller = st.range(1) != 0;
  auto b = BenchStore::Create(st, st.range(0) != 0, "store-seq-bench", telemetry, caller);
  if (!b) return;
  const std::string run = b->NewRun();
  int i = 0;
  for (auto _ : st) {
    core::GuardResponse r = b->guard().Decide(b->agent(), b->agent(), run, ReadDocument(i++));
    benchmark::DoNotOptimize(r);
  }
  st.SetItemsProcessed(st.iterations());
}
void BM_SequentialDecision(benchmark::State& st) { SequentialDecision(st, false); }
void BM_SequentialDecisionWithTelemetry(benchmark::State& st) { SequentialDecision(st, true); }
BENCHMARK(BM_SequentialDecisionWithTelemetry)
    ->Args({0, 0})
    ->ArgNames({"durable_full", "caller_commits"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SequentialDecision)
    ->ArgsProduct({{1, 0}, {0, 1}})
    ->ArgNames({"durable_full", "caller_commits"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace interlock

BENCHMARK_MAIN();
