// SqliteStore through a real core::Guard: lifecycle, budgets, restart, isolation,
// concurrency, kill switches from another connection, fail closed, tokens, redaction and
// the audit chain. Every test uses its own temporary directory and an injected clock.
#include "store/sqlite_store.h"
#include "store/sqlite_audit_read.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "audit/audit_log.h"
#include "audit/checkpoint.h"
#include "audit/keys.h"
#include "audit/replay.h"
#include "audit/verify.h"
#include "core/app/approvals.h"
#include "core/app/kills.h"
#include "core/app/policy_source.h"
#include "core/guard.h"
#include "sqlite_query.h"
#include "temp_dir.h"

namespace interlock::store {
namespace INTERLOCK_TEST_NS {

namespace fs = std::filesystem;

constexpr char kAgentA[] = "agent-a";
constexpr char kAgentB[] = "agent-b";
constexpr char kSecret[] = "hunter2-do-not-store-me";

// A fixed instant: 2026-11-22T10:00:00Z.
TimePoint T0() { return TimePoint(std::chrono::seconds(1795341600)); }

using ::interlock::testing::TempDir;

// Lets `agent` call "deploy" once a reviewer approves it.
void AllowDeployAfterApproval(policy::AgentPolicy* agent) {
  policy::ToolRule deploy;
  deploy.name = "deploy";
  deploy.requires_approval = true;
  agent->allowed.emplace(deploy.name, deploy);
}

std::shared_ptr<policy::AgentPolicy> MakeAgent(const std::string& id, uint64_t max_steps,
                                               policy::BudgetAction action) {
  auto p = std::make_shared<policy::AgentPolicy>();
  p->id = id;
  p->identity = id + "@test";
  p->file = id + ".yaml";
  p->sha256 = std::string(64, 'a');
  policy::ToolRule read;
  read.name = "read";
  read.redact = {"password"};
  p->allowed.emplace(read.name, read);
  policy::ToolRule write;
  write.name = "write";
  p->allowed.emplace(write.name, write);
  p->blocked.emplace("drop", policy::Location{p->file, 3, 5});
  p->execution.max_steps = max_steps;
  p->execution.on_budget_exceeded = action;
  p->execution.notify = "#oncall";
  p->escalation_contacts = {"oncall@example.com"};
  return p;
}

std::shared_ptr<const policy::PolicySet> MakePolicies(
    uint64_t max_steps = 25, policy::BudgetAction action = policy::BudgetAction::kHalt) {
  auto set = std::make_shared<policy::PolicySet>();
  set->agents[kAgentA] = MakeAgent(kAgentA, max_steps, action);
  set->agents[kAgentB] = MakeAgent(kAgentB, max_steps, action);
  set->sha256 = std::string(64, 'b');
  return set;
}

ToolCall Call(const std::string& tool, boost::json::object args = {}, Usage usage = {}) {
  ToolCall c;
  c.tool = tool;
  c.args = std::move(args);
  c.usage = usage;
  return c;
}

StoreOptions Options(const std::string& path) {
  StoreOptions o;
  o.path = path;
  o.durable_full = true;
  o.busy_timeout_ms = 2000;
  o.audit_key = "test-audit-key";
  return o;
}

std::unique_ptr<SqliteStore> MustOpen(const StoreOptions& o) {
  auto s = SqliteStore::Open(o);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? std::move(s).value() : nullptr;
}

// Who commits a batch (StoreOptions): the writer thread and the syncer (the daemon), the
// caller (the stdio gateway), or the caller of a store with no thread at all (the hook).
enum class Commits { kWriterThread, kCaller, kOneShot };
constexpr Commits kEveryCommit[] = {Commits::kWriterThread, Commits::kCaller, Commits::kOneShot};
const char* CommitsName(Commits c) {
  return c == Commits::kWriterThread ? "writer thread"
         : c == Commits::kCaller     ? "caller"
                                     : "one-shot";
}

// A store, a policy source and a Guard over them, at a manual clock.
struct Fixture {
  explicit Fixture(const std::string& path,
                   std::shared_ptr<const policy::PolicySet> set = MakePolicies(),
                   bool durable_full = true, Commits commits = Commits::kWriterThread)
      : source(std::move(set)), clock(T0()) {
    StoreOptions o = Options(path);
    o.durable_full = durable_full;
    o.commit_on_caller = commits == Commits::kCaller;
    o.one_shot = commits == Commits::kOneShot;
    o.clock = &clock;
    store = MustOpen(o);
    guard = std::make_unique<core::Guard>(&source, store.get(), &clock, nullptr);
  }
  core::PolicySource source;
  ManualClock clock;
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<core::Guard> guard;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The database file and its WAL, as bytes.
std::string DbBytes(const std::string& path) { return ReadAll(path) + ReadAll(path + "-wal"); }

struct AuditRow {
  int64_t seq;
  std::string type;
  std::string principal;
  std::string body;
  std::string prev_hash;
  std::string hash;
};

std::vector<AuditRow> ReadAudit(const std::string& path) {
  std::vector<AuditRow> rows;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db,
                               "SELECT seq, type, principal, body, prev_hash, hash FROM "
                               "audit_log ORDER BY seq",
                               -1, &s, nullptr),
            SQLITE_OK);
  auto text = [&](int i) {
    const unsigned char* t = sqlite3_column_text(s, i);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  };
  while (sqlite3_step(s) == SQLITE_ROW) {
    rows.push_back({sqlite3_column_int64(s, 0), text(1), text(2), text(3), text(4), text(5)});
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return rows;
}

// Audit records of `type` (and approval `event`, when given) for call_id.
int CountAudit(const std::string& path, const std::string& type, const std::string& call_id,
               const std::string& event = "") {
  int n = 0;
  for (const AuditRow& row : ReadAudit(path)) {
    if (row.type != type || row.body.find("\"" + call_id + "\"") == std::string::npos) continue;
    if (!event.empty() && row.body.find("\"event\":\"" + event + "\"") == std::string::npos) {
      continue;
    }
    ++n;
  }
  return n;
}

// Tests that a run is created, decided, given results and usage, read back and ended,
// that results are refused for foreign and already-reported calls, and that the result of
// a denied call is recorded as an incident.
TEST(SqliteStoreTest, RunLifecycle) {
  TempDir dir;
  Fixture f(dir.File("s.db"));
  auto run = f.store->CreateRun(kAgentA, "", T0());
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->run_id.rfind("run_", 0), 0u);
  EXPECT_EQ(run->run_id.size(), 4u + 16u);
  EXPECT_EQ(f.store->CreateRun(kAgentA, run->run_id, T0()).error().kind, ErrorKind::kAlreadyExists);

  f.clock.Advance(std::chrono::seconds(3));
  core::GuardResponse r =
      f.guard->Decide(kAgentA, "alice", run->run_id, Call("read", {{"q", 1}}, {100, 2500}));
  ASSERT_FALSE(r.error.has_value());
  EXPECT_EQ(r.decision.code, Code::kAllowed);
  EXPECT_EQ(r.call_id.rfind("call_", 0), 0u);
  EXPECT_EQ(r.state.steps, 1u);
  EXPECT_EQ(r.state.tokens, 100u);
  EXPECT_EQ(r.state.elapsed_ms, 3000);
  EXPECT_EQ(r.state.records.at("read"), 1u);

  core::GuardResponse denied = f.guard->Decide(kAgentA, "alice", run->run_id, Call("drop"));
  EXPECT_EQ(denied.decision.code, Code::kToolBlocked);
  EXPECT_FALSE(denied.call_id.empty());

  core::CallResult res;
  res.ok = true;
  res.output_json = R"({"rows":[1,2]})";
  res.usage = {50, 1000};
  EXPECT_TRUE(f.store->RecordResult(r.call_id, kAgentA, "alice", res, f.clock.Now()).ok());
  EXPECT_EQ(f.store->RecordResult(r.call_id, kAgentA, "alice", res, f.clock.Now()).error().kind,
            ErrorKind::kAlreadyExists);
  // The denied call ran anyway (its result was reported): kept as an incident, once.
  EXPECT_TRUE(f.store->RecordResult(denied.call_id, kAgentA, "alice", res, f.clock.Now()).ok());
  EXPECT_EQ(
      f.store->RecordResult(denied.call_id, kAgentA, "alice", res, f.clock.Now()).error().kind,
      ErrorKind::kAlreadyExists);
  EXPECT_EQ(CountAudit(dir.File("s.db"), "incident", denied.call_id), 1);
  EXPECT_EQ(CountAudit(dir.File("s.db"), "result", denied.call_id), 0);
  EXPECT_EQ(f.store->RecordResult(r.call_id, kAgentB, kAgentB, res, f.clock.Now()).error().kind,
            ErrorKind::kPermissionDenied);
  EXPECT_EQ(f.store->RecordResult("call_nope", kAgentA, "alice", res, f.clock.Now()).error().kind,
            ErrorKind::kNotFound);
  EXPECT_TRUE(f.store->AddUsage(run->run_id, kAgentA, {7, 3}).ok());
  EXPECT_EQ(f.store->AddUsage(run->run_id, kAgentB, {7, 3}).error().kind,
            ErrorKind::kPermissionDenied);

  auto call = f.store->GetCall(r.call_id);
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->record.run_id, run->run_id);
  EXPECT_EQ(call->record.principal, "alice");
  EXPECT_EQ(call->record.decision.code, Code::kAllowed);
  EXPECT_EQ(call->record.call.usage.tokens, 100u);
  ASSERT_TRUE(call->result.has_value());
  EXPECT_EQ(call->result->output_json, R"({"rows":[1,2]})");
  EXPECT_EQ(call->result->usage.tokens, 50u);

  auto info = f.store->GetRun(run->run_id);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->state.steps, 2u);
  EXPECT_EQ(info->state.tokens, 157u);
  EXPECT_EQ(info->state.cost_micros, 3503);
  EXPECT_FALSE(info->ended);

  EXPECT_TRUE(f.store->EndRun(run->run_id, kAgentA, f.clock.Now()).ok());
  EXPECT_TRUE(f.store->EndRun(run->run_id, kAgentA, f.clock.Now()).ok());
  EXPECT_TRUE(f.store->GetRun(run->run_id)->ended);
  core::GuardResponse after = f.guard->Decide(kAgentA, "alice", run->run_id, Call("read"));
  EXPECT_EQ(after.error, ErrorKind::kInvalidArgument);
  EXPECT_EQ(f.store->GetRun(run->run_id)->state.steps, 2u);
}

// Tests that a one-shot store (the command hook's: the writer connection only, reads on
// the writer thread, no checkpointer) decides, reads back and counts exactly when it and
// a long-lived store on the same file decide in turn, each one-shot store opened anew.
TEST(SqliteStoreTest, OneShotStoresShareARunExactlyWithALongLivedStore) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  Fixture daemon(path);
  auto run = daemon.store->CreateRun(kAgentA, "", T0());
  ASSERT_TRUE(run.ok()) << run.error().message;
  for (uint64_t i = 1; i <= 6; ++i) {
    if (i % 2 == 0) {
      core::GuardResponse r = daemon.guard->Decide(kAgentA, "alice", run->run_id, Call("read"));
      ASSERT_FALSE(r.error.has_value());
      EXPECT_EQ(r.state.steps, i);
      continue;
    }
    StoreOptions o = Options(path);
    o.one_shot = true;
    o.clock = &daemon.clock;
    std::unique_ptr<SqliteStore> once = MustOpen(o);
    ASSERT_NE(once, nullptr);
    ASSERT_EQ(once->GetRun(run->run_id)->state.steps, i - 1);
    core::Guard guard(&daemon.source, once.get(), &daemon.clock, nullptr);
    core::GuardResponse r = guard.Decide(kAgentA, "alice", run->run_id, Call("read"));
    ASSERT_FALSE(r.error.has_value());
    EXPECT_EQ(r.decision.code, Code::kAllowed);
    EXPECT_EQ(r.state.steps, i);
    auto call = once->GetCall(r.call_id);
    ASSERT_TRUE(call.ok()) << call.error().message;
    EXPECT_EQ(call->record.run_id, run->run_id);
    EXPECT_TRUE(once->LastSeq().ok());
  }
  EXPECT_EQ(daemon.store->GetRun(run->run_id)->state.steps, 6u);
}

// A governance report streaming the log for seconds (here: held inside its first record)
// must not hold the connection the console's other pages and the agents' GetCall read
// through: a long scan on the history connection, other reads on the reader.
// Tests that SQLite's process-wide memory statistics are off (set before SQLite's first
// use by the store library): with them on, every SQLite allocation and free took one global
// mutex, ~5% of the writer's time per decision (docs/performance.md).
TEST(SqliteStoreTest, SqliteMemoryStatisticsAreOff) {
  TempDir dir;
  Fixture f(dir.File("s.db"));
  auto run = f.store->CreateRun(kAgentA, "", T0());
  ASSERT_TRUE(run.ok()) << run.error().message;
  core::GuardResponse r = f.guard->Decide(kAgentA, "alice", run->run_id, Call("read"));
  ASSERT_FALSE(r.error.has_value());
  EXPECT_EQ(sqlite3_memory_used(), 0);
}

