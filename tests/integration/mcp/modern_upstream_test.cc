// A 2026-07-28 MCP server behind `interlock mcp` (the stdio door): the official v2 server
// SDK (@modelcontextprotocol/server 2.4.0, node/modern_server.mjs, modern only) reached by
// the v1 SDK client (a 2025 client) and by a raw modern client. Pipes only, temporary
// directories, every child bounded by RunProcess.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "json_lines.h"
#include "node_suite.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "test_paths.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
using testing::ById;
using testing::Count;
using testing::ParseLastLine;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

using testing::kInterlock;
using testing::kNodeDir;

class McpModernUpstreamTest : public testing::NodeSuite {
 protected:
  void SetUp() override {
    ASSERT_EQ(setup_error_, "");
    policy_ = tmp_.Write("policy.yaml",
                         "agent:\n  id: \"md\"\n  identity: \"md@test\"\n  autonomy: audit_based\n"
                         "tools:\n  allowed:\n    - name: \"echo\"\n    - name: \"confirm\"\n"
                         "  blocked:\n    - \"delete_file\"\n");
    log_ = tmp_.path() + "/calls.log";
    store_ = tmp_.path() + "/s.db";
  }
  std::vector<std::string> Through() const {
    return {kInterlock, "mcp",     "--policy",
            policy_,    "--store", store_,
            "--",       "node",    kNodeDir + "/modern_server.mjs",
            "stdio",    log_};
  }
  // `interlock mcp` in front of node/tasks_server.mjs (the tasks extension), with a policy
  // allowing build (scope: target), approve and echo.
  std::vector<std::string> ThroughTasks() {
    const std::string policy =
        tmp_.Write("tasks-policy.yaml",
                   "agent:\n  id: \"md\"\n  identity: \"md@test\"\n  autonomy: audit_based\n"
                   "tools:\n  allowed:\n    - name: \"build\"\n      scope: [\"target\"]\n"
                   "    - name: \"approve\"\n    - name: \"echo\"\n");
    return {kInterlock, "mcp",     "--policy",
            policy,     "--store", store_,
            "--",       "node",    kNodeDir + "/tasks_server.mjs",
            "stdio",    log_};
  }
  // The raw tasks client (node/raw_tasks_client.mjs) running `scenario` through ThroughTasks;
  // the messages it received.
  json::array RunTasksClient(const std::string& scenario) {
    std::vector<std::string> argv = {"/usr/bin/env", "node", kNodeDir + "/raw_tasks_client.mjs",
                                     scenario, "--"};
    for (const auto& a : ThroughTasks()) argv.push_back(a);
    ProcessResult r = RunProcess(argv, "", std::chrono::seconds(90));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const json::value v = json::parse(r.out.substr(r.out.rfind('{', r.out.find("\"exit\""))));
    return v.at("messages").as_array();
  }
  std::string Log() const {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::string Audit() const {
    ProcessResult r =
        RunProcess({kInterlock, "audit", "export", "--store", store_, "--since", "2000-01-01"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  // The audit records (decision, result) of the calls of `tool`, in order.
  std::vector<json::object> Records(const std::string& tool) const {
    std::vector<json::object> out;
    std::map<std::string, bool> calls;
    std::istringstream in(Audit());
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      json::object r = json::parse(line).as_object();
      const std::string call(r.at("call_id").as_string());
      if (r.at("type") == "decision" && r.at("data").at("tool") == tool.c_str()) {
        calls[call] = true;
      }
      if (calls.count(call) != 0) out.push_back(std::move(r));
    }
    return out;
  }
  TempDir tmp_;
  std::string policy_, log_, store_;
};

// Tests that a 2025 client (the v1 SDK), which cannot reach a 2026-only stdio server
// directly, reaches it through `interlock mcp`: the filtered tools/list, an allowed call
// forwarded, a denied call never reaching the server, and a call for which the server
// needs input the 2025 client cannot give through Interlock failing with the server's own
// clear error (-32021: the gateway does not claim elicitation for it), recorded as failed.
TEST_F(McpModernUpstreamTest, LegacyClientReachesModernOnlyStdioServer) {
  const std::string calls =
      tmp_.Write("calls.json", R"([{"name":"echo","arguments":{"text":"hi"}},)"
                               R"({"name":"delete_file","arguments":{"path":"/etc/passwd"}},)"
                               R"({"name":"confirm","arguments":{"what":"deploy"}}])");
  ProcessResult direct =
      RunProcess({"/usr/bin/env", "node", kNodeDir + "/sdk_client.mjs", calls, "--", "node",
                  kNodeDir + "/modern_server.mjs", "stdio", tmp_.path() + "/direct.log"},
                 "", std::chrono::seconds(60));
  EXPECT_NE(direct.exit_code, 0) << "the v1 client reached the modern-only server directly";

  std::vector<std::string> argv = {"/usr/bin/env", "node", kNodeDir + "/sdk_client.mjs", calls,
                                   "--"};
  for (const auto& a : Through()) argv.push_back(a);
  ProcessResult via = RunProcess(argv, "", std::chrono::seconds(90));
  ASSERT_EQ(via.exit_code, 0) << via.err;
  const json::value out = ParseLastLine(via.out);
  EXPECT_EQ(out.at("tools"), (json::array{"confirm", "echo"}));
  const json::array& results = out.at("results").as_array();
  ASSERT_EQ(results.size(), 3u) << via.out;
  EXPECT_EQ(results[0].at("content").at(0).at("text"), "echo: hi");
  EXPECT_FALSE(results[0].as_object().contains("resultType"));
  EXPECT_TRUE(results[1].at("isError").as_bool());
  EXPECT_NE(json::serialize(results[1]).find("TOOL_BLOCKED"), std::string::npos) << results[1];
  EXPECT_NE(json::serialize(results[2]).find("-32021"), std::string::npos) << results[2];

  const std::string log = Log();
  EXPECT_NE(log.find("echo\t"), std::string::npos) << log;
  EXPECT_EQ(log.find("delete_file"), std::string::npos) << log;
  const std::vector<json::object> confirm = Records("confirm");
  ASSERT_EQ(confirm.size(), 2u);  // its decision and its result
  EXPECT_EQ(confirm[1].at("type"), "result");
  EXPECT_EQ(confirm[1].at("data").at("ok"), false);
}

// Tests that a request naming a revision neither side serves is answered -32022 with the
// versions the gateway serves (never a -32603, never forwarded). The server's own -32022,
// for a server speaking none of Interlock's revisions, is passed as it came:
// GatewayUpstreamRevisionTest and
// HttpUpstreamTest.ModernRequestHeadersAndTheServersOwnErrorAsItCame.
TEST_F(McpModernUpstreamTest, UnsupportedVersionReachesTheClientAsMinus32022WithTheServedList) {
  const std::string msgs = tmp_.Write(
      "msgs.jsonl",
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"it","version":"1"}}})"
      "\n"
      R"({"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"1900-01-01","io.modelcontextprotocol/clientCapabilities":{}}}})"
      "\n");
  std::vector<std::string> argv = {"/usr/bin/env", "node", kNodeDir + "/raw_client.mjs", msgs,
                                   "--"};
  for (const auto& a : Through()) argv.push_back(a);
  ProcessResult r = RunProcess(argv, "", std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::value parsed = ParseLastLine(r.out);
  const json::array& got = parsed.at("messages").as_array();
  const json::object* init = ById(got, 1);
  ASSERT_NE(init, nullptr) << r.out;
  EXPECT_TRUE(init->contains("result")) << r.out;
  const json::object* list = ById(got, 2);
  ASSERT_NE(list, nullptr) << r.out;
  EXPECT_EQ(list->at("error").at("code"), -32022) << r.out;
  EXPECT_EQ(list->at("error").at("data").at("supported"),
            (json::array{"2026-07-28", "2025-11-25", "2025-06-18"}))
      << r.out;
}

