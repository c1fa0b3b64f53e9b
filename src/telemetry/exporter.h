// OtlpExporter: the telemetry::Sink that sends spans, log records and metrics to an
// OpenTelemetry collector over OTLP/HTTP (protobuf or JSON; docs/telemetry.md).
//
// Never slows a decision: Span() and Log() take a short lock and append to a bounded
// queue per signal; when the queue is full the item is dropped and counted
// (interlock_telemetry_dropped_total{signal}). One export thread sends batches (at most
// batch_size items, at least every batch_interval) and reads the metrics every
// metrics_interval; each request is bounded by `timeout`. A batch the collector refuses
// or does not take in time is dropped and counted too (no retries: a slow collector
// must not make the queue grow). Problems are logged to stderr at most once per 10 s per
// signal, with header values never shown.
// Shutdown() (also the destructor) sends what is queued, then joins the thread, all within
// shutdown_timeout of the call: an export under way when it is called (bounded by
// `timeout` otherwise) is cut off at that deadline too, so a collector that accepts and
// never answers cannot stretch a daemon's stop past it. Thread-safety: every public method from any
// thread.
#ifndef INTERLOCK_TELEMETRY_EXPORTER_H_
#define INTERLOCK_TELEMETRY_EXPORTER_H_

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "interlock/result.h"
#include "telemetry/options.h"
#include "telemetry/sink.h"

namespace boost::asio::ssl {
class context;
}

namespace interlock::telemetry {

class OtlpExporter final : public Sink {
 public:
  // `metrics_text` returns the Prometheus exposition text to export (ParsePrometheusText),
  // called on the export thread, including RenderPrometheus(); empty: only the latter. `log` writes
  // one line to the daemon's log (default: stderr). Fails on a bad endpoint URL or TLS set-up.
  static Result<std::unique_ptr<OtlpExporter>> Create(
      TelemetryOptions options, std::function<std::string()> metrics_text,
      std::function<void(const std::string&)> log = {});
  ~OtlpExporter() override;

  bool enabled() const override { return true; }
  bool send_arguments() const override { return options_.send_arguments; }
  void Span(SpanData span) override;
  void Log(LogData log) override;

  // Flushes (bounded by shutdown_timeout) and stops; later items are dropped. Idempotent.
  void Shutdown();

  enum Signal { kTraces = 0, kLogs = 1, kMetrics = 2 };
  uint64_t dropped(Signal s) const { return stats_[s].dropped.load(std::memory_order_relaxed); }
  uint64_t exported(Signal s) const { return stats_[s].exported.load(std::memory_order_relaxed); }
  // interlock_telemetry_{dropped,exported}_total{signal=...} in the exposition format,
  // appended to /metrics (server::Metrics::AddSource).
  std::string RenderPrometheus() const;

 private:
  struct Target {
    std::string url;
    bool tls = false;
    std::string host, port, target, host_header;
  };
  struct Stats {
    std::atomic<uint64_t> dropped{0};
    std::atomic<uint64_t> exported{0};
    std::chrono::steady_clock::time_point last_log{};
    uint64_t dropped_at_last_log = 0;
  };

  explicit OtlpExporter(TelemetryOptions options);
  void Run();
  // Sends what is queued (all of it when `drain`), returns whether anything was sent.
  bool SendBatches(bool drain, std::chrono::steady_clock::time_point deadline);
  void ExportMetrics(std::chrono::steady_clock::time_point deadline);
  // Posts one body; false (and counted as `items` dropped) on failure.
  bool Post(Signal s, const std::string& body, size_t items,
            std::chrono::steady_clock::time_point deadline);
  void Drop(Signal s, uint64_t n, const std::string& why);
  // The deadline Shutdown() set (time_point::max() before it), and whether it was called.
  std::chrono::steady_clock::time_point ShutdownDeadline() const;
  bool Stopping() const;
  // Queues `item` for signal `s` on `queue` (a full batch wakes the sender); dropped, and
  // counted, once the exporter stopped or the queue is full.
  template <typename T>
  void Enqueue(Signal s, std::deque<T>& queue, T item);

  TelemetryOptions options_;
  ResourceInfo resource_;
  std::array<Target, 3> targets_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  std::function<std::string()> metrics_text_;
  std::function<void(const std::string&)> log_;
  const int64_t start_unix_ns_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<SpanData> spans_;  // guarded by mu_
  std::deque<LogData> logs_;    // guarded by mu_
  bool stopping_ = false;       // guarded by mu_
  bool stopped_ = false;        // guarded by mu_
  static constexpr int64_t kNoDeadline = std::chrono::steady_clock::duration::max().count();
  // steady_clock ticks of Shutdown()'s deadline; kNoDeadline until it is called.
  std::atomic<int64_t> shutdown_deadline_{kNoDeadline};
  std::array<Stats, 3> stats_;
  std::mutex log_mu_;  // the rate limit of log lines (Stats::last_log)
  std::thread thread_;
};

}  // namespace interlock::telemetry

#endif  // INTERLOCK_TELEMETRY_EXPORTER_H_
