#include "telemetry/tool_call_trace.h"

namespace interlock::telemetry {
namespace {

void Set(Attributes* a, const std::string& key, AttrValue v) {
  for (auto& kv : *a) {
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  }
  a->emplace_back(key, std::move(v));
}

}  // namespace

std::shared_ptr<ToolCallTrace> ToolCallTrace::Start(Sink* sink, std::string_view tool,
                                                    std::string_view caller_traceparent,
                                                    std::string_view agent_id) {
  if (sink == nullptr || !sink->enabled()) return nullptr;
  std::shared_ptr<ToolCallTrace> t(new ToolCallTrace());
  t->sink_ = sink;
  SpanData& s = t->span_;
  if (auto parent = ParseTraceparent(caller_traceparent)) {
    s.trace_id = parent->trace_id;
    s.parent_span_id = parent->span_id;
  } else {
    s.trace_id = NewTraceId();
  }
  s.span_id = NewSpanId();
  s.name = "tools/call " + std::string(tool);
  s.kind = SpanKind::kServer;
  s.start_unix_ns = UnixNanosNow();
  s.attributes = {{"mcp.method.name", std::string("tools/call")},
                  {"gen_ai.operation.name", std::string("execute_tool")},
                  {"gen_ai.tool.name", std::string(tool)},
                  {"gen_ai.agent.id", std::string(agent_id)}};
  return t;
}

ToolCallTrace::~ToolCallTrace() {
  span_.end_unix_ns = UnixNanosNow();
  sink_->Span(std::move(span_));
}

std::string ToolCallTrace::traceparent() const {
  TraceContext ctx;
  ctx.trace_id = span_.trace_id;
  ctx.span_id = span_.span_id;
  ctx.flags = 1;
  return FormatTraceparent(ctx);
}

SpanData ToolCallTrace::Child(std::string name, SpanKind kind, int64_t start) const {
  SpanData c;
  c.trace_id = span_.trace_id;
  c.span_id = NewSpanId();
  c.parent_span_id = span_.span_id;
  c.name = std::move(name);
  c.kind = kind;
  c.start_unix_ns = start;
  c.end_unix_ns = UnixNanosNow();
  return c;
}

void ToolCallTrace::SetDecision(const Decision& d, std::string_view call_id) {
  std::lock_guard lock(mu_);
  Set(&span_.attributes, "interlock.verdict", std::string(VerdictName(d.verdict)));
  Set(&span_.attributes, "interlock.code", std::string(CodeName(d.code)));
  if (!d.rule.empty()) Set(&span_.attributes, "interlock.rule", d.rule);
  if (!call_id.empty()) Set(&span_.attributes, "interlock.call.id", std::string(call_id));
  if (d.verdict == Verdict::kDeny) {
    span_.status = StatusCode::kError;
    span_.status_message = std::string(CodeName(d.code));
  }
}

void ToolCallTrace::ApprovalWaitStarted() {
  std::lock_guard lock(mu_);
  approval_start_ = UnixNanosNow();
}

void ToolCallTrace::ApprovalWaitEnded(const Decision& final, std::string_view approval_id) {
  std::lock_guard lock(mu_);
  if (approval_start_ == 0) return;
  SpanData c = Child("interlock.approval.wait", SpanKind::kInternal, approval_start_);
  c.attributes = {{"interlock.approval.id", std::string(approval_id)},
                  {"interlock.verdict", std::string(VerdictName(final.verdict))},
                  {"interlock.code", std::string(CodeName(final.code))}};
  const double ms = static_cast<double>(c.end_unix_ns - c.start_unix_ns) / 1e6;
  Set(&span_.attributes, "interlock.approval.id", std::string(approval_id));
  Set(&span_.attributes, "interlock.approval.wait_ms", ms);
  approval_start_ = 0;
  sink_->Span(std::move(c));
}

void ToolCallTrace::UpstreamStarted(std::string_view upstream) {
  std::lock_guard lock(mu_);
  upstream_start_ = UnixNanosNow();
  upstream_ = std::string(upstream);
}

void ToolCallTrace::UpstreamEnded(bool ok, std::string_view error) {
  std::lock_guard lock(mu_);
  if (upstream_start_ == 0) return;
  std::string tool;
  for (const auto& [k, v] : span_.attributes) {
    if (k == "gen_ai.tool.name") tool = std::get<std::string>(v);
  }
  SpanData c = Child("tools/call " + tool, SpanKind::kClient, upstream_start_);
  c.attributes = {{"mcp.method.name", std::string("tools/call")}, {"gen_ai.tool.name", tool}};
  if (!upstream_.empty()) c.attributes.emplace_back("interlock.upstream", upstream_);
  if (!ok) {
    // The tool's error text may quote its arguments: only the fact is sent.
    c.status = StatusCode::kError;
    c.attributes.emplace_back("error.type",
                              std::string(error.empty() ? "tool_error" : "rpc_error"));
  }
  Set(&span_.attributes, "interlock.upstream.duration_ms",
      static_cast<double>(c.end_unix_ns - c.start_unix_ns) / 1e6);
  upstream_start_ = 0;
  sink_->Span(std::move(c));
}

}  // namespace interlock::telemetry
