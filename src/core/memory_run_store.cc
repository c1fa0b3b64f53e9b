#include <algorithm>
#include <charconv>
#include <chrono>

#include "common/time.h"
#include "core/decide_txn.h"
#include "core/lineage.h"
#include "core/memory_run_store.h"
#include "core/ports/run_store.h"
#include "core/ports/state_txn.h"
#include "core/run_txn.h"

namespace interlock::core {

Result<RunInfo> MemoryRunStore::CreateRun(std::string_view agent_id, std::string_view run_id,
                                          TimePoint now, const RunWorkspace& workspace) {
  std::lock_guard lock(mu_);
  std::string id = run_id.empty() ? "run-" + std::to_string(next_run_++) : std::string(run_id);
  if (runs_.contains(id)) return Error{ErrorKind::kAlreadyExists, "run " + id + " exists"};
  RunInfo info;
  info.run_id = id;
  info.agent_id = std::string(agent_id);
  info.started = now;
  info.state.workspace = workspace.workspace;
  info.state.workspace_refused = workspace.refused;
  runs_.emplace(id, Stored{info, 0});
  return info;
}

Result<RunInfo> MemoryRunStore::GetRun(std::string_view run_id) {
  std::lock_guard lock(mu_);
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return Error::NotFound("no run " + std::string(run_id));
  return it->second.info;
}

namespace {

// No approvals in memory: nothing to redeem, attach to or release.
// A MemoryRunStore keeps no approvals: an APPROVAL_REQUIRED decision is final there
// (`interlock decide` has nobody to ask), no approval exists to redeem (a call naming one is
// refused as any unknown approval is), and nothing can vote or settle one.
class NoApprovals final : public ApprovalRows {
 public:
  Result<std::optional<Approval>> Load(std::string_view) override {
    return std::optional<Approval>();
  }
  Result<std::vector<Approval>> Pending(const PendingQuery&) override {
    return std::vector<Approval>();
  }
  Result<std::vector<Approval>> DecidedTwins(const PendingQuery&, TimePoint) override {
    return std::vector<Approval>();
  }
  Status Insert(const Approval&) override { return Status::Ok(); }
  Status InsertVote(std::string_view, const ApprovalVote&) override { return Unkept(); }
  Status Update(const Approval&, const Approval&) override { return Unkept(); }
  Result<std::string> LoadDecisionJson(std::string_view) override { return Unkept(); }
  Status SaveDecision(std::string_view, std::string_view, Verdict, Code) override {
    return Unkept();
  }
  Result<std::vector<KillEntry>> EngagedKills() override { return std::vector<KillEntry>(); }

 private:
  static Error Unkept() { return Error::Unavailable("store: this store keeps no approvals"); }
};

}  // namespace

// The rows of a MemoryRunStore, under its mutex for the length of one transaction
// function. A failed function leaves no trace: rows are written only by SaveRun, its last
// write, and by InsertCall, which only takes an id.
class MemoryRunStore::Txn final : public StateTxn {
 public:
  explicit Txn(MemoryRunStore& store) : store_(store) {}

