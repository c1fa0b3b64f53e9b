// EgressDecider: how the egress proxy asks the core about one connection and reports what
// passed through it. The proxy holds no policy and makes no check of its own: every
// verdict comes from here.
//
// GuardEgressDecider, the implementation, decides through core::Guard (the one decision
// path of tool calls: kill switch, run state, engine, durable audit) with a call of kind
// CallKind::kEgress, and records the bytes each way as that call's result
// (core::Calls::RecordEgressResultAsync).
// Thread-safety: Decide() and Report() may be called from any thread; `done` runs on a
// store thread or inline and must not block.
#ifndef INTERLOCK_DOORS_EGRESS_DECIDER_H_
#define INTERLOCK_DOORS_EGRESS_DECIDER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/time.h"
#include "core/app/calls.h"
#include "core/guard.h"
#include "doors/egress/principal.h"
#include "interlock/decision.h"
#include "interlock/outcome.h"

namespace interlock::egress {

struct EgressAttempt {
  std::string host;  // as asked for, normalised (a name, or an IP's canonical text)
  uint16_t port = 0;
  std::string address;  // the IP the proxy is about to connect to
  bool tunnel = false;  // CONNECT (a raw tunnel), else one absolute-form http:// request
};

struct EgressVerdict {
  Decision decision;
  std::string call_id;             // the audit record of this decision; empty when not recorded
  std::string in_flight_call_id;   // the tool call in flight, when exactly one was
  std::optional<ErrorKind> error;  // the core could not decide (core::GuardResponse::error)

  // What the answer is (interlock/outcome.h): the proxy maps it in EgressStatusOf.
  Outcome outcome() const { return OutcomeOf(decision, error); }
};

class EgressDecider {
 public:
  virtual ~EgressDecider() = default;
  using DoneFn = std::function<void(EgressVerdict)>;
  virtual void Decide(const EgressAttempt& attempt, DoneFn done) = 0;
  // What an allowed connection carried; `ok` false when it failed (connect error, reset).
  virtual void Report(const std::string& call_id, uint64_t bytes_up, uint64_t bytes_down, bool ok,
                      const std::string& error) = 0;
};

// The tool call in flight, when exactly one is (empty otherwise). Called once per
// connection, from the proxy's thread.
using InFlightFn = std::function<std::string()>;

// The bytes a connection has carried so far, updated by the proxy's thread while it is
// open and readable from any thread.
struct LiveBytes {
  std::atomic<uint64_t> up{0};
  std::atomic<uint64_t> down{0};
};

// One decided connection, reported by the proxy (proxy.h) when it ended (`open` false, the
// final bytes) and, to an `on_decided` callback, when it was decided (`open` true when it
// was allowed and is about to be connected; `live` then counts its bytes). `serial`
// identifies the connection across the two reports.
struct EgressOutcome {
  EgressAttempt attempt;
  Decision decision;
  std::string call_id;
  std::string in_flight_call_id;
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  uint64_t serial = 0;
  bool open = false;
  std::shared_ptr<const LiveBytes> live;  // set on the report made when decided
};

class GuardEgressDecider final : public EgressDecider {
 public:
  // None is owned; all must outlive this. `store` null: results are not recorded (tests).
  GuardEgressDecider(core::Guard* guard, core::Store* store, const Clock* clock,
                     std::string agent_id, std::string run_id, InFlightFn in_flight = {})
      : guard_(guard),
        records_(store != nullptr),
        calls_(store, guard->policy_source(), clock),
        agent_id_(std::move(agent_id)),
        run_id_(std::move(run_id)),
        in_flight_(std::move(in_flight)) {}

  void Decide(const EgressAttempt& attempt, DoneFn done) override;
  void Report(const std::string& call_id, uint64_t bytes_up, uint64_t bytes_down, bool ok,
              const std::string& error) override;

 private:
  core::Guard* guard_;
  const bool records_;
  core::Calls calls_;  // the connections' results
  std::string agent_id_;
  std::string run_id_;
  InFlightFn in_flight_;
};

}  // namespace interlock::egress

#endif  // INTERLOCK_DOORS_EGRESS_DECIDER_H_
