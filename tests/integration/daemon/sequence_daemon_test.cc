// Sequences over HTTP (issue 15): the real `interlock serve` with the shipped example
// policies (release-agent, inbox-agent, notifier-agent) on a SQLite store. Results reported
// through POST /v1/calls/{id}/result move the release workflow (and the state survives a
// daemon restart); rate limits and the daily cost quota hold across runs of one agent; the
// inbox flow rule needs approval once both labels were seen.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "json_lines.h"
#include "open_run.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;

std::string Code(const HttpResult& r) {
  const std::string c = Str(r.json, "code");
  return c.empty() ? "<" + std::to_string(r.status) + " " + r.body + ">" : c;
}

class SequenceDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policies_ = dir_.path() + "/policies";
    std::filesystem::create_directories(policies_);
    const std::string examples = std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies/";
    for (const char* name : {"release-agent.yaml", "inbox-agent.yaml", "notifier-agent.yaml"}) {
      std::filesystem::copy_file(examples + name, policies_ + "/" + name);
    }
    daemon_ = std::make_unique<Daemon>(dir_.path(), policies_);
    release_ = CreateToken(daemon_->store(), "--agent", "release-agent");
    inbox_ = CreateToken(daemon_->store(), "--agent", "inbox-agent");
    notifier_ = CreateToken(daemon_->store(), "--agent", "notifier-agent");
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }
  void TearDown() override {
    client_.reset();
    if (daemon_) daemon_->Stop();
  }
  void Restart() {
    client_.reset();
    ASSERT_EQ(daemon_->Stop(), 0);
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }

  std::string NewRun(const std::string& token) { return OpenRun(*client_, token); }
  HttpResult Call(const std::string& token, const std::string& run, const json::object& body) {
    return client_->Request("POST", "/v1/runs/" + run + "/calls", json::serialize(body), token);
  }
  int Result(const std::string& token, const HttpResult& call, bool ok) {
    return client_
        ->Request("POST", "/v1/calls/" + Str(call.json, "call_id") + "/result",
                  ok ? R"({"ok":true})" : R"({"ok":false,"error":"failed"})", token)
        .status;
  }
  json::object Workflow(const std::string& token, const std::string& run) {
    HttpResult r = client_->Request("GET", "/v1/runs/" + run, "", token);
    EXPECT_EQ(r.status, 200) << r.body;
    if (!r.json.is_object()) return {};
    const json::value* w = r.json.as_object().if_contains("workflow");
    return w != nullptr && w->is_object() ? w->as_object() : json::object{};
  }

  TempDir dir_;
  std::string policies_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
  std::string release_, inbox_, notifier_;
};

json::object Deploy(const char* env, const char* version) {
  return {{"tool", "deploy_service"},
          {"args", {{"environment", env}, {"service", "api"}, {"version", version}}}};
}
json::object Tests(const char* version) {
  return {{"tool", "run_tests"}, {"args", {{"version", version}}}};
}
json::object Rollback() {
  return {{"tool", "rollback_service"}, {"args", {{"environment", "staging"}, {"service", "api"}}}};
}

// Tests the release workflow of the issue end to end, results reported over HTTP.
TEST_F(SequenceDaemonTest, ResultsAdvanceTheReleaseWorkflowOverHttp) {
  const std::string& t = release_;
  const std::string run = NewRun(t);
  EXPECT_EQ(Str(Workflow(t, run), "state"), "untested");
  EXPECT_EQ(Code(Call(t, run, {{"tool", "get_deployment_status"}, {"args", json::object{}}})),
            "ALLOWED");
  EXPECT_EQ(Code(Call(t, run, Deploy("staging", "v1.2.3"))), "WORKFLOW_VIOLATION");
  EXPECT_EQ(Code(Call(t, run, Rollback())), "WORKFLOW_VIOLATION");
  EXPECT_EQ(Code(Call(t, run, {{"tool", "delete_environment"}, {"args", json::object{}}})),
            "TOOL_BLOCKED");
  // Tests reported as an error: the run stays where it was.
  HttpResult failed = Call(t, run, Tests("v1.2.3"));
  ASSERT_EQ(Code(failed), "ALLOWED");
  EXPECT_EQ(Result(t, failed, false), 204);
  EXPECT_EQ(Str(Workflow(t, run), "state"), "untested");
  HttpResult passed = Call(t, run, Tests("v1.2.3"));
  ASSERT_EQ(Code(passed), "ALLOWED");
  EXPECT_EQ(Result(t, passed, true), 204);
  json::object wf = Workflow(t, run);
  EXPECT_EQ(Str(wf, "state"), "tested");
  EXPECT_EQ(json::serialize(wf["vars"]), R"({"tested_version":"v1.2.3"})");

  Restart();  // the workflow state is in the store, not in the daemon
  EXPECT_EQ(Code(Call(t, run, Deploy("production", "v1.2.3"))), "WORKFLOW_VIOLATION");
  EXPECT_EQ(Code(Call(t, run, Deploy("staging", "v9.9.9"))), "WORKFLOW_VIOLATION");
  HttpResult staging_failed = Call(t, run, Deploy("staging", "v1.2.3"));
  ASSERT_EQ(Code(staging_failed), "ALLOWED");
  EXPECT_EQ(Result(t, staging_failed, false), 204);
  EXPECT_EQ(Str(Workflow(t, run), "state"), "tested");  // it may retry
  HttpResult staged = Call(t, run, Deploy("staging", "v1.2.3"));
  ASSERT_EQ(Code(staged), "ALLOWED");
  EXPECT_EQ(Result(t, staged, true), 204);
  EXPECT_EQ(Str(Workflow(t, run), "state"), "staged");
  EXPECT_EQ(Code(Call(t, run, Deploy("production", "v1.2.3"))), "APPROVAL_REQUIRED");
  EXPECT_EQ(Code(Call(t, run, Deploy("production", "v9.9.9"))), "WORKFLOW_VIOLATION");
  EXPECT_EQ(Code(Call(t, run, Rollback())), "ALLOWED");
  // A second result for one call is refused and moves nothing.
  EXPECT_EQ(Result(t, staged, true), 409);
}

