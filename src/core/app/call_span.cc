#include "core/app/call_span.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "telemetry/sink.h"

namespace interlock::core {

struct CallSpan::Span {
  telemetry::Sink* sink = nullptr;
  telemetry::SpanData data;  // ids fixed at Start
  int64_t approval_start = 0;
  int64_t upstream_start = 0;
  std::string upstream;
  std::string tool;

  telemetry::SpanData Child(std::string name, telemetry::SpanKind kind, int64_t start) const {
    telemetry::SpanData c;
    c.trace_id = data.trace_id;
    c.span_id = telemetry::NewSpanId();
    c.parent_span_id = data.span_id;
    c.name = std::move(name);
    c.kind = kind;
    c.start_unix_ns = start;
    c.end_unix_ns = telemetry::UnixNanosNow();
    return c;
  }
};

namespace {

void SetSpanAttribute(telemetry::Attributes* a, const std::string& key, telemetry::AttrValue v) {
  for (auto& kv : *a) {
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  }
  a->emplace_back(key, std::move(v));
}

}  // namespace

std::shared_ptr<CallSpan> CallSpan::Start(telemetry::Sink* sink, std::string_view agent_id,
                                          std::string_view traceparent, std::string_view tracestate,
                                          ToolCall* call) {
  std::optional<telemetry::TraceContext> parent;
  if (traceparent.size() <= 128) parent = telemetry::ParseTraceparent(traceparent);
  if (parent) call->traceparent = std::string(traceparent);
  if (parent && telemetry::ValidTracestate(tracestate)) call->tracestate = std::string(tracestate);

  if (sink == nullptr) sink = telemetry::DefaultSink();
  if (sink == nullptr || !sink->enabled()) return nullptr;
  auto span = std::make_unique<Span>();
  span->sink = sink;
  span->tool = call->tool;
  telemetry::SpanData& s = span->data;
  if (parent) {
    s.trace_id = parent->trace_id;
    s.parent_span_id = parent->span_id;
  } else {
    s.trace_id = telemetry::NewTraceId();
  }
  s.span_id = telemetry::NewSpanId();
  s.name = "tools/call " + call->tool;
  s.kind = telemetry::SpanKind::kServer;
  s.start_unix_ns = telemetry::UnixNanosNow();
  s.attributes = {{"mcp.method.name", std::string("tools/call")},
                  {"gen_ai.operation.name", std::string("execute_tool")},
                  {"gen_ai.tool.name", call->tool},
                  {"gen_ai.agent.id", std::string(agent_id)}};
  // The core's decision span is this span's child.
  telemetry::TraceContext own;
  own.trace_id = s.trace_id;
  own.span_id = s.span_id;
  own.flags = 1;
  call->traceparent = telemetry::FormatTraceparent(own);
  return std::shared_ptr<CallSpan>(new CallSpan(std::move(span)));
}

CallSpan::CallSpan(std::unique_ptr<Span> span) : span_(std::move(span)) {}

CallSpan::~CallSpan() {
  span_->data.end_unix_ns = telemetry::UnixNanosNow();
  span_->sink->Span(std::move(span_->data));
}

void CallSpan::SetDecision(const Decision& d, std::string_view call_id) {
  std::lock_guard lock(mu_);
  telemetry::SpanData& s = span_->data;
  SetSpanAttribute(&s.attributes, "interlock.verdict", std::string(VerdictName(d.verdict)));
  SetSpanAttribute(&s.attributes, "interlock.code", std::string(CodeName(d.code)));
  if (!d.rule.empty()) SetSpanAttribute(&s.attributes, "interlock.rule", d.rule);
  if (!call_id.empty()) {
    SetSpanAttribute(&s.attributes, "interlock.call.id", std::string(call_id));
  }
  if (d.verdict == Verdict::kDeny) {
    s.status = telemetry::StatusCode::kError;
    s.status_message = std::string(CodeName(d.code));
  }
}

void CallSpan::ApprovalWaitStarted() {
  std::lock_guard lock(mu_);
  span_->approval_start = telemetry::UnixNanosNow();
}

void CallSpan::ApprovalWaitEnded(const Decision& final, std::string_view approval_id) {
  std::lock_guard lock(mu_);
  if (span_->approval_start == 0) return;
  telemetry::SpanData c = span_->Child("interlock.approval.wait", telemetry::SpanKind::kInternal,
                                       span_->approval_start);
  c.attributes = {{"interlock.approval.id", std::string(approval_id)},
                  {"interlock.verdict", std::string(VerdictName(final.verdict))},
                  {"interlock.code", std::string(CodeName(final.code))}};
  const double ms = static_cast<double>(c.end_unix_ns - c.start_unix_ns) / 1e6;
  SetSpanAttribute(&span_->data.attributes, "interlock.approval.id", std::string(approval_id));
  SetSpanAttribute(&span_->data.attributes, "interlock.approval.wait_ms", ms);
  span_->approval_start = 0;
  span_->sink->Span(std::move(c));
}

void CallSpan::UpstreamStarted(std::string_view upstream) {
  std::lock_guard lock(mu_);
  span_->upstream_start = telemetry::UnixNanosNow();
  span_->upstream = std::string(upstream);
}

void CallSpan::UpstreamEnded(bool ok, std::string_view error) {
  std::lock_guard lock(mu_);
  if (span_->upstream_start == 0) return;
  telemetry::SpanData c = span_->Child("tools/call " + span_->tool, telemetry::SpanKind::kClient,
                                       span_->upstream_start);
  c.attributes = {{"mcp.method.name", std::string("tools/call")},
                  {"gen_ai.tool.name", span_->tool}};
  if (!span_->upstream.empty()) c.attributes.emplace_back("interlock.upstream", span_->upstream);
  if (!ok) {
    // The tool's error text may quote its arguments: only the fact is sent.
    c.status = telemetry::StatusCode::kError;
    c.attributes.emplace_back("error.type",
                              std::string(error.empty() ? "tool_error" : "rpc_error"));
  }
  SetSpanAttribute(&span_->data.attributes, "interlock.upstream.duration_ms",
                   static_cast<double>(c.end_unix_ns - c.start_unix_ns) / 1e6);
  span_->upstream_start = 0;
  span_->sink->Span(std::move(c));
}

}  // namespace interlock::core