TEST(SqliteStoreTest, LongHistoryScanDoesNotBlockOtherReads) {
  TempDir dir;
  Fixture f(dir.File("s.db"));
  auto run = f.store->CreateRun(kAgentA, "", T0());
  ASSERT_TRUE(run.ok());
  core::GuardResponse r = f.guard->Decide(kAgentA, "alice", run->run_id, Call("read"));
  ASSERT_EQ(r.decision.code, Code::kAllowed);
  std::promise<void> inside, release;
  std::shared_future<void> released = release.get_future().share();
  std::thread scan([&] {
    bool first = true;
    Status s = f.store->ForEachRecord({}, [&](const core::HistoryRecord&) {
      if (!first) return;
      first = false;
      inside.set_value();
      released.wait();
    });
    EXPECT_TRUE(s.ok()) << s.error().message;
  });
  inside.get_future().wait();
  auto reads = std::async(std::launch::async, [&] {
    return f.store->GetCall(r.call_id).ok() && f.store->ListKills().ok() && f.store->LastSeq().ok();
  });
  const bool done = reads.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  release.set_value();
  scan.join();
  ASSERT_TRUE(done) << "reads waited for the history scan";
  EXPECT_TRUE(reads.get());
}

// LastSeq is the newest record's seq; a stop flag ends a history read early with
// kUnavailable (a daemon shutting down does not wait for a report).
TEST(SqliteStoreTest, HistoryLastSeqAndStop) {
  TempDir dir;
  Fixture f(dir.File("s.db"));
  auto run = f.store->CreateRun(kAgentA, "", T0());
  ASSERT_TRUE(run.ok());
  for (int i = 0; i < 3000; ++i) {  // allowed, then over budget: each one a record
    ASSERT_FALSE(f.guard->Decide(kAgentA, "alice", run->run_id, Call("read")).error.has_value());
  }
  Result<int64_t> last = f.store->LastSeq();
  ASSERT_TRUE(last.ok()) << last.error().message;
  int64_t seen = 0;
  ASSERT_TRUE(f.store->ForEachRecord({}, [&](const core::HistoryRecord& h) { seen = h.seq; }).ok());
  EXPECT_EQ(*last, seen);
  std::atomic<bool> stop{false};
  const core::StoppableSource stoppable(f.store.get(), &stop);
  uint64_t n = 0;
  Status s = stoppable.ForEachRecord({}, [&](const core::HistoryRecord&) {
    if (++n == 10) stop = true;
  });
  EXPECT_EQ(s.error().kind, ErrorKind::kUnavailable);
  EXPECT_LT(n, 3000u);
}

// Tests that a result's output over 64 KiB is stored as the truncation marker (its size,
// the digest of its masked text and its first KiB), and one over a door's own limit too.
TEST(SqliteStoreTest, ResultOutputIsCapped) {
  TempDir dir;
  Fixture f(dir.File("s.db"));
  auto run = f.store->CreateRun(kAgentA, "r1", T0());
  ASSERT_TRUE(run.ok());
  auto r = f.guard->Decide(kAgentA, kAgentA, "r1", Call("read"));
  core::CallResult res;
  res.output_json = "\"" + std::string(200 * 1024, 'x') + "\"";
  ASSERT_TRUE(f.store->RecordResult(r.call_id, kAgentA, kAgentA, res, T0()).ok());
  auto call = f.store->GetCall(r.call_id);
  ASSERT_TRUE(call.ok());
  ASSERT_TRUE(call->result.has_value());
  EXPECT_LT(call->result->output_json.size(), 2048u);
  EXPECT_NE(call->result->output_json.find("\"truncated\":true"), std::string::npos);
  EXPECT_NE(call->result->output_json.find("\"bytes\":" + std::to_string(res.output_json.size())),
            std::string::npos);
  auto small = f.guard->Decide(kAgentA, kAgentA, "r1", Call("read"));
  res.output_json = "\"" + std::string(300, 'y') + "\"";
  res.max_output_bytes = 100;  // a daemon's limits.max_output_bytes
  ASSERT_TRUE(f.store->RecordResult(small.call_id, kAgentA, kAgentA, res, T0()).ok());
  call = f.store->GetCall(small.call_id);
  ASSERT_TRUE(call.ok() && call->result.has_value());
  EXPECT_NE(call->result->output_json.find("\"bytes\":302"), std::string::npos)
      << call->result->output_json;
}

// Tests that with max_steps 25 the first 25 of 30 calls are allowed, the 26th is
// BUDGET_EXCEEDED and halts the run, and the halt persists for the rest.
TEST(SqliteStoreTest, BudgetsAcrossThirtyCalls) {
  TempDir dir;
  Fixture f(dir.File("s.db"));
  ASSERT_TRUE(f.store->CreateRun(kAgentA, "r1", T0()).ok());
  for (int i = 1; i <= 30; ++i) {
    f.clock.Advance(std::chrono::milliseconds(10));
    core::GuardResponse r = f.guard->Decide(kAgentA, kAgentA, "r1", Call("read"));
    ASSERT_FALSE(r.error.has_value()) << i;
    if (i <= 25) {
      EXPECT_EQ(r.decision.code, Code::kAllowed) << i;
    } else if (i == 26) {
      EXPECT_EQ(r.decision.code, Code::kBudgetExceeded);
      EXPECT_TRUE(r.state.halted);
    } else {
      EXPECT_EQ(r.decision.code, Code::kRunHalted) << i;
    }
    EXPECT_EQ(r.state.steps, static_cast<uint64_t>(i));
  }
  auto info = f.store->GetRun("r1");
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->state.halted);
  EXPECT_EQ(info->state.steps, 30u);
  EXPECT_EQ(info->state.records.at("read"), 25u);
}

// Tests that closing and reopening the store mid-run keeps steps, tokens, records and the
// start time, so the budget is enforced across the restart.
TEST(SqliteStoreTest, RestartMidRunKeepsState) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  {
    Fixture f(path);
    ASSERT_TRUE(f.store->CreateRun(kAgentA, "r1", T0()).ok());
    for (int i = 0; i < 20; ++i) {
      f.clock.Advance(std::chrono::seconds(1));
      ASSERT_EQ(f.guard->Decide(kAgentA, kAgentA, "r1", Call("write", {}, {10, 5})).decision.code,
                Code::kAllowed);
    }
  }
  Fixture f(path);
  auto info = f.store->GetRun("r1");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->state.steps, 20u);
  EXPECT_EQ(info->state.tokens, 200u);
  EXPECT_EQ(info->state.cost_micros, 100);
  EXPECT_EQ(info->state.records.at("write"), 20u);
  EXPECT_EQ(info->started, T0());
  f.clock.Set(T0() + std::chrono::seconds(60));
  for (int i = 21; i <= 26; ++i) {
    core::GuardResponse r = f.guard->Decide(kAgentA, kAgentA, "r1", Call("write"));
    EXPECT_EQ(r.decision.code, i <= 25 ? Code::kAllowed : Code::kBudgetExceeded) << i;
    EXPECT_EQ(r.state.elapsed_ms, 60000);
  }
}

// Tests that an agent cannot decide in, add usage to or end another agent's run, that an
// unknown run is NotFound, and that neither leaves any trace.
TEST(SqliteStoreTest, CrossAgentRunAccessRefused) {
  TempDir dir;
  Fixture f(dir.File("s.db"));
  ASSERT_TRUE(f.store->CreateRun(kAgentA, "ra", T0()).ok());
  core::GuardResponse r = f.guard->Decide(kAgentB, kAgentB, "ra", Call("read"));
  EXPECT_EQ(r.error, ErrorKind::kPermissionDenied);
  EXPECT_EQ(r.decision.verdict, Verdict::kDeny);
  EXPECT_TRUE(r.call_id.empty());
  core::GuardResponse missing = f.guard->Decide(kAgentA, kAgentA, "nope", Call("read"));
  EXPECT_EQ(missing.error, ErrorKind::kNotFound);
  EXPECT_EQ(f.store->EndRun("ra", kAgentB, T0()).error().kind, ErrorKind::kPermissionDenied);
  EXPECT_EQ(f.store->GetRun("ra")->state.steps, 0u);
  for (const AuditRow& row : ReadAudit(dir.File("s.db"))) EXPECT_NE(row.type, "decision");
}

// Tests that 8 threads x 200 concurrent DecideAsync calls on one run with max_steps 100
// give exactly 100 allowed decisions and 1500 budget denials (no double spend).
// Whoever commits: the writer thread, each caller in turn, or a store with no thread.
TEST(SqliteStoreTest, ConcurrentDecisionsNeverOverspend) {
  for (Commits commits : kEveryCommit) {
    SCOPED_TRACE(CommitsName(commits));
    TempDir dir;
    Fixture f(dir.File("s.db"), MakePolicies(100, policy::BudgetAction::kDeny),
              /*durable_full=*/true, commits);
    ASSERT_TRUE(f.store->CreateRun(kAgentA, "r1", T0()).ok());
    std::atomic<int> allowed{0}, budget{0}, other{0}, done{0};
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 200; ++i) {
          f.guard->DecideAsync(kAgentA, kAgentA, "r1", Call("read"), [&](core::GuardResponse r) {
            if (r.decision.code == Code::kAllowed) {
              ++allowed;
            } else if (r.decision.code == Code::kBudgetExceeded) {
              ++budget;
            } else {
              ++other;
            }
            std::lock_guard lock(mu);
            ++done;
            cv.notify_all();
          });
        }
      });
    }
    for (auto& t : threads) t.join();
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done.load() == 1600; }));
    EXPECT_EQ(allowed.load(), 100);
    EXPECT_EQ(budget.load(), 1500);
    EXPECT_EQ(other.load(), 0);
    EXPECT_EQ(f.store->GetRun("r1")->state.steps, 1600u);
  }
}

// Tests that a kill switch engaged with end_runs stays engaged when ending its runs fails
// part-way (the store refuses one run's end): Set answers Ok with the runs ended so far and
// the failure named, the switch covers the run left open, and engaging again ends it.
TEST(SqliteStoreTest, KillSwitchWhoseRunsFailToEndIsEngagedAllTheSameAndSaysSo) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  Fixture f(path);
  ASSERT_TRUE(f.store->CreateRun(kAgentA, "r1", T0()).ok());
  ASSERT_TRUE(f.store->CreateRun(kAgentA, "r2", T0()).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TRIGGER no_end BEFORE UPDATE OF ended ON runs "
                         "WHEN NEW.ended = 1 AND OLD.run_id = 'r1' "
                         "BEGIN SELECT RAISE(ABORT, 'disk says no'); END;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  core::KillEntry k{"agent", kAgentA, true, "runaway", "ops-alice", T0()};
  k.end_runs = true;
  core::Kills::Outcome done;
  ASSERT_TRUE(core::Kills(*f.store).Set(k, &done).ok());
  EXPECT_EQ(done.runs_ended, 1u);  // r2 (listed first), then r1 refused
  EXPECT_NE(done.end_runs_error.find("disk says no"), std::string::npos) << done.end_runs_error;
  ASSERT_TRUE(f.store->ListKills().ok());
  EXPECT_TRUE(f.store->ListKills()->at(0).engaged);
  EXPECT_FALSE(f.store->GetRun("r1")->ended);
  EXPECT_EQ(f.guard->Decide(kAgentA, kAgentA, "r1", Call("read")).decision.code, Code::kKillSwitch);
  ASSERT_EQ(sqlite3_exec(db, "DROP TRIGGER no_end;", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  core::Kills::Outcome again;
  ASSERT_TRUE(core::Kills(*f.store).Set(k, &again).ok());
  EXPECT_EQ(again.runs_ended, 1u);
  EXPECT_TRUE(again.end_runs_error.empty()) << again.end_runs_error;
  EXPECT_TRUE(f.store->GetRun("r1")->ended);
}

// Tests that a kill switch written by a second store instance on the same file (as the
// CLI does) applies to the very next decision, and that release lifts it.
TEST(SqliteStoreTest, KillSwitchFromAnotherInstanceAppliesToNextDecision) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  Fixture f(path);
  ASSERT_TRUE(f.store->CreateRun(kAgentA, "r1", T0()).ok());
  ASSERT_TRUE(f.store->CreateRun(kAgentB, "r2", T0()).ok());
  ASSERT_EQ(f.guard->Decide(kAgentA, kAgentA, "r1", Call("read")).decision.code, Code::kAllowed);

  auto cli = MustOpen(Options(path));
  core::KillEntry k{"agent", kAgentA, true, "runaway loop", "ops-alice", T0()};
  ASSERT_TRUE(cli->SetKill(k).ok());
  core::GuardResponse r = f.guard->Decide(kAgentA, kAgentA, "r1", Call("read"));
  EXPECT_EQ(r.decision.code, Code::kKillSwitch);
  EXPECT_NE(r.decision.reason.find("runaway loop"), std::string::npos);
  EXPECT_EQ(f.guard->Decide(kAgentB, kAgentB, "r2", Call("read")).decision.code, Code::kAllowed);

  ASSERT_TRUE(cli->SetKill({"global", "ignored", true, "incident", "ops-bob", T0()}).ok());
  EXPECT_EQ(f.guard->Decide(kAgentB, kAgentB, "r2", Call("read")).decision.rule,
            "kill_switch.global");

  ASSERT_TRUE(cli->SetKill({"global", "", false, "over", "ops-bob", T0()}).ok());
  k.engaged = false;
  ASSERT_TRUE(cli->SetKill(k).ok());
  EXPECT_EQ(f.guard->Decide(kAgentA, kAgentA, "r1", Call("read")).decision.code, Code::kAllowed);

  auto kills = f.store->ListKills();
  ASSERT_TRUE(kills.ok());
  ASSERT_EQ(kills->size(), 2u);
  EXPECT_EQ((*kills)[0].scope, "agent");  // ordered by (scope, target)
  EXPECT_EQ((*kills)[0].actor, "ops-alice");
  EXPECT_FALSE((*kills)[0].engaged);
  EXPECT_EQ((*kills)[1].scope, "global");
  EXPECT_FALSE((*kills)[1].engaged);
  EXPECT_EQ(cli->SetKill({"planet", "x", true, "", "", T0()}).error().kind,
            ErrorKind::kInvalidArgument);
  EXPECT_EQ(cli->SetKill({"run", "", true, "", "", T0()}).error().kind,
            ErrorKind::kInvalidArgument);
}

// Tests that when another connection holds the write lock past busy_timeout, Decide
// returns kUnavailable, the Guard denies with STORE_UNAVAILABLE, and nothing is written.
TEST(SqliteStoreTest, LockedStoreFailsClosed) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  core::PolicySource source(MakePolicies());
  ManualClock clock(T0());
  StoreOptions o = Options(path);
  o.busy_timeout_ms = 100;
  auto store = MustOpen(o);
  core::Guard guard(&source, store.get(), &clock, nullptr);
  ASSERT_TRUE(store->CreateRun(kAgentA, "r1", T0()).ok());

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  core::GuardResponse r = guard.Decide(kAgentA, kAgentA, "r1", Call("read"));
  EXPECT_EQ(r.error, ErrorKind::kUnavailable);
  EXPECT_EQ(r.decision.code, Code::kStoreUnavailable);
  EXPECT_EQ(r.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(store->AddUsage("r1", kAgentA, {1, 1}).error().kind, ErrorKind::kUnavailable);
  ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);

  EXPECT_EQ(store->GetRun("r1")->state.steps, 0u);
  core::GuardResponse ok = guard.Decide(kAgentA, kAgentA, "r1", Call("read"));
  EXPECT_EQ(ok.decision.code, Code::kAllowed);
  EXPECT_EQ(ok.state.steps, 1u);
}

