#include "doors/egress/decider.h"

#include <boost/json/serialize.hpp>

namespace interlock::egress {

void GuardEgressDecider::Decide(const EgressAttempt& attempt, DoneFn done) {
  ToolCall call;
  call.kind = CallKind::kEgress;
  call.tool = kEgressToolName;
  call.args = {{"host", attempt.host},
               {"port", static_cast<int64_t>(attempt.port)},
               {"address", attempt.address}};
  if (attempt.tunnel) call.args["tunnel"] = true;
  std::string in_flight = in_flight_ ? in_flight_() : std::string();
  if (!in_flight.empty()) call.args["call_id"] = in_flight;
  guard_->DecideAsync(agent_id_, kEgressPrincipal, run_id_, std::move(call),
                      [done = std::move(done), in_flight](core::GuardResponse r) {
                        EgressVerdict v;
                        v.decision = std::move(r.decision);
                        v.call_id = std::move(r.call_id);
                        v.in_flight_call_id = in_flight;
                        v.error = r.error;
                        done(std::move(v));
                      });
}

void GuardEgressDecider::Report(const std::string& call_id, uint64_t bytes_up, uint64_t bytes_down,
                                bool ok, const std::string& error) {
  if (call_id.empty() || !records_) return;
  core::CallResult result;
  result.ok = ok;
  result.error = error;
  result.output_json = boost::json::serialize(
      boost::json::object{{"bytes_up", bytes_up}, {"bytes_down", bytes_down}});
  calls_.RecordEgressResultAsync(call_id, agent_id_, kEgressPrincipal, std::move(result));
}

}  // namespace interlock::egress
