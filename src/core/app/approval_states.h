// ApprovalStates: the `requestState` a door hands an MCP client instead of holding its call
// open for an approval (approvals over MCP multi round-trip requests, MCP 2026-07-28;
// docs/mcp.md#approvals-over-mrtr), sealed when the call is held and opened when the
// client's retry brings it back. The state passes through the agent's client, so it is
// attacker-controlled input: it binds the agent, the run (or the client's stable scope),
// the call's tool and arguments, the call and approval ids and who may answer, and opens
// once (core/request_state.h says how: an HMAC under a derived key, an expiry, a nonce and
// a replay memory). A door never sees the claims or the key, only this facade.
// Thread-safety: any thread; Seal and Open may run concurrently. Not owned: the
// RequestStates handed in, which must outlive this.
#ifndef INTERLOCK_CORE_APP_APPROVAL_STATES_H_
#define INTERLOCK_CORE_APP_APPROVAL_STATES_H_

#include <chrono>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "interlock/result.h"

namespace interlock::core {

class RequestStates;  // core/request_state.h: the sealing key and replay memory

class ApprovalStates {
 public:
  // Who a state is sealed to, and who presents it on the retry: both must match.
  struct Holder {
    std::string agent_id;
    std::string run_id;  // a state is never sealed to no run (Seal's caller checks)
    // The client's stable scope, set by a door whose client outlives a run (a state of
    // another run opens when it names this scope); "" for none.
    std::string scope;
  };
  // The held approval a state answers the retry with.
  struct HeldApproval {
    std::string call_id;
    std::string approval_id;
    // The person at the client answers (standalone, one approver: their answer votes);
    // false: only reviewers' votes count, never what the client sends back.
    bool ask_client = false;
  };

  // `states`: the daemon's (a key every daemon of a fleet shares, so a state outlives a
  // restart); null: one per process under a random key made at first use (states open only
  // in this process and do not survive a restart).
  explicit ApprovalStates(RequestStates* states);

  // Whether `state` is one of Interlock's: a requestState of another issuer (an upstream
  // server's own) is not Interlock's to open.
  static bool IsOurs(std::string_view state);

  // The sealed state of `held`, the call of `tool` with `args` held for `holder`, good for
  // `ttl` from now (at most a day).
  std::string Seal(const Holder& holder, std::string_view tool, const boost::json::object& args,
                   const HeldApproval& held, std::chrono::milliseconds ttl) const;
  // The held approval of `state` when it verifies, is live, was sealed to `holder` for the
  // call of `tool` with `args`, and was never opened before (it is then consumed). Else
  // kPermissionDenied (kUnavailable when the replay memory is full), the message naming why.
  Result<HeldApproval> Open(std::string_view state, const Holder& holder, std::string_view tool,
                            const boost::json::object& args) const;

 private:
  RequestStates* states_;  // never null
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_APPROVAL_STATES_H_