// Tests that a store created under an umask that lets everyone read (000: a daemon started
// by hand, outside the packaged unit's UMask=0077) is still closed to group and others:
// the database, its -wal and its -shm (SQLite gives those the database's mode).
TEST(SqliteStoreTest, LocalUserCannotReadStoreCreatedUnderAnOpenUmask) {
  TempDir dir;
  const std::string path = dir.File("open-umask.db");
  struct UmaskGuard {
    mode_t old = ::umask(0);
    ~UmaskGuard() { ::umask(old); }
  } umask_guard;
  Fixture f(path);
  auto run = f.store->CreateRun(kAgentA, "", T0());
  ASSERT_TRUE(run.ok()) << run.error().message;
  core::GuardResponse r =
      f.guard->Decide(kAgentA, "alice", run->run_id, Call("read", {{"password", kSecret}}));
  ASSERT_FALSE(r.error.has_value());
  for (const char* suffix : {"", "-wal", "-shm"}) {
    struct stat st {};
    ASSERT_EQ(::stat((path + suffix).c_str(), &st), 0) << path << suffix;
    EXPECT_EQ(st.st_mode & 077, 0u)
        << path << suffix << " is mode " << std::oct << (st.st_mode & 0777);
  }
}

// Tests that a file that is not a database, a foreign SQLite database and a missing file
// (with create_if_missing off) fail Open with a clear error instead of crashing.
TEST(SqliteStoreTest, OpenRejectsForeignFiles) {
  TempDir dir;
  const std::string junk = dir.File("junk.db");
  std::ofstream(junk) << std::string(4096, 'z') << "this is not a database\n";
  auto bad = SqliteStore::Open(Options(junk));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kCorrupt);
  EXPECT_NE(bad.error().message.find("not an Interlock database"), std::string::npos)
      << bad.error().message;

  const std::string foreign = dir.File("foreign.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(foreign.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto f = SqliteStore::Open(Options(foreign));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().kind, ErrorKind::kCorrupt);

  StoreOptions o = Options(dir.File("missing.db"));
  o.create_if_missing = false;
  auto m = SqliteStore::Open(o);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::kNotFound);
  EXPECT_FALSE(fs::exists(dir.File("missing.db")));
}

// Tests that a store with a newer schema version than this build is refused.
TEST(SqliteStoreTest, OpenRejectsNewerSchema) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  { MustOpen(Options(path)); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 999", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto s = SqliteStore::Open(Options(path));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("999"), std::string::npos);
}

// Tests that a run's own workspace (a Claude Code session's project, or why it was refused)
// is kept with its state through a decision and a reopen, and that the workspace roots
// bound to an agent token come back with it (and bind no other role, nor `/`).
TEST(SqliteStoreTest, RunWorkspaceAndTokenRootsAreKept) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  {
    Fixture f(path);
    ASSERT_TRUE(f.store->CreateRun(kAgentA, "cc-1", T0(), {"/home/ann/src/shop", ""}).ok());
    ASSERT_TRUE(f.store->CreateRun(kAgentA, "cc-2", T0(), {"/", "refused: /"}).ok());
    f.guard->Decide(kAgentA, kAgentA, "cc-1", Call("read"));
    auto token = f.store->CreateToken(core::Role::kAgent, "", kAgentA, T0(), {"/home/ann/src/*"});
    ASSERT_TRUE(token.ok()) << token.error().message;
    auto p = f.store->Authenticate(*token);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->workspace_roots, std::vector<std::string>{"/home/ann/src/*"});
    EXPECT_FALSE(f.store->CreateToken(core::Role::kReviewer, "rob", "", T0(), {"/srv/*"}).ok());
    EXPECT_FALSE(f.store->CreateToken(core::Role::kAgent, "", kAgentA, T0(), {"/"}).ok());
  }
  Fixture f(path);
  auto one = f.store->GetRun("cc-1");
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->state.workspace, "/home/ann/src/shop");
  EXPECT_EQ(one->state.steps, 1u);
  auto two = f.store->GetRun("cc-2");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->state.workspace, "/");
  EXPECT_EQ(two->state.workspace_refused, "refused: /");
  auto tokens = f.store->ListTokens();
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ(tokens->at(0).workspace_roots, std::vector<std::string>{"/home/ann/src/*"});
}

// Tests token create/authenticate/list/revoke, role binding, and that the plaintext token
// never reaches the database file.
TEST(SqliteStoreTest, TokensCreateAuthenticateRevoke) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  auto store = MustOpen(Options(path));
  auto agent = store->CreateToken(core::Role::kAgent, "", kAgentA, T0());
  auto admin = store->CreateToken(core::Role::kAdmin, "root", "", T0());
  ASSERT_TRUE(agent.ok() && admin.ok());
  const std::regex format("ilk_[A-Za-z0-9_-]{43}");
  EXPECT_TRUE(std::regex_match(*agent, format)) << *agent;
  EXPECT_TRUE(std::regex_match(*admin, format)) << *admin;
  EXPECT_NE(*agent, *admin);
  EXPECT_EQ(store->CreateToken(core::Role::kAgent, "x", "", T0()).error().kind,
            ErrorKind::kInvalidArgument);
  EXPECT_EQ(store->CreateToken(core::Role::kReviewer, "", "", T0()).error().kind,
            ErrorKind::kInvalidArgument);

  auto p = store->Authenticate(*agent);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->role, core::Role::kAgent);
  EXPECT_EQ(p->agent_id, kAgentA);
  EXPECT_EQ(p->token_id.rfind("tok_", 0), 0u);
  auto a = store->Authenticate(*admin);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->role, core::Role::kAdmin);
  EXPECT_EQ(a->name, "root");
  EXPECT_TRUE(a->agent_id.empty());
  EXPECT_EQ(store->Authenticate("ilk_nope").error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(store->Authenticate("").error().kind, ErrorKind::kNotFound);

  auto list = store->ListTokens();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);

  ASSERT_TRUE(store->RevokeToken(p->token_id, "root", T0()).ok());
  EXPECT_EQ(store->Authenticate(*agent).error().kind, ErrorKind::kPermissionDenied);
  EXPECT_TRUE(store->RevokeToken(p->token_id, "root", T0()).ok());
  EXPECT_EQ(store->RevokeToken("tok_nope", "root", T0()).error().kind, ErrorKind::kNotFound);
  list = store->ListTokens();
  int revoked = 0;
  for (const core::TokenInfo& t : *list) revoked += t.revoked ? 1 : 0;
  EXPECT_EQ(revoked, 1);

  // A revoke by another process takes effect within one second.
  auto other = MustOpen(Options(path));
  ASSERT_TRUE(store->Authenticate(*admin).ok());
  ASSERT_TRUE(other->RevokeToken(a->token_id, "cli", T0()).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // pace: past the cache's bound
  EXPECT_EQ(store->Authenticate(*admin).error().kind, ErrorKind::kPermissionDenied);

  const std::string bytes = DbBytes(path);
  EXPECT_EQ(bytes.find(*agent), std::string::npos);
  EXPECT_EQ(bytes.find(*admin), std::string::npos);
  EXPECT_EQ(bytes.find(agent->substr(4)), std::string::npos);
  other.reset();
  store.reset();
  EXPECT_EQ(ReadAll(path).find(agent->substr(4)), std::string::npos);
}

// Tests that arguments listed under `redact:` never reach the database file in plaintext,
// while their HMAC does.
TEST(SqliteStoreTest, RedactedArgumentsNeverStored) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  {
    Fixture f(path);
    ASSERT_TRUE(f.store->CreateRun(kAgentA, "r1", T0()).ok());
    auto r = f.guard->Decide(kAgentA, kAgentA, "r1",
                             Call("read", {{"user", "bob"}, {"password", kSecret}}));
    ASSERT_EQ(r.decision.code, Code::kAllowed);
    auto call = f.store->GetCall(r.call_id);
    ASSERT_TRUE(call.ok());
    const std::string stored = boost::json::serialize(call->record.call.args);
    EXPECT_EQ(stored.find(kSecret), std::string::npos);
    EXPECT_NE(stored.find("hmac-sha256:"), std::string::npos);
    EXPECT_NE(stored.find("bob"), std::string::npos);
    EXPECT_EQ(DbBytes(path).find(kSecret), std::string::npos);
  }
  EXPECT_EQ(ReadAll(path).find(kSecret), std::string::npos);
}

// Tests that a credential inside a longer argument string, or as an argument key, never
// reaches the database in plaintext when the front door passes it in mask_values (the MCP
// gateway's upstream secrets), while the decision was made on the real arguments.
TEST(SqliteStoreTest, MaskValuesNeverStoredInArgsOrReason) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  {
    Fixture f(path);
    ASSERT_TRUE(f.store->CreateRun(kAgentA, "r1", T0()).ok());
    ToolCall call = Call("read", {{"q", std::string("token=") + kSecret + ";"}, {kSecret, 1}});
    call.mask_values = {kSecret};
    auto r = f.guard->Decide(kAgentA, kAgentA, "r1", call);
    ASSERT_EQ(r.decision.code, Code::kAllowed);
    auto stored = f.store->GetCall(r.call_id);
    ASSERT_TRUE(stored.ok());
    const std::string args = boost::json::serialize(stored->record.call.args);
    EXPECT_EQ(args.find(kSecret), std::string::npos) << args;
    EXPECT_NE(args.find("token=[REDACTED];"), std::string::npos) << args;
    ToolCall refused = Call("read", {{"q", kSecret}});
    refused.mask_values = {kSecret};
    refused.refusal_reason = std::string("refused ") + kSecret;
    refused.refusal_rule = "mcp.gateway";
    auto d = f.guard->Decide(kAgentA, kAgentA, "r1", refused);
    EXPECT_EQ(d.decision.code, Code::kInvalidRequest);
    EXPECT_EQ(d.decision.rule, "mcp.gateway");
    EXPECT_EQ(d.decision.reason, "refused [REDACTED]");
    EXPECT_EQ(DbBytes(path).find(kSecret), std::string::npos);
  }
  EXPECT_EQ(ReadAll(path).find(kSecret), std::string::npos);
}

