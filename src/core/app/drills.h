// Drills: the kill switch tested on the deployment that serves agents (docs/drill.md).
//
// A drill starts a canary run of Interlock's own drill agent (kDrillAgentId, reserved: no
// policy and no token may name it, so its calls can only ever be refused), engages the
// kill switch of that agent, asks every door the deployment serves for one call of the
// drill agent (each door a DrillProbe, as a request reaches it), checks that each answered
// KILL_SWITCH and how long it took, releases the switch, ends the drill agent's runs, and
// appends one `drill` record (who, when, each door's answer and latency) to the audit
// chain. A drill never touches a real agent's run: its switch covers the drill agent only.
//
// Fail closed, and never a false pass: a door that answers anything but KILL_SWITCH (an
// allow, another deny, an error, nothing within the probe's bound) fails the drill; a
// switch that cannot be engaged, or a record that cannot be written, fails it too. The
// switch is released whatever happened (a release that fails is reported: it keeps
// refusing the drill agent only).
//
// Threading: Run may be called from any thread that may block; one drill at a time per
// Drills (a second concurrent Run is kAlreadyExists). Collaborators must outlive it.
#ifndef INTERLOCK_CORE_APP_DRILLS_H_
#define INTERLOCK_CORE_APP_DRILLS_H_

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "common/drill_agent.h"
#include "common/time.h"
#include "core/app/calls.h"
#include "core/app/kills.h"
#include "core/ports/store.h"
#include "interlock/result.h"

namespace interlock::core {

using interlock::kDrillAgentId;  // common/drill_agent.h: reserved for the drill

// The audit record a drill appends (docs/audit.md#drill).
inline constexpr std::string_view kDrillRecord = "drill";

// What a probe is given: the drill, its credential (a bearer token that authenticates as
// the drill agent while the drill runs, and never after) and its canary run.
struct DrillTarget {
  std::string drill_id;
  std::string credential;
  std::string canary_run;
};

// One door's answer to the drill agent's call.
struct DoorAnswer {
  std::string code;    // the decision code the door answered ("KILL_SWITCH", "ALLOW"...),
                       // or what it answered instead ("HTTP 503", "no answer")
  std::string detail;  // the door's reason, as its client reads it (bounded)
};

// A door as the drill asks it. Probe must return within a bound of its own (seconds) and
// never throw; an answer it cannot read is reported as such, never as KILL_SWITCH.
class DrillProbe {
 public:
  virtual ~DrillProbe() = default;
  virtual std::string door() const = 0;  // "http_api", "mcp", "claude_code_hook", ...
  virtual DoorAnswer Probe(const DrillTarget& target) = 0;
};

struct DoorResult {
  std::string door;
  DoorAnswer answer;
  bool refused = false;  // answered KILL_SWITCH
  double latency_ms = 0;
};

struct DrillReport {
  std::string drill_id;
  std::string actor;
  std::string canary_run;
  TimePoint started;
  TimePoint finished;
  std::vector<DoorResult> doors;
  std::string error;  // what failed outside the doors ("" when nothing did)
  bool recorded = false;
  // Every door answered KILL_SWITCH, at least one door was asked, nothing else failed.
  bool passed() const;
  // The record's data (and the API's answer): docs/drill.md#the-record.
  boost::json::object ToJson() const;
};

class Drills {
 public:
  Drills(Store* store, Calls* calls, Kills* kills, const Clock* clock)
      : store_(store), calls_(calls), kills_(kills), clock_(clock) {}

  // Runs one drill as `actor` (an admin's name) through `probes` in order. The credential
  // is the one the doors accept for the drill agent while this runs (the caller arms and
  // disarms it). Returns the report, also when the drill failed; kAlreadyExists while
  // another drill runs here.
  Result<DrillReport> Run(std::string actor, std::string credential,
                          const std::vector<DrillProbe*>& probes);

  // The newest drill record in the audit chain (its JSON as GET /v1/audit shows records),
  // nullopt when there has been none; kUnavailable when the store cannot answer.
  Result<std::optional<boost::json::object>> Last();

 private:
  // Ends every open run of the drill agent (the canary and the doors' own runs).
  Status EndDrillRuns(TimePoint now);

  Store* store_;
  Calls* calls_;
  Kills* kills_;
  const Clock* clock_;
  std::mutex running_;
};

// A new drill id: "drl_" and 16 hex digits.
std::string NewDrillId();

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_APP_DRILLS_H_