// Tests that a modern client's retry of a call the server answered input_required (the same
// call with inputResponses) is decided once and recorded once with its final result, and
// that the server's question reached the client through the gateway.
TEST_F(McpModernUpstreamTest, InputRequiredRetryIsDecidedOnceAndRecordedOnce) {
  const std::string meta = R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
                           R"("io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}})";
  const std::string msgs = tmp_.Write(
      "msgs.jsonl",
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"confirm","arguments":{"what":"deploy"},)" +
          meta +
          "}}\n"
          R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"confirm","arguments":{"what":"deploy"},)"
          R"("inputResponses":{"ok":{"action":"accept","content":{"yes":true}}},)" +
          meta + "}}\n");
  std::vector<std::string> argv = {"/usr/bin/env", "node", kNodeDir + "/raw_client.mjs", msgs,
                                   "--"};
  for (const auto& a : Through()) argv.push_back(a);
  ProcessResult r = RunProcess(argv, "", std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::value parsed = ParseLastLine(r.out);
  const json::array& got = parsed.at("messages").as_array();
  const json::object* first = ById(got, 1);
  ASSERT_NE(first, nullptr) << r.out;
  EXPECT_EQ(first->at("result").at("resultType"), "input_required") << r.out;
  EXPECT_EQ(first->at("result").at("inputRequests").at("ok").at("method"), "elicitation/create");
  const json::object* second = ById(got, 2);
  ASSERT_NE(second, nullptr) << r.out;
  EXPECT_EQ(second->at("result").at("content").at(0).at("text"), "confirmed deploy: yes") << r.out;
  EXPECT_EQ(Count(Log(), "confirm\t"), 2u);
  // One decision, one result: the retry was not decided or counted again.
  const std::vector<json::object> confirm = Records("confirm");
  ASSERT_EQ(confirm.size(), 2u) << Audit();
  EXPECT_EQ(confirm[0].at("type"), "decision");
  EXPECT_EQ(confirm[1].at("type"), "result");
  EXPECT_EQ(confirm[1].at("data").at("ok"), true);
}

