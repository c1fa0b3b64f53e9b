#include "telemetry/exporter.h"

#include <iostream>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>

#include "common/thread_name.h"
#include "common/url_text.h"
#include "outbound/http_endpoint.h"
#include "outbound/http_exchange.h"
#include "outbound/tls_client.h"
#include "telemetry/otlp_encode.h"
#include "telemetry/prom_text.h"

namespace interlock::telemetry {
namespace {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

constexpr const char* kSignalNames[] = {"traces", "logs", "metrics"};
constexpr std::chrono::seconds kLogEvery{10};

}  // namespace

OtlpExporter::OtlpExporter(TelemetryOptions options)
    : options_(std::move(options)), start_unix_ns_(UnixNanosNow()) {}

Result<std::unique_ptr<OtlpExporter>> OtlpExporter::Create(
    TelemetryOptions options, std::function<std::string()> metrics_text,
    std::function<void(const std::string&)> log) {
  std::unique_ptr<OtlpExporter> e(new OtlpExporter(std::move(options)));
  e->metrics_text_ = std::move(metrics_text);
  e->log_ = log ? std::move(log) : [](const std::string& line) { std::cerr << line << '\n'; };
  const TelemetryOptions& o = e->options_;
  bool any_tls = false;
  for (int s = 0; s < 3; ++s) {
    Target& t = e->targets_[s];
    t.url = SignalUrl(o, kSignalNames[s]);
    if (t.url.empty()) continue;
    auto ep = outbound::ParseHttpEndpoint(t.url);
    if (!ep.ok()) {
      return Error::Invalid(std::string("telemetry: the ") + kSignalNames[s] + " endpoint " +
                            UrlForLog(t.url) + ": " + ep.error().message);
    }
    if (ep->has_userinfo || ep->has_fragment) {
      return Error::Invalid(std::string("telemetry: the ") + kSignalNames[s] +
                            " endpoint must not carry credentials or a fragment (use headers)");
    }
    t.tls = ep->tls;
    t.host = ep->host;
    t.port = ep->port;
    t.target = ep->path.empty() ? "/" : ep->path;
    if (ep->has_query) t.target += "?" + ep->query;
    t.host_header = outbound::HostHeader(ep->host, ep->port, ep->tls ? "443" : "80");
    any_tls |= t.tls;
  }
  if (any_tls) {
    auto ctx = outbound::MakeTlsClientContext(o.ca_file);
    if (!ctx.ok()) return Error::Invalid("telemetry: TLS: " + ctx.error().message);
    e->tls_ = std::move(*ctx);
  }
  e->resource_.attributes.emplace_back("service.name", o.service_name);
  for (const auto& kv : o.resource_attributes) e->resource_.attributes.push_back(kv);
  e->resource_.scope_version = INTERLOCK_VERSION;
  e->thread_ = std::thread([p = e.get()] { p->Run(); });
  return e;
}

OtlpExporter::~OtlpExporter() { Shutdown(); }

template <typename T>
void OtlpExporter::Enqueue(Signal s, std::deque<T>& queue, T item) {
  {
    std::lock_guard lock(mu_);
    if (!stopped_ && queue.size() < options_.queue_size) {
      queue.push_back(std::move(item));
      if (queue.size() >= options_.batch_size) cv_.notify_one();
      return;
    }
  }
  Drop(s, 1, "the queue is full");
}

void OtlpExporter::Span(SpanData span) {
  if (!options_.traces || targets_[kTraces].url.empty()) return;
  Enqueue(kTraces, spans_, std::move(span));
}

void OtlpExporter::Log(LogData log) {
  if (!options_.logs || targets_[kLogs].url.empty()) return;
  Enqueue(kLogs, logs_, std::move(log));
}

void OtlpExporter::Drop(Signal s, uint64_t n, const std::string& why) {
  Stats& st = stats_[s];
  st.dropped.fetch_add(n, std::memory_order_relaxed);
  // try_lock: a decision that drops a span never waits for another thread's log line.
  std::unique_lock lock(log_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  const auto now = Clock::now();
  if (st.last_log != Clock::time_point{} && now - st.last_log < kLogEvery) return;
  const uint64_t total = st.dropped.load(std::memory_order_relaxed);
  const uint64_t since = total - st.dropped_at_last_log;
  st.last_log = now;
  st.dropped_at_last_log = total;
  log_("interlock: telemetry: dropped " + std::to_string(since) + " " + kSignalNames[s] +
       " item(s) (" + why + "; " + std::to_string(total) +
       " in all, see interlock_telemetry_dropped_total)");
}

void OtlpExporter::Run() {
  SetThreadName("otlp-export");
  auto next_metrics = Clock::now() + options_.metrics_interval;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const auto wake = std::min(Clock::now() + options_.batch_interval, next_metrics);
    cv_.wait_until(lock, wake, [&] {
      return stopping_ || spans_.size() >= options_.batch_size ||
             logs_.size() >= options_.batch_size;
    });
    if (stopping_) break;
    lock.unlock();
    SendBatches(false, Clock::now() + options_.timeout);
    if (Clock::now() >= next_metrics && !Stopping()) {
      ExportMetrics(Clock::now() + options_.timeout);
      next_metrics = Clock::now() + options_.metrics_interval;
    }
    lock.lock();
  }
  lock.unlock();
  // The final flush: what is queued, then the metrics as they stand, by the deadline
  // Shutdown() set (an export still under way when it was called counts against it).
  const auto deadline = ShutdownDeadline();
  SendBatches(true, deadline);
  ExportMetrics(deadline);
  lock.lock();
  stopped_ = true;
  const size_t left_spans = spans_.size(), left_logs = logs_.size();
  spans_.clear();
  logs_.clear();
  lock.unlock();
  if (left_spans > 0) Drop(kTraces, left_spans, "not sent before shutdown");
  if (left_logs > 0) Drop(kLogs, left_logs, "not sent before shutdown");
}

bool OtlpExporter::SendBatches(bool drain, Clock::time_point deadline) {
  bool sent = false;
  do {
    std::vector<SpanData> spans;
    std::vector<LogData> logs;
    {
      std::lock_guard lock(mu_);
      while (!spans_.empty() && spans.size() < options_.batch_size) {
        spans.push_back(std::move(spans_.front()));
        spans_.pop_front();
      }
      while (!logs_.empty() && logs.size() < options_.batch_size) {
        logs.push_back(std::move(logs_.front()));
        logs_.pop_front();
      }
    }
    if (spans.empty() && logs.empty()) break;
    if (!spans.empty()) {
      Post(kTraces, EncodeTraces(options_.protocol, resource_, spans), spans.size(), deadline);
    }
    if (!logs.empty()) {
      Post(kLogs, EncodeLogs(options_.protocol, resource_, logs), logs.size(), deadline);
    }
    sent = true;
  } while (drain && Clock::now() < deadline);
  return sent;
}

void OtlpExporter::ExportMetrics(Clock::time_point deadline) {
  if (!options_.metrics || targets_[kMetrics].url.empty()) return;
  // The daemon's text includes ours (server::Metrics::SetExtra); a command without
  // Prometheus metrics exports only the exporter's own counters.
  const std::string text = metrics_text_ ? metrics_text_() : RenderPrometheus();
  std::vector<MetricData> metrics = ParsePrometheusText(text);
  if (metrics.empty()) return;
  Post(kMetrics,
       EncodeMetrics(options_.protocol, resource_, metrics, start_unix_ns_, UnixNanosNow()),
       metrics.size(), deadline);
}

bool OtlpExporter::Post(Signal s, const std::string& body, size_t items,
                        Clock::time_point deadline) {
  const Target& t = targets_[s];
  deadline = std::min(deadline, ShutdownDeadline());
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left <= std::chrono::milliseconds(0)) {
    Drop(s, items, "no time left to send them");
    return false;
  }
  http::request<http::string_body> req{http::verb::post, t.target, 11};
  req.set(http::field::host, t.host_header);
  req.set(http::field::user_agent, "interlock/" INTERLOCK_VERSION);
  req.set(http::field::content_type,
          options_.protocol == Encoding::kJson ? "application/json" : "application/x-protobuf");
  for (const auto& [name, value] : options_.headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  outbound::ExchangeOptions eo;
  eo.peer = std::string("the OTLP collector (") + kSignalNames[s] + ")";
  eo.connect_timeout = std::min(left, options_.timeout);
  eo.timeout = std::min(left, options_.timeout);
  eo.max_reply_bytes = 64 << 10;
  // A collector that accepts and never answers must not hold up a shutdown past its bound
  // (the final checkpoint of `interlock serve` comes after it): the exchange ends when
  // Shutdown()'s deadline passes, whatever its own timeout.
  eo.keep_going = [this] { return Clock::now() < ShutdownDeadline(); };
  eo.poll_interval = std::chrono::milliseconds(20);
  Result<outbound::HttpReply> reply =
      outbound::HttpExchange(t.host, t.port, t.tls ? tls_.get() : nullptr, req, eo);
  if (!reply.ok()) {
    Drop(s, items, "export to " + UrlForLog(t.url) + " failed: " + reply.error().message);
    return false;
  }
  if (reply->status < 200 || reply->status >= 300) {
    Drop(s, items,
         "the collector at " + UrlForLog(t.url) + " answered " + std::to_string(reply->status));
    return false;
  }
  stats_[s].exported.fetch_add(items, std::memory_order_relaxed);
  return true;
}

void OtlpExporter::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      if (!thread_.joinable()) return;
    }
    stopping_ = true;
  }
  // The first call fixes the deadline of everything left: the export under way, the final
  // flush and the metrics.
  int64_t unset = kNoDeadline;
  shutdown_deadline_.compare_exchange_strong(
      unset, (Clock::now() + options_.shutdown_timeout).time_since_epoch().count());
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

