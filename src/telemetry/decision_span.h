// DecisionSpan: the span of one decision, as the Guard (core/guard.cc) makes it
// (docs/telemetry.md#spans). Started when the Guard prepares the call (its parent: the
// caller's W3C traceparent, from an HTTP header or MCP params._meta.traceparent), ended
// with the decision's attributes when the store has answered. Inactive (free) when the
// sink is off. The audit record's "traceparent" is the caller's when valid, else this
// span's own, so every recorded call names a trace an incident can jump to.
// Thread-safety: one object per decision, used by one thread at a time.
#ifndef INTERLOCK_TELEMETRY_DECISION_SPAN_H_
#define INTERLOCK_TELEMETRY_DECISION_SPAN_H_

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "interlock/decision.h"
#include "telemetry/sink.h"

namespace interlock::telemetry {

class DecisionSpan {
 public:
  // Does nothing when `sink` is null or off.
  void Start(Sink* sink, std::string_view caller_traceparent);
  bool active() const { return sink_ != nullptr; }
  // This span's context (trace id, own span id): for ScopedContext while the decision's
  // notices are written. Only when active().
  const TraceContext& context() const { return ctx_; }
  // What the audit record keeps: the caller's traceparent when it was valid, else this
  // span's ("00-<trace id>-<span id>-01"); empty when inactive.
  std::string AuditTraceparent() const;
  // The arguments' digest, sent instead of their values (set before they are moved).
  void set_args_sha256(std::string digest) { args_sha256_ = std::move(digest); }

  struct Facts {
    std::string_view run_id;
    std::string_view call_id;
    std::string_view principal;
    bool existing_call = false;
    bool error = false;  // the store could not decide (the deny is fail-closed)
    // The arguments as recorded (redacted, secrets masked), sent only when the sink's
    // send_arguments() is on; null: not known.
    const boost::json::object* recorded_args = nullptr;
  };
  // Sends the span (once; later calls do nothing).
  void End(const Decision& d, const Facts& f);

 private:
  Sink* sink_ = nullptr;
  TraceContext ctx_;
  std::optional<TraceContext> parent_;
  int64_t start_unix_ns_ = 0;
  std::string args_sha256_;
};

}  // namespace interlock::telemetry

#endif  // INTERLOCK_TELEMETRY_DECISION_SPAN_H_
