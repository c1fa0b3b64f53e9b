// ToolCallTrace: the MCP gateway's span of one tools/call (docs/telemetry.md#spans): a
// SERVER span "tools/call <tool>" (MCP semantic conventions: mcp.method.name,
// gen_ai.tool.name) in the caller's trace (params._meta.traceparent), whose children are
// the core's decision span (through ToolCall::traceparent), the wait for a human approval
// and the call to the upstream MCP server. The span is sent when the last owner lets go
// (the gateway drops it when it answers the client), so no path can leak an open span.
// Thread-safety: every method from any thread (the gateway's client, held and server
// threads); an internal mutex.
#ifndef INTERLOCK_TELEMETRY_TOOL_CALL_TRACE_H_
#define INTERLOCK_TELEMETRY_TOOL_CALL_TRACE_H_

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "interlock/decision.h"
#include "telemetry/sink.h"

namespace interlock::telemetry {

class ToolCallTrace {
 public:
  // Null when `sink` is off (callers test the pointer, nothing else costs).
  static std::shared_ptr<ToolCallTrace> Start(Sink* sink, std::string_view tool,
                                              std::string_view caller_traceparent,
                                              std::string_view agent_id);
  ToolCallTrace(const ToolCallTrace&) = delete;
  ToolCallTrace& operator=(const ToolCallTrace&) = delete;
  ~ToolCallTrace();  // sends the span

  // This span's context, for ToolCall::traceparent (the decision span's parent).
  std::string traceparent() const;
  // The decision as it stands (the first, then the one after an approval).
  void SetDecision(const Decision& d, std::string_view call_id);
  void ApprovalWaitStarted();
  void ApprovalWaitEnded(const Decision& final, std::string_view approval_id);
  void UpstreamStarted(std::string_view upstream);
  void UpstreamEnded(bool ok, std::string_view error);

 private:
  ToolCallTrace() = default;
  SpanData Child(std::string name, SpanKind kind, int64_t start) const;

  Sink* sink_ = nullptr;
  mutable std::mutex mu_;
  SpanData span_;  // guarded by mu_ (ids fixed at Start)
  int64_t approval_start_ = 0;
  int64_t upstream_start_ = 0;
  std::string upstream_;
};

}  // namespace interlock::telemetry

#endif  // INTERLOCK_TELEMETRY_TOOL_CALL_TRACE_H_