// Tests that every write produced its audit record and the hash chain verifies when
// recomputed with AuditRecordHash over the rows in order.
TEST(SqliteStoreTest, EveryWriteIsAuditedAndChainVerifies) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  {
    Fixture f(path, MakePolicies(2, policy::BudgetAction::kHaltAndEscalate));
    ASSERT_TRUE(f.store->CreateRun(kAgentA, "r1", T0()).ok());    // run_started
    auto d1 = f.guard->Decide(kAgentA, "p", "r1", Call("read"));  // decision
    ASSERT_TRUE(
        f.store->RecordResult(d1.call_id, kAgentA, "p", core::CallResult{}, T0()).ok());  // result
    ASSERT_TRUE(f.store->AddUsage("r1", kAgentA, {5, 0}).ok());                           // usage
    f.guard->Decide(kAgentA, "p", "r1", Call("read"));            // decision
    auto d3 = f.guard->Decide(kAgentA, "p", "r1", Call("read"));  // decision, halted, escalation
    ASSERT_EQ(d3.decision.code, Code::kBudgetExceeded);
    ASSERT_TRUE(f.store->EndRun("r1", kAgentA, T0()).ok());                      // run_ended
    ASSERT_TRUE(f.store->SetKill({"global", "", true, "x", "ops", T0()}).ok());  // kill_switch
    auto tok = f.store->CreateToken(core::Role::kReviewer, "rev", "", T0());     // token_created
    ASSERT_TRUE(tok.ok());
    auto p = f.store->Authenticate(*tok);
    ASSERT_TRUE(f.store->RevokeToken(p->token_id, "ops", T0()).ok());  // token_revoked
    // Failed writes leave no record.
    EXPECT_FALSE(f.store->AddUsage("nope", kAgentA, {1, 0}).ok());
  }
  std::vector<AuditRow> rows = ReadAudit(path);
  std::vector<std::string> types;
  for (const AuditRow& r : rows) types.push_back(r.type);
  const std::vector<std::string> want = {
      "run_started", "decision",   "result",    "usage",       "decision",      "decision",
      "run_halted",  "escalation", "run_ended", "kill_switch", "token_created", "token_revoked"};
  EXPECT_EQ(types, want);
  std::string prev(audit::kGenesisHash);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(rows[i].prev_hash, prev) << i;
    EXPECT_EQ(audit::AuditRecordHash(prev, rows[i].body), rows[i].hash) << i;
    prev = rows[i].hash;
  }
  ASSERT_GE(rows.size(), 2u);
  boost::json::object decision = boost::json::parse(rows[1].body).as_object();
  const boost::json::object& data = decision["data"].as_object();
  EXPECT_EQ(data.at("tool"), "read");
  EXPECT_EQ(data.at("decision").as_object().at("code"), "ALLOWED");
  EXPECT_EQ(data.at("state_after").as_object().at("steps"), 1);
  EXPECT_EQ(data.at("policy_sha256").as_string(), std::string(64, 'b'));
  EXPECT_EQ(rows[9].principal, "ops");  // kill_switch by its actor
}

// Tests that two store instances deciding alternately in one run (two daemons, or the
// daemon and a CLI on the same file) never both spend the last step: the writer's cached
// run state is dropped when the other connection has committed (PRAGMA data_version).
TEST(SqliteStoreTest, CachedRunStateFollowsAnotherStoreOnTheSameFile) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  Fixture a(path, MakePolicies(10, policy::BudgetAction::kDeny));
  Fixture b(path, MakePolicies(10, policy::BudgetAction::kDeny));
  ASSERT_TRUE(a.store->CreateRun(kAgentA, "r1", T0()).ok());
  int allowed = 0;
  for (int i = 1; i <= 20; ++i) {
    Fixture& f = i % 2 == 0 ? a : b;
    core::GuardResponse r = f.guard->Decide(kAgentA, kAgentA, "r1", Call("read", {}, {1, 0}));
    ASSERT_FALSE(r.error.has_value()) << i;
    EXPECT_EQ(r.state.steps, static_cast<uint64_t>(i)) << i;
    EXPECT_EQ(r.state.tokens, static_cast<uint64_t>(i)) << i;
    if (r.decision.code == Code::kAllowed) ++allowed;
  }
  EXPECT_EQ(allowed, 10);
  // Usage added through one instance shows in the other's next decision.
  ASSERT_TRUE(b.store->AddUsage("r1", kAgentA, {100, 0}).ok());
  EXPECT_EQ(a.guard->Decide(kAgentA, kAgentA, "r1", Call("read")).state.tokens, 120u);
  // An ended run is refused by the instance that did not end it.
  ASSERT_TRUE(b.store->EndRun("r1", kAgentA, T0()).ok());
  EXPECT_EQ(a.guard->Decide(kAgentA, kAgentA, "r1", Call("read")).error,
            ErrorKind::kInvalidArgument);
}

// Tests that a decision failing at its first write, or after it (here triggers make the
// calls insert fail for tool "write", and the approvals insert fail for tool "deploy",
// after the decision's call row was written), leaves no trace, fails closed with
// STORE_UNAVAILABLE, and does not fail or double-count the decisions batched with it (the
// batch is rolled back and run again with a savepoint per decision).
TEST(SqliteStoreTest, DecisionFailingAfterItsFirstWriteSparesItsBatch) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  auto set = std::make_shared<policy::PolicySet>(*MakePolicies(1000, policy::BudgetAction::kDeny));
  auto agent = std::make_shared<policy::AgentPolicy>(*set->agents.at(kAgentA));
  AllowDeployAfterApproval(agent.get());
  set->agents[kAgentA] = agent;
  Fixture f(path, set);
  ASSERT_TRUE(f.store->CreateRun(kAgentA, "r1", T0()).ok());
  ASSERT_EQ(f.guard->Decide(kAgentA, kAgentA, "r1", Call("read")).decision.code, Code::kAllowed);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TRIGGER boom BEFORE INSERT ON calls WHEN NEW.tool = 'write'"
                           " BEGIN SELECT RAISE(ABORT, 'boom'); END;"
                           "CREATE TRIGGER boom2 BEFORE INSERT ON approvals"
                           " BEGIN SELECT RAISE(ABORT, 'boom'); END;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  constexpr int kCalls = 300;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, allowed = 0, unavailable = 0, other = 0;
  for (int i = 0; i < kCalls; ++i) {
    const char* tool = i % 3 == 0 ? "write" : i % 5 == 0 ? "deploy" : "read";
    f.guard->DecideAsync(kAgentA, kAgentA, "r1", Call(tool), [&](core::GuardResponse r) {
      std::lock_guard lock(mu);
      if (r.decision.code == Code::kAllowed && !r.call_id.empty()) {
        ++allowed;
      } else if (r.decision.code == Code::kStoreUnavailable && r.call_id.empty()) {
        ++unavailable;
      } else {
        ++other;
      }
      if (++done == kCalls) cv.notify_all();
    });
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done == kCalls; }));
  }
  // 100 "write" (i % 3 == 0), 40 "deploy" (i % 5 == 0 and not i % 3 == 0), 160 "read".
  EXPECT_EQ(allowed, 160);
  EXPECT_EQ(unavailable, 140);
  EXPECT_EQ(other, 0);
  auto info = f.store->GetRun("r1");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->state.steps, 161u);
  EXPECT_EQ(info->state.records.at("read"), 161u);
  EXPECT_EQ(info->state.records.count("write"), 0u);
  // The next decision continues from the committed state.
  EXPECT_EQ(f.guard->Decide(kAgentA, kAgentA, "r1", Call("read")).state.steps, 162u);
  f.store.reset();
  std::vector<AuditRow> rows = ReadAudit(path);
  int decisions = 0;
  std::string prev(audit::kGenesisHash);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(audit::AuditRecordHash(prev, rows[i].body), rows[i].hash) << i;
    prev = rows[i].hash;
    if (rows[i].type == "decision") ++decisions;
    EXPECT_EQ(rows[i].body.find("\"deploy\""), std::string::npos) << i;
  }
  EXPECT_EQ(decisions, 162);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM calls", -1, &q, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), 162);
  sqlite3_finalize(q);
  sqlite3_close(db);
}

// Tests that call ids sort by creation time (so the calls primary key is appended to, not
// written at random pages) and stay unguessable: 12 hex digits of milliseconds, then 16
// random hex digits.
TEST(SqliteStoreTest, CallIdsSortByTime) {
  TempDir dir;
  Fixture f(dir.File("s.db"));
  ASSERT_TRUE(f.store->CreateRun(kAgentA, "r1", T0()).ok());
  std::string last;
  for (int i = 0; i < 5; ++i) {
    f.clock.Advance(std::chrono::milliseconds(1));
    const std::string id = f.guard->Decide(kAgentA, kAgentA, "r1", Call("read")).call_id;
    ASSERT_TRUE(std::regex_match(id, std::regex("call_[0-9a-f]{28}"))) << id;
    EXPECT_LT(last, id);
    last = id;
  }
  EXPECT_EQ(last.substr(5, 12), "01a202b2c505");  // T0 + 5 ms
}

// Tests that RecordResultAsync returns before the commit yet records in submission order
// (before a decision submitted after it), reports its outcome once, and that a failing
// one (a second result for the call) is reported without affecting later writes.
// Whoever commits (a caller's commit carries the result).
TEST(SqliteStoreTest, AsyncResultsCommitInOrder) {
  for (Commits commits : kEveryCommit) {
    SCOPED_TRACE(CommitsName(commits));
    TempDir dir;
    const std::string path = dir.File("s.db");
    Fixture f(path, MakePolicies(), /*durable_full=*/true, commits);
    ASSERT_TRUE(f.store->CreateRun(kAgentA, "r1", T0()).ok());
    const std::string id = f.guard->Decide(kAgentA, kAgentA, "r1", Call("read")).call_id;
    std::promise<Status> first, second;
    core::CallResult res;
    res.output_json = "{\"x\":1}";
    res.usage = {7, 0};
    f.store->RecordResultAsync(id, kAgentA, kAgentA, res, T0(),
                               [&](Status s) { first.set_value(std::move(s)); });
    f.store->RecordResultAsync(id, kAgentA, kAgentA, res, T0(),
                               [&](Status s) { second.set_value(std::move(s)); });
    core::GuardResponse next = f.guard->Decide(kAgentA, kAgentA, "r1", Call("read"));
    EXPECT_EQ(next.state.tokens, 7u);  // the result's usage was applied first
    EXPECT_TRUE(first.get_future().get().ok());
    Status dup = second.get_future().get();
    ASSERT_FALSE(dup.ok());
    EXPECT_EQ(dup.error().kind, ErrorKind::kAlreadyExists);
    auto call = f.store->GetCall(id);
    ASSERT_TRUE(call.ok());
    ASSERT_TRUE(call->result.has_value());
    EXPECT_EQ(call->result->output_json, "{\"x\":1}");
    f.store.reset();
    std::vector<std::string> types;
    for (const AuditRow& r : ReadAudit(path)) types.push_back(r.type);
    EXPECT_EQ(types, (std::vector<std::string>{"run_started", "decision", "result", "decision"}));
  }
}

// Tests that a read sees a result queued without waiting (RecordResultAsync, which a door
// answers the agent before it commits): the read commits it first, so a reviewer, the
// console or the agent never finds a call answered without its result. Also from an answer
// on the store's own thread, which must not wait for itself (no deadlock), and whoever
// commits.
TEST(SqliteStoreTest, ReadSeesAResultQueuedWithoutWaiting) {
  for (Commits commits : kEveryCommit) {
    for (bool full : {false, true}) {
      SCOPED_TRACE(std::string(CommitsName(commits)) + (full ? ", full" : ", normal"));
      TempDir dir;
      Fixture f(dir.File("s.db"), MakePolicies(), full, commits);
      ASSERT_TRUE(f.store->CreateRun(kAgentA, "r1", T0()).ok());
      const std::string id = f.guard->Decide(kAgentA, kAgentA, "r1", Call("read")).call_id;
      core::CallResult res;
      res.output_json = "{\"seen\":true}";
      f.store->RecordResultAsync(id, kAgentA, kAgentA, res, T0(), {});
      auto call = f.store->GetCall(id);  // at once: the writer would hold it up to 5 ms
      ASSERT_TRUE(call.ok()) << call.error().message;
      ASSERT_TRUE(call->result.has_value());
      EXPECT_EQ(call->result->output_json, "{\"seen\":true}");
      // A read from a write's answer, with another result still queued.
      const std::string id2 = f.guard->Decide(kAgentA, kAgentA, "r1", Call("read")).call_id;
      std::promise<bool> read_in_answer;
      f.guard->DecideAsync(kAgentA, kAgentA, "r1", Call("read"), [&](core::GuardResponse) {
        f.store->RecordResultAsync(id2, kAgentA, kAgentA, res, T0(), {});
        read_in_answer.set_value(f.store->GetCall(id).ok());
      });
      std::future<bool> got = read_in_answer.get_future();
      ASSERT_EQ(got.wait_for(std::chrono::seconds(20)), std::future_status::ready) << "deadlock";
      EXPECT_TRUE(got.get());
    }
  }
}

