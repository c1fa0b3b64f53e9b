// Door: the ext_authz door's decision, independent of gRPC (grpc_service.h carries it).
//
// Envoy's external authorization (and every gateway speaking it: agentgateway, Envoy AI
// Gateway, Istio) sends each HTTP request it holds: method, path, host, headers and, with
// `with_request_body`, the body. The door answers the one question the gateway asks, through
// the core only (docs/design.md, "Doors"; docs/gateways.md):
//   * the agent comes from the request's bearer credential (core::Authenticator: an
//     Interlock token or a JWT), never from anything else the request says;
//   * the run is the agent's run for the value of `run_header` (default Mcp-Session-Id),
//     else for its credential: "ea-" + SHA-256(agent, identity, key), joined on its first Check
//     (again after the door forgets it: JoinedRuns keeps the most recent 16,384);
//   * an MCP `tools/call` (either revision; headers checked against the body) is decided
//     by core::Guard as the /mcp/{upstream} door decides it: budgets, workflows, approvals,
//     kill switches, audit. Other MCP methods are let through as that door forwards them
//     (tools/list cannot be filtered here: the answer passes the gateway unread); a refused
//     body (malformed, a batch, headers that disagree, a method that could be taken for
//     tools/call) is decided INVALID_REQUEST by the core and audited;
//   * a request of a plain route is decided as the route's tool, with {method, path, query,
//     body} as its arguments.
// The answer: allow is gRPC OK with headers the gateway adds upstream (x-interlock-decision-id,
// x-interlock-run-id); a deny is PERMISSION_DENIED with the body the MCP door sends (a
// tools/call result with isError and the reason, under the request's id, HTTP 200, so an
// MCP client reads it); an approval is a deny naming the approval and its link and the
// retry contract (the identical call retried in the same run redeems a grant once,
// docs/approvals.md#an-identical-call-retried). Errors never allow: a store, identity or
// policy failure is a deny with UNAVAILABLE; a missing credential UNAUTHENTICATED (401);
// a body missing, cut or over max_body_bytes INVALID_ARGUMENT.
//
// Thread-safety: CheckAsync and Check may be called from any thread at once. CheckAsync never
// waits on a decision's commit (concurrent Checks share the store's group commit, as the
// HTTP door's decisions do); Check waits for it (call it off a network thread). The
// collaborators must outlive the door, and the door every answer it owes.
#ifndef INTERLOCK_DOORS_EXT_AUTHZ_DOOR_H_
#define INTERLOCK_DOORS_EXT_AUTHZ_DOOR_H_

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/app/authn.h"
#include "core/app/calls.h"
#include "core/app/drills.h"
#include "core/guard.h"
#include "doors/ext_authz/config.h"
#include "doors/ext_authz/mcp_message.h"
#include "interlock/decision.h"

namespace interlock::doors::ext_authz {

// The HTTP request as the gateway describes it.
struct HttpAttributes {
  std::string method;
  std::string path;  // with the query, as Envoy sends it
  std::string host;  // :authority
  Headers headers;   // lower-cased names
  std::string body;
  bool partial_body = false;  // the gateway cut the body (x-envoy-auth-partial-body: true)
};

// gRPC status codes (google.rpc.Code) the door answers with.
enum class RpcCode : int {
  kOk = 0,
  kInvalidArgument = 3,
  kPermissionDenied = 7,
  kUnavailable = 14,
  kUnauthenticated = 16,
};

struct CheckAnswer {
  RpcCode code = RpcCode::kPermissionDenied;
  std::string message;         // google.rpc.Status.message
  unsigned http_status = 403;  // the denial's status
  // Allow: headers the gateway adds to the request upstream; deny: to the client's answer.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;     // the denial's body
  std::string call_id;  // the decision's id ("" when nothing was decided)
  // The core's decision code ("" when nothing was decided: no route, no credential...).
  std::string decision_code;
  bool allowed() const { return code == RpcCode::kOk; }
};

// The door's one mapping of the core's outcome (interlock/outcome.h; docs/design.md, "One
// outcome"): kOk (forwarded) for an allow; kPermissionDenied (403, or an MCP tool error)
// for a deny, an approval or a rehearsal required, and a request the core refused as
// invalid (INVALID_REQUEST); kUnavailable (503) for every other error. An allow whose
// reviewer edited its arguments is still refused by Door::Answer (the gateway cannot apply
// the edit).
RpcCode CheckCodeOf(const Outcome& o);

struct DoorDeps {
  core::Guard* guard = nullptr;
  core::Calls* calls = nullptr;  // runs
  core::Authenticator* authn = nullptr;
  // The reviewer page's link for an approval id ("" when none).
  std::function<std::string(std::string_view)> approval_url;
};

// The runs this process has joined, the most recently used `capacity` of them: a run key
// is the client's to choose (run_header), so a set of every run ever seen would grow the
// daemon's memory with each key an attacker mints. A run evicted is simply joined again
// on its next Check (core::Calls::JoinRun returns the existing run). Thread-safe.
class JoinedRuns {
 public:
  // 16,384 runs (a few MB at most).
  static constexpr size_t kDefaultCapacity = 16384;
  explicit JoinedRuns(size_t capacity = kDefaultCapacity) : capacity_(capacity ? capacity : 1) {}
  // Whether `run_id` was joined (and not evicted since); marks it most recently used.
  bool Contains(const std::string& run_id);
  // Records `run_id` as joined, evicting the least recently used run past the capacity.
  void Add(const std::string& run_id);
  size_t size();

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::list<std::string> order_;  // most recently used first; guarded by mu_
  std::unordered_map<std::string, std::list<std::string>::iterator> index_;  // guarded by mu_
};

class Door {
 public:
  // Where an answer goes: called exactly once per Check.
  using CheckDone = std::function<void(CheckAnswer&&)>;
  // Runs work that may wait on a store write (a run's first Check joins the run) on a
  // thread that may block; empty: in the caller's thread.
  using Offload = std::function<void(std::function<void()>)>;

