// CallFlow: the MCP Gateway's tools/call from its decision to its recorded result
// (gateway.h's header comment says what the client and the server see). A part of the
// Gateway, which owns one and hands it each tools/call and tasks/* request and each answer
// the server gives one:
//   - a tools/call decided through the core (the Enforcer), then refused, forwarded, held for
//     an approval (its own thread: the reviewers, or the person at the client through
//     ServerRequestHandlers::AskClient) or a rehearsal (gateway_calls.cc,
//     gateway_rehearsal.cc); a malformed or refused call decided as a refusal (DecideRefusal);
//   - its result recorded once and reduced to the tool's scope, input_required kept open for
//     the client's retry under the first decision (OpenCall), the call failed when it cannot
//     go on (call_flow.cc);
//   - approvals over MRTR: a held call of a 2026-07-28 client answered input_required with a
//     sealed requestState, its retry answered with the verdict (gateway_mrtr.cc);
//   - the tasks extension: a task opened, its tasks/* requests forwarded under the call's
//     decision, its outcome recorded once (gateway_tasks.cc).
// It reaches the session through Link (sending either way, the ids and the requests at the
// server, the catalog's loading, the upstream's end), reads the session's tool catalog (a
// ToolCatalog, with the mutex held) and asks the client through the session's
// ServerRequestHandlers.
// Thread-safety: no lock of its own. It shares the Gateway's one mutex (`mu`, handed to it),
// because a forwarded call or tasks/* request is registered at the server (the Gateway's
// `pending_`) in the same hold as its task or open call. Methods ending in Locked are called
// with that mutex held; every other method takes it itself and is called without it; Link's
// methods ending in Locked are called with it held, the others without. Held calls run on
// threads of their own, joined by CancelAllHeld (the Gateway's end).
#ifndef INTERLOCK_MCP_CALL_FLOW_H_
#define INTERLOCK_MCP_CALL_FLOW_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/app/approval_states.h"
#include "core/app/call_span.h"
#include "core/app/secret_mask.h"
#include "interlock/decision.h"
#include "interlock/result.h"
#include "interlock/tool_call.h"
#include "mcp/enforcer.h"
#include "mcp/gateway_catalog.h"
#include "mcp/gateway_options.h"
#include "mcp/pending_request.h"
#include "mcp/server_request_handlers.h"
#include "mcp/session_link.h"
#include "mcp/task_table.h"

namespace interlock::mcp {

class CallFlow {
 public:
  // What the call flow needs of the session beyond SessionLink (the Gateway implements it).
  class Link : public SessionLink {
   public:
    // Without the mutex held.
    // Frees the client's request id `id` for reuse (its span is sent).
    virtual void ReleaseClientId(const boost::json::value& id) = 0;
    // Makes sure the catalog is complete, asking the upstream itself when needed (blocks).
    virtual bool EnsureCatalog() = 0;
    // The client opened with initialize (a 2025 client).
    virtual bool ClientIsLegacy() const = 0;

    // With the mutex held.
    // The upstream is gone (*why: why); nothing more is sent to it.
    virtual bool UpstreamClosedLocked(std::string* why) const = 0;
    // Registers the client's request `doc` (id `client_id`) as `p` under a new server-side
    // id and rewrites doc's id, and its progress token if any, to the gateway's.
    virtual void ForwardToServerLocked(boost::json::value& doc, const boost::json::value& client_id,
                                       PendingRequest p) = 0;
    // A new id for a request of the gateway's own to the server.
    virtual boost::json::value IssueServerIdLocked() = 0;
    // Keeps the span of the client's tools/call `client_id` until the client is answered.
    virtual void KeepTraceLocked(const boost::json::value& client_id,
                                 std::shared_ptr<core::CallSpan> trace) = 0;

   protected:
    ~Link() = default;
  };

  // `mu`: the Gateway's mutex; `options`, `secrets`, `catalog` (read with `mu` held) and
  // `server_requests` are the Gateway's, and outlive this.
  CallFlow(Link& link, std::mutex& mu, const GatewayOptions& options,
           const core::SecretMask& secrets, const ToolCatalog& catalog,
           ServerRequestHandlers& server_requests);
  CallFlow(const CallFlow&) = delete;
  CallFlow& operator=(const CallFlow&) = delete;

  // The denial result for `d` without structuredContent (Gateway::DenialResult).
  static boost::json::object DenialResult(const Decision& d);

