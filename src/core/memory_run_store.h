// MemoryRunStore: the RunStore port (core/ports/run_store.h) held in memory, for
// `interlock decide` (through core::OfflineRun) and tests. Not durable.
// Thread-safety: every method may be called from any thread concurrently (one mutex).
#ifndef INTERLOCK_CORE_MEMORY_RUN_STORE_H_
#define INTERLOCK_CORE_MEMORY_RUN_STORE_H_

#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/app/kills.h"
#include "core/ports/run_store.h"

namespace interlock::core {

// In-process store for `interlock decide` and tests. Not durable.
class MemoryRunStore final : public RunStore {
 public:
  // `keep_calls`: how many of the most recent calls RecordResult can still find. A call
  // older than that answers kNotFound ("no longer kept"), so a long `interlock decide`
  // stream runs in bounded memory. Default: every call.
  explicit MemoryRunStore(size_t keep_calls = std::numeric_limits<size_t>::max())
      : keep_calls_(std::max<size_t>(keep_calls, 1)) {}

  Result<RunInfo> CreateRun(std::string_view agent_id, std::string_view run_id, TimePoint now,
                            const RunWorkspace& workspace = {}) override;
  Result<RunInfo> GetRun(std::string_view run_id) override;
  Result<RunInfo> CreateChildRun(const ChildRunRequest& rq) override;
  Result<CallRecord> Decide(const DecideRequest& request, const DecideFn& decide) override;
  bool KeepsSequenceState() const override { return true; }  // the whole RunState is kept
  bool DecidesInline() const override { return true; }       // DecideAsync is Decide
  Status DecideInto(DecideRequest&& request, const DecideFn& decide, CallRecord* rec) override;
  Status AddUsage(std::string_view run_id, std::string_view agent_id, const Usage& usage) override;
  Status AddUsageOnce(std::string_view run_id, std::string_view agent_id, const Usage& usage,
                      const IdempotencyKey& key) override;
  // As core::Store's (core/ports/store.h); the result itself is not kept.
  Status RecordResult(std::string_view call_id, std::string_view agent_id,
                      std::string_view principal, const CallResult& result, TimePoint now) override;
  // As core::Store's: the outcome itself is not kept; the call's plan is (CallRow).
  Result<CallRecord> RecordRehearsal(std::string_view call_id, std::string_view agent_id,
                                     std::string_view principal, const CallResult& result,
                                     TimePoint now) override;
  Status EndRun(std::string_view run_id, std::string_view agent_id, TimePoint now);

  // Kill switches: scope "global" (target ignored), "agent" (target agent id), "run".
  void SetKill(std::string_view scope, std::string_view target, bool engaged, std::string reason);

 private:
  class Txn;  // its StateTxn (core/ports/state_txn.h)
  struct Stored {
    RunInfo info;
    uint64_t version = 0;  // bumped by every write of the row
  };

  std::optional<engine::KillSwitch> KillFor(std::string_view agent_id,
                                            std::string_view run_id) const;

  mutable std::mutex mu_;
  std::map<std::string, Stored, std::less<>> runs_;
  EngagedKills kills_;
  // What RecordResult checks of each call (the decision records themselves are not kept).
  // One per decided call, for RecordResult's checks. Points at its run's map entry (runs
  // are never erased, and std::map nodes do not move), so a row allocates no strings:
  // `interlock decide` keeps one per input line.
  struct CallRow {
    const std::string* run_id = nullptr;
    const Stored* run = nullptr;
    Verdict verdict = Verdict::kDeny;
    bool has_result = false;
    // The principal the call was decided under, kept only when it is not the agent id
    // (`interlock decide` decides as the agent): RecordResult checks it.
    std::unique_ptr<std::string> principal;
    // Kept only when a result may move the run's workflow (results_move_workflow).
    std::unique_ptr<ToolCall> call;
    // Kept only for a REHEARSAL_REQUIRED call: its run, tool, arguments and rehearsal plan,
    // what Guard::CompleteRehearsal decides the real call on (RecordRehearsal).
    std::unique_ptr<CallRecord> rehearsal;
  };
  // Cross-run counts (rate limits and quotas): the times of counted calls per (agent,
  // rate key), and the agent's totals per UTC day.
  struct DayTotals {
    int64_t day = 0;
    uint64_t calls = 0, tokens = 0;
    int64_t cost_micros = 0;
  };
  std::map<std::pair<std::string, std::string>, std::vector<int64_t>, std::less<>> rate_hits_;
  std::map<std::string, DayTotals, std::less<>> days_;
  // Call id "call-<n>" is row n - first_call_: ids are handed out in order, so a row is
  // found by its number, with no per-call key or tree node (CallRowFor). At most
  // keep_calls_ rows, the newest.
  std::deque<CallRow> calls_;
  uint64_t first_call_ = 1;  // the number of calls_.front()
  size_t keep_calls_;
  CallRow* CallRowFor(std::string_view call_id);
  uint64_t next_run_ = 1;
  // Idempotency keys: (run id, key) -> the request's hash and its answer (never dropped,
  // as runs are not).
  std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>, std::less<>>
      idempotency_;
};

}  // namespace interlock::core

#endif  // INTERLOCK_CORE_MEMORY_RUN_STORE_H_