  Door(ExtAuthzConfig config, DoorDeps deps);

  // Decides `req` and answers through `done`, without waiting on the decision's commit.
  // `done` runs in the caller's thread when nothing is decided (no route, no credential)
  // or the store answers in line; on `offload`'s thread when the run's join fails or the
  // credential had to be read from the store (never read on the caller's thread when an
  // `offload` is given: a store read may wait, and the caller may serve every Check); else
  // on the store's thread (the writer, or the syncer with durability full) once the
  // decision is durable, where it must not block. Every path answers: an error is a deny.
  void CheckAsync(HttpAttributes req, CheckDone done, const Offload& offload = {});
  // The same, waiting for the answer (the drill's probe): blocks on the commit.
  CheckAnswer Check(HttpAttributes req);

  const ExtAuthzConfig& config() const { return config_; }

 private:
  struct Ask;      // one request's agent, run and protocol (door.cc)
  struct Pending;  // a request to decide: its Ask, its call and where the answer goes
  const RouteRule* Match(const HttpAttributes& req) const;
  // What Read did: answered (*now set: no route, a refused credential, a body that needs no
  // decision), read the request into `p`, or stopped because the caller's credential can
  // only be checked by reading the token table, which `may_wait` false forbids.
  enum class ReadStep { kAnswered, kRead, kMustWait };
  // Reads the request: its route, its agent (the bearer credential) and what to decide.
  ReadStep Read(const HttpAttributes& req, Pending& p, CheckAnswer* now, bool may_wait) const;
  // The rest of a Check once read: joins the run when the door has not (a store write,
  // blocking: on `offload`'s thread, or here when `offload` is empty), then decides.
  void JoinThenDecide(std::shared_ptr<Pending> p, const Offload& offload);
  // Each reads the request into `p` (the call to decide) and answers false, or answers
  // true having set *now (an answer that needs no decision).
  bool ReadMcp(const HttpAttributes& req, Pending& p, CheckAnswer* now) const;
  bool ReadRoute(const RouteRule& route, const HttpAttributes& req, Pending& p,
                 CheckAnswer* now) const;
  // The run of the request: "ea-" + SHA-256(agent, identity, the run key).
  std::string RunIdOf(const Ask& ask, const HttpAttributes& req) const;
  bool Joined(const std::string& run_id);
  // Joins the request's run (once per process); UNAVAILABLE answer on failure. Blocks.
  bool JoinRun(const Ask& ask, CheckAnswer* failed);
  // Decides p's call through the Guard, asynchronously, and answers p.done.
  void Decide(std::shared_ptr<Pending> p);
  // The core's answer to a refused MCP body: decided (and audited) INVALID_REQUEST.
  CheckAnswer RefusedAnswer(const Ask& ask, const McpRefusal& refusal,
                            const core::GuardResponse& g) const;
  CheckAnswer Answer(const Ask& ask, const core::GuardResponse& g) const;

  const ExtAuthzConfig config_;
  const DoorDeps deps_;
  JoinedRuns joined_;  // runs joined, bounded
};

// The kill-switch drill's probe of this door (docs/drill.md): one Check of an MCP
// tools/call as Envoy sends it (with the body), on the first route that is MCP (else the
// first route, decided as its tool; no routes: every request is MCP), with the drill's
// credential. Refused means PERMISSION_DENIED with the decision code KILL_SWITCH.
class DoorDrillProbe final : public core::DrillProbe {
 public:
  explicit DoorDrillProbe(Door* door) : door_(door) {}
  std::string door() const override { return "ext_authz"; }
  core::DoorAnswer Probe(const core::DrillTarget& target) override;

 private:
  Door* door_;
};

}  // namespace interlock::doors::ext_authz

#endif  // INTERLOCK_DOORS_EXT_AUTHZ_DOOR_H_
