// The RunStore backends the typed store suites run over (run_store_contract_test,
// sequence_store_test): MemoryRunStore, the SQLite store in a test's temporary directory and
// the PostgreSQL store in a fresh database of the binary's private cluster (pg_cluster.h).
// Each backend opens its store when constructed (a failure fails the test), hands it out as a
// RunStore, and says with Reopen() whether it is durable: a durable backend closes and opens
// its store again so that a test can prove what survived. Kill, RecordResult and EndRun stamp
// RunStoreBackendNow(). A backend belongs to one test; only its threads call it.
#ifndef INTERLOCK_TESTS_SUPPORT_RUN_STORE_BACKENDS_H_
#define INTERLOCK_TESTS_SUPPORT_RUN_STORE_BACKENDS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "common/time.h"
#include "core/memory_run_store.h"
#include "core/ports/run_store.h"
#include "pg_cluster.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"
#include "temp_dir.h"

namespace interlock::testing {

// The instant the backends stamp on what they write for a test.
inline TimePoint RunStoreBackendNow() { return FromUnixMillis(1'700'000'000'000); }

// An engine step that allows a call while its run has taken fewer than `cap` steps, and
// denies BUDGET_EXCEEDED after: the budget of the race tests.
inline core::DecideFn AllowFewerStepsThan(uint64_t cap) {
  return [cap](const ToolCall& call, const RunState& state,
               const std::optional<engine::KillSwitch>&, const std::optional<engine::AgentUsage>&) {
    engine::Evaluation ev;
    if (state.steps >= cap) {
      ev.decision = DenyDecision(Code::kBudgetExceeded, "steps");
      return ev;
    }
    ev.decision.verdict = Verdict::kAllow;
    ev.decision.code = Code::kAllowed;
    ev.decision.tool = call.tool;
    return ev;
  };
}

// What every backend does the same way over its store type S.
template <class S>
struct RunStoreBackendBase {
  core::RunStore& get() { return *store; }
  Status RecordResult(const std::string& call_id, const std::string& agent,
                      const core::CallResult& r) {
    return store->RecordResult(call_id, agent, agent, r, RunStoreBackendNow());
  }
  Status EndRun(const std::string& run_id, const std::string& agent) {
    return store->EndRun(run_id, agent, RunStoreBackendNow());
  }
  std::unique_ptr<S> store;
};

struct MemoryRunStoreBackend : RunStoreBackendBase<core::MemoryRunStore> {
  static constexpr bool kDurable = false;
  explicit MemoryRunStoreBackend(const TempDir&) {
    store = std::make_unique<core::MemoryRunStore>();
  }
  void Kill(const std::string& scope, const std::string& target, std::string reason) {
    store->SetKill(scope, target, true, std::move(reason));
  }
  bool Reopen() { return false; }
};

// A backend whose store outlives it (Derived::Open opens it, again on Reopen).
template <class Derived, class S>
struct DurableRunStoreBackend : RunStoreBackendBase<S> {
  static constexpr bool kDurable = true;
  void Kill(const std::string& scope, const std::string& target, std::string reason) {
    core::KillEntry e{scope, target, true, std::move(reason), "admin", RunStoreBackendNow()};
    ASSERT_TRUE(this->store->SetKill(e).ok());
  }
  bool Reopen() {
    this->store.reset();
    static_cast<Derived*>(this)->Open();
    return true;
  }
};

// kCallerCommits: the store of the stdio gateway (StoreOptions::commit_on_caller, with
// durability full: the caller fsyncs); else the daemon's threads (durability normal).
template <bool kCallerCommits>
struct SqliteRunStoreBackend
    : DurableRunStoreBackend<SqliteRunStoreBackend<kCallerCommits>, store::SqliteStore> {
  explicit SqliteRunStoreBackend(const TempDir& dir) : path(dir.File("s.db")) { Open(); }
  void Open() {
    store::StoreOptions o;
    o.path = path;
    o.durable_full = kCallerCommits;
    o.commit_on_caller = kCallerCommits;
    auto s = store::SqliteStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.error().message;
    this->store = std::move(s).value();
  }
  std::string path;
};

struct PostgresRunStoreBackend
    : DurableRunStoreBackend<PostgresRunStoreBackend, store::PostgresStore> {
  explicit PostgresRunStoreBackend(const TempDir&) { Init(); }
  void Init() {
    std::string error;
    uri = PgTestEnvironment::Instance()->NewDatabase(&error);
    ASSERT_FALSE(uri.empty()) << error;
    Open();
  }
  void Open() {
    store::PostgresOptions o;
    o.uri = uri;
    auto s = store::PostgresStore::Open(o);
    ASSERT_TRUE(s.ok()) << s.error().message;
    this->store = std::move(s).value();
  }
  std::string uri;
};

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_SUPPORT_RUN_STORE_BACKENDS_H_
