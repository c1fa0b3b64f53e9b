// A PostgreSQL failover under two `interlock serve` daemons (issue 14, section 4): a primary
// and a streaming standby on 127.0.0.1 (tests/support/pg_cluster.h), both daemons on the
// multi-host URI `postgresql://...@127.0.0.1:P1,127.0.0.1:P2/db?target_session_attrs=
// read-write`; under load the primary is killed (immediate) and, after a window with no
// writable primary, the standby is promoted.
//
// Bounds asserted (docs/operations.md, "PostgreSQL", "Failover"): no call waits longer
// than kMaxCallMs; each daemon allows again within kMaxRecoveryMs of the promotion.
#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include <gtest/gtest.h>

#include "daemon_harness.h"
#include "daemon_policies.h"
#include "pg_cluster.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "wait.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr int kCap = 30;                  // the policy's max_steps
constexpr int64_t kMaxCallMs = 6000;      // no call waits longer, failover or not
constexpr int64_t kMaxRecoveryMs = 5000;  // promoted -> both daemons allow again
// A synchronous standby that stops answering: statement_timeout (5 s) ends the COMMIT.
constexpr int64_t kMaxStalledCommitMs = 8000;
constexpr auto kNoPrimaryWindow = milliseconds(1500);
std::string Code(const HttpResult& r) {
  if (!r.json.is_object()) return "";
  const boost::json::value* c = r.json.as_object().if_contains("code");
  return c != nullptr && c->is_string() ? std::string(c->as_string()) : "";
}

std::string CallId(const HttpResult& r) {
  if (!r.json.is_object()) return "";
  const boost::json::value* c = r.json.as_object().if_contains("call_id");
  return c != nullptr && c->is_string() ? std::string(c->as_string()) : "";
}

// One answered (or failed) request of the load.
struct Answer {
  int phase_before = 0, phase_after = 0;  // Phase at the request's start and end
  int status = 0;
  std::string code, call_id;
  int64_t ms = 0;
};

enum Phase : int { kPrimaryUp = 0, kNoPrimary = 1, kPromoting = 2 };

class FleetFailoverTest : public ::testing::Test {
 protected:
  // Primary + standby "standby1" (synchronous or not), the database, two daemons and a
  // token, all through the multi-host URI.
  void StartFleet(bool synchronous) {
    std::string error;
    PgCluster::Options options;
    options.replication = true;
    if (synchronous) options.synchronous_standby_names = "standby1";
    primary_ = PgCluster::Start(options, &error);
    ASSERT_NE(primary_, nullptr) << error;
    standby_ = primary_->StartStandby("standby1", &error);
    ASSERT_NE(standby_, nullptr) << error;
    ASSERT_TRUE(primary_->WaitForStandby("standby1", std::chrono::seconds(15), &error)) << error;
    const std::string uri = primary_->NewDatabase(&error);
    ASSERT_FALSE(uri.empty()) << error;
    db_ = uri.substr(uri.rfind('/') + 1);
    uri_ = "postgresql://postgres@127.0.0.1:" + std::to_string(primary_->port()) +
           ",127.0.0.1:" + std::to_string(standby_->port()) + "/" + db_ +
           "?target_session_attrs=read-write";
    dir_.Write("policies/fleet.yaml", kFleetAgent);
    for (int i = 0; i < 2; ++i) {
      const std::string d = dir_.path() + "/d" + std::to_string(i);
      std::filesystem::create_directories(d);
      daemons_.push_back(std::make_unique<Daemon>(d, dir_.path() + "/policies"));
      daemons_[i]->SetStore(uri_);
      daemons_[i]->SetExtraArgs({"--keys", dir_.path() + "/keys"});
      ASSERT_TRUE(daemons_[i]->Start()) << daemons_[i]->log();
    }
    token_ = CreateToken(uri_, "--agent", "fleet-agent", {"--keys", dir_.path() + "/keys"});
    ASSERT_FALSE(token_.empty());
  }

  std::string NewRun(int daemon) {
    HttpClient c(daemons_[daemon]->port());
    HttpResult r = c.Request("POST", "/v1/runs", "{}", token_);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json.is_object() ? std::string(r.json.at("run_id").as_string()) : "";
  }

  HttpResult Call(int daemon, const std::string& run) {
    HttpClient c(daemons_[daemon]->port());
    return c.Request("POST", "/v1/runs/" + run + "/calls", R"({"tool":"read_document","args":{}})",
                     token_);
  }

  // SQL on the promoted standby (the new primary).
  std::string NewPrimarySql(const std::string& sql) {
    std::string error;
    std::string out = standby_->Psql(db_, sql, &error);
    EXPECT_EQ(error, "");
    return out;
  }

