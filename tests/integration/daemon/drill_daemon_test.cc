// Kill-switch drills against the real daemon (issue 59, docs/drill.md): `interlock drill`
// engages the drill agent's switch, every door this daemon serves (the HTTP API, the Claude
// Code hook, /mcp/{upstream}) refuses its next call with KILL_SWITCH, the switch is
// released, the drill is recorded; a drill never touches a real agent, never starts an MCP
// server, and its decisions stay out of metrics totals and the default runs list.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "daemon_policies.h"
#include "daemon_suite.h"
#include "json_lines.h"
#include "temp_dir.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

class DrillDaemonTest : public DaemonSuite {
 protected:
  void SetUp() override {
    const std::string policies = WritePolicies({{"ping-agent.yaml", kPingAgent}});
    // An upstream whose start would leave a mark: a drill must never start it.
    marker_ = dir_.path() + "/upstream-started";
    const std::string config = dir_.path() + "/config.yaml";
    std::ofstream(config) << "mcp:\n  upstreams:\n    notes:\n      command: [\"/bin/sh\", \"-c\", "
                             "\"touch "
                          << marker_ << "\"]\ndrill:\n  warn_after_days: 7\n";
    MakeDaemon(policies, config);
    ping_ = Token("--agent", "ping-agent");
    admin_ = Token("--admin", "oncall");
    reviewer_ = Token("--reviewer", "rita");
    StartDaemon();
    ::setenv("IL_DRILL_TEST_ADMIN", admin_.c_str(), 1);
    ::setenv("IL_DRILL_TEST_REVIEWER", reviewer_.c_str(), 1);
  }

  std::string Drill(const std::string& token_env, int* code, bool status = false) {
    std::vector<std::string> args = {"drill", "--url",
                                     "http://127.0.0.1:" + std::to_string(daemon_->port()),
                                     "--token-env", token_env};
    if (status) args.push_back("--status");
    return RunInterlock(args, code);
  }

  std::string marker_;
  std::string ping_, admin_, reviewer_;
};

// Tests the drill end to end: every door this daemon serves answered KILL_SWITCH (with its
// latency), the drill is recorded in the audit chain with its actor, the switch was engaged
// and released by the admin (two kill_switch records), none is left engaged, and the MCP
// upstream was never started.
TEST_F(DrillDaemonTest, EveryDoorRefusesTheDrillAgentWhileItsSwitchIsEngaged) {
  int code = -1;
  const std::string before = Drill("IL_DRILL_TEST_REVIEWER", &code, /*status=*/true);
  EXPECT_EQ(code, 1) << "no drill yet is a warning: " << before;
  const std::string out = Drill("IL_DRILL_TEST_ADMIN", &code);
  ASSERT_EQ(code, 0) << out << daemon_->log();
  for (const char* door : {"http_api", "claude_code_hook", "mcp"}) {
    EXPECT_NE(out.find(door), std::string::npos) << door << " missing from: " << out;
  }
  EXPECT_NE(out.find("PASSED"), std::string::npos) << out;
  EXPECT_NE(out.find("recorded in the audit chain"), std::string::npos) << out;

  HttpResult status = client_->Request("GET", "/v1/drills", "", reviewer_);
  ASSERT_EQ(status.status, 200) << status.body;
  const json::object& last = status.json.at("last").as_object();
  EXPECT_EQ(last.at("type").as_string(), "drill");
  EXPECT_EQ(last.at("principal").as_string(), "oncall");
  const json::object& data = last.at("data").as_object();
  EXPECT_TRUE(data.at("passed").as_bool());
  ASSERT_EQ(data.at("doors").as_array().size(), 3u);
  for (const json::value& d : data.at("doors").as_array()) {
    EXPECT_EQ(Str(d, "code"), "KILL_SWITCH") << json::serialize(d);
    EXPECT_TRUE(d.at("latency_ms").is_number());
  }
  EXPECT_FALSE(status.json.at("overdue").as_bool());
  EXPECT_EQ(status.json.at("warn_after_s").to_number<int64_t>(), 7 * 86400);
  EXPECT_EQ(
      Drill("IL_DRILL_TEST_REVIEWER", &code, /*status=*/true).find("PASSED") != std::string::npos,
      true);
  EXPECT_EQ(code, 0);

  HttpResult kills = client_->Request("GET", "/v1/audit?type=kill_switch", "", admin_);
  ASSERT_EQ(kills.status, 200) << kills.body;
  int engaged = 0, released = 0;
  for (const json::value& rec : kills.json.at("records").as_array()) {
    EXPECT_EQ(Str(rec, "principal"), "oncall");
    const json::object& d = rec.at("data").as_object();
    (d.at("engaged").as_bool() ? engaged : released) += 1;
  }
  EXPECT_EQ(engaged, 1);
  EXPECT_EQ(released, 1);
  HttpResult switches = client_->Request("GET", "/v1/kill", "", admin_);
  ASSERT_EQ(switches.status, 200);
  for (const json::value& k : switches.json.at("kill_switches").as_array()) {
    EXPECT_FALSE(k.at("engaged").as_bool()) << json::serialize(k);
  }
  EXPECT_FALSE(std::filesystem::exists(marker_)) << "the drill started the MCP upstream";
}

