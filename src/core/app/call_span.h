// CallSpan: the span of one tools/call a door handles (docs/telemetry.md#spans): a SERVER
// span "tools/call <tool>" (MCP semantic conventions: mcp.method.name, gen_ai.tool.name)
// in the caller's trace, whose children are the core's decision span (through
// ToolCall::traceparent), the wait for a human approval and the call to the upstream MCP
// server. The span is sent when the last owner lets go (the MCP gateway drops it when it
// answers the client), so no path can leak an open span.
// Thread-safety: every method from any thread (the gateway's client, held and server
// threads); an internal mutex.
#ifndef INTERLOCK_CORE_APP_CALL_SPAN_H_
#define INTERLOCK_CORE_APP_CALL_SPAN_H_

#include <memory>
#include <mutex>
#include <string_view>

#include "interlock/decision.h"
#include "interlock/tool_call.h"

namespace interlock::telemetry {
class Sink;  // where spans go (telemetry/sink.h); handed to a door by its composition root
}  // namespace interlock::telemetry

namespace interlock::core {

class CallSpan {
 public:
  // Stamps `call` with the caller's W3C trace context as the door received it (MCP
  // params._meta), kept only when well-formed: `traceparent` when a valid traceparent of at
  // most 128 bytes, `tracestate` only beside it and as a well-formed W3C list (a tracestate
  // is meaningless without its trace; the record keeps only what a vendor could have
  // written). Then starts the call's span in that trace (a new trace without one) and, when
  // it does, stamps `call` with this span's context instead, so the core's decision span is
  // its child. `sink`: where spans go; null: the process's default sink. Null when spans go
  // nowhere (callers test the pointer, nothing else costs). `call->tool` names the span.
  static std::shared_ptr<CallSpan> Start(telemetry::Sink* sink, std::string_view agent_id,
                                         std::string_view traceparent, std::string_view tracestate,
                                         ToolCall* call);
  CallSpan(const CallSpan&) = delete;
  CallSpan& operator=(const CallSpan&) = delete;
  ~CallSpan();  // sends the span

  // The decision as it stands (the first, then the one after an approval).
  void SetDecision(const Decision& d, std::string_view call_id);
  void ApprovalWaitStarted();
  void ApprovalWaitEnded(const Decision& final, std::string_view approval_id);
  void UpstreamStarted(std::string_view upstream);
  // `error`: "" for a tool's own error (only the fact is sent, never its text).
  void UpstreamEnded(bool ok, std::string_view error);

 private:
  struct Span;  // the span's data and open children (call_span.cc); guarded by mu_
  explicit CallSpan(std::unique_ptr<Span> span);

  mutable std::mutex mu_;
  std::unique_ptr<Span> span_;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_CALL_SPAN_H_
