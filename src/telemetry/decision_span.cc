#include "telemetry/decision_span.h"

#include <boost/json/serialize.hpp>

namespace interlock::telemetry {

void DecisionSpan::Start(Sink* sink, std::string_view caller_traceparent) {
  if (sink == nullptr || !sink->enabled()) return;
  sink_ = sink;
  start_unix_ns_ = UnixNanosNow();
  parent_ = ParseTraceparent(caller_traceparent);
  ctx_.trace_id = parent_ ? parent_->trace_id : NewTraceId();
  ctx_.span_id = NewSpanId();
  ctx_.flags = 1;
}

std::string DecisionSpan::AuditTraceparent() const {
  if (!active()) return "";
  if (parent_) {
    TraceContext caller = *parent_;
    return FormatTraceparent(caller);
  }
  return FormatTraceparent(ctx_);
}

void DecisionSpan::End(const Decision& d, const Facts& f) {
  if (sink_ == nullptr) return;
  SpanData s;
  s.trace_id = ctx_.trace_id;
  s.span_id = ctx_.span_id;
  if (parent_) {
    s.parent_span_id = parent_->span_id;
    s.tracestate = parent_->tracestate;
  }
  s.name = "interlock.decide";
  s.kind = SpanKind::kInternal;
  s.start_unix_ns = start_unix_ns_;
  s.end_unix_ns = UnixNanosNow();
  Attributes& a = s.attributes;
  a.reserve(16);
  // GenAI semantic conventions where they name the same thing; interlock.* for ours.
  a.emplace_back("gen_ai.operation.name", std::string("execute_tool"));
  a.emplace_back("gen_ai.agent.id", d.agent_id);
  a.emplace_back("gen_ai.tool.name", d.tool);
  a.emplace_back("interlock.run.id", std::string(f.run_id));
  if (!f.call_id.empty()) a.emplace_back("interlock.call.id", std::string(f.call_id));
  if (!f.principal.empty()) a.emplace_back("interlock.principal", std::string(f.principal));
  a.emplace_back("interlock.verdict", std::string(VerdictName(d.verdict)));
  a.emplace_back("interlock.code", std::string(CodeName(d.code)));
  if (!d.rule.empty()) a.emplace_back("interlock.rule", d.rule);
  if (d.verdict == Verdict::kApprovalRequired && !f.call_id.empty()) {
    // The approval a held call waits for is named after the call (store::ApprovalIdForCall).
    std::string_view id = f.call_id;
    if (id.substr(0, 5) == "call_") id.remove_prefix(5);
    a.emplace_back("interlock.approval.id", "apr_" + std::string(id));
  } else if (!d.covered_by.empty()) {
    a.emplace_back("interlock.approval.id", d.covered_by);
  }
  if (d.shadow_code) {
    a.emplace_back("interlock.shadow.code", std::string(CodeName(*d.shadow_code)));
  }
  if (f.existing_call) a.emplace_back("interlock.existing_call", true);
  a.emplace_back("interlock.decision.duration_ms",
                 static_cast<double>(s.end_unix_ns - s.start_unix_ns) / 1e6);
  if (!args_sha256_.empty()) a.emplace_back("interlock.args.sha256", args_sha256_);
  if (sink_->send_arguments() && f.recorded_args != nullptr) {
    // As the audit trail records them: the policy's redact: fields already replaced.
    a.emplace_back("interlock.args", boost::json::serialize(*f.recorded_args));
  }
  if (f.error) {
    s.status = StatusCode::kError;
    s.status_message = std::string(CodeName(d.code));
  }
  Sink* sink = sink_;
  sink_ = nullptr;
  sink->Span(std::move(s));
}

}  // namespace interlock::telemetry
