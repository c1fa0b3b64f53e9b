#include "cli/notice_logger.h"

#include "telemetry/sink.h"

namespace interlock::cli {

using telemetry::LogData;
using telemetry::Severity;
using telemetry::TraceContext;

void NoticeLogger::Notify(const Notification& n, const core::CallRecord& context) {
  if (inner_ != nullptr) inner_->Notify(n, context);
  if (!sink_->enabled()) return;
  LogData log;
  log.time_unix_ns = telemetry::UnixNanosNow();
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
  if (const TraceContext* ctx = telemetry::CurrentContext()) {
    log.trace_id = ctx->trace_id;
    log.span_id = ctx->span_id;
  }
  sink_->Log(std::move(log));
}

}  // namespace interlock::cli