// Tests that the WAL stays bounded under a stream of writes: checkpoints copy it into the
// database and the log is rewound. (The checkpointer's connection had never read the
// file, so SQLite did not know it was in WAL mode and every checkpoint did nothing: the
// WAL grew to 1.2 GB in a benchmark.) Unbounded, 9,000 sequential decisions write about
// 220 MB of WAL; the bound is about 16,000 pages (64 MiB).
TEST(SqliteStoreTest, WalStaysBoundedUnderSustainedWrites) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  Fixture f(path, MakePolicies(/*max_steps=*/1000000), /*durable_full=*/false);
  auto run = f.store->CreateRun(kAgentA, "", T0());
  ASSERT_TRUE(run.ok());
  uintmax_t max_wal = 0;
  for (int i = 0; i < 9000; ++i) {
    core::GuardResponse r = f.guard->Decide(kAgentA, kAgentA, run->run_id, Call("read"));
    ASSERT_EQ(r.decision.code, Code::kAllowed) << r.decision.reason;
    if (i % 100 == 0) max_wal = std::max(max_wal, fs::file_size(path + "-wal"));
  }
  max_wal = std::max(max_wal, fs::file_size(path + "-wal"));
  EXPECT_LT(max_wal, 100u << 20) << "WAL not rewound";
  EXPECT_GT(fs::file_size(path), 4u << 20) << "nothing was checkpointed into the database";
}

// Tests that with durability full (the fsync on the syncer thread) every decision a
// caller was answered is in the database after the store closes, in order, across many
// concurrent batches.
// Whoever commits and syncs: the syncer thread or the caller.
TEST(SqliteStoreTest, SyncedAnswersAreAllCommitted) {
  for (Commits commits : kEveryCommit) {
    SCOPED_TRACE(CommitsName(commits));
    TempDir dir;
    const std::string path = dir.File("s.db");
    std::vector<std::string> call_ids;
    {
      Fixture f(path, MakePolicies(/*max_steps=*/1000000), /*durable_full=*/true, commits);
      auto run = f.store->CreateRun(kAgentA, "", T0());
      ASSERT_TRUE(run.ok());
      std::mutex mu;
      std::vector<std::thread> threads;
      for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
          for (int i = 0; i < 50; ++i) {
            core::GuardResponse r = f.guard->Decide(kAgentA, kAgentA, run->run_id, Call("read"));
            ASSERT_EQ(r.decision.code, Code::kAllowed) << r.decision.reason;
            std::lock_guard lock(mu);
            call_ids.push_back(r.call_id);
          }
        });
      }
      for (std::thread& t : threads) t.join();
    }
    ASSERT_EQ(call_ids.size(), 400u);
    std::vector<AuditRow> rows = ReadAudit(path);
    std::set<std::string> recorded;
    for (const AuditRow& row : rows) {
      if (row.type != "decision") continue;
      boost::json::value body = boost::json::parse(row.body);
      recorded.insert(std::string(body.at("call_id").as_string()));
    }
    for (const std::string& id : call_ids) EXPECT_TRUE(recorded.count(id)) << id;
  }
}

// --- commits on the caller's thread (StoreOptions::commit_on_caller, one_shot) ----------

// Tests that a result nobody waits for, with no write after it, is committed anyway: by
// the writer thread once it is due (the gateway's last call before a quiet spell), and by
// the close of a store with no thread (the hook's PostToolUse before it exits).
TEST(SqliteStoreCallerCommitsTest, LazyResultWithNoLaterWriteIsCommitted) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  std::string id;
  core::CallResult res;
  res.output_json = "{\"quiet\":true}";
  {
    Fixture f(path, MakePolicies(), /*durable_full=*/true, Commits::kCaller);
    ASSERT_TRUE(f.store->CreateRun(kAgentA, "r1", T0()).ok());
    id = f.guard->Decide(kAgentA, kAgentA, "r1", Call("read")).call_id;
    std::promise<Status> done;
    f.store->RecordResultAsync(id, kAgentA, kAgentA, res, T0(),
                               [&](Status s) { done.set_value(std::move(s)); });
    std::future<Status> answered = done.get_future();
    ASSERT_EQ(answered.wait_for(std::chrono::seconds(10)), std::future_status::ready)
        << "the writer thread never committed the lazy result";
    EXPECT_TRUE(answered.get().ok());
    auto call = f.store->GetCall(id);
    ASSERT_TRUE(call.ok());
    ASSERT_TRUE(call->result.has_value());
  }
  const std::string path2 = dir.File("t.db");
  bool answered_at_close = false;
  {
    Fixture f(path2, MakePolicies(), /*durable_full=*/true, Commits::kOneShot);
    ASSERT_TRUE(f.store->CreateRun(kAgentA, "r1", T0()).ok());
    id = f.guard->Decide(kAgentA, kAgentA, "r1", Call("read")).call_id;
    f.store->RecordResultAsync(id, kAgentA, kAgentA, res, T0(), [&](Status s) {
      EXPECT_TRUE(s.ok()) << s.error().message;
      answered_at_close = true;
    });
    f.guard.reset();
    f.store.reset();
  }
  EXPECT_TRUE(answered_at_close);
  std::vector<std::string> types;
  for (const AuditRow& r : ReadAudit(path2)) types.push_back(r.type);
  EXPECT_EQ(types, (std::vector<std::string>{"run_started", "decision", "result"}));
}

// Tests that an answer may write again (a callback that queues another op): answers are
// given after the committing caller released the commit, so this cannot deadlock.
TEST(SqliteStoreCallerCommitsTest, AnAnswerMayWriteAgain) {
  for (Commits commits : {Commits::kCaller, Commits::kOneShot}) {
    TempDir dir;
    Fixture f(dir.File("s.db"), MakePolicies(), /*durable_full=*/true, commits);
    ASSERT_TRUE(f.store->CreateRun(kAgentA, "r1", T0()).ok());
    std::promise<uint64_t> steps;
    std::thread t([&] {
      f.guard->DecideAsync(kAgentA, kAgentA, "r1", Call("read"), [&](core::GuardResponse r) {
        EXPECT_EQ(r.decision.code, Code::kAllowed);
        // A write from inside the answer: it commits on this thread, after the first.
        core::GuardResponse again = f.guard->Decide(kAgentA, kAgentA, "r1", Call("read"));
        steps.set_value(again.state.steps);
      });
    });
    std::future<uint64_t> got = steps.get_future();
    ASSERT_EQ(got.wait_for(std::chrono::seconds(20)), std::future_status::ready) << "deadlock";
    EXPECT_EQ(got.get(), 2u);
    t.join();
  }
}

// Tests that a run's calls are listed newest-last, limited to the newest `limit`, with
// denials, and never another run's (read through the audit log's run index since the
// calls table lost its own).
TEST(SqliteStoreTest, ListRunCallsReadsTheRunsCallsOnly) {
  TempDir dir;
  Fixture f(dir.File("s.db"), MakePolicies(/*max_steps=*/1000));
  auto run = f.store->CreateRun(kAgentA, "", T0());
  auto other = f.store->CreateRun(kAgentA, "", T0());
  ASSERT_TRUE(run.ok() && other.ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    f.clock.Advance(std::chrono::seconds(1));
    core::GuardResponse r =
        f.guard->Decide(kAgentA, kAgentA, run->run_id, Call(i == 3 ? "drop" : "read"));
    ids.push_back(r.call_id);
    f.guard->Decide(kAgentA, kAgentA, other->run_id, Call("write"));
  }
  auto all = f.store->ListRunCalls(run->run_id, 100);
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ((*all)[i].call_id, ids[i]);
    EXPECT_EQ((*all)[i].tool, i == 3 ? "drop" : "read");
    EXPECT_EQ((*all)[i].verdict, i == 3 ? "deny" : "allow");
  }
  EXPECT_EQ((*all)[3].code, "TOOL_BLOCKED");
  EXPECT_FALSE((*all)[3].reason.empty());
  auto newest = f.store->ListRunCalls(run->run_id, 2);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->size(), 2u);
  EXPECT_EQ((*newest)[0].call_id, ids[3]);
  EXPECT_EQ((*newest)[1].call_id, ids[4]);
}

// Tests that a version 2 store (the calls run index, the audit log's run index and no run
// links) migrates to version 4: the indexes are gone, every record is linked to its run's
// previous one, the log verifies, and the runs' calls list, before and after new calls. A
// reader that cannot migrate (read-only) still replays the old layout.
TEST(SqliteStoreTest, MigratesVersion2Store) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  std::string runs[2];
  std::vector<std::string> calls[2];
  {
    Fixture f(path);
    for (auto& r : runs) {
      auto run = f.store->CreateRun(kAgentA, "", T0());
      ASSERT_TRUE(run.ok());
      r = run->run_id;
    }
    for (int i = 0; i < 5; ++i) {
      calls[i % 2].push_back(f.guard->Decide(kAgentA, kAgentA, runs[i % 2], Call("read")).call_id);
    }
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE INDEX calls_run ON calls(run_id, time_ms);"
                         "CREATE INDEX audit_log_run ON audit_log(run_id, seq);"
                         "ALTER TABLE audit_log DROP COLUMN run_prev; DROP TABLE audit_runs;"
                         "DROP TABLE audit_head;"
                         // Migration 7's tables and column (sequences) did not exist either.
                         "ALTER TABLE runs DROP COLUMN sequence_json; DROP TABLE rate_hits;"
                         "DROP TABLE agent_days;"
                         // Nor migration 9's column (a reviewer's edit of the arguments).
                         "ALTER TABLE approvals DROP COLUMN edited_args_sha256;"
                         // Nor migration 10's (the workspace roots bound to a token).
                         "ALTER TABLE tokens DROP COLUMN workspace_roots;"
                         // Nor migration 11's (child runs).
                         "DROP INDEX runs_parent; ALTER TABLE runs DROP COLUMN parent_run_id;"
                         "ALTER TABLE runs DROP COLUMN role; ALTER TABLE runs DROP COLUMN depth;"
                         "DROP TABLE approval_messages;"
                         "UPDATE schema_version SET version = 2",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  Result<audit::RunReplay> old = audit::ReplayRun(db, runs[0]);
  ASSERT_TRUE(old.ok()) << old.error().message;
  Result<audit::VerifyReport> old_verify = audit::VerifyAuditLog(db, {});
  ASSERT_TRUE(old_verify.ok()) << old_verify.error().message;
  EXPECT_TRUE(old_verify->ok) << old_verify->problem;  // nothing to link-check yet
  sqlite3_close(db);
  {
    Fixture f(path);
    calls[0].push_back(f.guard->Decide(kAgentA, kAgentA, runs[0], Call("read")).call_id);
    for (int r = 0; r < 2; ++r) {
      auto listed = f.store->ListRunCalls(runs[r], 10);
      ASSERT_TRUE(listed.ok()) << listed.error().message;
      std::vector<std::string> ids;
      for (const auto& c : *listed) ids.push_back(c.call_id);
      EXPECT_EQ(ids, calls[r]);
    }
  }
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  Result<audit::VerifyReport> v = audit::VerifyAuditLog(db, {});
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_TRUE(v->ok) << v->problem;
  Result<audit::RunReplay> replay = audit::ReplayRun(db, runs[0]);
  ASSERT_TRUE(replay.ok()) << replay.error().message;
  EXPECT_EQ(replay->timeline.size(), old->timeline.size() + 1);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT (SELECT version FROM schema_version),"
                               " (SELECT count(*) FROM sqlite_master WHERE name = 'calls_run'),"
                               " (SELECT count(*) FROM sqlite_master WHERE name = 'audit_log_run'),"
                               " (SELECT count(*) FROM audit_runs)",
                               -1, &q, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), SqliteSchemaVersion());  // the head schema
  EXPECT_EQ(sqlite3_column_int(q, 1), 0);
  EXPECT_EQ(sqlite3_column_int(q, 2), 0);
  EXPECT_EQ(sqlite3_column_int(q, 3), 2);
  sqlite3_finalize(q);
  sqlite3_close(db);
}

// Tests that when the WAL cannot be synced (here: its file was deleted under the store, so
// the syncer cannot open it) the decision is denied STORE_UNAVAILABLE, not answered, and
// every later write is refused too: after a failed sync nothing on disk can be trusted.
// Whoever syncs: the syncer thread or the caller.
TEST(SqliteStoreTest, FailedSyncDeniesAndStaysFailed) {
  for (Commits commits : kEveryCommit) {
    SCOPED_TRACE(CommitsName(commits));
    TempDir dir;
    const std::string path = dir.File("s.db");
    Fixture f(path, MakePolicies(), /*durable_full=*/true, commits);
    ASSERT_TRUE(fs::remove(path + "-wal"));
    auto run = f.store->CreateRun(kAgentA, "", T0());
    ASSERT_FALSE(run.ok());
    EXPECT_EQ(run.error().kind, ErrorKind::kUnavailable);
    EXPECT_NE(run.error().message.find("-wal"), std::string::npos) << run.error().message;
    core::GuardResponse r = f.guard->Decide(kAgentA, kAgentA, "run_x", Call("read"));
    EXPECT_EQ(r.decision.verdict, Verdict::kDeny);
    EXPECT_EQ(r.decision.code, Code::kStoreUnavailable) << r.decision.reason;
    EXPECT_NE(r.decision.reason.find("restarts"), std::string::npos) << r.decision.reason;
  }
}