Clock::time_point OtlpExporter::ShutdownDeadline() const {
  return Clock::time_point(Clock::duration(shutdown_deadline_.load(std::memory_order_acquire)));
}

bool OtlpExporter::Stopping() const {
  return shutdown_deadline_.load(std::memory_order_acquire) != kNoDeadline;
}

std::string OtlpExporter::RenderPrometheus() const {
  std::string out =
      "# HELP interlock_telemetry_dropped_total Telemetry items (spans, log records, metrics) "
      "dropped: queue full, collector down or slow.\n"
      "# TYPE interlock_telemetry_dropped_total counter\n";
  for (int s = 0; s < 3; ++s) {
    out += std::string("interlock_telemetry_dropped_total{signal=\"") + kSignalNames[s] + "\"} " +
           std::to_string(stats_[s].dropped.load(std::memory_order_relaxed)) + "\n";
  }
  out +=
      "# HELP interlock_telemetry_exported_total Telemetry items the collector accepted.\n"
      "# TYPE interlock_telemetry_exported_total counter\n";
  for (int s = 0; s < 3; ++s) {
    out += std::string("interlock_telemetry_exported_total{signal=\"") + kSignalNames[s] + "\"} " +
           std::to_string(stats_[s].exported.load(std::memory_order_relaxed)) + "\n";
  }
  return out;
}

}  // namespace interlock::telemetry