  // A client's tools/call (its id reserved by the session).
  void HandleToolsCall(boost::json::value doc, const boost::json::value& id);
  // The tasks extension (gateway_tasks.cc, docs/mcp.md#tasks). A client's tasks/get,
  // tasks/update or tasks/cancel: only for a task of this session, the kill switch asked
  // again (tasks/cancel excepted), forwarded under the task's decision.
  void HandleTaskRequest(boost::json::value doc, const boost::json::value& id,
                         const std::string& method);
  // The server's answer to a forwarded tasks/* request, on its way to the client: a terminal
  // status is recorded once, a completed result reduced to the tool's scope, input requests
  // checked like input_required's.
  void HandleTaskAnswer(boost::json::object& msg, const PendingRequest& p);
  // tools/call result input_required (gateway.h header comment); true when it was handled
  // (answered or relayed), false when it is not one.
  bool HandleInputRequired(boost::json::object& msg, const PendingRequest& p);
  // The server's result of a forwarded tools/call: recorded, reduced to the tool's scope,
  // and relayed under the client's id.
  void HandleToolResult(boost::json::object& msg, const PendingRequest& p);
  // Ends a tools/call that cannot complete: recorded as failed, the client gets isError.
  void FailCall(const PendingRequest& p, const std::string& why, const std::string& output_json);
  void RecordNeverRetried(const OpenCall& c, const std::string& why);
  // An allowed call (or one continued under its first decision) checked against its pin and
  // schema, then forwarded.
  void ContinueAllowed(boost::json::value doc, const boost::json::value& id,
                       const std::string& tool, const boost::json::object& args,
                       const Enforcer::Outcome& outcome, int input_rounds = 0);
  void RefuseCall(const boost::json::value& id, const std::string& tool, const std::string& call_id,
                  Code code, const std::string& reason);
  // Decides a refusal through the core (gateway.h's header comment): always a deny, recorded
  // under params.name (or a placeholder) with the message's arguments.
  Enforcer::Outcome DecideRefusal(const boost::json::value* params, const std::string& reason);
  // DenialResult plus structuredContent when the tool's outputSchema allows it.
  boost::json::object Denial(const Decision& d) const;
  // The held call of the client's request `key` (IdKey) stops waiting with `why` (true: there
  // was one).
  bool CancelHeldLocked(std::string_view key, std::string_view why);
  // Cancels every held call with `why` and joins their threads.
  void CancelAllHeld(std::string_view why);
  // Forgets every task (the session or the server ended): an outcome never observed is
  // recorded as such.
  void EndOpenTasks(std::string_view why);
  // Whether a requestState was issued to the client and not yet retried (Gateway::HasOpenStates).
  bool HasOpenStates() const;
  // Withdraws the approvals of states issued and not retried (OnClientClosed, destruction).
  void WithdrawOpenStates(std::string_view why);
  // The gateway ends: every call answered input_required and never retried is recorded so.
  void EndOpenCalls();

 private:
  using Pending = PendingRequest;
  // A retry later than this is decided as a new call (the first decision is not stretched
  // over an afternoon).
  static constexpr std::chrono::minutes kOpenCallTtl{10};
  static constexpr size_t kMaxOpenCalls = 64;
  struct Held {
    std::atomic<bool> cancelled{false};
    std::mutex mu;
    std::string why;  // why it was cancelled (guarded by mu)
    std::thread thread;
    void Cancel(std::string_view reason) {
      std::lock_guard lock(mu);
      if (cancelled.load()) return;
      why = std::string(reason);
      cancelled = true;
    }
    std::string Why() {
      std::lock_guard lock(mu);
      return why;
    }
  };

