// The records the MCP Gateway's parts share (gateway.h, server_request_handlers.h): a request
// the gateway sent the server and waits on (PendingRequest, the Gateway's `pending_`), a
// rehearsal or question of the gateway's own waiting for its answer (RehearsalWait), and a
// tools/call the server answered input_required, waiting for the client's retry (OpenCall).
// Plain data: who holds one says under which lock (the Gateway's `mu_` for every table of them;
// RehearsalWait carries its own mutex for the one thread that waits on it).
#ifndef INTERLOCK_MCP_PENDING_REQUEST_H_
#define INTERLOCK_MCP_PENDING_REQUEST_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "mcp/enforcer.h"

namespace interlock::mcp {

// How many input_required rounds one tools/call may take (a server's questions, in either
// era); past that the call fails.
inline constexpr int kMaxInputRounds = 8;

// A rehearsal sent to the gateway's own upstream (or the gateway's own question to the
// client), waiting for its response.
struct RehearsalWait {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<boost::json::object> response;  // the JSON-RPC response
  std::string failed;                           // the upstream went away
};

// A request at the server, by the gateway's server-side id.
struct PendingRequest {
  // The gateway's own request (its initialize, the tools/list it loads, a probe, a
  // rehearsal, a cancel): no client waits for it, its answer is never relayed.
  static PendingRequest Internal(std::string method) {
    PendingRequest p;
    p.method = std::move(method);
    p.internal = true;
    return p;
  }

  std::shared_ptr<RehearsalWait> rehearsal;  // set: a rehearsal, never relayed
  boost::json::value client_id;              // the client's id (null: internal)
  // The client's params._meta.progressToken (null: none). The server is given the
  // request's server-side id as the token instead (Gateway::ForwardToServerLocked).
  boost::json::value client_progress_token;
  std::string method;
  std::string tool;             // tools/call
  std::string call_id;          // tools/call that was forwarded
  std::string credential_json;  // ToolResult::credential_json
  // The Authorization it was sent with (credential_for; in memory only, never recorded):
  // a task it becomes is cancelled with it from the server's thread, which must not wait
  // on the identity provider.
  std::string authorization;
  bool internal = false;
  bool list_first_page = false;  // tools/list without a cursor
  bool probe = false;            // the server/discover probe (rehearsal holds the wait)
  // tools/call: the outcome it was forwarded under and its MRTR round (an open call's retry
  // keeps both; see OpenCall).
  std::shared_ptr<const Enforcer::Outcome> outcome;
  int input_rounds = 0;
  std::string open_key;        // tools/call: OpenKey(tool, arguments) as forwarded
  boost::json::object params;  // tools/call: its params as the client sent them (a retry's)
  std::string task_id;         // tasks/get, tasks/update, tasks/cancel: the task's id
  // tools/call of a 2026-07-28 client whose server asked a question (gateway_relay.cc):
  // while the round is open the client holds no request (client_id is null).
  bool relayed = false;
};

// A tools/call the server answered input_required, waiting for the client's retry.
struct OpenCall {
  std::shared_ptr<const Enforcer::Outcome> outcome;
  std::string credential_json;
  int input_rounds = 0;
  uint64_t seq = 0;  // eviction order
  std::chrono::steady_clock::time_point opened;
};

}  // namespace interlock::mcp

#endif  // INTERLOCK_MCP_PENDING_REQUEST_H_