  // Calls through daemon `d` in a loop until `stop_`, each one recorded with the phases
  // it started and ended in (a fresh run every 20 calls, under the policy's cap).
  void Load(int d) {
    HttpClient c(daemons_[d]->port());
    std::string calls;
    int used = 0;
    while (!stop_) {
      if (calls.empty() || used >= 20) {
        HttpResult run = c.Request("POST", "/v1/runs", "{}", token_);
        if (run.status != 201) {
          Record({phase_, phase_, run.status, Code(run), "", 0});
          std::this_thread::sleep_for(milliseconds(50));  // pace: a refused run's retry
          continue;
        }
        calls = "/v1/runs/" + std::string(run.json.at("run_id").as_string()) + "/calls";
        used = 0;
      }
      Answer a;
      a.phase_before = phase_;
      const auto t0 = Clock::now();
      HttpResult r = c.Request("POST", calls, R"({"tool":"read_document","args":{}})", token_);
      a.ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
      a.phase_after = phase_;
      a.status = r.status;
      a.code = Code(r);
      a.call_id = CallId(r);
      Record(std::move(a));
      ++used;
      std::this_thread::sleep_for(milliseconds(10));  // pace: the load's rate
    }
  }

  void Record(Answer a) {
    std::lock_guard lock(mu_);
    answers_.push_back(std::move(a));
  }

  // How many of the load's calls that started in `phase` were allowed so far.
  int64_t AllowedIn(int phase) {
    std::lock_guard lock(mu_);
    return std::count_if(answers_.begin(), answers_.end(), [&](const Answer& a) {
      return a.phase_before == phase && a.code == "ALLOWED";
    });
  }

  // Polls daemon `d` until a call on a fresh run is allowed; the time that took in ms, or
  // -1 after kMaxRecoveryMs * 2.
  int64_t WaitUntilAllowed(int d) {
    const auto t0 = Clock::now();
    HttpClient c(daemons_[d]->port());
    const bool allowed = WaitUntil([&] { return AllowedInAFreshRun(c, token_, "read_document"); },
                                   milliseconds(kMaxRecoveryMs * 2), milliseconds(50));
    if (!allowed) return -1;
    return std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
  }

  // Under load on both daemons: kill the primary, leave no writable primary for
  // kNoPrimaryWindow, promote the standby, wait until both daemons allow again, stop the
  // load. Asserts (a) and (b); the answers stay in answers_.
  void FailOverUnderLoad() {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) threads.emplace_back([this, t] { Load(t % 2); });
    // Both daemons' load under way on the primary before it dies.
    EXPECT_TRUE(WaitUntil([&] { return AllowedIn(kPrimaryUp) >= 40; }, std::chrono::seconds(20)))
        << "the load got no allows before the failover";
    primary_->Stop();     // SIGQUIT: pg_ctl stop -m immediate
    phase_ = kNoPrimary;  // every request that starts from now on finds no primary
    std::this_thread::sleep_for(kNoPrimaryWindow);  // pace: the outage the test asks for
    phase_ = kPromoting;  // before the promotion starts: it may accept writes any moment
    std::string error;
    const auto promote = Clock::now();
    const bool promoted = standby_->Promote(std::chrono::seconds(15), &error);
    const int64_t promote_ms =
        std::chrono::duration_cast<milliseconds>(Clock::now() - promote).count();
    int64_t recovery_ms[2] = {-1, -1};
    if (promoted) {
      for (int d = 0; d < 2; ++d) recovery_ms[d] = WaitUntilAllowed(d);
      // The load allowed again on the new primary (what (a) below counts).
      WaitUntil([&] { return AllowedIn(kPromoting) >= 20; }, std::chrono::seconds(10));
    }
    stop_ = true;
    for (std::thread& t : threads) t.join();
    ASSERT_TRUE(promoted) << error;