  // Why a server's inputRequests (of an input_required result or task) cannot be relayed:
  // only the methods a server may send a client and the gateway relays. "" when they can.
  std::string RefusedInputRequests(const boost::json::value* requests) const;
  // A CreateTaskResult for the tools/call `p` of a client that declared the extension: the
  // task is opened and relayed (true), or refused (false: the caller fails the call with *why).
  bool OpenTaskOf(boost::json::object& msg, const Pending& p, std::string* why);
  // The tasks/* requests answered without a task (true: answered): the 2025-11-25 methods
  // the extension dropped, and a modern client that did not declare the extension.
  bool RejectTaskRequest(const boost::json::object& doc, const boost::json::value& id,
                         const std::string& method);
  // Takes a Task object the server sent for `task_id` of `tool` (its CreateTaskResult or a
  // tasks/get answer), in place: fields its status does not carry removed, a completed
  // result reduced to the scope, a terminal status recorded once. "" when it may reach the
  // client, else why not (the caller ends the task).
  // `created`: the CreateTaskResult (an input_required task need not list its requests yet).
  std::string ApplyTaskState(const std::string& task_id, const std::string& tool,
                             boost::json::object& task, bool created = false);
  // A tasks/get or tasks/update of task `task_id` (client id `id`) under a kill switch that
  // is engaged or cannot be read: the task is cancelled at the server, recorded and ended
  // for the client (true: answered). False: the switch is clear.
  bool StoppedByKillSwitch(const std::string& task_id, const std::string& method,
                           const boost::json::value& id, const std::string& authorization);
  // Records the outcome `r` of task `task_id` unless it is recorded already (false then).
  bool RecordTaskOnce(const std::string& task_id, ToolResult r);
  // Asks the server to cancel task `task_id` (the gateway's own request, sent with
  // `authorization` when credentials are brokered; its answer dropped). Never blocks.
  void CancelTaskAtServer(const std::string& task_id, const std::string& authorization);
  // A Task answer of Interlock's for `task_id`: status failed with `why` (the client is told
  // the task ended; the server was asked to cancel it).
  boost::json::object FailedTask(const std::string& task_id, const std::string& why) const;
  // Records that the outcome of `t` (forgotten: `why`) was not observed, unless it was.
  void RecordNotObserved(const std::string& task_id, const OpenTask& t, std::string_view why);
  // The retry of an open call (same tool and arguments, with inputResponses or
  // requestState): forwarded under its first decision. False: no open call matches.
  bool ContinueOpenCall(boost::json::value& doc, const boost::json::value& id,
                        const std::string& tool, const boost::json::object& args);
  // Approvals over MRTR (gateway_mrtr.cc; docs/mcp.md#approvals-over-mrtr). A held call
  // of a 2026-07-28 client is answered input_required with a sealed requestState.
  void AnswerInputRequired(const boost::json::value& id, const boost::json::object& params,
                           const std::string& tool, const boost::json::object& args,
                           Enforcer::Outcome pending);
  // A tools/call carrying one of Interlock's requestStates (core::ApprovalStates::IsOurs):
  // opened (refused through the core when it does not), then answered with the verdict,
  // never decided again.
  void HandleStateRetry(boost::json::value doc, const boost::json::value& id,
                        const std::string& tool, const boost::json::object& args);
  // The reviewers' verdict for a retry, awaited up to mrtr_wait on a held call's thread.
  void AwaitReviewersForRetry(boost::json::value doc, boost::json::value id, std::string tool,
                              boost::json::object args, Enforcer::Outcome pending,
                              std::optional<boost::json::value> progress_token,
                              std::shared_ptr<Held> held);
  // The final answer of a retry: forwarded (allow) or the denial.
  void AnswerVerdict(boost::json::value doc, const boost::json::value& id, const std::string& tool,
                     const boost::json::object& args, Enforcer::Outcome final);
  // Withdraws `pending`'s approval (the client stopped waiting, or the gateway could not);
  // one already decided (kAlreadyExists) stays as it is, other failures are logged.
  void WithdrawApproval(const Enforcer::Outcome& pending, std::string_view why);
  core::ApprovalStates States() const;
  void FinishHeld(boost::json::value doc, boost::json::value id, std::string tool,
                  boost::json::object args, Enforcer::Outcome pending,
                  std::optional<boost::json::value> progress_token, std::shared_ptr<Held> held);
  // A held call is done with: its client id `id` is free for reuse, and `held` stays
  // alive (CancelAllHeld joins its thread) in finished_held_.
  void RetireHeld(const boost::json::value& id, std::shared_ptr<Held> held);
  // Tells the client how a held call of its progresses (notifications/progress under its
  // own progress token).
  void SendProgress(const boost::json::value& token, int progress, const std::string& message);
  // REHEARSAL_REQUIRED (docs/mcp.md#rehearsal), on a held call's thread: sends the
  // rehearsal, reports its outcome to the Enforcer and proceeds with the real call's
  // decision.
  void RehearseHeld(boost::json::value doc, boost::json::value id, std::string tool,
                    boost::json::object args, ToolCall call, Enforcer::Outcome pending,
                    std::optional<boost::json::value> progress_token, std::shared_ptr<Held> held);
  // Runs the rehearsal `r` of `tool` and returns its outcome (never throws, never blocks
  // longer than options_.rehearsal_timeout plus the catalog's).
  ToolResult RunRehearsal(const std::string& tool, const Rehearsal& r, Held& held);
  // Sends a rehearsal to this gateway's own upstream and waits for the response.
  Result<boost::json::object> CallOwnUpstream(const std::string& tool,
                                              const boost::json::object& args, Held& held);
  // A tool's result (`result`, an object) as recorded (what the server returned, capped) and,
  // in place, as the client gets it (structuredContent reduced to the tool's scope).
  ToolResult TakeToolResult(const std::string& tool, boost::json::value& result);
  // Keeps the top-level fields of a result's structuredContent the tool's scope allows.
  void ReduceToScope(const std::string& tool, boost::json::object& structured);

  Link& link_;
  std::mutex& mu_;  // the Gateway's
  const GatewayOptions& options_;
  const core::SecretMask& secrets_;
  const ToolCatalog& catalog_;              // mu_
  ServerRequestHandlers& server_requests_;  // takes mu_ itself

  std::map<std::string, std::shared_ptr<Held>, std::less<>> held_;  // mu_: by IdKey, waiting
  std::vector<std::shared_ptr<Held>> finished_held_;                // mu_: joined at the end
  // Approvals over MRTR: the approvals of states issued and not yet retried, by approval id
  // (mu_).
  std::map<std::string, Enforcer::Outcome, std::less<>> open_states_;
  std::map<std::string, OpenCall, std::less<>> open_calls_;  // mu_, by OpenKey
  uint64_t next_open_seq_ = 1;                               // mu_
  TaskTable tasks_;                                          // mu_ (gateway_tasks.cc)
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_CALL_FLOW_H_