// Tests the per-call retention: calls made before the cutoff are deleted oldest first in
// chunks of `limit`, newer ones stay, a call whose approval is pending stays, a decided
// approval older than the cutoff goes with its votes, and runs (budgets) stay.
TEST(SqliteStoreTest, PruneCallsDeletesOldCallsAndDecidedApprovals) {
  TempDir dir;
  auto agent = MakeAgent(kAgentA, /*max_steps=*/1000, policy::BudgetAction::kHalt);
  AllowDeployAfterApproval(agent.get());
  auto set = std::make_shared<policy::PolicySet>();
  set->agents[kAgentA] = agent;
  set->sha256 = std::string(64, 'b');
  Fixture f(dir.File("s.db"), set);
  auto run = f.store->CreateRun(kAgentA, "", T0());
  ASSERT_TRUE(run.ok());
  auto decide = [&](const std::string& tool, boost::json::object args = {}) {
    return f.guard->Decide(kAgentA, kAgentA, run->run_id, Call(tool, std::move(args)));
  };
  std::vector<std::string> old_calls;
  for (int i = 0; i < 5; ++i) old_calls.push_back(decide("read").call_id);
  core::GuardResponse pending = decide("deploy");  // stays pending
  // Other arguments: an identical call would attach to the pending one.
  core::GuardResponse voted = decide("deploy", {{"n", 2}});  // decided before the cutoff
  ASSERT_EQ(pending.decision.code, Code::kApprovalRequired);
  const std::string pending_approval = core::ApprovalIdForCall(pending.call_id);
  const std::string voted_approval = core::ApprovalIdForCall(voted.call_id);
  core::Principal reviewer{"tok", "rita", core::Role::kReviewer, ""};
  core::VoteRequest no;
  no.approval_id = voted_approval;
  no.reviewer = reviewer;
  no.approve = false;
  no.comment = "no";
  no.now = T0();
  auto vote = f.store->Vote(no);
  ASSERT_TRUE(vote.ok()) << vote.error().message;
  f.clock.Advance(std::chrono::hours(24));
  const TimePoint cutoff = f.clock.Now();
  f.clock.Advance(std::chrono::hours(1));
  const std::string recent = decide("read").call_id;

  int64_t total = 0;
  int chunks = 0;
  for (;;) {
    Result<int64_t> n = f.store->PruneCalls(cutoff, 2);
    ASSERT_TRUE(n.ok()) << n.error().message;
    if (*n == 0) break;
    EXPECT_LE(*n, 4);  // at most `limit` calls plus `limit` approvals
    total += *n;
    ASSERT_LT(++chunks, 20);
  }
  EXPECT_EQ(total, 5 + 1 + 1);  // 5 reads, the voted call, its approval
  for (const std::string& id : old_calls) {
    EXPECT_EQ(f.store->GetCall(id).error().kind, ErrorKind::kNotFound) << id;
  }
  EXPECT_EQ(f.store->GetCall(voted.call_id).error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(f.store->GetApproval(voted_approval).error().kind, ErrorKind::kNotFound);
  EXPECT_TRUE(f.store->GetCall(pending.call_id).ok());
  EXPECT_TRUE(f.store->GetApproval(pending_approval).ok());
  EXPECT_TRUE(f.store->GetCall(recent).ok());
  auto after = f.store->GetRun(run->run_id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state.steps, 8u);
}

// --- Approvals: one approval, one execution; release; people, not strings -----------------

namespace approvals {

// agent-a with "deploy" (one approval) and "drop_db" (two approvals), over a store.
struct ApprovalFixture {
  explicit ApprovalFixture(const std::string& path) : f(path, Policies()) {
    auto r = f.store->CreateRun(kAgentA, "", T0());
    EXPECT_TRUE(r.ok());
    run = r.ok() ? r->run_id : "";
  }
  static std::shared_ptr<const policy::PolicySet> Policies() {
    auto agent = MakeAgent(kAgentA, /*max_steps=*/100, policy::BudgetAction::kHalt);
    AllowDeployAfterApproval(agent.get());
    policy::ToolRule drop;
    drop.name = "drop_db";
    drop.requires_approval = true;
    drop.approvals_required = 2;
    agent->allowed.emplace(drop.name, drop);
    auto set = std::make_shared<policy::PolicySet>();
    set->agents[kAgentA] = agent;
    set->sha256 = std::string(64, 'b');
    return set;
  }
  core::GuardResponse Decide(const std::string& tool, boost::json::object args,
                             const std::string& approval_id = "") {
    ToolCall c = Call(tool, std::move(args));
    c.approval_id = approval_id;
    return f.guard->Decide(kAgentA, kAgentA, run, std::move(c));
  }
  Result<core::VoteOutcome> Vote(const std::string& approval_id, const std::string& reviewer,
                                 bool approve = true) {
    core::VoteRequest v;
    v.approval_id = approval_id;
    v.reviewer = core::Principal{"tok_" + reviewer, reviewer, core::Role::kReviewer, ""};
    v.approve = approve;
    v.now = f.clock.Now();
    v.policy = [](std::string_view, std::string_view) {
      return core::ApprovalPolicyFacts{std::string(kAgentA) + "@test", std::nullopt};
    };
    return f.store->Vote(v);
  }
  uint64_t Steps() {
    auto r = f.store->GetRun(run);
    return r.ok() ? r->state.steps : 0;
  }
  Fixture f;
  std::string run;
};

// Tests that a granted approval authorizes one execution: re-submitting the identical
// call with its approval_id answers with the original call id and decision, records no
// new call, spends no step and writes no second decision record (it used to allow a
// second, new call: an irreversible action twice on one human decision).
TEST(SqliteStoreApprovalTest, ResubmittedApprovalDoesNotRunTheCallTwice) {
  TempDir dir;
  ApprovalFixture a(dir.File("s.db"));
  core::GuardResponse first = a.Decide("deploy", {{"env", "prod"}});
  ASSERT_EQ(first.decision.code, Code::kApprovalRequired);
  const std::string approval = core::ApprovalIdForCall(first.call_id);
  ASSERT_TRUE(a.Vote(approval, "rita").ok());
  const uint64_t steps = a.Steps();

  core::GuardResponse again = a.Decide("deploy", {{"env", "prod"}}, approval);
  EXPECT_EQ(again.call_id, first.call_id);
  EXPECT_TRUE(again.existing_call);
  EXPECT_EQ(again.decision.code, Code::kAllowed) << again.decision.reason;
  EXPECT_EQ(again.decision.rule, "approval");
  core::GuardResponse third = a.Decide("deploy", {{"env", "prod"}}, approval);
  EXPECT_EQ(third.call_id, first.call_id);
  EXPECT_EQ(a.Steps(), steps);
  EXPECT_EQ(CountAudit(dir.File("s.db"), "decision", first.call_id), 1);
  int decisions = 0;
  for (const AuditRow& row : ReadAudit(dir.File("s.db"))) decisions += row.type == "decision";
  EXPECT_EQ(decisions, 1);  // no record for any other call id either
  // Released once, by the first delivery.
  EXPECT_EQ(CountAudit(dir.File("s.db"), "approval", first.call_id, "released"), 1);
  auto got = a.f.store->GetApproval(approval);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->used.has_value());
  EXPECT_EQ(got->used_call_id, first.call_id);
  // The original call's own read answers the same allow.
  auto read = a.f.store->ReleaseCall(first.call_id, kAgentA, kAgentA, a.f.clock.Now());
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->record.decision.code, Code::kAllowed);
  // Still bound: other arguments are refused as before, and recorded as a deny.
  core::GuardResponse changed = a.Decide("deploy", {{"env", "dev"}}, approval);
  EXPECT_EQ(changed.decision.code, Code::kApprovalDenied);
  EXPECT_NE(changed.call_id, first.call_id);
  EXPECT_FALSE(changed.existing_call);
}

// Tests that a re-submission while the approval is pending, or after it was denied,
// answers with the original call and its current state.
TEST(SqliteStoreApprovalTest, ResubmissionAnswersTheOriginalCallsState) {
  TempDir dir;
  ApprovalFixture a(dir.File("s.db"));
  core::GuardResponse first = a.Decide("deploy", {{"n", 1}});
  const std::string approval = core::ApprovalIdForCall(first.call_id);
  core::GuardResponse pending = a.Decide("deploy", {{"n", 1}}, approval);
  EXPECT_EQ(pending.call_id, first.call_id);
  EXPECT_EQ(pending.decision.code, Code::kApprovalRequired);
  ASSERT_TRUE(a.Vote(approval, "rita", /*approve=*/false).ok());
  core::GuardResponse denied = a.Decide("deploy", {{"n", 1}}, approval);
  EXPECT_EQ(denied.call_id, first.call_id);
  EXPECT_EQ(denied.decision.code, Code::kApprovalDenied);
  EXPECT_EQ(CountAudit(dir.File("s.db"), "decision", first.call_id), 1);
}

// Tests that an identical retry while the approval is pending attaches to it (same call
// id, one approval, no step spent), and that a different call or a different principal
// does not.
TEST(SqliteStoreApprovalTest, RetryWhilePendingAttachesInsteadOfQueueingAnother) {
  TempDir dir;
  ApprovalFixture a(dir.File("s.db"));
  core::GuardResponse first = a.Decide("deploy", {{"env", "prod"}, {"n", 1}});
  ASSERT_EQ(first.decision.code, Code::kApprovalRequired);
  const uint64_t steps = a.Steps();
  core::GuardResponse retry = a.Decide("deploy", {{"n", 1}, {"env", "prod"}});
  EXPECT_EQ(retry.call_id, first.call_id);
  EXPECT_TRUE(retry.existing_call);
  EXPECT_EQ(retry.decision.code, Code::kApprovalRequired);
  EXPECT_EQ(a.Steps(), steps);
  auto pending = a.f.store->ListApprovals(core::ApprovalFilter{});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending->size(), 1u);

  core::GuardResponse other = a.Decide("deploy", {{"env", "dev"}, {"n", 1}});
  EXPECT_NE(other.call_id, first.call_id);
  ToolCall c = Call("deploy", {{"env", "prod"}, {"n", 1}});
  core::GuardResponse someone = a.f.guard->Decide(kAgentA, "other-name", a.run, c);
  EXPECT_NE(someone.call_id, first.call_id);
  // Once denied, the identical retry is answered that deny (docs/approvals.md, "An
  // identical call retried"): nobody is asked again, nothing is recorded or spent.
  ASSERT_TRUE(a.Vote(core::ApprovalIdForCall(first.call_id), "rita", false).ok());
  core::GuardResponse later = a.Decide("deploy", {{"env", "prod"}, {"n", 1}});
  EXPECT_EQ(later.call_id, first.call_id);
  EXPECT_TRUE(later.existing_call);
  EXPECT_EQ(later.decision.code, Code::kApprovalDenied);
}

// Tests that a granted approval is redeemed by one identical retry without approval_id
// (a door such as Claude Code's hook that cannot send one): the original call, released
// now; a second identical retry finds it used and queues a new approval.
TEST(SqliteStoreApprovalTest, GrantedApprovalIsRedeemedByOneIdenticalRetryOnly) {
  TempDir dir;
  ApprovalFixture a(dir.File("s.db"));
  core::GuardResponse first = a.Decide("deploy", {{"env", "prod"}});
  ASSERT_EQ(first.decision.code, Code::kApprovalRequired);
  ASSERT_TRUE(a.Vote(core::ApprovalIdForCall(first.call_id), "rita", true).ok());
  core::GuardResponse retry = a.Decide("deploy", {{"env", "prod"}});
  EXPECT_EQ(retry.call_id, first.call_id);
  EXPECT_TRUE(retry.existing_call);
  EXPECT_EQ(retry.decision.verdict, Verdict::kAllow);
  core::GuardResponse again = a.Decide("deploy", {{"env", "prod"}});
  EXPECT_NE(again.call_id, first.call_id);
  EXPECT_EQ(again.decision.code, Code::kApprovalRequired);
}