// Tests that a 2025 client (the v1 SDK, declaring elicitation) is asked a 2026 server's
// question (its input_required) through the gateway as the elicitation/create it knows, and
// that its answer completes the same call: decided once, recorded once.
TEST_F(McpModernUpstreamTest, LegacyClientAnswersModernServersQuestionThroughTheGateway) {
  const std::string calls =
      tmp_.Write("calls.json", R"([{"name":"confirm","arguments":{"what":"deploy"}}])");
  std::vector<std::string> argv = {"/usr/bin/env", "node", kNodeDir + "/sdk_elicit_client.mjs",
                                   "accept",       calls,  "--"};
  for (const auto& a : Through()) argv.push_back(a);
  ProcessResult r = RunProcess(argv, "", std::chrono::seconds(90));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::value out = ParseLastLine(r.out);
  ASSERT_EQ(out.at("elicitations").as_array().size(), 1u) << r.out;
  EXPECT_EQ(out.at("elicitations").at(0).at("message"), "Do deploy?");
  EXPECT_EQ(out.at("results").at(0).at("content").at(0).at("text"), "confirmed deploy: yes")
      << r.out;
  EXPECT_EQ(Count(Log(), "confirm\t"), 2u);
  const std::vector<json::object> confirm = Records("confirm");
  ASSERT_EQ(confirm.size(), 2u) << Audit();
  EXPECT_EQ(confirm[0].at("type"), "decision");
  EXPECT_EQ(confirm[1].at("type"), "result");
  EXPECT_EQ(confirm[1].at("data").at("ok"), true);
}

// Tests the matrix's 2026-to-2026 cell with the real SDK 2.x client (@modelcontextprotocol/client,
// pinned to 2026-07-28 and in auto negotiation) through `interlock mcp` to the 2026-only
// server: the filtered list, an allowed call forwarded and answered, a blocked call read as
// a denial (never thrown, never reaching the server), each decided and recorded once.
TEST_F(McpModernUpstreamTest, Sdk2ClientReachesA2026ServerThroughTheGateway) {
  for (const std::string mode : {"pin", "auto"}) {
    SCOPED_TRACE(mode);
    std::filesystem::remove(log_);
    std::filesystem::remove(store_);
    const std::string calls = tmp_.Write(
        "calls-" + mode + ".json",
        R"([{"name":"echo","arguments":{"text":"hi"}},{"name":"delete_file","arguments":{"path":"/x"}}])");
    std::vector<std::string> argv = {"/usr/bin/env", "node", kNodeDir + "/sdk2_client.mjs",
                                     mode,           calls,  "--"};
    for (const auto& a : Through()) argv.push_back(a);
    ProcessResult r = RunProcess(argv, "", std::chrono::seconds(90));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json::value v = ParseLastLine(r.out);
    EXPECT_EQ(v.at("protocolVersion"), "2026-07-28") << r.out;
    EXPECT_EQ(v.at("tools"), (json::array{"confirm", "echo"})) << r.out;
    const json::array& res = v.at("results").as_array();
    ASSERT_EQ(res.size(), 2u) << r.out;
    EXPECT_EQ(res[0].at("content").at(0).at("text"), "echo: hi") << r.out;
    ASSERT_FALSE(res[1].as_object().contains("thrown")) << r.out;
    EXPECT_EQ(res[1].at("isError"), true) << r.out;
    EXPECT_EQ(res[1].at("_meta").at("interlock.dev/decision").at("code"), "TOOL_BLOCKED") << r.out;
    EXPECT_EQ(Log().find("delete_file"), std::string::npos) << Log();
    EXPECT_EQ(Count(Log(), "echo\t"), 1u) << Log();
    EXPECT_EQ(Records("echo").size(), 2u);         // its decision and its result
    EXPECT_EQ(Records("delete_file").size(), 1u);  // its denial only
  }
}