    // (b) Both daemons serve the new primary, without a restart, within the bound.
    for (int d = 0; d < 2; ++d) {
      EXPECT_TRUE(daemons_[d]->Running()) << daemons_[d]->log();
      EXPECT_GE(recovery_ms[d], 0) << "daemon " << d << " did not recover\n" << daemons_[d]->log();
      EXPECT_LE(recovery_ms[d], kMaxRecoveryMs) << "daemon " << d;
    }
    // (a) While no primary was writable, nothing was allowed: every call was denied
    // STORE_UNAVAILABLE or answered 503, and none hung.
    int refused = 0, after = 0;
    int64_t slowest = 0;
    std::map<std::string, int> unexpected;
    for (const Answer& a : answers_) {
      slowest = std::max(slowest, a.ms);
      EXPECT_NE(a.status, 0) << "a request failed or waited past the client's 10 s";
      if (a.phase_before == kNoPrimary && a.phase_after == kNoPrimary) {
        EXPECT_NE(a.code, "ALLOWED") << "allowed while no primary was writable: " << a.call_id;
        if (a.status == 503 || a.code == "STORE_UNAVAILABLE") {
          ++refused;
        } else {
          ++unexpected[std::to_string(a.status) + " " + a.code];
        }
      }
      if (a.phase_before == kPromoting && a.code == "ALLOWED") ++after;
    }
    EXPECT_GT(refused, 0) << "no call ran while no primary was writable";
    EXPECT_TRUE(unexpected.empty()) << unexpected.begin()->first;
    EXPECT_LT(slowest, kMaxCallMs) << "a call waited too long";
    EXPECT_GT(after, 0) << "the load never got an allow from the new primary";
    std::printf(
        "[ failover ] %zu calls, %d refused with no primary, slowest %lld ms, "
        "promote %lld ms, recovery %lld/%lld ms\n",
        answers_.size(), refused, static_cast<long long>(slowest),
        static_cast<long long>(promote_ms), static_cast<long long>(recovery_ms[0]),
        static_cast<long long>(recovery_ms[1]));
  }

  TempDir dir_;
  std::unique_ptr<PgCluster> primary_, standby_;  // destroyed (stopped, removed) last-in
  std::string db_, uri_, token_;
  std::vector<std::unique_ptr<Daemon>> daemons_;
  std::atomic<int> phase_{kPrimaryUp};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Answer> answers_;
};

// Tests a failover to a synchronous standby under load on two daemons: nothing is allowed
// while no primary is writable and no call hangs (a); both daemons allow again on the new
// primary without a restart (b); every decision answered is in the new primary's audit
// log, whose chain verifies (c); a run started before the failover keeps its step count and
// its cap (e); a kill switch engaged afterwards holds on both daemons (d).
TEST_F(FleetFailoverTest, SynchronousStandbyPromotedUnderLoadLosesNoAnsweredDecision) {
  ASSERT_NO_FATAL_FAILURE(StartFleet(/*synchronous=*/true));
  // (e) A run with 10 steps spent before the failover, through both daemons.
  const std::string run = NewRun(0);
  ASSERT_FALSE(run.empty());
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Code(Call(i % 2, run)), "ALLOWED");

  ASSERT_NO_FATAL_FAILURE(FailOverUnderLoad());

  // (c) Every decision either daemon answered, before or after the failover, is on the new
  // primary, and the chain verifies there.
  std::string ids;
  size_t decided = 0;
  for (const Answer& a : answers_) {
    if (a.status != 200 || a.call_id.empty() || a.code == "STORE_UNAVAILABLE") continue;
    ids += (ids.empty() ? "'" : ",'") + a.call_id + "'";
    ++decided;
  }
  ASSERT_GT(decided, 0u);
  EXPECT_EQ(
      NewPrimarySql("SELECT count(*) FROM audit_log WHERE type = 'decision' AND call_id IN (" +
                    ids + ")"),
      std::to_string(decided) + "\n");
  EXPECT_EQ(NewPrimarySql("SELECT count(*) FROM calls WHERE call_id IN (" + ids + ")"),
            std::to_string(decided) + "\n");
  int rc = -1;
  const std::string verify = RunInterlock({"audit", "verify", "--store", standby_->Uri(db_)}, &rc);
  EXPECT_EQ(rc, 0) << verify;
  EXPECT_NE(verify.find("ok: "), std::string::npos) << verify;

  // (e) The run kept its 10 steps: exactly kCap - 10 more are allowed, on either daemon.
  EXPECT_EQ(NewPrimarySql("SELECT steps FROM runs WHERE run_id = '" + run + "'"), "10\n");
  int allowed = 0;
  for (int i = 0; i < kCap - 10 + 2; ++i) allowed += Code(Call(i % 2, run)) == "ALLOWED";
  EXPECT_EQ(allowed, kCap - 10);

  // (d) A kill switch engaged store-direct after the failover holds on both daemons.
  const std::string fresh[2] = {NewRun(0), NewRun(1)};
  const std::string kill = RunInterlock(
      {"kill", "engage", "--store", uri_, "--agent", "fleet-agent", "--reason", "after failover"},
      &rc);
  ASSERT_EQ(rc, 0) << kill;
  for (int d = 0; d < 2; ++d) {
    HttpResult r = Call(d, fresh[d]);
    EXPECT_EQ(Code(r), "KILL_SWITCH") << "daemon " << d << ": " << r.body;
  }
}

