// Start-up of telemetry for a serving command (`interlock serve`, `interlock mcp`): the
// config's `telemetry:` section overlaid by the OTEL_* environment, an exporter when that
// turns export on, and the decorator that sends the daemon's notice lines as OTLP logs.
// Thread-safety: Start* at start-up only; NoticeLogger as core::Notifier (any thread).
#ifndef INTERLOCK_TELEMETRY_SETUP_H_
#define INTERLOCK_TELEMETRY_SETUP_H_

#include <functional>
#include <memory>
#include <string>

#include "core/guard.h"
#include "interlock/result.h"
#include "telemetry/exporter.h"
#include "telemetry/options.h"

namespace interlock::telemetry {

// The exporter for `config` with the process environment applied, or null when export is
// off (no endpoint, or OTEL_SDK_DISABLED=true). Logs one line naming where each signal goes
// (header values masked, a URL's userinfo never shown) prefixed by `who` ("interlock serve").
// Errors: a bad variable or endpoint, named.
Result<std::unique_ptr<OtlpExporter>> StartExporter(TelemetryOptions config,
                                                    std::function<std::string()> metrics_text,
                                                    const std::string& who);

// Wraps the daemon's notifier: every notice is passed on unchanged and also sent as an OTLP
// log record whose body is `body(n, context)` (the JSON the daemon logs for it), with the
// trace and span ids of the decision that raised it (CurrentContext). `inner` may be null
// (a command without webhooks). Neither pointer is owned.
class NoticeLogger final : public core::Notifier {
 public:
  using BodyFn = std::function<std::string(const Notification&, const core::CallRecord&)>;
  NoticeLogger(core::Notifier* inner, Sink* sink, BodyFn body)
      : inner_(inner), sink_(sink), body_(std::move(body)) {}
  void Notify(const Notification& n, const core::CallRecord& context) override;

 private:
  core::Notifier* inner_;
  Sink* sink_;
  BodyFn body_;
};

}  // namespace interlock::telemetry

#endif  // INTERLOCK_TELEMETRY_SETUP_H_
