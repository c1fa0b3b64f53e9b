#include <algorithm>
#include <charconv>

#include "core/run_store.h"

namespace interlock::core {
namespace {

// `n` in decimal, as std::to_string prints it, without a temporary string.
void AppendDecimal(uint64_t n, std::string* out) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);
  out->append(buf, r.ptr);
}

}  // namespace

Result<RunInfo> MemoryRunStore::CreateRun(std::string_view agent_id, std::string_view run_id,
                                          TimePoint now) {
  std::lock_guard lock(mu_);
  std::string id = run_id.empty() ? "run-" + std::to_string(next_run_++) : std::string(run_id);
  if (runs_.contains(id)) return Error{ErrorKind::kAlreadyExists, "run " + id + " exists"};
  RunInfo info;
  info.run_id = id;
  info.agent_id = std::string(agent_id);
  info.started = now;
  runs_.emplace(id, info);
  return info;
}

Result<RunInfo> MemoryRunStore::GetRun(std::string_view run_id) {
  std::lock_guard lock(mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return Error::NotFound("no run " + std::string(run_id));
  return it->second;
}

Result<CallRecord> MemoryRunStore::Decide(const DecideRequest& request, const DecideFn& decide) {
  CallRecord rec;
  if (Status s = DecideInto(request, decide, nullptr, &rec); !s.ok()) return s.error();
  return rec;
}

void MemoryRunStore::DecideAsync(DecideRequest request, DecideFn decide, DecideCallback done) {
  // The request is ours: its strings and call move into the record instead of being
  // copied, and the record is built where it is handed over (`interlock decide` and the
  // hook answer every call through here).
  Result<CallRecord> rec{CallRecord{}};
  if (Status s = DecideInto(request, decide, &request, &*rec); !s.ok()) rec = s.error();
  done(std::move(rec));
}

Status MemoryRunStore::DecideInto(const DecideRequest& request, const DecideFn& decide,
                                  DecideRequest* owned, CallRecord* out) {
  std::lock_guard lock(mu_);
  auto it = runs_.find(request.run_id);
  if (it == runs_.end()) return Error::NotFound("no run " + request.run_id);
  RunInfo& run = it->second;
  if (run.agent_id != request.agent_id) {
    return Error::Denied("run " + request.run_id + " belongs to another agent");
  }
  CallRecord& rec = *out;
  RunState& state = rec.state_after;
  state = run.state;
  interlock::AddUsage(request.call.usage, &state);
  state.elapsed_ms = std::max<int64_t>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(request.now - run.started).count());
  engine::Evaluation eval = decide(request.call, state, KillFor(request.agent_id, request.run_id));
  engine::ApplyEffects(eval.effects, request.call.tool, &state);
  run.state = state;

  rec.call_id = "call-";
  AppendDecimal(next_call_++, &rec.call_id);
  rec.at = request.now;
  if (owned != nullptr) {
    rec.run_id = std::move(owned->run_id);
    rec.agent_id = std::move(owned->agent_id);
    rec.principal = std::move(owned->principal);
    rec.policy_sha256 = std::move(owned->policy_sha256);
    rec.call = std::move(owned->call);
  } else {
    rec.run_id = request.run_id;
    rec.agent_id = request.agent_id;
    rec.principal = request.principal;
    rec.policy_sha256 = request.policy_sha256;
    rec.call = request.call;
  }
  rec.decision = std::move(eval.decision);
  return Status::Ok();
}

Status MemoryRunStore::AddUsage(std::string_view run_id, std::string_view agent_id,
                                const Usage& usage) {
  std::lock_guard lock(mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return Error::NotFound("no run " + std::string(run_id));
  if (it->second.agent_id != agent_id) return Error::Denied("run belongs to another agent");
  interlock::AddUsage(usage, &it->second.state);
  return Status::Ok();
}

void MemoryRunStore::SetKill(std::string_view scope, std::string_view target, bool engaged,
                             std::string reason) {
  std::lock_guard lock(mu_);
  std::string key = std::string(scope) + ":" + (scope == "global" ? "" : std::string(target));
  if (engaged) {
    kills_[key] = std::move(reason);
  } else {
    kills_.erase(key);
  }
}

std::optional<engine::KillSwitch> MemoryRunStore::KillFor(std::string_view agent_id,
                                                          std::string_view run_id) const {
  auto find = [&](std::string_view scope,
                  std::string_view target) -> std::optional<engine::KillSwitch> {
    auto it = kills_.find(std::string(scope) + ":" + std::string(target));
    if (it == kills_.end()) return std::nullopt;
    return engine::KillSwitch{std::string(scope), it->second};
  };
  if (kills_.empty()) return std::nullopt;  // the usual case: no string built per call
  if (auto k = find("global", "")) return k;
  if (auto k = find("agent", agent_id)) return k;
  return find("run", run_id);
}

}  // namespace interlock::core
