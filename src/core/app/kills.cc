#include "core/app/kills.h"

#include <set>
#include <string>
#include <utility>

#include "common/status_macros.h"
#include "core/app/free_text.h"
#include "core/ports/store.h"

namespace interlock::core {

void EngagedKills::Set(std::string_view scope, std::string_view target, bool engaged,
                       std::string reason) {
  if (scope == kKillGlobal) {
    if (engaged) {
      global_ = std::move(reason);
    } else {
      global_.reset();
    }
    return;
  }
  std::map<std::string, std::string, std::less<>>* rows = scope == kKillAgent ? &agents_
                                                          : scope == kKillRun ? &runs_
                                                                              : nullptr;
  if (rows == nullptr) return;
  if (engaged) {
    (*rows)[std::string(target)] = std::move(reason);
  } else if (auto it = rows->find(target); it != rows->end()) {
    rows->erase(it);
  }
}

void EngagedKills::Clear() {
  global_.reset();
  agents_.clear();
  runs_.clear();
}

std::optional<engine::KillSwitch> EngagedKills::Covering(std::string_view agent_id,
                                                         std::string_view run_id) const {
  if (global_) return engine::KillSwitch{std::string(kKillGlobal), *global_};
  // An empty id names no agent or run: a switch stored without a target never covers it.
  if (!agent_id.empty()) {
    if (auto it = agents_.find(agent_id); it != agents_.end()) {
      return engine::KillSwitch{std::string(kKillAgent), it->second};
    }
  }
  if (!run_id.empty()) {
    if (auto it = runs_.find(run_id); it != runs_.end()) {
      return engine::KillSwitch{std::string(kKillRun), it->second};
    }
  }
  return std::nullopt;
}

EngagedKills EngagedOf(const std::vector<KillEntry>& entries) {
  EngagedKills kills;
  for (const KillEntry& e : entries) {
    if (e.engaged) kills.Set(e.scope, e.target, true, e.reason);
  }
  return kills;
}

Result<KillEntry> NormalizeKill(KillEntry e) {
  if (Status s = CheckFreeText(e.reason, "reason"); !s.ok()) return s.error();
  if (Status s = CheckFreeText(e.target, "target"); !s.ok()) return s.error();
  if (Status s = CheckFreeText(e.actor, "actor"); !s.ok()) return s.error();
  if (e.scope == kKillGlobal) {
    e.target.clear();
  } else if (e.scope == kKillAgent || e.scope == kKillRun) {
    if (e.target.empty()) return Error::Invalid("kill switch scope " + e.scope + " needs a target");
  } else {
    return Error::Invalid("unknown kill switch scope \"" + e.scope +
                          "\" (expected global, agent or run)");
  }
  return e;
}

Status Kills::Engage(std::string_view scope, std::string_view target, std::string reason,
                     std::string actor, TimePoint now) {
  return Set(KillEntry{std::string(scope), std::string(target), true, std::move(reason),
                       std::move(actor), now});
}

Status Kills::Release(std::string_view scope, std::string_view target, std::string reason,
                      std::string actor, TimePoint now) {
  return Set(KillEntry{std::string(scope), std::string(target), false, std::move(reason),
                       std::move(actor), now});
}

Status Kills::Set(const KillEntry& entry, Outcome* out) {
  Result<KillEntry> e = NormalizeKill(entry);
  if (!e.ok()) return e.error();
  INTERLOCK_RETURN_IF_ERROR(store_.SetKill(*e));
  if (!e->engaged || !e->end_runs) return Status::Ok();
  size_t ended = 0;
  Status s = EndCoveredRuns(*e, &ended);
  if (out != nullptr) {
    out->runs_ended = ended;
    if (!s.ok()) out->end_runs_error = s.error().message;
  }
  return Status::Ok();  // the switch is engaged: that is the answer
}

Status Kills::EndCoveredRuns(const KillEntry& e, size_t* ended) {
  size_t n = 0;
  std::set<std::string, std::less<>> done;  // ended here: never ended (or counted) twice
  auto end = [&](const RunInfo& run) -> Status {
    if (run.ended || !done.insert(run.run_id).second) return Status::Ok();
    INTERLOCK_RETURN_IF_ERROR(store_.EndRun(run.run_id, run.agent_id, e.at));
    ++n;
    return Status::Ok();
  };
  Status status = Status::Ok();
  if (e.scope == kKillRun) {
    Result<RunInfo> run = store_.GetRun(e.target);
    if (run.ok())
      status = end(*run);
    else if (run.error().kind != ErrorKind::kNotFound)
      status = run.error();
  } else {
    for (RunListState state : {RunListState::kActive, RunListState::kHalted}) {
      RunFilter f;
      f.agent_id = e.scope == kKillAgent ? e.target : "";
      f.state = state;
      f.limit = 1000;
      // An ended run leaves the active listing (a halted one stays in the halted listing,
      // skipped): a page that ended something is read again, one that ended nothing is
      // passed.
      for (;;) {
        Result<RunPage> page = store_.ListRuns(f);
        if (!page.ok()) {
          if (ended != nullptr) *ended = n;
          return page.error();
        }
        const size_t before = n;
        for (const RunInfo& run : page->runs) {
          if (Status s = end(run); !s.ok()) {
            if (ended != nullptr) *ended = n;
            return s;
          }
        }
        if (page->next_cursor.empty()) break;
        if (n == before) f.cursor = page->next_cursor;
      }
    }
  }
  if (ended != nullptr) *ended = n;
  return status;
}

Result<std::vector<KillEntry>> Kills::List() { return store_.ListKills(); }

Result<std::optional<engine::KillSwitch>> Kills::Effective(std::string_view agent_id,
                                                           std::string_view run_id) {
  Result<std::vector<KillEntry>> all = store_.ListKills();
  if (!all.ok()) return all.error();
  return EngagedOf(*all).Covering(agent_id, run_id);
}

Status Kills::Clear(std::string_view agent_id, std::string_view run_id) {
  auto k = Effective(agent_id, run_id);
  if (!k.ok()) return k.error();
  if (*k) return Error::Denied("kill switch engaged (" + (*k)->scope + "): " + (*k)->reason);
  return Status::Ok();
}

}  // namespace interlock::core