// The answer with `id` among `msgs` (null when there is none).
json::value AnswerWithId(const json::array& msgs, int id) {
  for (const json::value& m : msgs) {
    const json::object& o = m.as_object();
    if (o.contains("id") && !o.contains("method") && o.at("id") == json::value(id)) return m;
  }
  return nullptr;
}

// Tests a task through the stdio gateway (the tasks extension): a 2026-07-28 client that
// declares it gets the server's task, a made-up task id is not found (and never reaches the
// server), polls reach the completed result reduced to the tool's scope, and the call is
// decided once and recorded once with that result.
TEST_F(McpModernUpstreamTest, TaskThroughTheStdioGatewayIsDecidedOnceAndRecordedOnce) {
  const json::array msgs = RunTasksClient("build");
  const json::value created = AnswerWithId(msgs, 1);
  ASSERT_TRUE(created.is_object()) << json::serialize(msgs);
  EXPECT_EQ(created.at("result").at("resultType"), "task") << json::serialize(created);
  EXPECT_EQ(AnswerWithId(msgs, 2).at("error").at("code"), -32602);
  const json::value* done = nullptr;
  for (const json::value& m : msgs) {
    if (m.as_object().contains("result") && m.at("result").as_object().contains("status") &&
        m.at("result").at("status") == "completed") {
      done = &m;
    }
  }
  ASSERT_NE(done, nullptr) << json::serialize(msgs);
  EXPECT_EQ(done->at("result").at("result").at("content").at(0).at("text"), "built web");
  EXPECT_EQ(done->at("result").at("result").at("structuredContent"),
            (json::object{{"target", "web"}}));
  EXPECT_EQ(Count(Log(), "tools/call\t"), 1u) << Log();
  EXPECT_EQ(Count(Log(), "tasks/get\t"), 4u) << Log();  // 2 working, completed, once more
  const std::vector<json::object> build = Records("build");
  ASSERT_EQ(build.size(), 2u) << Audit();
  EXPECT_EQ(build[0].at("type"), "decision");
  EXPECT_EQ(build[1].at("type"), "result");
  EXPECT_EQ(build[1].at("data").at("ok"), true);
  EXPECT_NE(json::serialize(build[1]).find("built web"), std::string::npos);
  // The record holds what the tool returned, as for a synchronous call; the client got the
  // scoped view (above).
  EXPECT_NE(Audit().find("tok-web"), std::string::npos);
}

// Tests a task that asks for input, answered with tasks/update through the stdio gateway.
TEST_F(McpModernUpstreamTest, TaskInputAnsweredThroughTheStdioGateway) {
  const json::array msgs = RunTasksClient("approve");
  EXPECT_EQ(AnswerWithId(msgs, 1).at("result").at("status"), "input_required")
      << json::serialize(msgs);
  EXPECT_TRUE(AnswerWithId(msgs, 2).as_object().contains("result")) << json::serialize(msgs);
  EXPECT_NE(json::serialize(msgs).find("approved deploy: yes"), std::string::npos)
      << json::serialize(msgs);
  const std::vector<json::object> approve = Records("approve");
  ASSERT_EQ(approve.size(), 2u) << Audit();
  EXPECT_EQ(approve[1].at("data").at("ok"), true);
}

// Tests that a client that did not declare the extension is never handed a task: the server
// (which then refuses the long-running call with -32021) answers it as it came.
TEST_F(McpModernUpstreamTest, UndeclaringClientIsNeverHandedATask) {
  const json::array msgs = RunTasksClient("undeclared");
  const json::value answer = AnswerWithId(msgs, 1);
  ASSERT_TRUE(answer.is_object()) << json::serialize(msgs);
  EXPECT_FALSE(answer.as_object().contains("result") &&
               answer.at("result").as_object().contains("taskId"))
      << json::serialize(answer);
  EXPECT_EQ(Count(Log(), "tasks/"), 0u) << Log();
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