  Result<RunRow> LoadRunForUpdate(std::string_view run_id) override {
    auto it = Find(run_id);
    if (it == store_.runs_.end()) return Error::NotFound("no run " + std::string(run_id));
    const Stored& s = it->second;
    // Built in the result's place: a row made first and moved in cost ~3% of
    // `interlock decide` (a named row copied in, ~2% more).
#if defined(__cpp_aggregate_paren_init)
    return Result<RunRow>(std::in_place, s.info.agent_id, s.info.started, s.info.state,
                          s.info.ended, s.version, TimePoint{}, s.info.parent_run_id, s.info.role,
                          s.info.depth);
#else
    // A compiler without aggregates from parentheses (clang 14, the sanitizer build): a
    // default row made in place and filled.
    Result<RunRow> out(std::in_place);
    RunRow& row = *out;
    row.agent_id = s.info.agent_id;
    row.started = s.info.started;
    row.state = s.info.state;
    row.ended = s.info.ended;
    row.version = s.version;
    row.parent_run_id = s.info.parent_run_id;
    row.role = s.info.role;
    row.depth = s.info.depth;
    return out;
#endif
  }
  Status InsertRun(const NewRun& run) override {
    if (store_.runs_.contains(run.run_id)) {
      return Error{ErrorKind::kAlreadyExists, "run " + run.run_id + " exists"};
    }
    RunInfo info;
    info.run_id = run.run_id;
    info.agent_id = run.agent_id;
    info.started = run.started;
    info.parent_run_id = run.parent_run_id;
    info.role = run.role;
    info.depth = run.depth;
    info.state.workspace = run.workspace.workspace;
    info.state.workspace_refused = run.workspace.refused;
    store_.runs_.emplace(run.run_id, Stored{std::move(info), 0});
    return Status::Ok();
  }
  Result<int> CountLiveChildren(std::string_view parent_run_id) override {
    int n = 0;
    for (const auto& [id, s] : store_.runs_) {
      n += s.info.parent_run_id == parent_run_id && !s.info.ended ? 1 : 0;
    }
    return n;
  }
  Status SaveRun(std::string_view run_id, const RunRow& row) override {
    auto it = Find(run_id);
    if (it == store_.runs_.end()) return Error::NotFound("no run " + std::string(run_id));
    Stored& s = it->second;
    if (s.version != row.version) {
      return Error::Unavailable("store: run " + std::string(run_id) + " changed (conflict)");
    }
    if (s.info.ended && !row.ended) return Error::Internal("store: an ended run is never un-ended");
    AssignRunState(row.state, &s.info.state);
    if (row.ended && !s.info.ended) s.info.ended_at = row.ended_at;
    s.info.ended = row.ended;
    ++s.version;
    return Status::Ok();
  }
  Result<std::optional<engine::KillSwitch>> EngagedKill(std::string_view agent_id,
                                                        std::string_view run_id) override {
    return store_.KillFor(agent_id, run_id);
  }
  Result<std::string> InsertCall(const NewCall& c) override {
    auto run = Find(c.request.run_id);
    if (run == store_.runs_.end()) return Error::NotFound("no run " + c.request.run_id);
    CallRow row{&run->first, &run->second, c.decision.verdict, false, nullptr, nullptr, nullptr};
    if (c.request.principal != c.request.agent_id) {
      row.principal = std::make_unique<std::string>(c.request.principal);
    }
    if (c.request.results_move_workflow && c.decision.verdict == Verdict::kAllow) {
      row.call = std::make_unique<ToolCall>();
      row.call->tool = c.request.call.tool;
      row.call->args = c.request.call.args;
    }
    if (c.decision.verdict == Verdict::kRehearsalRequired) {
      row.rehearsal = std::make_unique<CallRecord>();
      row.rehearsal->run_id = c.request.run_id;
      row.rehearsal->agent_id = c.request.agent_id;
      row.rehearsal->principal = c.request.principal;
      row.rehearsal->at = c.request.now;
      row.rehearsal->call.tool = c.request.call.tool;
      row.rehearsal->call.args = c.request.call.args;
      row.rehearsal->decision = c.decision;
    }
    if (store_.calls_.size() == store_.keep_calls_) {
      store_.calls_.pop_front();
      ++store_.first_call_;
    }
    store_.calls_.push_back(std::move(row));
    // "call-<n>" (as std::to_string writes n) built in one buffer: one string per call.
    char id[32] = "call-";
    const auto end =
        std::to_chars(id + 5, id + sizeof id, store_.first_call_ + store_.calls_.size() - 1);
    return std::string(id, end.ptr);
  }
  Result<CallRecord> LoadCall(std::string_view call_id) override {
    // Records are not kept, but for the plan of a call awaiting its rehearsal.
    const CallRow* row = store_.CallRowFor(call_id);
    if (row == nullptr || row->rehearsal == nullptr) {
      return Error::NotFound("no call " + std::string(call_id));
    }
    CallRecord rec = *row->rehearsal;
    rec.call_id = std::string(call_id);
    return rec;
  }
  Result<CallResultRow> LoadCallForResult(std::string_view call_id) override {
    const CallRow* row = store_.CallRowFor(call_id);
    if (row == nullptr) return Error::NotFound("no call " + std::string(call_id));
    const CallRow& c = *row;
    CallResultRow out{*c.run_id,
                      c.run->info.agent_id,
                      c.principal != nullptr ? *c.principal : c.run->info.agent_id,
                      c.verdict,
                      c.has_result,
                      {},
                      {}};
    if (c.call != nullptr) {
      out.tool = c.call->tool;
      out.args = c.call->args;
    }
    return out;
  }
  Result<engine::AgentUsage> CountAgentUsage(std::string_view agent_id, const CountQuery& q,
                                             TimePoint now) override {
    engine::AgentUsage u;
    const int64_t now_ms = ToUnixMillis(now);
    if (!q.rate_key.empty()) {
      auto it = store_.rate_hits_.find(std::make_pair(std::string(agent_id), q.rate_key));
      if (it != store_.rate_hits_.end()) {
        std::vector<int64_t>& hits = it->second;
        // Older than the window: never counted again.
        std::erase_if(hits, [&](int64_t t) { return t <= now_ms - q.window_ms; });
        u.window_calls = hits.size();
        if (!hits.empty()) u.window_oldest_ms = now_ms - hits.front();
      }
    }
    if (q.day) {
      auto it = store_.days_.find(agent_id);
      if (it != store_.days_.end() && it->second.day == UtcDayOfMillis(now_ms)) {
        u.day_calls = it->second.calls;
        u.day_tokens = it->second.tokens;
        u.day_cost_micros = it->second.cost_micros;
      }
    }
    return u;
  }
  Status AddAgentUsage(std::string_view agent_id, std::string_view rate_key, bool call,
                       const Usage& usage, TimePoint now) override {
    const int64_t now_ms = ToUnixMillis(now);
    if (call && !rate_key.empty()) {
      store_.rate_hits_[std::make_pair(std::string(agent_id), std::string(rate_key))].push_back(
          now_ms);
    }
    auto it = store_.days_.find(agent_id);
    if (it == store_.days_.end())
      it = store_.days_.emplace(std::string(agent_id), DayTotals{}).first;
    DayTotals& d = it->second;
    if (d.day != UtcDayOfMillis(now_ms)) d = DayTotals{UtcDayOfMillis(now_ms), 0, 0, 0};
    if (call) ++d.calls;
    RunState sum;  // saturating addition, as for a run
    sum.tokens = d.tokens;
    sum.cost_micros = d.cost_micros;
    interlock::AddUsage(usage, &sum);
    d.tokens = sum.tokens;
    d.cost_micros = sum.cost_micros;
    return Status::Ok();
  }
  Status SaveCallResult(std::string_view call_id, std::string_view, TimePoint) override {
    CallRow* row = store_.CallRowFor(call_id);
    if (row == nullptr) return Error::NotFound("no call " + std::string(call_id));
    row->has_result = true;  // the result itself is not kept
    return Status::Ok();
  }
  void AppendAudit(audit::AuditEvent) override {}
  bool KeepsAudit() const override { return false; }
  ApprovalRows& approvals() override { return approvals_; }
  Result<std::optional<IdempotencyRow>> LoadIdempotency(std::string_view run_id,
                                                        std::string_view key) override {
    auto it = store_.idempotency_.find(std::make_pair(std::string(run_id), std::string(key)));
    if (it == store_.idempotency_.end()) return std::optional<IdempotencyRow>();
    return std::optional<IdempotencyRow>(IdempotencyRow{it->second.first, it->second.second});
  }
  // Inserted at once (under the store's mutex). The core saves a key only once its checks
  // passed, and what it writes after it cannot fail in memory, so a key never stays
  // behind a request that left no trace.
  Status SaveIdempotency(std::string_view run_id, std::string_view key, const IdempotencyRow& row,
                         TimePoint) override {
    store_.idempotency_[std::make_pair(std::string(run_id), std::string(key))] =
        std::make_pair(row.request_sha256, row.answer);
    return Status::Ok();
  }

