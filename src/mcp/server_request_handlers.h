// ServerRequestHandlers: what the MCP server asks of the client, and what the client answers
// to it and to the Gateway's own questions (docs/mcp.md#request-ids, #revisions,
// #approvals-at-the-mcp-client). A part of the Gateway (gateway.h), which owns one and feeds it:
//   - a server's request to a 2025 client (sampling, elicitation, roots, ping), relayed under
//     an id of the gateway's (RelayServerRequest; ids: ServerRequestIds) and its answer mapped
//     back (OnClientResponse), a request in Interlock's own id space refused and recorded;
//   - a 2026-07-28 server's input requests (input_required) put to a 2025 client as
//     server-to-client requests (AskLegacyClient), the answers collected and the call retried
//     once all are in (server_request_handlers.cc);
//   - a 2025 server's questions to a 2026-07-28 client, as input_required rounds of the call
//     at the server, the client's retry taking the call over (gateway_relay.cc);
//   - the gateway's own approval question to the person at the client (AskClient, elicitation
//     with an "interlock-" id) and the answers to it (gateway_elicit.cc).
// It reaches the rest of the gateway only through Link: sending either way, the call-flow
// steps it hands a call back to, and the requests at the server (the Gateway's `pending_`).
// Thread-safety: no lock of its own. It shares the Gateway's one mutex (`mu`, handed to it
// at construction), because its relay state changes in the same hold as the requests at the
// server: a server's answer taken out of `pending_` and parked for the client's retry
// (KeepRelayedAnswerLocked, in HandleServerResponse's hold), else a retry between the two
// finds the call neither at the server nor answered. Methods ending in Locked are called with
// that mutex held; every other method takes it itself and is called without it. Link's
// methods ending in Locked are called with it held, the others without. The relay reaper is
// a thread of its own (started with the first round, joined by Stop).
#ifndef INTERLOCK_MCP_SERVER_REQUEST_HANDLERS_H_
#define INTERLOCK_MCP_SERVER_REQUEST_HANDLERS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "interlock/decision.h"
#include "mcp/enforcer.h"
#include "mcp/framing.h"
#include "mcp/pending_request.h"
#include "mcp/server_request_ids.h"
#include "mcp/session_link.h"

namespace interlock::mcp {

class ServerRequestHandlers {
 public:
  // What the handlers need of the gateway beyond SessionLink (the Gateway implements it).
  class Link : public SessionLink {
   public:
    // Without the mutex held.
    // A refusal decided and recorded through the core (always a deny).
    virtual Enforcer::Outcome DecideRefusal(const boost::json::value* params,
                                            const std::string& reason) = 0;
    // The denial result for `d` (structuredContent where the tool's schema allows it).
    virtual boost::json::object Denial(const Decision& d) const = 0;
    // A tools/call refused after its decision: recorded (call_id) and answered with a denial.
    virtual void RefuseCall(const boost::json::value& id, const std::string& tool,
                            const std::string& call_id, Code code, const std::string& reason) = 0;
    // The client capabilities the gateway knows (a legacy client's initialize).
    virtual boost::json::object ClientCapabilities() const = 0;
    // The call flow a call goes back to: a server response as it came (matched on the
    // gateway's id `id`), a tools/call result recorded and relayed, a call failed (recorded,
    // isError to the client), a call never retried recorded, a call continued under its
    // first decision.
    virtual void HandleServerResponse(boost::json::value doc, const boost::json::value& id) = 0;
    virtual void HandleToolResult(boost::json::object& msg, const PendingRequest& p) = 0;
    virtual void FailCall(const PendingRequest& p, const std::string& why,
                          const std::string& output_json) = 0;
    virtual void RecordNeverRetried(const OpenCall& c, const std::string& why) = 0;
    virtual void ContinueAllowed(boost::json::value doc, const boost::json::value& id,
                                 const std::string& tool, const boost::json::object& args,
                                 const Enforcer::Outcome& outcome, int input_rounds) = 0;

