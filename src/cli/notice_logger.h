// The daemon's notices (flagged calls, escalations) also sent as OTLP log records: a
// decorator of the core's notifier, wired by `interlock serve`. It lives with the command
// that composes the core and telemetry, so that neither of the two includes the other's
// wiring (telemetry stays beneath the core).
// Thread-safety: Notify from any thread, as core::Notifier.
#ifndef INTERLOCK_CLI_NOTICE_LOGGER_H_
#define INTERLOCK_CLI_NOTICE_LOGGER_H_

#include <functional>
#include <string>

#include "core/guard.h"
#include "telemetry/sink.h"

namespace interlock::cli {

// Wraps the daemon's notifier: every notice is passed on unchanged and also sent as an OTLP
// log record whose body is `body(n, context)` (the JSON the daemon logs for it), with the
// trace and span ids of the decision that raised it (CurrentContext). `inner` may be null
// (a command without webhooks). Neither pointer is owned.
class NoticeLogger final : public core::Notifier {
 public:
  using BodyFn = std::function<std::string(const Notification&, const core::CallRecord&)>;
  NoticeLogger(core::Notifier* inner, telemetry::Sink* sink, BodyFn body)
      : inner_(inner), sink_(sink), body_(std::move(body)) {}
  void Notify(const Notification& n, const core::CallRecord& context) override;

 private:
  core::Notifier* inner_;
  telemetry::Sink* sink_;
  BodyFn body_;
};

}  // namespace interlock::cli

#endif  // INTERLOCK_CLI_NOTICE_LOGGER_H_
