// Rehearsal before production through `interlock mcp` (docs/mcp.md#rehearsal): dry-run
// arguments against a small test server of our own that fails dry runs on demand
// (node/rehearsal_server.mjs), and a staging copy of @modelcontextprotocol/server-memory
// (`rehearse: {upstream: ...}`, --rehearse-upstream). Each test proves, from the server's
// own record, whether the real call reached it. Pipes only, temporary directories, every
// child bounded by a timeout.
#include <filesystem>
#include <fstream>
#include <iterator>
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
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;
using testing::ToolsCall;

using testing::kInterlock;
using testing::kNodeDir;
using testing::kStdioInit;
const std::string kMemory =
    kNodeDir + "/node_modules/@modelcontextprotocol/server-memory/dist/index.js";

class RehearsalMcpTest : public testing::NodeSuite {};

// ToolsCall's line with its newline.
std::string Call(int id, const std::string& tool, const json::object& args) {
  return ToolsCall(id, tool, args) + "\n";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The answer to request `id` among the raw client's received messages.
json::object Answer(const ProcessResult& run, int id) {
  std::string s = run.out;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  const json::value all =
      json::parse(s.substr(s.rfind('\n') == std::string::npos ? 0 : s.rfind('\n') + 1));
  for (const json::value& m : all.at("messages").as_array()) {
    const json::object& o = m.as_object();
    if (o.contains("id") && !o.contains("method") && o.at("id") == json::value(id)) return o;
  }
  return {};
}

std::string Text(const json::object& answer) {
  const json::value* r = answer.if_contains("result");
  if (r == nullptr) return "<no result: " + json::serialize(answer) + ">";
  return std::string(r->at("content").at(0).at("text").as_string());
}

// The decision's code: in structuredContent, or in _meta when the tool declares an
// outputSchema the decision would violate (the gateway knows the catalog before it decides).
std::string CodeOf(const json::object& answer) {
  const json::value* r = answer.if_contains("result");
  if (r == nullptr || !r->is_object()) return "";
  const json::value* d = r->as_object().if_contains("structuredContent");
  if (d == nullptr || !d->is_object() || !d->as_object().contains("code")) {
    const json::value* meta = r->as_object().if_contains("_meta");
    d = meta != nullptr && meta->is_object()
            ? meta->as_object().if_contains("interlock.dev/decision")
            : nullptr;
  }
  const json::value* code =
      d != nullptr && d->is_object() ? d->as_object().if_contains("code") : nullptr;
  return code != nullptr && code->is_string() ? std::string(code->as_string()) : "";
}

const char kDeployPolicy[] =
    "agent:\n  id: \"ops\"\n  identity: \"ops@test\"\n  autonomy: audit_based\n"
    "tools:\n  allowed:\n    - name: \"deploy\"\n      rehearse: {args: {dry_run: true}}\n";

struct DeployRun {
  ProcessResult run;
  std::vector<json::object> server_saw;  // the tools/call arguments the server received
  std::string audit;
};

DeployRun RunDeploy(TempDir& tmp, const std::vector<std::string>& targets,
                    std::vector<std::string> extra = {}) {
  const std::string policy = tmp.Write("deploy.yaml", kDeployPolicy);
  std::string msgs = kStdioInit;
  int id = 2;
  for (const std::string& t : targets) msgs += Call(id++, "deploy", json::object{{"target", t}});
  const std::string in = tmp.Write("msgs.jsonl", msgs);
  const std::string log = tmp.path() + "/server.log";
  const std::string store = tmp.path() + "/s.db";
  std::vector<std::string> argv = {"/usr/bin/env",
                                   "REHEARSAL_LOG=" + log,
                                   "node",
                                   kNodeDir + "/raw_client.mjs",
                                   in,
                                   "--",
                                   kInterlock,
                                   "mcp",
                                   "--policy",
                                   policy,
                                   "--store",
                                   store,
                                   "--pass-env",
                                   "REHEARSAL_LOG"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.end(), {"--", "node", kNodeDir + "/rehearsal_server.mjs"});
  DeployRun out;
  out.run = RunProcess(argv, "", std::chrono::seconds(90));
  std::istringstream lines(ReadAll(log));
  for (std::string l; std::getline(lines, l);) {
    if (!l.empty()) out.server_saw.push_back(json::parse(l).as_object());
  }
  out.audit = RunProcess({kInterlock, "audit", "export", "--store", store, "--since", "2000-01-01"},
                         "", std::chrono::seconds(30))
                  .out;
  return out;
}

// Tests that a successful dry run lets the real call through: the server sees the dry run,
// then the call as the agent sent it, and the audit trail holds the linked rehearsal.
TEST_F(RehearsalMcpTest, SuccessfulDryRunThenTheRealCallRuns) {
  TempDir tmp;
  DeployRun r = RunDeploy(tmp, {"web"});
  ASSERT_EQ(r.run.exit_code, 0) << r.run.err;
  EXPECT_EQ(Text(Answer(r.run, 2)), "deployed web") << r.run.out << r.run.err;
  ASSERT_EQ(r.server_saw.size(), 2u);
  EXPECT_EQ(r.server_saw[0], (json::object{{"target", "web"}, {"dry_run", true}}));
  EXPECT_EQ(r.server_saw[1], (json::object{{"target", "web"}}));
  EXPECT_NE(r.audit.find("\"type\":\"rehearsal\""), std::string::npos) << r.audit;
  EXPECT_NE(r.audit.find("REHEARSAL_REQUIRED"), std::string::npos);
  EXPECT_NE(r.audit.find("would update 3 resources"), std::string::npos);
}

// Tests that a dry run answering isError denies the real call with REHEARSAL_FAILED and its
// error text, and the real call never reaches the server.
TEST_F(RehearsalMcpTest, FailedDryRunDeniesAndTheRealCallNeverRuns) {
  TempDir tmp;
  DeployRun r = RunDeploy(tmp, {"fail-prod"});
  ASSERT_EQ(r.run.exit_code, 0) << r.run.err;
  const json::object a = Answer(r.run, 2);
  EXPECT_EQ(CodeOf(a), "REHEARSAL_FAILED") << json::serialize(a);
  EXPECT_NE(Text(a).find("would delete 14 resources in fail-prod"), std::string::npos) << Text(a);
  ASSERT_EQ(r.server_saw.size(), 1u);
  EXPECT_EQ(r.server_saw[0].at("dry_run"), true);
}

// Tests that a JSON-RPC error and a timeout of the dry run both deny the real call.
TEST_F(RehearsalMcpTest, JsonRpcErrorAndTimeoutOfTheRehearsalDeny) {
  TempDir tmp;
  DeployRun r = RunDeploy(tmp, {"rpc-error", "hang"}, {"--rehearsal-timeout", "1"});
  ASSERT_EQ(r.run.exit_code, 0) << r.run.err;
  const json::object rpc = Answer(r.run, 2);
  EXPECT_EQ(CodeOf(rpc), "REHEARSAL_FAILED") << json::serialize(rpc);
  EXPECT_NE(Text(rpc).find("staging is down"), std::string::npos);
  const json::object hang = Answer(r.run, 3);
  EXPECT_EQ(CodeOf(hang), "REHEARSAL_FAILED") << json::serialize(hang);
  EXPECT_NE(Text(hang).find("no answer within 1000 ms"), std::string::npos) << Text(hang);
  for (const json::object& saw : r.server_saw) EXPECT_EQ(saw.at("dry_run"), true);
}

// Tests that a server that dies during the dry run denies the real call.
TEST_F(RehearsalMcpTest, ServerDyingDuringTheRehearsalDenies) {
  TempDir tmp;
  DeployRun r = RunDeploy(tmp, {"die"});
  const json::object a = Answer(r.run, 2);
  EXPECT_EQ(CodeOf(a), "REHEARSAL_FAILED") << json::serialize(a) << r.run.err;
  ASSERT_EQ(r.server_saw.size(), 1u);
}

// server-memory as production and a staging copy of it: a call that works on staging runs
// on production too; a call that fails on staging (the entity exists only in production)
// never reaches production.
TEST_F(RehearsalMcpTest, StagingCopyOfServerMemoryDecidesWhetherProductionIsTouched) {
  TempDir tmp;
  const std::string prod = tmp.path() + "/prod.jsonl";
  const std::string staging = tmp.path() + "/staging.jsonl";
  {
    std::ofstream(prod)
        << R"({"type":"entity","name":"Ada","entityType":"person","observations":[]})"
        << "\n";
  }
  const std::string policy =
      tmp.Write("mem.yaml",
                "agent:\n  id: \"mem\"\n  identity: \"mem@test\"\n  autonomy: audit_based\n"
                "tools:\n  allowed:\n"
                "    - name: \"create_entities\"\n      rehearse: {upstream: \"staging\"}\n"
                "    - name: \"add_observations\"\n      rehearse: {upstream: \"staging\"}\n");
  const std::string msgs = tmp.Write(
      "msgs.jsonl",
      std::string(kStdioInit) +
          Call(2, "add_observations",
               json::object{{"observations", json::array{json::object{
                                                 {"entityName", "Ada"},
                                                 {"contents", json::array{"wrote notes"}}}}}}) +
          Call(3, "create_entities",
               json::object{
                   {"entities", json::array{json::object{{"name", "Bob"},
                                                         {"entityType", "person"},
                                                         {"observations", json::array{}}}}}}));
  ProcessResult run =
      RunProcess({"/usr/bin/env", "MEMORY_FILE_PATH=" + prod, "node", kNodeDir + "/raw_client.mjs",
                  msgs, "--", kInterlock, "mcp", "--policy", policy, "--store",
                  tmp.path() + "/s.db", "--pass-env", "MEMORY_FILE_PATH", "--rehearse-upstream",
                  "staging=/usr/bin/env MEMORY_FILE_PATH=" + staging + " node " + kMemory, "--",
                  "node", kMemory},
                 "", std::chrono::seconds(90));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json::object failed = Answer(run, 2);
  EXPECT_EQ(CodeOf(failed), "REHEARSAL_FAILED") << json::serialize(failed) << run.err;
  EXPECT_NE(Text(failed).find("Entity with name Ada not found"), std::string::npos) << Text(failed);
  EXPECT_EQ(ReadAll(prod).find("wrote notes"), std::string::npos) << ReadAll(prod);

  const json::object created = Answer(run, 3);
  EXPECT_EQ(CodeOf(created), "") << json::serialize(created);
  EXPECT_NE(ReadAll(staging).find("Bob"), std::string::npos) << ReadAll(staging);
  EXPECT_NE(ReadAll(prod).find("Bob"), std::string::npos) << ReadAll(prod);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