 private:
  using RunIt = std::map<std::string, Stored, std::less<>>::iterator;
  // The run found last, found again without a search (a decision looks its run up to
  // load it, record the call and save it). Runs are never erased: the iterator stays valid.
  RunIt Find(std::string_view run_id) {
    if (last_ != store_.runs_.end() && last_->first == run_id) return last_;
    RunIt it = store_.runs_.find(run_id);
    if (it != store_.runs_.end()) last_ = it;
    return it;
  }

  MemoryRunStore& store_;
  NoApprovals approvals_;
  RunIt last_ = store_.runs_.end();
};

Result<RunInfo> MemoryRunStore::CreateChildRun(const ChildRunRequest& request) {
  std::lock_guard lock(mu_);
  ChildRunRequest rq = request;
  if (rq.run_id.empty()) rq.run_id = "run-" + std::to_string(next_run_++);
  Txn txn(*this);
  RunInfo info;
  if (Status s = CreateChildRunInTxn(txn, rq, &info); !s.ok()) return s.error();
  return info;
}

MemoryRunStore::CallRow* MemoryRunStore::CallRowFor(std::string_view call_id) {
  constexpr std::string_view kPrefix = "call-";
  if (call_id.substr(0, kPrefix.size()) != kPrefix) return nullptr;
  const std::string_view digits = call_id.substr(kPrefix.size());
  // One spelling per call: no sign, no leading zero ("call-01" is not "call-1").
  if (digits.empty() || digits[0] == '0') return nullptr;
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size()) return nullptr;
  if (n < first_call_ || n - first_call_ >= calls_.size()) return nullptr;
  return &calls_[n - first_call_];
}