// Tests that a drill never touches a real agent: its open run stays open and its next call
// is allowed; the drill's runs and decisions stay out of the default runs list and the
// decisions totals (counted apart), and are listed when asked for by the drill agent.
TEST_F(DrillDaemonTest, NeverTouchesARealAgentOrItsFigures) {
  HttpResult run = client_->Request("POST", "/v1/runs", "", ping_);
  ASSERT_EQ(run.status, 201) << run.body;
  const std::string run_id = Str(run.json, "run_id");
  int code = -1;
  const std::string out = Drill("IL_DRILL_TEST_ADMIN", &code);
  ASSERT_EQ(code, 0) << out;
  HttpResult call = client_->Request("POST", "/v1/runs/" + run_id + "/calls",
                                     R"({"tool":"ping","args":{}})", ping_);
  ASSERT_EQ(call.status, 200) << call.body;
  EXPECT_EQ(Str(call.json, "code"), "ALLOWED") << call.body;

  HttpResult runs = client_->Request("GET", "/v1/runs", "", admin_);
  ASSERT_EQ(runs.status, 200);
  ASSERT_EQ(runs.json.at("runs").as_array().size(), 1u) << runs.body;
  EXPECT_EQ(Str(runs.json.at("runs").as_array()[0], "run_id"), run_id);
  HttpResult drills = client_->Request("GET", "/v1/runs?agent=interlock-drill", "", admin_);
  ASSERT_EQ(drills.status, 200);
  EXPECT_GE(drills.json.at("runs").as_array().size(), 2u) << drills.body;
  for (const json::value& r : drills.json.at("runs").as_array()) {
    EXPECT_EQ(Str(r, "state"), "ended") << json::serialize(r);
  }

  HttpResult metrics = client_->Request("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.body.find("agent=\"interlock-drill\""), std::string::npos);
  // One a door (the HTTP API, the hook, MCP over HTTP: the core counts every door's).
  EXPECT_NE(metrics.body.find("interlock_drill_decisions_total 3\n"), std::string::npos)
      << metrics.body.substr(0, 2000);
}

// Tests who may drill: an admin only; a reviewer or an agent is refused 403 and nothing is
// recorded; an agent cannot read drills either.
TEST_F(DrillDaemonTest, OnlyAnAdminMayDrill) {
  EXPECT_EQ(client_->Request("POST", "/v1/drills", "{}", reviewer_).status, 403);
  EXPECT_EQ(client_->Request("POST", "/v1/drills", "{}", ping_).status, 403);
  EXPECT_EQ(client_->Request("POST", "/v1/drills", "{}", "").status, 401);
  EXPECT_EQ(client_->Request("GET", "/v1/drills", "", ping_).status, 403);
  // Bad input is refused with a body, and no drill runs.
  HttpResult bad = client_->Request("POST", "/v1/drills", R"({"doors":["http_api"]})", admin_);
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("doors"), std::string::npos) << bad.body;
  EXPECT_EQ(client_->Request("POST", "/v1/drills", "[1]", admin_).status, 400);
  HttpResult status = client_->Request("GET", "/v1/drills", "", admin_);
  ASSERT_EQ(status.status, 200);
  EXPECT_TRUE(status.json.at("last").is_null());
  EXPECT_TRUE(status.json.at("overdue").as_bool());
}

// Tests that `interlock doctor` warns while there has been no drill, and reports the last
// one once it passed (read from the store, read-only, the daemon running).
TEST_F(DrillDaemonTest, DoctorReportsTheLastDrill) {
  const std::vector<std::string> doctor = {"doctor", "--store", daemon_->store(), "--policies",
                                           dir_.path() + "/policies"};
  int code = -1;
  std::string out = RunInterlock(doctor, &code);
  EXPECT_NE(out.find("warn no kill-switch drill on record"), std::string::npos) << out;
  Drill("IL_DRILL_TEST_ADMIN", &code);
  ASSERT_EQ(code, 0);
  out = RunInterlock(doctor, &code);
  EXPECT_NE(out.find("ok   kill-switch drill passed"), std::string::npos) << out;
}

// Tests that the drill agent cannot be impersonated: no token may name it, and a policy
// that defines it is refused with its file:line:column.
TEST_F(DrillDaemonTest, TheDrillAgentIsReserved) {
  int code = -1;
  RunInterlock(
      {"token", "create", "--store", daemon_->store(), "--agent", "interlock-drill", "--force"},
      &code);
  EXPECT_NE(code, 0);
  const std::string policy = dir_.path() + "/drill-agent.yaml";
  std::ofstream(policy) << "agent:\n  id: \"interlock-drill\"\n  identity: \"x@example\"\n"
                           "tools:\n  allowed:\n    - name: \"ping\"\n";
  const std::string out = RunInterlock({"check", "--format", "json", policy}, &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("drill-agent.yaml\",\"line\":2,\"column\":7"), std::string::npos) << out;
  EXPECT_NE(out.find("reserved"), std::string::npos) << out;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