// Tests the failure a synchronous standby that stops answering caused (a regression test):
// the primary's COMMIT waits for it, and that wait ignores statement_timeout, so a daemon's
// writer hung in the COMMIT with every call behind it; cancelled, PostgreSQL reports the
// COMMIT done (a WARNING: committed locally, maybe not replicated), which must not become
// an allow that the next failover loses. Each call is denied STORE_UNAVAILABLE within
// kMaxStalledCommitMs, each daemon logs the unconfirmed COMMIT, and calls are allowed
// again once the standby is back.
TEST_F(FleetFailoverTest, StalledSynchronousStandbyHangsNoCallAndAllowsNone) {
  ASSERT_NO_FATAL_FAILURE(StartFleet(/*synchronous=*/true));
  const std::string run = NewRun(0);
  ASSERT_FALSE(run.empty());
  ASSERT_EQ(Code(Call(0, run)), "ALLOWED");
  standby_->Stop();
  for (int d = 0; d < 2; ++d) {
    const auto t0 = Clock::now();
    HttpResult r = Call(d, run);
    const int64_t ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
    EXPECT_EQ(Code(r), "STORE_UNAVAILABLE") << "daemon " << d << ": " << r.body;
    EXPECT_LT(ms, kMaxStalledCommitMs) << "daemon " << d;
    std::printf("[ stalled  ] daemon %d: %lld ms, %s\n", d, static_cast<long long>(ms),
                r.body.c_str());
    // The rows of that COMMIT stay on the primary: the daemon says so where on-call looks.
    EXPECT_NE(daemons_[d]->log().find("postgresql COMMIT not confirmed"), std::string::npos)
        << daemons_[d]->log();
  }
  std::string error;
  ASSERT_TRUE(standby_->Restart(&error)) << error;
  ASSERT_TRUE(primary_->WaitForStandby("standby1", std::chrono::seconds(15), &error)) << error;
  for (int d = 0; d < 2; ++d) {
    EXPECT_GE(WaitUntilAllowed(d), 0) << "daemon " << d << "\n" << daemons_[d]->log();
  }
}

// Tests what a failover to an asynchronous standby loses, and what it keeps: decisions the
// primary committed and answered but had not shipped yet (its WAL sender stopped) are not
// on the new primary and their steps are spent again, while the new primary's chain is a
// consistent shorter chain that `audit verify` accepts, and both daemons serve it.
TEST_F(FleetFailoverTest, AsynchronousStandbyLosesTheUnshippedTailButItsChainVerifies) {
  ASSERT_NO_FATAL_FAILURE(StartFleet(/*synchronous=*/false));
  const std::string run = NewRun(0);
  ASSERT_FALSE(run.empty());
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Code(Call(i % 2, run)), "ALLOWED");
  // The standby has replayed those five.
  std::string error, steps;
  WaitUntil([&] {
    steps = standby_->Psql(db_, "SELECT steps FROM runs WHERE run_id = '" + run + "'", &error);
    return steps == "5\n";
  });
  ASSERT_EQ(steps, "5\n") << error;
  const std::string sender = primary_->Psql(
      "postgres", "SELECT pid FROM pg_stat_replication WHERE application_name = 'standby1'",
      &error);
  ASSERT_FALSE(sender.empty()) << error;
  const pid_t sender_pid = static_cast<pid_t>(std::stol(sender));
  ASSERT_EQ(kill(sender_pid, SIGSTOP), 0);
  std::vector<std::string> lost;
  for (int i = 0; i < 3; ++i) {
    HttpResult r = Call(i % 2, run);
    ASSERT_EQ(Code(r), "ALLOWED") << r.body;  // asynchronous: the commit waits for nobody
    lost.push_back(CallId(r));
  }
  kill(sender_pid, SIGKILL);  // it never ships them
  primary_->Stop();
  ASSERT_TRUE(standby_->Promote(std::chrono::seconds(15), &error)) << error;
  for (int d = 0; d < 2; ++d) {
    EXPECT_GE(WaitUntilAllowed(d), 0) << "daemon " << d << "\n" << daemons_[d]->log();
  }
  EXPECT_EQ(NewPrimarySql("SELECT count(*) FROM audit_log WHERE call_id IN ('" + lost[0] + "','" +
                          lost[1] + "','" + lost[2] + "')"),
            "0\n");
  EXPECT_EQ(NewPrimarySql("SELECT steps FROM runs WHERE run_id = '" + run + "'"), "5\n");
  int rc = -1;
  const std::string verify = RunInterlock({"audit", "verify", "--store", standby_->Uri(db_)}, &rc);
  EXPECT_EQ(rc, 0) << verify;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