    // With the mutex held: the requests at the server (by IdKey of the gateway's id).
    // The call a server-side id belongs to, or null.
    virtual PendingRequest* CallLocked(std::string_view server_key) = 0;
    // Each request at the server.
    virtual void ForEachCallLocked(
        const std::function<void(const std::string&, PendingRequest&)>& f) = 0;
    // The client's request `client_id` is now at the server as `server_id`.
    virtual void BindClientIdLocked(const boost::json::value& client_id, uint64_t server_id) = 0;
    // Counts one refusal of the server's to record; false past the gateway's cap.
    virtual bool CountRefusalLocked() = 0;

   protected:
    ~Link() = default;
  };

  // `mu`: the Gateway's mutex (see the header comment). `enforcer`: the kill switch asked
  // before a relayed call goes on. `relay_round_timeout`: how long a round waits for the
  // client's retry.
  ServerRequestHandlers(Link& link, std::mutex& mu, Enforcer* enforcer,
                        std::chrono::milliseconds relay_round_timeout);
  ~ServerRequestHandlers();
  ServerRequestHandlers(const ServerRequestHandlers&) = delete;
  ServerRequestHandlers& operator=(const ServerRequestHandlers&) = delete;

  // A server request relayed to a 2025 client with an id of the gateway's (or refused).
  void RelayServerRequest(boost::json::value doc, const boost::json::value& id);
  // A legacy server's request while a 2026-07-28 client is in front (gateway_relay.cc;
  // docs/mcp.md#revisions): ping answered by the gateway; elicitation/create,
  // sampling/createMessage and roots/list put to the client as an input_required round of the
  // one tools/call at the server (or the one `related` names: the request on whose reply
  // stream the question came), its answer returned to the server as the JSON-RPC response;
  // anything else, or what the client did not declare, answered with an error.
  void HandleServerRequestForModernClient(boost::json::value doc, const boost::json::value& id,
                                          const std::string& method,
                                          const boost::json::value* related);
  // The server's notifications/cancelled for a request relayed in a round (true: it was one).
  bool ForgetRelayedRequest(const boost::json::value& server_request_id);
  // The server's notifications/cancelled for a request relayed to a 2025 client: the
  // client-side id it went under (taken out), if it is one.
  std::optional<uint64_t> CancelLocked(std::string_view server_key) {
    return ids_.Cancel(server_key);
  }
  // A client's response: to one of the gateway's own requests, to a server's input request
  // (collected for the call's retry), or to a relayed server request (sent on).
  void OnClientResponse(Message& msg);
  // Puts a server's input requests to a legacy client (server-to-client requests with the
  // gateway's ids); "" when asked, else why they cannot be.
  std::string AskLegacyClient(const boost::json::object& result, const PendingRequest& p);
  // Asks the person at the client about `pending` (ask_client) and returns their answer;
  // gives up when `cancelled` turns true.
  Enforcer::ClientAnswer AskClient(const std::string& tool, const Enforcer::Outcome& pending,
                                   const std::atomic<bool>& cancelled);
  // The retry of a call answered with a round (requestState kRelayStatePrefix...): the
  // client's inputResponses go to the server and the retry takes over the call still at the
  // server. False: the request carries no such state.
  bool ContinueRelayedCall(boost::json::value& doc, const boost::json::value& id,
                           const std::string& tool, const boost::json::object& args);
  // What became of the server's answer to a tools/call (KeepRelayedAnswerLocked).
  enum class RelayedAnswer { kNotRelayed, kKept, kRecord };
  // In the same hold that took the call out of the requests at the server (else a retry
  // between the two would find the call neither at the server nor answered): the server
  // answered a call whose round is open. kKept: parked for the retry (*p moved); kRecord:
  // nobody to relay it to, record it; kNotRelayed: answer it as any call. Questions not yet
  // shown are moot and go to *stale.
  RelayedAnswer KeepRelayedAnswerLocked(boost::json::value& doc, std::optional<PendingRequest>& p,
                                        std::vector<boost::json::object>* stale);
  // The upstream is gone: the server's requests relayed to the client are forgotten.
  void UpstreamClosedLocked() { ids_.Clear(); }
  // The gateway ends: the reaper stops and every round ends (its call recorded, nothing sent
  // to the server: its transport may be gone already), `why` its reason.
  void Stop(std::string_view why);
  // The gateway ends: the calls whose input requests a legacy client never answered are
  // recorded as never retried.
  void EndInputAsks();