// Tests that a kill switch engaged after the grant but before the call was delivered
// denies it with KILL_SWITCH (audited, approval cancelled) through both delivery paths,
// and that a call delivered before the switch keeps its allow.
TEST(SqliteStoreApprovalTest, KillSwitchStopsGrantedCallNotYetReleased) {
  TempDir dir;
  ApprovalFixture a(dir.File("s.db"));
  core::GuardResponse delivered = a.Decide("deploy", {{"n", 1}});
  core::GuardResponse undelivered = a.Decide("deploy", {{"n", 2}});
  core::GuardResponse resubmitted = a.Decide("deploy", {{"n", 3}});
  for (const auto* g : {&delivered, &undelivered, &resubmitted}) {
    ASSERT_TRUE(a.Vote(core::ApprovalIdForCall(g->call_id), "rita").ok());
  }
  auto before = a.f.store->ReleaseCall(delivered.call_id, kAgentA, kAgentA, a.f.clock.Now());
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->record.decision.code, Code::kAllowed);

  ASSERT_TRUE(
      a.f.store->SetKill(core::KillEntry{"global", "", true, "incident", "root", a.f.clock.Now()})
          .ok());
  auto late = a.f.store->ReleaseCall(undelivered.call_id, kAgentA, kAgentA, a.f.clock.Now());
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->record.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(late->record.decision.code, Code::kKillSwitch);
  EXPECT_NE(late->record.decision.reason.find("incident"), std::string::npos);
  auto approval = a.f.store->GetApproval(core::ApprovalIdForCall(undelivered.call_id));
  ASSERT_TRUE(approval.ok());
  EXPECT_EQ(approval->state, core::ApprovalState::kCancelled);
  EXPECT_EQ(CountAudit(dir.File("s.db"), "approval", undelivered.call_id, "cancelled"), 1);

  core::GuardResponse again =
      a.Decide("deploy", {{"n", 3}}, core::ApprovalIdForCall(resubmitted.call_id));
  EXPECT_EQ(again.call_id, resubmitted.call_id);
  EXPECT_EQ(again.decision.code, Code::kKillSwitch);

  // Released before the switch: later reads answer the same allow; released after: deny.
  auto kept = a.f.store->ReleaseCall(delivered.call_id, kAgentA, kAgentA, a.f.clock.Now());
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->record.decision.code, Code::kAllowed);
  ASSERT_TRUE(
      a.f.store->SetKill(core::KillEntry{"global", "", false, "", "root", a.f.clock.Now()}).ok());
  auto after = a.f.store->ReleaseCall(undelivered.call_id, kAgentA, kAgentA, a.f.clock.Now());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->record.decision.code, Code::kKillSwitch);
  EXPECT_EQ(
      a.f.store->ReleaseCall(delivered.call_id, kAgentB, kAgentB, a.f.clock.Now()).error().kind,
      ErrorKind::kPermissionDenied);
}

// Tests that ending the run after the grant but before delivery denies the call with
// RUN_HALTED, and that an agent or run kill switch does the same as a global one.
TEST(SqliteStoreApprovalTest, HaltOrScopedKillStopsGrantedCallNotYetReleased) {
  TempDir dir;
  ApprovalFixture a(dir.File("s.db"));
  core::GuardResponse c1 = a.Decide("deploy", {{"n", 1}});
  core::GuardResponse c2 = a.Decide("deploy", {{"n", 2}});
  ASSERT_TRUE(a.Vote(core::ApprovalIdForCall(c1.call_id), "rita").ok());
  ASSERT_TRUE(a.Vote(core::ApprovalIdForCall(c2.call_id), "rita").ok());
  ASSERT_TRUE(
      a.f.store->SetKill(core::KillEntry{"run", a.run, true, "", "root", a.f.clock.Now()}).ok());
  auto k = a.f.store->ReleaseCall(c1.call_id, kAgentA, kAgentA, a.f.clock.Now());
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->record.decision.code, Code::kKillSwitch);
  ASSERT_TRUE(
      a.f.store->SetKill(core::KillEntry{"run", a.run, false, "", "root", a.f.clock.Now()}).ok());
  ASSERT_TRUE(a.f.store->EndRun(a.run, kAgentA, a.f.clock.Now()).ok());
  auto h = a.f.store->ReleaseCall(c2.call_id, kAgentA, kAgentA, a.f.clock.Now());
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->record.decision.code, Code::kRunHalted);
  EXPECT_EQ(CountAudit(dir.File("s.db"), "approval", c2.call_id, "cancelled"), 1);
}

// Tests that reviewer names differing only by case, invisible characters or surrounding
// whitespace are one person: the second vote is "already voted", and two lookalikes
// never make the two approvals drop_db needs.
TEST(SqliteStoreApprovalTest, LookalikeReviewerNamesAreOnePersonForTwoPersonRule) {
  TempDir dir;
  ApprovalFixture a(dir.File("s.db"));
  core::GuardResponse c = a.Decide("drop_db", {{"db", "main"}});
  const std::string id = core::ApprovalIdForCall(c.call_id);
  ASSERT_TRUE(a.Vote(id, "Alice").ok());
  for (const char* twin :
       {"alice", "alice ", "ALICE\t", "al\u200bice", "\u202ealice", "\uff21lice"}) {
    auto v = a.Vote(id, twin);
    ASSERT_FALSE(v.ok()) << twin;
    EXPECT_EQ(v.error().kind, ErrorKind::kAlreadyExists) << twin;
  }
  EXPECT_EQ(a.f.store->GetApproval(id)->state, core::ApprovalState::kPending);
  auto bob = a.Vote(id, "bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->approval.state, core::ApprovalState::kGranted);
}

// Tests that a reviewer named like the agent, its principal or its policy identity up to
// case, a trailing space or an invisible character cannot approve the agent's own call.
TEST(SqliteStoreApprovalTest, ReviewerNamedLikeTheAgentCannotSelfApprove) {
  TempDir dir;
  ApprovalFixture a(dir.File("s.db"));
  core::GuardResponse c = a.Decide("deploy", {{"n", 1}});
  const std::string id = core::ApprovalIdForCall(c.call_id);
  for (const std::string& self :
       {std::string(kAgentA) + " ", std::string("AGENT-A"), std::string("agent\u200b-a"),
        std::string(kAgentA) + "@TEST", std::string("\t") + kAgentA + "@test"}) {
    auto v = a.Vote(id, self);
    ASSERT_FALSE(v.ok()) << self;
    EXPECT_EQ(v.error().kind, ErrorKind::kPermissionDenied) << self;
  }
  EXPECT_EQ(a.f.store->GetApproval(id)->state, core::ApprovalState::kPending);
}

// Tests that token names a reader cannot tell apart from another (control, invisible,
// bidi, surrounding whitespace) are refused at creation, and good names are kept in NFC.
TEST(SqliteStoreApprovalTest, TokenNamesWithInvisibleCharactersRefused) {
  TempDir dir;
  auto store = MustOpen(Options(dir.File("s.db")));
  for (const char* bad : {"alice ", " alice", "ali\tce", "ali\u200bce", "\u202ealice", "a\nb"}) {
    auto t = store->CreateToken(core::Role::kReviewer, bad, "", T0());
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_NE(t.error().message.find("reviewer name"), std::string::npos) << t.error().message;
  }
  EXPECT_FALSE(store->CreateToken(core::Role::kAgent, "", "agent-a\u200b", T0()).ok());
  EXPECT_FALSE(store->CreateToken(core::Role::kAdmin, "root\u00a0", "", T0()).ok());
  auto ok = store->CreateToken(core::Role::kAdmin, "Jos\u0065\u0301", "", T0());
  ASSERT_TRUE(ok.ok());
  auto p = store->Authenticate(*ok);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "Jos\u00e9");
}

// Tests that the approval facade withdraws the approval of a call whose client hung up
// before it heard the answer (core::Approvals::WithdrawUnheard, once for every door): the
// call becomes a deny, a decided approval is left as it is, and no approval is nothing.
TEST(SqliteStoreApprovalTest, FacadeWithdrawsAnUnheardApprovalOnlyWhilePending) {
  TempDir dir;
  ApprovalFixture a(dir.File("s.db"));
  core::Approvals approvals(a.f.store.get(), &a.f.clock, &a.f.source);
  core::GuardResponse unheard = a.Decide("deploy", {{"n", 1}});
  ASSERT_EQ(unheard.decision.code, Code::kApprovalRequired);
  auto w = approvals.WithdrawUnheard(unheard.call_id, kAgentA, kAgentA);
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(w->has_value());
  EXPECT_EQ((*w)->state, core::ApprovalState::kWithdrawn);
  auto call = approvals.Release(unheard.call_id, kAgentA, kAgentA);
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->record.decision.code, Code::kApprovalDenied);

  core::GuardResponse voted = a.Decide("deploy", {{"n", 2}});
  ASSERT_TRUE(a.Vote(core::ApprovalIdForCall(voted.call_id), "rita").ok());
  auto late = approvals.WithdrawUnheard(voted.call_id, kAgentA, kAgentA);
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(late->has_value());
  auto none = approvals.WithdrawUnheard("call_nosuch", kAgentA, kAgentA);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

// Tests that the reviewer's page of an approval (core::Approvals::GetReview) carries the
// approval, its call as stored (arguments redacted) and the run's calls.
TEST(SqliteStoreApprovalTest, FacadeReviewShowsTheCallAndTheRun) {
  TempDir dir;
  ApprovalFixture a(dir.File("s.db"));
  core::Approvals approvals(a.f.store.get(), &a.f.clock, &a.f.source);
  ASSERT_EQ(a.Decide("read", {{"password", "hunter2"}}).decision.code, Code::kAllowed);
  core::GuardResponse asked = a.Decide("deploy", {{"env", "prod"}});
  auto review = approvals.GetReview(core::ApprovalIdForCall(asked.call_id));
  ASSERT_TRUE(review.ok()) << review.error().message;
  EXPECT_EQ(review->approval.call_id, asked.call_id);
  ASSERT_TRUE(review->call.has_value());
  EXPECT_EQ(review->call->record.call.tool, "deploy");
  ASSERT_EQ(review->run_calls.size(), 2u);
  EXPECT_EQ(review->run_calls[1].call_id, asked.call_id);
  EXPECT_EQ(approvals.GetReview("apr_nosuch").error().kind, ErrorKind::kNotFound);
}

}  // namespace approvals

// The first column of `sql`'s first row, read on a connection of its own (what another
// daemon or reader sees: committed data only).
int64_t CountFrom(const std::string& path, const std::string& sql) {
  return interlock::testing::SqliteFirstInt(path, sql);
}

// Tests that a kill switch record is covered by a signed checkpoint before the switch
// takes effect: the anchor runs while the record is appended but not committed (another
// connection sees neither it nor the engaged switch), and the checkpoint it writes names
// the record with its hash and a valid signature.
TEST(SqliteStoreTest, KillSwitchRecordIsAnchoredBeforeTheSwitchTakesEffect) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  auto keys = audit::LoadOrCreateAuditKeys(dir.File("keys"));
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  const std::string cps = dir.File("checkpoints.jsonl");
  int64_t engaged_seen = -1;
  int64_t record_seen = -1;
  StoreOptions o = Options(path);
  o.checkpoint_signer.sign = [&](const audit::AuditHead& h) {
    engaged_seen = CountFrom(path, "SELECT count(*) FROM kill_switches WHERE engaged = 1");
    record_seen =
        CountFrom(path, "SELECT count(*) FROM audit_log WHERE seq = " + std::to_string(h.seq));
    return audit::MakeCheckpoint(keys->signing_key, h.seq, h.hash, T0());
  };
  o.checkpoint_signer.mirror = [&](const audit::Checkpoint& cp) {
    return audit::AppendCheckpoint(cps, cp);
  };
  auto store = MustOpen(o);
  ASSERT_TRUE(store->SetKill({"global", "", true, "incident", "ops-alice", T0()}).ok());
  EXPECT_EQ(engaged_seen, 0);  // the anchor came first: the switch was not yet in effect
  EXPECT_EQ(record_seen, 0);   // nor its record committed
  std::vector<AuditRow> rows = ReadAudit(path);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.back().type, "kill_switch");
  auto written = audit::ReadCheckpoints(cps);
  ASSERT_TRUE(written.ok()) << written.error().message;
  ASSERT_EQ(written->size(), 1u);
  EXPECT_EQ((*written)[0].seq, rows.back().seq);
  EXPECT_EQ((*written)[0].hash, rows.back().hash);
  EXPECT_TRUE(audit::VerifyCheckpoint(keys->public_key, (*written)[0]));
  EXPECT_EQ(CountFrom(path, "SELECT count(*) FROM kill_switches WHERE engaged = 1"), 1);
}

// Tests that a SQLite store given a signer with nowhere to write (no mirror: this log has
// no checkpoint table) anchors nothing rather than pretending to: a token creation is
// refused, an engagement of the kill switch still takes effect and is counted.
TEST(SqliteStoreTest, SignerWithoutACheckpointFileAnchorsNothingAndRefusesATokenCreation) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  int signed_heads = 0;
  StoreOptions o = Options(path);
  o.checkpoint_signer.sign = [&](const audit::AuditHead& h) {
    ++signed_heads;
    return audit::Checkpoint{.seq = h.seq, .hash = h.hash};
  };
  auto store = MustOpen(o);
  auto token = store->CreateToken(core::Role::kAdmin, "root", "", T0());
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.error().message.find("no checkpoint file"), std::string::npos)
      << token.error().message;
  EXPECT_TRUE(store->SetKill({"global", "", true, "incident", "ops", T0()}).ok());
  EXPECT_EQ(store->AnchorFailures(), 1u);
  EXPECT_EQ(signed_heads, 2);
}

