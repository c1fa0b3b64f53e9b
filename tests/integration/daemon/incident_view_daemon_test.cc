// The incident view's figures (issue 56): a run's elapsed time is true whether it is open or
// ended, the limits it reached are named, a run past its wall-clock limit is halted at its
// deadline (not at its next call), and a kill switch can end the runs it covers.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "daemon_policies.h"
#include "daemon_suite.h"
#include "json_lines.h"
#include "open_run.h"
#include "temp_dir.h"
#include "wait.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr char kClockAgent[] = R"(agent:
  id: "clock-agent"
  identity: "clock-agent@example.iam"
tools:
  allowed:
    - name: "ping"
execution:
  max_steps: 1000
  max_wall_clock_seconds: 1
)";

class IncidentViewTest : public DaemonSuite {
 protected:
  void SetUp() override {
    const std::string policies =
        WritePolicies({{"clock-agent.yaml", kClockAgent}, {"ping-agent.yaml", kPingAgent}});
    MakeDaemon(policies);
    clock_ = Token("--agent", "clock-agent");
    ping_ = Token("--agent", "ping-agent");
    admin_ = Token("--admin", "oncall");
    StartDaemon();
  }

  std::string NewRun(const std::string& token) { return OpenRun(*client_, token); }

  json::value Run(const std::string& run, const std::string& token) {
    HttpResult r = client_->Request("GET", "/v1/runs/" + run, "", token);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json;
  }

  int CountAudit(const std::string& run, const std::string& type, const std::string& text) {
    HttpResult r = client_->Request("GET", "/v1/audit?run_id=" + run, "", admin_);
    EXPECT_EQ(r.status, 200) << r.body;
    int n = 0;
    for (const auto& rec : r.json.at("records").as_array()) {
      if (Str(rec, "type") == type && json::serialize(rec).find(text) != std::string::npos) ++n;
    }
    return n;
  }

  std::string clock_, ping_, admin_;
};

// Tests that an ended run reports the time it actually lasted (it said 0.0 s), and that the
// figure stays put once it ended.
TEST_F(IncidentViewTest, EndedRunReportsTheTimeItLasted) {
  const std::string run = NewRun(ping_);
  std::this_thread::sleep_for(1200ms);  // pace: the run lasts a while
  ASSERT_EQ(client_->Request("POST", "/v1/runs/" + run + "/end", "", ping_).status, 204);
  const json::value ended = Run(run, ping_);
  ASSERT_TRUE(ended.at("ended").as_bool()) << ended;
  const double lasted = ended.at("elapsed_s").to_number<double>();
  EXPECT_GE(lasted, 1.1) << ended;
  EXPECT_LT(lasted, 30.0) << ended;
  EXPECT_FALSE(Str(ended, "ended_at").empty()) << ended;
  std::this_thread::sleep_for(600ms);  // pace: time for the figure to move, wrongly
  EXPECT_EQ(Run(run, ping_).at("elapsed_s").to_number<double>(), lasted);
}

// Tests that a run past its wall-clock limit is halted when the deadline passes, without
// any further call (it used to stay "active" until its next call), that the audit says who
// halted it and why, and that the run names the limit it reached.
TEST_F(IncidentViewTest, RunPastItsWallClockIsHaltedAtItsDeadlineNotAtItsNextCall) {
  const std::string run = NewRun(clock_);
  json::value now;
  WaitUntil([&] { return (now = Run(run, clock_)).at("halted").as_bool(); }, 20s, 100ms);
  ASSERT_TRUE(now.at("halted").as_bool()) << now;
  EXPECT_EQ(Str(now, "state"), "halted") << now;
  EXPECT_NE(Str(now, "halt_reason").find("wall-clock limit"), std::string::npos) << now;
  EXPECT_EQ(json::serialize(now.at("limits_reached")), R"(["elapsed_s"])") << now;
  EXPECT_EQ(CountAudit(run, "run_halted", "interlock (wall-clock deadline)"), 1);
  EXPECT_EQ(now.at("steps").to_number<int64_t>(), 0) << "halted without a call";
  HttpResult next =
      client_->Request("POST", "/v1/runs/" + run + "/calls", R"({"tool":"ping"})", clock_);
  EXPECT_EQ(Str(next.json, "code"), "RUN_HALTED") << next.body;
}

// Tests that a kill switch engaged with end_runs ends the open runs it covers (recorded in
// the kill_switch record and a run_ended record each), and no run of another agent.
TEST_F(IncidentViewTest, KillSwitchWithEndRunsEndsTheRunsItCoversOnly) {
  const std::string a = NewRun(ping_), b = NewRun(ping_), other = NewRun(clock_);
  HttpResult bad = client_->Request(
      "POST", "/v1/kill",
      R"({"scope":"agent","target":"ping-agent","engaged":false,"end_runs":true})", admin_);
  EXPECT_EQ(bad.status, 400) << bad.body;
  HttpResult k = client_->Request(
      "POST", "/v1/kill",
      R"({"scope":"agent","target":"ping-agent","engaged":true,"reason":"runaway","end_runs":true})",
      admin_);
  ASSERT_EQ(k.status, 200) << k.body;
  EXPECT_EQ(k.json.at("runs_ended").to_number<int64_t>(), 2) << k.body;
  EXPECT_TRUE(Run(a, admin_).at("ended").as_bool());
  EXPECT_TRUE(Run(b, admin_).at("ended").as_bool());
  EXPECT_FALSE(Run(other, admin_).at("ended").as_bool());
  EXPECT_EQ(CountAudit(a, "run_ended", "\"state\""), 1);
  HttpResult trail = client_->Request("GET", "/v1/audit?type=kill_switch", "", admin_);
  ASSERT_EQ(trail.status, 200) << trail.body;
  EXPECT_NE(trail.body.find("\"end_runs\":true"), std::string::npos) << trail.body;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
