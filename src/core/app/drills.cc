#include "core/app/drills.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include <boost/json.hpp>

#include "audit/audit_event.h"
#include "common/crypto.h"
#include "common/status_macros.h"

namespace interlock::core {

namespace json = boost::json;

namespace {

constexpr size_t kMaxDetailBytes = 300;

std::string BoundedDetail(std::string s) {
  if (s.size() > kMaxDetailBytes) {
    s.resize(kMaxDetailBytes);
    while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
    if (!s.empty() && static_cast<unsigned char>(s.back()) >= 0xC0) s.pop_back();
    s += "...";
  }
  return s;
}

// The switch the drill engages, released on every path out of Run.
class EngagedDrillSwitch {
 public:
  EngagedDrillSwitch(Kills* kills, std::string reason, std::string actor, const Clock* clock)
      : kills_(kills), reason_(std::move(reason)), actor_(std::move(actor)), clock_(clock) {}
  EngagedDrillSwitch(const EngagedDrillSwitch&) = delete;
  EngagedDrillSwitch& operator=(const EngagedDrillSwitch&) = delete;
  ~EngagedDrillSwitch() { (void)Release(); }

  Status Engage() {
    Status s = kills_->Engage(kKillAgent, kDrillAgentId, reason_, actor_, clock_->Now());
    engaged_ = s.ok();
    return s;
  }
  Status Release() {
    if (!engaged_) return Status::Ok();
    engaged_ = false;
    return kills_->Release(kKillAgent, kDrillAgentId, reason_ + ": released", actor_,
                           clock_->Now());
  }

 private:
  Kills* kills_;
  std::string reason_;
  std::string actor_;
  const Clock* clock_;
  bool engaged_ = false;
};

void AddDrillError(std::string* to, std::string what) {
  if (!to->empty()) *to += "; ";
  *to += std::move(what);
}

}  // namespace

std::string NewDrillId() {
  const std::string raw = RandomBytes(8);
  return "drl_" + HexEncode(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
}

bool DrillReport::passed() const {
  if (!error.empty() || doors.empty()) return false;
  return std::all_of(doors.begin(), doors.end(), [](const DoorResult& d) { return d.refused; });
}

json::object DrillReport::ToJson() const {
  json::array arr;
  for (const DoorResult& d : doors) {
    arr.push_back(json::object{{"door", d.door},
                               {"refused_by_kill_switch", d.refused},
                               {"code", d.answer.code},
                               {"detail", d.answer.detail},
                               {"latency_ms", std::round(d.latency_ms * 1000.0) / 1000.0}});
  }
  json::object o{{"drill_id", drill_id},
                 {"actor", actor},
                 {"canary_run", canary_run},
                 {"started_at", FormatRfc3339(started)},
                 {"finished_at", FormatRfc3339(finished)},
                 {"passed", passed()},
                 {"doors", std::move(arr)}};
  if (!error.empty()) o["error"] = error;
  return o;
}

Result<DrillReport> Drills::Run(std::string actor, std::string credential,
                                const std::vector<DrillProbe*>& probes) {
  std::unique_lock lock(running_, std::try_to_lock);
  if (!lock.owns_lock()) return Error{ErrorKind::kAlreadyExists, "a drill is running here"};
  DrillReport report;
  report.drill_id = NewDrillId();
  report.actor = std::move(actor);
  report.started = clock_->Now();
  // The canary run, as any door starts one for an agent.
  Result<RunInfo> canary = calls_->StartRun(kDrillAgentId);
  if (!canary.ok()) return canary.error();
  report.canary_run = canary->run_id;
  {
    EngagedDrillSwitch kill(kills_, "drill " + report.drill_id, report.actor, clock_);
    if (Status s = kill.Engage(); !s.ok()) {
      AddDrillError(&report.error,
                    "the drill's kill switch could not be engaged: " + s.error().message);
    } else {
      const DrillTarget target{report.drill_id, std::move(credential), report.canary_run};
      for (DrillProbe* probe : probes) {
        DoorResult r;
        r.door = probe->door();
        const auto t0 = std::chrono::steady_clock::now();
        r.answer = probe->Probe(target);
        r.latency_ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        r.answer.detail = BoundedDetail(std::move(r.answer.detail));
        r.refused = r.answer.code == "KILL_SWITCH";
        report.doors.push_back(std::move(r));
      }
      if (probes.empty()) AddDrillError(&report.error, "no door to drill");
    }
    if (Status s = kill.Release(); !s.ok()) {
      AddDrillError(&report.error,
                    "the drill's kill switch could not be released (it refuses the "
                    "drill agent only): " +
                        s.error().message);
    }
  }
  if (Status s = EndDrillRuns(clock_->Now()); !s.ok()) {
    AddDrillError(&report.error, "the drill's runs could not be ended: " + s.error().message);
  }
  report.finished = clock_->Now();
  audit::AuditEvent ev;
  ev.type = kDrillRecord;
  ev.time = report.finished;
  ev.run_id = report.canary_run;
  ev.agent_id = std::string(kDrillAgentId);
  ev.principal = report.actor;
  ev.data = report.ToJson();
  std::vector<audit::AuditEvent> events;
  events.push_back(std::move(ev));
  if (Status s = store_->AppendRecords(std::move(events)); !s.ok()) {
    AddDrillError(&report.error, "the drill record could not be written: " + s.error().message);
  } else {
    report.recorded = true;
  }
  return report;
}

Status Drills::EndDrillRuns(TimePoint now) {
  RunFilter f;
  f.agent_id = std::string(kDrillAgentId);
  f.state = RunListState::kActive;
  f.limit = 1000;
  // Bounded: a drill starts a run per door; a page of 1000 is far more than one drill's.
  for (int page = 0; page < 8; ++page) {
    Result<RunPage> runs = store_->ListRuns(f);
    if (!runs.ok()) return runs.error();
    if (runs->runs.empty()) return Status::Ok();
    for (const RunInfo& run : runs->runs) {
      INTERLOCK_RETURN_IF_ERROR(store_->EndRun(run.run_id, run.agent_id, now));
    }
  }
  return Status::Ok();
}

Result<std::optional<json::object>> Drills::Last() {
  audit::AuditQuery q;
  q.filter.type = std::string(kDrillRecord);
  q.filter.descending = true;
  q.limit = 1;
  Result<audit::AuditPage> page = store_->QueryAuditPage(q);
  if (!page.ok()) return page.error();
  if (page->records.empty() || !page->records.front().is_object()) {
    return std::optional<json::object>();
  }
  return std::optional<json::object>(page->records.front().as_object());
}

}  // namespace interlock::core