// Tests the fail-closed direction of anchoring: when no checkpoint can be written, a
// token creation, a kill switch release and a policy load are refused (nothing written),
// while engaging the kill switch and revoking a token still take effect and are counted.
TEST(SqliteStoreTest, FailedAnchorRefusesWideningButNeverBlocksEngagingTheKillSwitch) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  bool fail = false;
  int anchors = 0;
  StoreOptions o = Options(path);
  o.checkpoint_signer.sign = [](const audit::AuditHead& h) {
    return audit::Checkpoint{.seq = h.seq, .hash = h.hash};
  };
  o.checkpoint_signer.mirror = [&](const audit::Checkpoint&) -> Status {
    ++anchors;
    if (fail) return Error::Unavailable("checkpoint file: disk full");
    return Status::Ok();
  };
  auto store = MustOpen(o);
  auto before = store->CreateToken(core::Role::kAdmin, "root", "", T0());
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(anchors, 1);
  fail = true;

  EXPECT_TRUE(store->SetKill({"global", "", true, "incident", "ops", T0()}).ok());
  EXPECT_EQ(store->AnchorFailures(), 1u);
  Status release = store->SetKill({"global", "", false, "over", "ops", T0()});
  ASSERT_FALSE(release.ok());
  EXPECT_NE(release.error().message.find("anchored"), std::string::npos) << release.error().message;
  auto kills = store->ListKills();
  ASSERT_TRUE(kills.ok());
  ASSERT_EQ(kills->size(), 1u);
  EXPECT_TRUE((*kills)[0].engaged);  // still engaged

  EXPECT_FALSE(store->CreateToken(core::Role::kAgent, "", kAgentA, T0()).ok());
  auto tokens = store->ListTokens();
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_TRUE(store->RevokeToken((*tokens)[0].token_id, "ops", T0()).ok());
  EXPECT_EQ(store->AnchorFailures(), 2u);
  EXPECT_FALSE(store->Authenticate(*before).ok());

  EXPECT_FALSE(store->RecordPolicyLoad({"ab", 1, "SIGHUP", "", "daemon", T0()}).ok());
  const int anchors_before = anchors;
  EXPECT_TRUE(store->RecordPolicyLoad({"", 0, "SIGHUP", "bad yaml", "daemon", T0()}).ok());
  EXPECT_EQ(anchors, anchors_before);  // a refused load widens nothing: not anchored

  std::vector<std::string> types;
  for (const AuditRow& r : ReadAudit(path)) types.push_back(r.type);
  EXPECT_EQ(types, (std::vector<std::string>{"token_created", "kill_switch", "token_revoked",
                                             "policy_rejected"}));
}

// Tests that a version 4 store (no head row) verifies read-only as it is, and is migrated
// on open: schema 5 (6 with the run list's indexes), the head row naming the last record, later
// appends keeping it.
TEST(SqliteStoreTest, MigratesVersion4StoreToTheHeadRow) {
  TempDir dir;
  const std::string path = dir.File("s.db");
  {
    Fixture f(path);
    ASSERT_TRUE(f.store->CreateRun(kAgentA, "r1", T0()).ok());
    f.guard->Decide(kAgentA, kAgentA, "r1", Call("read"));
    ASSERT_TRUE(f.store->SetKill({"global", "", true, "x", "ops", T0()}).ok());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TABLE audit_head; ALTER TABLE runs DROP COLUMN sequence_json;"
                         "DROP TABLE rate_hits; DROP TABLE agent_days;"
                         "ALTER TABLE approvals DROP COLUMN edited_args_sha256;"
                         "ALTER TABLE tokens DROP COLUMN workspace_roots;"
                         "DROP INDEX runs_parent; ALTER TABLE runs DROP COLUMN parent_run_id;"
                         "ALTER TABLE runs DROP COLUMN role; ALTER TABLE runs DROP COLUMN depth;"
                         "UPDATE schema_version SET version = 4",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  Result<audit::VerifyReport> old = audit::VerifyAuditLog(db, {});
  sqlite3_close(db);
  ASSERT_TRUE(old.ok()) << old.error().message;
  EXPECT_TRUE(old->ok) << old->problem;
  EXPECT_FALSE(old->head_row_checked);
  {
    Fixture f(path);
    EXPECT_EQ(CountFrom(path, "SELECT version FROM schema_version"), SqliteSchemaVersion());
    EXPECT_EQ(CountFrom(path, "SELECT seq FROM audit_head"), old->head_seq);
    ASSERT_TRUE(f.store->SetKill({"global", "", false, "over", "ops", T0()}).ok());
  }
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  Result<audit::VerifyReport> v = audit::VerifyAuditLog(db, {});
  sqlite3_close(db);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_TRUE(v->head_row_checked);
  EXPECT_EQ(v->head_seq, old->head_seq + 1);
  EXPECT_EQ(CountFrom(path, "SELECT seq FROM audit_head"), v->head_seq);
}

// Tests that the agent that made a call can withdraw its pending approval: the approval
// ends withdrawn, the call deny/APPROVAL_DENIED, the audit trail records who withdrew it
// and why, and a reviewer's later vote is refused; another agent may not withdraw it, a
// decided approval cannot be withdrawn, and an unknown one is not found.
TEST(SqliteStoreTest, WithdrawnApprovalRefusesLaterVerdicts) {
  TempDir dir;
  auto agent = MakeAgent(kAgentA, /*max_steps=*/1000, policy::BudgetAction::kHalt);
  AllowDeployAfterApproval(agent.get());
  auto set = std::make_shared<policy::PolicySet>();
  set->agents[kAgentA] = agent;
  set->agents[kAgentB] = MakeAgent(kAgentB, 1000, policy::BudgetAction::kHalt);
  set->sha256 = std::string(64, 'b');
  const std::string path = dir.File("s.db");
  Fixture f(path, set);
  auto run = f.store->CreateRun(kAgentA, "", T0());
  ASSERT_TRUE(run.ok());
  core::GuardResponse held = f.guard->Decide(kAgentA, kAgentA, run->run_id, Call("deploy"));
  ASSERT_EQ(held.decision.code, Code::kApprovalRequired);
  const std::string id = core::ApprovalIdForCall(held.call_id);

  auto foreign = f.store->WithdrawApproval(id, kAgentB, kAgentB, "not mine", T0());
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_EQ(f.store->WithdrawApproval("apr_nope", kAgentA, kAgentA, "", T0()).error().kind,
            ErrorKind::kNotFound);

  auto w =
      f.store->WithdrawApproval(id, kAgentA, kAgentA, "the MCP client cancelled the request", T0());
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->state, core::ApprovalState::kWithdrawn);
  EXPECT_NE(w->outcome_reason.find("approval " + id + " was withdrawn"), std::string::npos)
      << w->outcome_reason;
  auto stored = f.store->GetApproval(id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, core::ApprovalState::kWithdrawn);
  EXPECT_STREQ(core::ApprovalStateName(stored->state), "withdrawn");
  EXPECT_EQ(core::ParseApprovalState("withdrawn"), core::ApprovalState::kWithdrawn);
  auto call = f.store->GetCall(held.call_id);
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->record.decision.verdict, Verdict::kDeny);
  EXPECT_EQ(call->record.decision.code, Code::kApprovalDenied);

  core::VoteRequest yes;
  yes.approval_id = id;
  yes.reviewer = core::Principal{"tok", "rita", core::Role::kReviewer, ""};
  yes.approve = true;
  yes.now = T0();
  auto vote = f.store->Vote(yes);
  ASSERT_FALSE(vote.ok());
  EXPECT_EQ(vote.error().kind, ErrorKind::kAlreadyExists);
  EXPECT_NE(vote.error().message.find("withdrawn"), std::string::npos) << vote.error().message;
  auto again = f.store->WithdrawApproval(id, kAgentA, kAgentA, "twice", T0());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kAlreadyExists);
  auto pending = f.store->ListApprovals(core::ApprovalFilter{});
  ASSERT_TRUE(pending.ok());
  EXPECT_TRUE(pending->empty());  // never orphaned in the queue

  f.store.reset();
  bool found = false;
  for (const AuditRow& row : ReadAudit(path)) {
    if (row.type != "approval" || row.body.find("\"withdrawn\"") == std::string::npos) continue;
    found = true;
    EXPECT_EQ(row.principal, kAgentA);
    EXPECT_NE(row.body.find("the MCP client cancelled the request"), std::string::npos) << row.body;
  }
  EXPECT_TRUE(found);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::store

namespace interlock::store {
namespace INTERLOCK_TEST_NS {

// Tests that ListRuns lists runs newest first, filters by agent, state and start time,
// pages with a cursor without losing or repeating a run, and refuses a forged cursor.
TEST(SqliteStoreListRunsTest, FiltersAndPagesNewestFirst) {
  TempDir dir;
  Fixture f(dir.File("s.db"));
  std::vector<std::string> ids;  // oldest first
  for (int i = 0; i < 7; ++i) {
    auto run = f.store->CreateRun(i % 2 == 0 ? kAgentA : kAgentB, "",
                                  T0() + std::chrono::seconds(i / 2));  // pairs share a start
    ASSERT_TRUE(run.ok());
    ids.push_back(run->run_id);
  }
  ASSERT_TRUE(f.store->EndRun(ids[0], kAgentA, T0()).ok());
  ASSERT_TRUE(f.store->EndRun(ids[1], kAgentB, T0()).ok());
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir.File("s.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(db, ("UPDATE runs SET halted = 1 WHERE run_id = '" + ids[1] + "'").c_str(),
                     nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(db);
  }
  auto all = [&](core::RunFilter filter) {
    std::vector<std::string> got;
    for (int page = 0; page < 20; ++page) {
      auto p = f.store->ListRuns(filter);
      EXPECT_TRUE(p.ok()) << p.error().message;
      if (!p.ok()) break;
      EXPECT_LE(p->runs.size(), filter.limit);
      for (const auto& r : p->runs) got.push_back(r.run_id);
      if (p->next_cursor.empty()) break;
      filter.cursor = p->next_cursor;
    }
    return got;
  };
  core::RunFilter every;
  every.limit = 2;
  std::vector<std::string> newest_first = all(every);
  ASSERT_EQ(newest_first.size(), 7u);
  for (size_t i = 1; i < newest_first.size(); ++i) {
    auto a = f.store->GetRun(newest_first[i - 1]);
    auto b = f.store->GetRun(newest_first[i]);
    EXPECT_TRUE(a->started > b->started || (a->started == b->started && a->run_id > b->run_id));
  }
  EXPECT_EQ(std::set<std::string>(newest_first.begin(), newest_first.end()).size(), 7u);

  core::RunFilter a;
  a.agent_id = kAgentA;
  EXPECT_EQ(all(a), (std::vector<std::string>{ids[6], ids[4], ids[2], ids[0]}));
  core::RunFilter halted;
  halted.state = core::RunListState::kHalted;
  EXPECT_EQ(all(halted), std::vector<std::string>{ids[1]});
  core::RunFilter ended;
  ended.state = core::RunListState::kEnded;
  EXPECT_EQ(all(ended), std::vector<std::string>{ids[0]});
  core::RunFilter active;
  active.state = core::RunListState::kActive;
  active.limit = 1;
  EXPECT_EQ(all(active).size(), 5u);
  core::RunFilter window;
  window.started_since = T0() + std::chrono::seconds(1);
  window.started_until = T0() + std::chrono::seconds(3);
  std::vector<std::string> w = all(window);
  EXPECT_EQ(std::set<std::string>(w.begin(), w.end()),
            (std::set<std::string>{ids[2], ids[3], ids[4], ids[5]}));
  EXPECT_EQ(core::RunListStateName(*f.store->GetRun(ids[1])), std::string("halted"));
  EXPECT_EQ(core::RunListStateName(*f.store->GetRun(ids[0])), std::string("ended"));
  EXPECT_EQ(core::RunListStateName(*f.store->GetRun(ids[6])), std::string("active"));

  core::RunFilter forged;
  forged.cursor = "12x:run_1";
  EXPECT_EQ(f.store->ListRuns(forged).error().kind, ErrorKind::kInvalidArgument);
  forged.cursor = "99999999999999999999:run_1";
  EXPECT_EQ(f.store->ListRuns(forged).error().kind, ErrorKind::kInvalidArgument);
}

// Tests that every ListRuns query is answered from an index in order (no table scan, no
// sort), so listing stays fast with many runs.
TEST(SqliteStoreListRunsTest, EveryFilterUsesAnIndexWithoutSorting) {
  TempDir dir;
  { Fixture f(dir.File("s.db")); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.File("s.db").c_str(), &db), SQLITE_OK);
  for (bool agent : {false, true}) {
    for (core::RunListState state : {core::RunListState::kAny, core::RunListState::kActive,
                                     core::RunListState::kEnded, core::RunListState::kHalted}) {
      core::RunFilter f;
      if (agent) f.agent_id = "a";
      f.state = state;
      f.started_since = T0();
      f.cursor = "1:run_x";
      const std::string sql = "EXPLAIN QUERY PLAN " + internal::ListRunsSql(f);
      sqlite3_stmt* st = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK)
          << sqlite3_errmsg(db);
      std::string plan;
      while (sqlite3_step(st) == SQLITE_ROW) {
        plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
        plan += '\n';
      }
      sqlite3_finalize(st);
      EXPECT_NE(plan.find(agent ? "runs_agent_started" : "runs_started"), std::string::npos)
          << plan;
      EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
    }
  }
  sqlite3_close(db);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::store
