#include "telemetry/setup.h"

#include <cstdlib>
#include <iostream>

#include "common/url_text.h"

namespace interlock::telemetry {

Result<std::unique_ptr<OtlpExporter>> StartExporter(TelemetryOptions config,
                                                    std::function<std::string()> metrics_text,
                                                    const std::string& who) {
  Status st = ApplyEnvironment(
      [](const char* name) -> std::optional<std::string> {
        const char* v = std::getenv(name);
        if (v == nullptr) return std::nullopt;
        return std::string(v);
      },
      &config);
  if (!st.ok()) return Error::Invalid("telemetry: " + st.error().message);
  if (!config.enabled) return std::unique_ptr<OtlpExporter>();
  std::string where;
  for (const char* signal : {"traces", "logs", "metrics"}) {
    const bool on = std::string_view(signal) == "traces" ? config.traces
                    : std::string_view(signal) == "logs" ? config.logs
                                                         : config.metrics;
    const std::string url = SignalUrl(config, signal);
    if (!on || url.empty()) continue;
    // Never the userinfo of a URL (Create refuses it after this line is written).
    where += std::string(where.empty() ? "" : ", ") + signal + " to " + UrlForLog(url);
  }
  std::cerr << who << ": telemetry: exporting " << (where.empty() ? "nothing" : where) << " ("
            << (config.protocol == Encoding::kJson ? "http/json" : "http/protobuf")
            << (config.headers.empty() ? "" : "; headers " + MaskedHeaders(config.headers))
            << ")\n";
  return OtlpExporter::Create(std::move(config), std::move(metrics_text));
}

void NoticeLogger::Notify(const Notification& n, const core::CallRecord& context) {
  if (inner_ != nullptr) inner_->Notify(n, context);
  if (!sink_->enabled()) return;
  LogData log;
  log.time_unix_ns = UnixNanosNow();
  log.severity = n.kind == Notification::Kind::kEscalation ? Severity::kWarn : Severity::kInfo;
  log.body = body_(n, context);
  // As an attribute: LogRecord.event_name is newer than many collectors' schema.
  log.attributes.emplace_back(
      "interlock.event", n.event.empty()
                             ? (n.kind == Notification::Kind::kFlagged ? std::string("flagged")
                                                                       : std::string("escalation"))
                             : n.event);
  log.attributes.emplace_back("interlock.channel", n.channel);
  log.attributes.emplace_back("gen_ai.agent.id", context.agent_id);
  log.attributes.emplace_back("interlock.run.id", context.run_id);
  log.attributes.emplace_back("interlock.call.id", context.call_id);
  if (const TraceContext* ctx = CurrentContext()) {
    log.trace_id = ctx->trace_id;
    log.span_id = ctx->span_id;
  }
  sink_->Log(std::move(log));
}

}  // namespace interlock::telemetry