 private:
  // A server's input_required put to a legacy client as server-to-client requests (one per
  // input request), waiting for every answer before the call is retried.
  struct InputAsk {
    PendingRequest call;               // the tools/call as forwarded
    boost::json::value request_state;  // the server's requestState (null: none)
    boost::json::object responses;     // by input key, the client's results (mu_)
    size_t waiting = 0;                // answers still to come (mu_)
    std::string failed;                // why the call cannot go on (mu_)
  };
  // A legacy server's questions to a 2026-07-28 client (gateway_relay.cc), by IdKey of the
  // server-side id of the tools/call they belong to (mu_).
  struct RelayedCall {
    std::string state;  // the requestState of the round the client holds; "": none open
    std::string open_key;
    std::string tool;
    std::string call_id;
    std::string credential_json;
    boost::json::object caps;  // what the client declared (the call's _meta)
    // Shown in the open round: input key, the server's request id.
    std::vector<std::pair<std::string, boost::json::value>> asked;
    std::vector<boost::json::object> queued;   // come while a round was open, not yet shown
    std::optional<boost::json::value> answer;  // the server's answer to the call, round open
    std::optional<PendingRequest> answered;    // its PendingRequest
    bool abandoned = false;  // the client never retried: the outcome is recorded, not relayed
    int rounds = 0;
    uint64_t next_key = 1;
    std::chrono::steady_clock::time_point deadline;
  };

  // A server request whose id is in Interlock's own id space: refused to the server and
  // recorded (bounded); true when refused.
  bool RefusedOwnIdSpace(const boost::json::value& doc, const boost::json::value& id);
  // The client's answer to one of the input requests; the last one retries the call.
  void HandleInputAnswer(const boost::json::value& doc, std::shared_ptr<InputAsk> ask,
                         const std::string& key);
  // The client's answer to one of the gateway's own requests (an id with kOwnIdPrefix): an
  // elicitation answer, or refused and recorded.
  void HandleOwnResponse(const boost::json::value& doc, const std::string& key);
  // Claims the open round under `state` for a retry whose call is `open_key`: its call key
  // and what was asked go to *call_key and *c. Returns "" or why the retry is refused.
  std::string ClaimRelayState(const std::string& state, const std::string& open_key,
                              std::string* call_key, RelayedCall* c);
  // Sends the client's inputResponses (or errors, when the call was stopped: !cleared) to
  // the server as the responses to its requests `asked`.
  void SendRelayAnswers(const boost::json::object& params,
                        const std::vector<std::pair<std::string, boost::json::value>>& asked,
                        bool cleared);
  // Opens the next round of `c` (its queued requests): returns the input_required response
  // for the client's id `client_id` (mu_ held).
  boost::json::object OpenRelayRoundLocked(RelayedCall& c, const std::string& server_call,
                                           const boost::json::value& client_id);
  // Ends rounds past their deadline (relay_reaper_), or every round (the gateway ends).
  void ReapRelayedCalls(bool all, std::string_view why);
  void RelayReaper();

  Link& link_;
  std::mutex& mu_;  // the Gateway's
  Enforcer* const enforcer_;
  const std::chrono::milliseconds relay_round_timeout_;

  // Server requests relayed to the client, and the client-side ids the gateway issues (also
  // for input_asks_).
  ServerRequestIds ids_;  // mu_
  // Input requests put to a legacy client, by the gateway's client-side id: the ask and
  // its input key (mu_).
  std::map<uint64_t, std::pair<std::shared_ptr<InputAsk>, std::string>> input_asks_;
  // Elicitations sent to the client and waiting for the answer, by IdKey; those answered
  // or given up on (by IdKey, the tool asked about), to refuse a second answer (mu_).
  std::map<std::string, std::shared_ptr<RehearsalWait>, std::less<>> elicits_;
  std::map<std::string, std::string, std::less<>> elicits_done_;
  // The rounds of a legacy server's questions (mu_).
  std::map<std::string, RelayedCall, std::less<>> relayed_;
  std::map<std::string, std::string, std::less<>> relay_states_;       // state -> call key
  std::map<std::string, std::string, std::less<>> relay_request_ids_;  // server id -> call key
  std::thread relay_reaper_;
  std::condition_variable relay_cv_;
  bool relay_stop_ = false;  // mu_
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_SERVER_REQUEST_HANDLERS_H_
