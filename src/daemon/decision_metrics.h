// DecisionMetrics: the daemon's metrics told of every answer the core gives
// (core::DecisionObserver), whichever door asked: the HTTP API, its hook and AuthZEN
// routes, MCP over HTTP, the ext_authz door. The doors count nothing themselves, so a new
// door's decisions are in interlock_decisions_total the day it lands. What counts:
//   - an answer is a decision under its code, and its time goes to
//     interlock_decision_latency_seconds (from the core's receipt of the call);
//   - a request the core refused as such (an unknown run, another agent's run, an
//     Idempotency-Key reused for another request) is not a decision: not counted;
//   - arguments the core refused (kInvalidArgument) count as INVALID_REQUEST;
//   - a store failure counts as a store error and as the deny it answers, whether the core
//     said it as an error or only as a STORE_UNAVAILABLE / AUDIT_UNAVAILABLE decision (one
//     reading of the answer: GuardResponse::outcome(), interlock/outcome.h);
//   - a call that halted its run (its budget spent) counts a halted run.
// A door still counts the requests it refuses before the core sees them (a body that is
// not a call) as INVALID_REQUEST, with Metrics::RecordDecision.
#ifndef INTERLOCK_DAEMON_DECISION_METRICS_H_
#define INTERLOCK_DAEMON_DECISION_METRICS_H_

#include <chrono>
#include <string_view>

#include "core/guard.h"
#include "daemon/metrics.h"
#include "interlock/outcome.h"

namespace interlock::server {

class DecisionMetrics : public core::DecisionObserver {
 public:
  explicit DecisionMetrics(Metrics* metrics) : metrics_(metrics) {}

  void Decided(std::string_view agent_id, const core::GuardResponse& g,
               std::chrono::nanoseconds took) override {
    const Outcome outcome = g.outcome();
    Code code = g.decision.code;
    switch (outcome.kind) {
      case OutcomeKind::kAllow:
      case OutcomeKind::kDeny:
      case OutcomeKind::kApprovalRequired:
      case OutcomeKind::kRehearsalRequired:
        break;
      case OutcomeKind::kError:
        switch (outcome.cause) {
          case ErrorKind::kNotFound:
          case ErrorKind::kPermissionDenied:
          case ErrorKind::kAlreadyExists:
            return;
          case ErrorKind::kInvalidArgument:
            code = Code::kInvalidRequest;
            break;
          case ErrorKind::kUnavailable:
          case ErrorKind::kTimeout:
          case ErrorKind::kCorrupt:
          case ErrorKind::kInternal:
            metrics_->RecordStoreError();
            break;
        }
        break;
    }
    metrics_->RecordDecision(agent_id, code, took);
    if (outcome.kind != OutcomeKind::kError && g.state.halted && code != Code::kRunHalted &&
        code != Code::kKillSwitch) {
      metrics_->RunHalted();
    }
  }

 private:
  Metrics* metrics_;
};

}  // namespace interlock::server

#endif  // INTERLOCK_DAEMON_DECISION_METRICS_H_