Result<CallRecord> MemoryRunStore::Decide(const DecideRequest& request, const DecideFn& decide) {
  static const audit::Redactor kRedactor{std::string()};  // no audit key: nothing is recorded
  std::lock_guard lock(mu_);
  Txn txn(*this);
  // Filled in place and returned by its one name (NRVO): the record, a few hundred bytes
  // of strings, maps and a Decision, is not moved again on the way out.
  Result<CallRecord> rec = CallRecord{};
  if (Status s = DecideInTxn(txn, kRedactor, request, decide, &*rec); !s.ok()) rec = s.error();
  return rec;
}

Status MemoryRunStore::DecideInto(DecideRequest&& request, const DecideFn& decide,
                                  CallRecord* rec) {
  static const audit::Redactor kRedactor{std::string()};  // no audit key: nothing is recorded
  std::lock_guard lock(mu_);
  Txn txn(*this);
  // Written straight into the caller's record, which takes the request's strings: no
  // empty record moved into a Result, no copies of the run id, agent, principal, policy
  // digest and tool name. DecideInTxn fills *rec only once nothing can fail.
  return DecideInTxn(txn, kRedactor, request, decide, rec, &request);
}

Status MemoryRunStore::AddUsage(std::string_view run_id, std::string_view agent_id,
                                const Usage& usage) {
  std::lock_guard lock(mu_);
  Txn txn(*this);
  return AddUsageInTxn(txn, run_id, agent_id, usage, std::chrono::system_clock::now());
}

Status MemoryRunStore::AddUsageOnce(std::string_view run_id, std::string_view agent_id,
                                    const Usage& usage, const IdempotencyKey& key) {
  std::lock_guard lock(mu_);
  Txn txn(*this);
  return AddUsageInTxn(txn, run_id, agent_id, usage, std::chrono::system_clock::now(), key);
}

Status MemoryRunStore::RecordResult(std::string_view call_id, std::string_view agent_id,
                                    std::string_view principal, const CallResult& result,
                                    TimePoint now) {
  std::lock_guard lock(mu_);
  Txn txn(*this);
  static const audit::Redactor kRedactor{std::string()};  // no audit key: nothing is recorded
  return RecordResultInTxn(txn, kRedactor, call_id, agent_id, principal, result, now);
}

Result<CallRecord> MemoryRunStore::RecordRehearsal(std::string_view call_id,
                                                   std::string_view agent_id,
                                                   std::string_view principal,
                                                   const CallResult& result, TimePoint now) {
  std::lock_guard lock(mu_);
  Txn txn(*this);
  CallRecord rec;
  static const audit::Redactor kRedactor{std::string()};  // no audit key: nothing is recorded
  if (Status s =
          RecordRehearsalInTxn(txn, kRedactor, call_id, agent_id, principal, result, now, &rec);
      !s.ok()) {
    return s.error();
  }
  return rec;
}

Status MemoryRunStore::EndRun(std::string_view run_id, std::string_view agent_id, TimePoint now) {
  std::lock_guard lock(mu_);
  Txn txn(*this);
  return EndRunInTxn(txn, run_id, agent_id, now);
}

void MemoryRunStore::SetKill(std::string_view scope, std::string_view target, bool engaged,
                             std::string reason) {
  std::lock_guard lock(mu_);
  kills_.Set(scope, target, engaged, std::move(reason));
}

std::optional<engine::KillSwitch> MemoryRunStore::KillFor(std::string_view agent_id,
                                                          std::string_view run_id) const {
  return kills_.Covering(agent_id, run_id);
}

}  // namespace interlock::core