json::object Note(const char* channel = "#ops") {
  return {{"tool", "send_notification"}, {"args", {{"channel", channel}, {"text", "hi"}}}};
}

// Tests that the rate limit holds across runs of one agent, with retry_after_s.
TEST_F(SequenceDaemonTest, RateLimitHoldsAcrossRunsOfOneAgent) {
  const std::string r1 = NewRun(notifier_), r2 = NewRun(notifier_);
  EXPECT_EQ(Code(Call(notifier_, r1, Note("not a channel"))), "CONSTRAINT_VIOLATED");  // no count
  EXPECT_EQ(Code(Call(notifier_, r1, Note())), "ALLOWED");
  EXPECT_EQ(Code(Call(notifier_, r2, Note())), "ALLOWED");
  EXPECT_EQ(Code(Call(notifier_, r1, Note())), "ALLOWED");
  HttpResult limited = Call(notifier_, r2, Note());
  EXPECT_EQ(Code(limited), "RATE_LIMITED");
  const json::value* retry =
      limited.json.is_object() ? limited.json.as_object().if_contains("retry_after_s") : nullptr;
  ASSERT_NE(retry, nullptr) << limited.body;
  EXPECT_GT(retry->to_number<int64_t>(), 0);
  EXPECT_LE(retry->to_number<int64_t>(), 60);
  const std::string r3 = NewRun(notifier_);
  EXPECT_EQ(Code(Call(notifier_, r3, Note())), "RATE_LIMITED");
  EXPECT_EQ(
      Code(Call(notifier_, r3, {{"tool", "get_channel_info"}, {"args", {{"channel", "#a"}}}})),
      "ALLOWED");
}

// Tests the daily cost quota across runs: usage reported in calls and results counts.
TEST_F(SequenceDaemonTest, DailyCostQuotaCountsUsageOfEveryRun) {
  auto info = [](double cost) {
    return json::object{{"tool", "get_channel_info"},
                        {"args", {{"channel", "#a"}}},
                        {"usage", {{"tokens", 10}, {"cost_usd", cost}}}};
  };
  const std::string r1 = NewRun(notifier_), r2 = NewRun(notifier_), r3 = NewRun(notifier_);
  HttpResult first = Call(notifier_, r1, info(0.40));
  ASSERT_EQ(Code(first), "ALLOWED");
  EXPECT_EQ(client_
                ->Request("POST", "/v1/calls/" + Str(first.json, "call_id") + "/result",
                          R"({"ok":true,"usage":{"cost_usd":0.30}})", notifier_)
                .status,
            204);
  EXPECT_EQ(Code(Call(notifier_, r2, info(0.25))), "ALLOWED");  // 0.95 today
  HttpResult over = Call(notifier_, r3, info(0.10));            // would be 1.05
  EXPECT_EQ(Code(over), "QUOTA_EXCEEDED") << over.body;
}

// Tests the inbox flow rule over HTTP: both labels seen, in either order, need approval.
TEST_F(SequenceDaemonTest, InboxFlowNeedsApprovalOnceBothLabelsWereSeen) {
  const json::object send{{"tool", "send_email"},
                          {"args", {{"to", "a@example.com"}, {"subject", "s"}, {"body", "b"}}}};
  const json::object note{{"tool", "add_internal_note"}, {"args", {{"text", "t"}}}};
  const json::object read{{"tool", "read_inbox"}, {"args", {{"folder", "inbox"}}}};
  const json::object search{{"tool", "search_customers"}, {"args", {{"query", "acme"}}}};
  const std::string run = NewRun(inbox_);
  EXPECT_EQ(Code(Call(inbox_, run, send)), "ALLOWED");
  EXPECT_EQ(Code(Call(inbox_, run, search)), "ALLOWED");
  EXPECT_EQ(Code(Call(inbox_, run, send)), "ALLOWED");
  EXPECT_EQ(Code(Call(inbox_, run, read)), "ALLOWED");
  HttpResult gated = Call(inbox_, run, send);
  EXPECT_EQ(Code(gated), "APPROVAL_REQUIRED");
  EXPECT_NE(Str(gated.json, "reason").find("flow"), std::string::npos) << gated.body;
  EXPECT_EQ(Code(Call(inbox_, run, note)), "ALLOWED");
  HttpResult info = client_->Request("GET", "/v1/runs/" + run, "", inbox_);
  ASSERT_EQ(info.status, 200);
  EXPECT_EQ(json::serialize(info.json.as_object().at("labels")),
            R"(["external_communication","private_data","untrusted_content"])")
      << info.body;
  // The other order, in a fresh run.
  const std::string other = NewRun(inbox_);
  EXPECT_EQ(Code(Call(inbox_, other, read)), "ALLOWED");
  EXPECT_EQ(Code(Call(inbox_, other, send)), "ALLOWED");
  EXPECT_EQ(Code(Call(inbox_, other, search)), "ALLOWED");
  EXPECT_EQ(Code(Call(inbox_, other, send)), "APPROVAL_REQUIRED");
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
