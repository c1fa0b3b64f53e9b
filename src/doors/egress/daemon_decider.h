// DaemonEgressDecider: the EgressDecider of `interlock egress --daemon` and
// `interlock mcp --sandbox --daemon`: each connection is decided by a central
// `interlock serve` (docs/api.md, "Egress"), so the daemon's policies, kill switches and
// audit trail cover the proxy's connections as they cover tool calls.
//
//   Decide: POST /v1/runs/{run}/egress {"host","port","address"[,"in_flight_call_id"]}
//           -> a decision object with call_id (the agent comes from the token; the daemon
//           sets the call's kind and classifies the address itself);
//   Report: POST /v1/calls/{call_id}/egress-result {"ok","bytes_up","bytes_down","error"}.
//
// The HTTP exchange itself is not here: the composition root passes the one daemon client
// (core::DaemonChannel, core/app/daemon_channel.h, with its timeouts, TLS and token) as an
// ExchangeFn, so this module has no transport of its own and no dependency on src/mcp.
//
// Fail closed: a run that cannot be had, a transport error or timeout, a non-200 status,
// a body that is not a decision, a verdict other than allow or deny, or an allow without
// a call id is a deny with code STORE_UNAVAILABLE and a reason saying what went wrong
// (the proxy answers 403 with it), never an allow.
// Threads: Decide() and Report() never block the caller: each exchange runs on a small
// pool owned by the decider; `done` runs on a pool thread. The destructor waits for the
// queued exchanges (each bounded by the ExchangeFn's timeout).
#ifndef INTERLOCK_DOORS_EGRESS_DAEMON_DECIDER_H_
#define INTERLOCK_DOORS_EGRESS_DAEMON_DECIDER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/app/daemon_channel.h"
#include "doors/egress/decider.h"
#include "interlock/result.h"

namespace interlock::egress {

// One HTTP exchange with the daemon: the reply's status and body, or a transport error
// (unreachable, timeout). Called from the decider's pool threads, concurrently.
using DaemonHttpReply = core::DaemonReply;
using DaemonExchangeFn = std::function<Result<DaemonHttpReply>(
    std::string_view method, std::string_view target, std::string body)>;
// The daemon run the connections belong to (started on first use when need be).
using DaemonRunFn = std::function<Result<std::string>()>;

class DaemonEgressDecider final : public EgressDecider {
 public:
  DaemonEgressDecider(DaemonExchangeFn exchange, DaemonRunFn run, InFlightFn in_flight = {},
                      size_t threads = 4);
  ~DaemonEgressDecider() override;
  DaemonEgressDecider(const DaemonEgressDecider&) = delete;
  DaemonEgressDecider& operator=(const DaemonEgressDecider&) = delete;

  void Decide(const EgressAttempt& attempt, DoneFn done) override;
  void Report(const std::string& call_id, uint64_t bytes_up, uint64_t bytes_down, bool ok,
              const std::string& error) override;

  // The synchronous forms the pool runs (public for tests). `in_flight` is the tool call
  // in flight, or "".
  EgressVerdict DecideNow(const EgressAttempt& attempt, const std::string& in_flight);
  Status ReportNow(const std::string& call_id, uint64_t bytes_up, uint64_t bytes_down, bool ok,
                   const std::string& error);

 private:
  struct Pool;
  DaemonExchangeFn exchange_;
  DaemonRunFn run_;
  InFlightFn in_flight_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace interlock::egress

#endif  // INTERLOCK_DOORS_EGRESS_DAEMON_DECIDER_H_
