// End-to-end tests of `interlock check` and `interlock decide`, run as a user would.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "piped_child.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "wait.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

using testing::RunProcess;
using testing::TempDir;

const std::string kBin = std::string(INTERLOCK_BINARY_DIR) + "/interlock";
const std::string kExamples = std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies";
const std::string kSeed = kExamples + "/support-agent-v2.yaml";
const std::string kDemo = std::string(INTERLOCK_SOURCE_DIR) + "/examples/demo/support-run.jsonl";

std::vector<boost::json::object> ParseLines(const std::string& out) {
  std::vector<boost::json::object> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(boost::json::parse(line).as_object());
  return lines;
}

std::string Code(const boost::json::object& o) { return std::string(o.at("code").as_string()); }

std::string Decide(const std::string& policy, const std::string& input,
                   std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {kBin, "decide", "--policy", policy};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto r = RunProcess(argv, input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// `interlock decide` on pipes the test drives line by line; killed and reaped on exit.
class DecideChild {
 public:
  explicit DecideChild(const std::vector<std::string>& argv, bool nonblocking_stdin = false) {
    signal(SIGPIPE, SIG_IGN);  // a child that exited early fails Send(), not the test binary
    testing::PipedSpawnOptions options;
    options.nonblocking_stdin = nonblocking_stdin;
    const testing::PipedSpawn s = testing::SpawnPiped(argv, options);
    pid_ = s.pid;
    in_ = s.in;
    out_ = s.out;
  }
  ~DecideChild() {
    if (in_ >= 0) close(in_);
    if (out_ >= 0) close(out_);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // Closes the read end of decide's stdout: its next write fails (EPIPE).
  void CloseStdout() {
    if (out_ >= 0) close(out_);
    out_ = -1;
  }
  // decide's exit code once it has exited, or -1 if it is still running after `timeout`.
  int WaitExit(std::chrono::milliseconds timeout) {
    int status = 0;
    if (!WaitUntil([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, timeout,
                   std::chrono::milliseconds(10))) {
      return -1;
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  bool Send(const std::string& data) {
    return write(in_, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  }
  // The next line on stdout, or "" after the timeout or at EOF.
  std::string ReadLine(std::chrono::milliseconds timeout) { return lines_.ReadLine(out_, timeout); }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  testing::PipeLines lines_;
};

// The number of write system calls process `pid` has made (/proc/PID/io), -1 if unknown.
long WriteSyscalls(pid_t pid) {
  std::ifstream io("/proc/" + std::to_string(pid) + "/io");
  std::string key;
  long value = -1;
  while (io >> key >> value) {
    if (key == "syscw:") return value;
  }
  return -1;
}

// Tests that every shipped example policy, the seed's among them, passes `check`.
TEST(CheckCommand, ExamplePoliciesAreValid) {
  auto r = RunProcess({kBin, "check", kExamples});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ok:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("support-agent-v2"), std::string::npos) << r.out;
}

// Tests that a typo in a key fails `check` with file:line:column and a non-zero exit.
TEST(CheckCommand, TypoIsAnErrorWithLocation) {
  TempDir dir;
  const std::string p = dir.Write("typo.yaml",
                                  "agent:\n  id: a\n  identity: a@x\n"
                                  "tools:\n  allowed:\n    - name: t\n"
                                  "      requires_aproval: true\n");
  auto r = RunProcess({kBin, "check", p});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("typo.yaml:7:7"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("requires_aproval"), std::string::npos) << r.err;
}

// Tests that `check` reports every error of a file in one pass, in file order, the
// cross-field one (a tool with a bad key that is also blocked) included.
TEST(CheckCommand, EveryErrorOfAFileInOnePass) {
  TempDir dir;
  const std::string p = dir.Write("multi.yaml",
                                  "agent:\n  id: a\n  mode: enforced\n"  // 3
                                  "tools:\n  allowed:\n    - name: refund\n"
                                  "      requires_approval: yes\n"   // 7
                                  "  blocked:\n    - refund\n"       // 9
                                  "execution:\n  max_steps: -1\n");  // 11
  auto r = RunProcess({kBin, "check", p});
  EXPECT_EQ(r.exit_code, 1);
  size_t last = 0;
  for (const char* at :
       {"multi.yaml:3:9:", "multi.yaml:7:26:", "multi.yaml:9:7:", "multi.yaml:11:14:"}) {
    const size_t pos = r.err.find(at);
    ASSERT_NE(pos, std::string::npos) << at << " missing in\n" << r.err;
    EXPECT_GT(pos, last) << at << " out of order in\n" << r.err;
    last = pos;
  }
  EXPECT_NE(r.err.find("allowed-and-blocked"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("4 error(s)"), std::string::npos) << r.out;
}

// Tests that --format json reports diagnostics as data and --strict fails on warnings.
TEST(CheckCommand, JsonFormatAndStrict) {
  auto r = RunProcess({kBin, "check", "--format", "json", kSeed});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto o = boost::json::parse(r.out).as_object();
  EXPECT_TRUE(o.at("ok").as_bool());
  EXPECT_GT(o.at("warnings").as_int64(), 0);  // the seed has no escalation contacts
  auto strict = RunProcess({kBin, "check", "--strict", kSeed});
  EXPECT_EQ(strict.exit_code, 1);
}

// Tests that `check` names both entries of an overlap and the one that decides, so a
// broad allowed pattern cannot quietly override a narrower blocked one unnoticed.
TEST(CheckCommand, OverlappingToolPatternsNameBothEntriesAndTheWinner) {
  TempDir dir;
  const std::string p = dir.Write("gh.yaml",
                                  "agent:\n  id: gh\n  identity: gh@x\n"
                                  "tools:\n  allowed:\n"
                                  "    - name: \"mcp__github__*\"\n"         // 6
                                  "    - name: \"mcp__github__delete_*\"\n"  // 7
                                  "  blocked:\n"
                                  "    - \"*_repository\"\n");  // 9
  auto r = RunProcess({kBin, "check", p});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string all = r.out + r.err;
  EXPECT_NE(all.find("overlapping-tools"), std::string::npos) << all;
  EXPECT_NE(all.find("tools.allowed entry \"mcp__github__*\" (6:7) and tools.blocked entry "
                     "\"*_repository\" (9:7) can match the same tool; the more specific pattern"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("\"mcp__github__*\" decides the tools both match"), std::string::npos) << all;
  auto strict = RunProcess({kBin, "check", "--strict", p});
  EXPECT_EQ(strict.exit_code, 1) << strict.out << strict.err;
}

// Tests that `check --graph` draws the release workflow for a reviewer, as Mermaid by
// default and as Graphviz with --graph-format dot.
TEST(CheckCommand, GraphDrawsTheWorkflow) {
  const std::string release = std::string(kExamples) + "/release-agent.yaml";
  auto m = RunProcess({kBin, "check", "--graph", release});
  EXPECT_EQ(m.exit_code, 0) << m.err;
  EXPECT_NE(m.out.find("stateDiagram-v2\n"), std::string::npos) << m.out;
  EXPECT_NE(m.out.find("[*] --> untested"), std::string::npos) << m.out;
  EXPECT_NE(m.out.find("untested --> tested : run_tests ok / remember tested_version"),
            std::string::npos)
      << m.out;
  auto d = RunProcess({kBin, "check", "--graph", release, "--graph-format", "dot"});
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.out.find("digraph workflow {"), std::string::npos) << d.out;
  auto none = RunProcess({kBin, "check", "--graph", std::string(kExamples) + "/inbox-agent.yaml"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("declares no workflow"), std::string::npos) << none.err;
}

// Tests that `check` warns when an agent could read private data, take in untrusted content
// and talk outside with no flow rule in the way, and that --strict fails on it.
TEST(CheckCommand, LethalTrifectaWithoutAFlowIsAWarning) {
  TempDir dir;
  const std::string p = dir.Write("trifecta.yaml", R"(agent: {id: "t", identity: "t@x"}
tools:
  allowed:
    - {name: "read", labels: [untrusted_content]}
    - {name: "db", labels: [private_data]}
    - {name: "mail", labels: [external_communication]}
  blocked: ["rm"]
)");
  auto r = RunProcess({kBin, "check", p});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("[lethal-trifecta]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("trifecta.yaml:6:7: warning:"), std::string::npos) << r.err;
  EXPECT_EQ(RunProcess({kBin, "check", "--strict", p}).exit_code, 1);
}

// Tests that `check --config` warns when several agents share one upstream's static secret
// (the "shared team API key"), and not once the upstream issues per-agent credentials.
TEST(CheckCommand, SharedStaticUpstreamSecretIsAWarning) {
  TempDir dir;
  dir.Write("policies/a.yaml", "agent: {id: \"a\", identity: \"a@x\"}\ntools: {allowed: [x]}\n");
  dir.Write("policies/b.yaml", "agent: {id: \"b\", identity: \"b@x\"}\ntools: {allowed: [x]}\n");
  const std::string shared = dir.Write("shared.yaml", R"(mcp:
  upstreams:
    github:
      url: https://mcp.github.internal/mcp
      secret_headers: {Authorization: GITHUB_TEAM_KEY}
)");
  dir.Write("idp-secret", "s\n");
  const std::string per_agent = dir.Write("per-agent.yaml", R"(mcp:
  upstreams:
    github:
      url: https://mcp.github.internal/mcp
      credentials:
        client_credentials:
          token_url: https://idp.example/token
          client_id: interlock
          client_secret_file: idp-secret
)");
  auto r = RunProcess({kBin, "check", dir.path() + "/policies", "--config", shared});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("[shared-upstream-secret]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("upstream github gets one static secret for every agent (a, b)"),
            std::string::npos)
      << r.err;
  auto ok = RunProcess({kBin, "check", dir.path() + "/policies", "--config", per_agent});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.err.find("[shared-upstream-secret]"), std::string::npos) << ok.err;
}

// Tests that a workflow mistake fails `check` with file:line:column.
TEST(CheckCommand, WorkflowUnknownStateIsALocatedError) {
  TempDir dir;
  const std::string p = dir.Write("wf.yaml", R"(agent: {id: "w"}
tools: {allowed: ["a"]}
workflow:
  initial: s
  states:
    s:
      allow: ["a"]
      transitions: [{tool: "a", on: ok, to: "nowhere"}]
)");
  auto r = RunProcess({kBin, "check", p});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("wf.yaml:8:21: error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[workflow-unknown-state]"), std::string::npos) << r.err;
}

// Tests that a missing path is a clear error, not a crash.
TEST(CheckCommand, MissingPath) {
  auto r = RunProcess({kBin, "check", "/nonexistent/policy.yaml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent/policy.yaml"), std::string::npos) << r.err;
}

// The embedded default never loads the PostgreSQL client (and the twenty libraries it
// pulls in): every start of a command, `interlock hook` once per Claude Code tool call
// included, would pay for them (src/store/libpq.h).
TEST(StartUp, EmbeddedDefaultDoesNotLoadLibpq) {
  auto r = RunProcess({"/usr/bin/env", "LD_DEBUG=files", kBin, "decide", "--policy", kSeed},
                      "{\"tool\":\"read_customer_record\",\"args\":{}}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // libc stays a shared library (SQLite, OpenSSL, libstdc++ and the others are linked in
  // statically where their archives exist: src/cli/CMakeLists.txt).
  EXPECT_NE(r.err.find("libc.so"), std::string::npos) << "LD_DEBUG shows no libraries";
  EXPECT_EQ(r.err.find("libpq"), std::string::npos);
}

std::string WorkflowState(const boost::json::object& line) {
  return std::string(line.at("run").as_object().at("workflow").as_object().at("state").as_string());
}

// Tests the release workflow through `decide` result lines: each result line reports the
// most recent allowed call and is answered with exactly one line carrying the workflow.
TEST(DecideCommand, ResultLinesAdvanceTheReleaseWorkflow) {
  const std::string deploy_staging =
      R"({"tool":"deploy_service","args":{"environment":"staging","service":"api","version":"v1.2.3"}})";
  const std::string deploy_prod =
      R"({"tool":"deploy_service","args":{"environment":"production","service":"api","version":"v1.2.3"}})";
  const std::string input =
      deploy_staging + "\n" +  // 0 untested
      R"({"tool":"run_tests","args":{"version":"v1.2.3"}})"
      "\n"  // 1
      R"({"result":{"ok":false}})"
      "\n"  // 2 stays
      R"({"tool":"run_tests","args":{"version":"v1.2.3"}})"
      "\n"  // 3
      R"({"result":{"ok":true}})"
      "\n"  // 4 -> tested
      R"({"result":{"ok":true}})"
      "\n" +  // 5 second result
      deploy_prod +
      "\n" +  // 6 staging first
      R"({"tool":"deploy_service","args":{"environment":"staging","service":"api","version":"v2.0.0"}})"
      "\n" +
      deploy_staging + "\n" +  // 7, 8
      R"({"result":{"ok":true}})"
      "\n" +  // 9 -> staged
      deploy_prod +
      "\n" +  // 10 approval
      R"({"tool":"rollback_service","args":{"environment":"staging","service":"api"}})"
      "\n"
      R"({"result":"yes"})"
      "\n";  // 12 malformed
  const auto lines = ParseLines(Decide(kExamples + "/release-agent.yaml", input));
  ASSERT_EQ(lines.size(), 13u);  // one line per input line, always
  EXPECT_EQ(Code(lines[0]), "WORKFLOW_VIOLATION");
  EXPECT_EQ(WorkflowState(lines[0]), "untested");
  EXPECT_EQ(Code(lines[1]), "ALLOWED");
  EXPECT_EQ(lines[2].at("result").as_object().at("recorded"), boost::json::value(true));
  EXPECT_EQ(WorkflowState(lines[2]), "untested");
  EXPECT_EQ(WorkflowState(lines[4]), "tested");
  EXPECT_EQ(
      boost::json::serialize(lines[4].at("run").as_object().at("workflow").as_object().at("vars")),
      R"({"tested_version":"v1.2.3"})");
  EXPECT_EQ(lines[5].at("result").as_object().at("recorded"), boost::json::value(false));
  EXPECT_EQ(WorkflowState(lines[5]), "tested");
  EXPECT_EQ(Code(lines[6]), "WORKFLOW_VIOLATION");
  EXPECT_EQ(Code(lines[7]), "WORKFLOW_VIOLATION");
  EXPECT_EQ(Code(lines[8]), "ALLOWED");
  EXPECT_EQ(WorkflowState(lines[9]), "staged");
  EXPECT_EQ(Code(lines[10]), "APPROVAL_REQUIRED");
  EXPECT_EQ(Code(lines[11]), "ALLOWED");
  EXPECT_EQ(lines[12].at("result").as_object().at("recorded"), boost::json::value(false));
}

// A result line with a duplicate key is ambiguous (which "ok" counts?): refused as an
// invalid line, never recorded one way or the other.
TEST(DecideCommand, ResultLineWithDuplicateKeysIsRefusedNotRecorded) {
  const std::string input = std::string(R"({"tool":"run_tests","args":{"version":"v1.2.3"}})") +
                            "\n" + R"({"result":{"ok":false,"ok":true}})" + "\n" +
                            R"({"result":{"ok":true},"result":{"ok":false}})" + "\n";
  const auto lines = ParseLines(Decide(kExamples + "/release-agent.yaml", input));
  ASSERT_EQ(lines.size(), 3u);  // one line per input line
  EXPECT_EQ(Code(lines[0]), "ALLOWED");
  for (size_t i : {1u, 2u}) {
    EXPECT_EQ(Code(lines[i]), "INVALID_REQUEST") << i;
    EXPECT_FALSE(lines[i].contains("result")) << i;
  }
}

// Tests that a result line before any allowed call is answered (not recorded), and that
// agents without sequences get their lines as before (no "workflow" member).
TEST(DecideCommand, ResultLineWithoutAnAllowedCallIsAnsweredNotRecorded) {
  const auto lines =
      ParseLines(Decide(kExamples + "/release-agent.yaml", R"({"result":{"ok":true}})"
                                                           "\n"));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("result").as_object().at("recorded"), boost::json::value(false));
  EXPECT_EQ(WorkflowState(lines[0]), "untested");
  const auto seed = ParseLines(Decide(kSeed, R"({"tool":"read_customer_record","args":{}})"
                                             "\n"));
  ASSERT_EQ(seed.size(), 1u);
  EXPECT_FALSE(seed[0].at("run").as_object().contains("workflow"));
}

constexpr char kRehearsePolicy[] =
    "agent: {id: ops, identity: ops}\nexecution: {max_steps: 4}\ntools:\n  allowed:\n"
    "    - name: deploy\n      rehearse: {args: {dry_run: true}}\n";

// Tests rehearsal lines: each reports the outcome of the most recent REHEARSAL_REQUIRED call
// and is answered with the real call's decision (allowed after a successful rehearsal,
// REHEARSAL_FAILED with its error after a failed one), one step per rehearsed call; a
// rehearsal line with nothing awaiting is answered with an error and decides nothing.
TEST(DecideCommand, RehearsalLinesDecideTheRealCall) {
  TempDir dir;
  const std::string policy = dir.Write("ops.yaml", kRehearsePolicy);
  const std::string input = std::string(R"({"tool":"deploy","args":{"target":"web"}})") + "\n" +
                            R"({"rehearsal":{"ok":true,"output":{"would_update":3}}})" + "\n" +
                            R"({"tool":"deploy","args":{"target":"prod"}})" + "\n" +
                            R"({"rehearsal":{"ok":false,"error":"would delete 14 resources"}})" +
                            "\n" + R"({"rehearsal":{"ok":true}})" + "\n";
  const auto lines = ParseLines(Decide(policy, input));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(Code(lines[0]), "REHEARSAL_REQUIRED");
  EXPECT_EQ(lines[0].at("rehearsal").at("args").at("dry_run"), boost::json::value(true));
  EXPECT_EQ(lines[0].at("step"), boost::json::value(1));
  EXPECT_EQ(Code(lines[1]), "ALLOWED") << boost::json::serialize(lines[1]);
  EXPECT_EQ(lines[1].at("rehearsal").at("ok"), boost::json::value(true));
  EXPECT_EQ(lines[1].at("run").at("steps"), boost::json::value(1));  // still one step
  EXPECT_EQ(Code(lines[2]), "REHEARSAL_REQUIRED");
  EXPECT_EQ(Code(lines[3]), "REHEARSAL_FAILED");
  EXPECT_NE(std::string(lines[3].at("reason").as_string()).find("would delete 14 resources"),
            std::string::npos);
  EXPECT_EQ(lines[3].at("run").at("steps"), boost::json::value(2));
  // Nothing awaits a rehearsal any more: answered, recorded nowhere, no step.
  ASSERT_TRUE(lines[4].contains("rehearsal")) << boost::json::serialize(lines[4]);
  EXPECT_EQ(lines[4].at("rehearsal").at("recorded"), boost::json::value(false));
  EXPECT_NE(std::string(lines[4].at("rehearsal").at("error").as_string()).find("awaits"),
            std::string::npos);
}

// Tests that asking for rehearsals again and again in `decide` spends steps (max_steps 4:
// the 5th ask is denied for the budget), and that malformed rehearsal lines (a duplicate
// key, an unknown member) are refused without completing the awaited rehearsal.
TEST(DecideCommand, RehearsalAsksAreBoundedAndMalformedLinesRefused) {
  TempDir dir;
  const std::string policy = dir.Write("ops.yaml", kRehearsePolicy);
  std::string input;
  for (int i = 0; i < 5; ++i)
    input += R"({"tool":"deploy","args":{"target":"web"}})"
             "\n";
  auto lines = ParseLines(Decide(policy, input));
  ASSERT_EQ(lines.size(), 5u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Code(lines[i]), "REHEARSAL_REQUIRED") << i;
  EXPECT_EQ(Code(lines[4]), "BUDGET_EXCEEDED");

  const std::string bad = std::string(R"({"tool":"deploy","args":{"target":"web"}})") + "\n" +
                          R"({"rehearsal":{"ok":false,"ok":true}})" + "\n" +
                          R"({"rehearsal":{"ok":true,"verdict":"allow"}})" + "\n" +
                          R"({"rehearsal":{"ok":true}})" + "\n";
  lines = ParseLines(Decide(policy, bad));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(Code(lines[1]), "INVALID_REQUEST");  // duplicate key: no rehearsal line at all
  ASSERT_TRUE(lines[2].contains("rehearsal"));
  EXPECT_EQ(lines[2].at("rehearsal").at("recorded"), boost::json::value(false));
  EXPECT_EQ(Code(lines[3]), "ALLOWED") << boost::json::serialize(lines[3]);  // still awaited
}

// Tests that the scripted demo run shows each outcome the seed describes, in order.
TEST(DecideCommand, DemoRunShowsEveryOutcome) {
  auto r = RunProcess({kBin, "decide", "--policy", kExamples, "--agent", "support-agent-v2",
                       "--now", "2026-11-22T09:00:00Z"},
                      testing::RunProcess({"/bin/cat", kDemo}).out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = ParseLines(r.out);
  const std::vector<std::string> want = {
      "ALLOWED",         "SCOPE_VIOLATED",   "ALLOWED",           "CONSTRAINT_VIOLATED",
      "TOOL_BLOCKED",    "TOOL_NOT_ALLOWED", "APPROVAL_REQUIRED", "RECORD_LIMIT_EXCEEDED",
      "INVALID_REQUEST", "ALLOWED",          "BUDGET_EXCEEDED",   "RUN_HALTED"};
  ASSERT_EQ(lines.size(), want.size()) << r.out;
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(Code(lines[i]), want[i]) << "line " << i + 1;
  EXPECT_EQ(lines[6].at("decision").as_string(), "approval_required");
  EXPECT_EQ(lines[6].at("approval").at("timeout_seconds").as_int64(), 300);
  // The budget halt escalates to the seed's channel.
  ASSERT_TRUE(lines[10].contains("notify")) << boost::json::serialize(lines[10]);
  EXPECT_EQ(lines[10].at("notify").at(0).at("channel").as_string(), "#oncall-agents");
}

// Tests that with max_steps 25 the 26th call is denied, denied calls counting as steps.
TEST(DecideCommand, TwentySixthStepIsDenied) {
  std::string input;
  for (int i = 0; i < 30; ++i)
    input += R"({"tool":"delete_customer_record","args":{}})"
             "\n";
  auto lines = ParseLines(Decide(kSeed, input));
  ASSERT_EQ(lines.size(), 30u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(Code(lines[i]), "TOOL_BLOCKED") << i;
  EXPECT_EQ(Code(lines[25]), "BUDGET_EXCEEDED");
  for (int i = 26; i < 30; ++i) EXPECT_EQ(Code(lines[i]), "RUN_HALTED") << i;
}

// Tests that the wall-clock budget (120 s in the seed) denies once reached.
TEST(DecideCommand, WallClockBudget) {
  const std::string call = R"({"tool":"read_customer_record","args":{"customer_id":"c"},)";
  auto lines = ParseLines(Decide(kSeed, call +
                                            R"("elapsed_s":119.9})"
                                            "\n" +
                                            call +
                                            R"("elapsed_s":120})"
                                            "\n"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(Code(lines[0]), "ALLOWED");
  EXPECT_EQ(Code(lines[1]), "BUDGET_EXCEEDED");
}

// Tests that malformed, duplicate-key and non-object lines get INVALID_REQUEST and the
// run goes on.
TEST(DecideCommand, MalformedLinesAreDeniedAndEvaluationGoesOn) {
  auto lines = ParseLines(Decide(kSeed,
                                 "not json\n"
                                 R"({"tool":"read_customer_record","tool":"x"})"
                                 "\n"
                                 R"({"tool":"read_customer_record","args":[1]})"
                                 "\n"
                                 R"([1,2])"
                                 "\n"
                                 R"({"tool":"read_customer_record","args":{"a":1,"a":2}})"
                                 "\n"
                                 R"({"tool":"read_customer_record","args":{"customer_id":"c"}})"
                                 "\n"));
  ASSERT_EQ(lines.size(), 6u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Code(lines[i]), "INVALID_REQUEST") << i;
    EXPECT_EQ(lines[i].at("decision").as_string(), "deny");
  }
  EXPECT_EQ(Code(lines[5]), "ALLOWED");
}

// Tests that an oversized line is one INVALID_REQUEST, not a crash or a desync.
TEST(DecideCommand, OversizedLine) {
  std::string big =
      R"({"tool":"read_customer_record","args":{"x":")" + std::string(2 << 20, 'a') + "\"}}\n";
  auto lines = ParseLines(Decide(kSeed, big + R"({"tool":"read_customer_record"})"
                                              "\n"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(Code(lines[0]), "INVALID_REQUEST");
  EXPECT_EQ(Code(lines[1]), "ALLOWED");
}

// Tests that an agent id with no policy gives UNKNOWN_AGENT for every call.
TEST(DecideCommand, UnknownAgent) {
  auto lines = ParseLines(Decide(kExamples,
                                 R"({"tool":"read_customer_record"})"
                                 "\n",
                                 {"--agent", "nobody"}));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(Code(lines[0]), "UNKNOWN_AGENT");
}

// Tests that --workspace binds ${workspace}: the Claude Code example follows the directory
// it is given (a file inside is readable, the same file name under another project is not),
// and `/` as the workspace is refused rather than allowing every path.
TEST(DecideCommand, WorkspaceFlagBindsTheWorkspaceVariable) {
  const std::string policy = kExamples + "/claude-code.yaml";
  const std::string input = R"({"tool":"Read","args":{"file_path":"/srv/a/README.md"}})"
                            "\n"
                            R"({"tool":"Read","args":{"file_path":"/srv/b/README.md"}})"
                            "\n"
                            R"({"tool":"Bash","args":{"command":"cat /srv/a/README.md | sh"}})"
                            "\n";
  auto a = ParseLines(Decide(policy, input, {"--workspace", "/srv/a"}));
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(Code(a[0]), "ALLOWED");
  EXPECT_EQ(Code(a[1]), "CONSTRAINT_VIOLATED");
  EXPECT_EQ(Code(a[2]), "CONSTRAINT_VIOLATED");
  auto b = ParseLines(Decide(policy, input, {"--workspace", "/srv/b"}));
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(Code(b[0]), "CONSTRAINT_VIOLATED");
  EXPECT_EQ(Code(b[1]), "ALLOWED");
  auto root = RunProcess({kBin, "decide", "--policy", policy, "--workspace", "/"}, "");
  EXPECT_EQ(root.exit_code, 2);
  EXPECT_NE(root.err.find("invalid-workspace"), std::string::npos) << root.err;
  auto check = RunProcess({kBin, "check", policy, "--workspace", "relative/dir"}, "");
  EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
  EXPECT_NE((check.out + check.err).find("not an absolute path"), std::string::npos)
      << check.out << check.err;
}

// Tests that `interlock decide` with the shipped Claude Code policy judges paths where the
// links lead (a link in the project to ~/.ssh reaches nothing) and refuses writes to Claude
// Code's settings, directly, through a link and by a shell redirection (issue 54).
TEST(DecideCommand, SymlinkInsideWorkspaceToSshIsRefused) {
  TempDir dir("interlock-decide-links");
  const std::string root = std::filesystem::canonical(dir.path()).string();
  const std::string ws = root + "/proj";
  std::filesystem::create_directories(ws + "/.claude");
  std::filesystem::create_directories(root + "/home/.ssh");
  std::ofstream(root + "/home/.ssh/id_rsa") << "key";
  std::ofstream(ws + "/README.md") << "readme";
  std::filesystem::create_directory_symlink(root + "/home/.ssh", ws + "/docs-link");
  std::filesystem::create_directory_symlink(ws + "/.claude", ws + "/config");
  auto line = [](const std::string& tool, boost::json::object args) {
    return boost::json::serialize(boost::json::object{{"tool", tool}, {"args", std::move(args)}}) +
           "\n";
  };
  const std::string input =
      line("Read", {{"file_path", ws + "/README.md"}}) +
      line("Read", {{"file_path", ws + "/docs-link/id_rsa"}}) +
      line("Bash", {{"command", "cat docs-link/id_rsa"}}) +
      line("Write", {{"file_path", ws + "/.claude/settings.json"}, {"content", "{}"}}) +
      line("Write", {{"file_path", ws + "/config/settings.json"}, {"content", "{}"}}) +
      line("Bash", {{"command", "echo x >> .claude/settings.json"}}) +
      line("Bash", {{"command", "git push origin main"}});
  auto out = ParseLines(Decide(kExamples + "/claude-code.yaml", input, {"--workspace", ws}));
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(Code(out[0]), "ALLOWED");
  for (size_t i = 1; i < 6; ++i) EXPECT_EQ(Code(out[i]), "CONSTRAINT_VIOLATED") << i;
  EXPECT_NE(boost::json::serialize(out[1]).find("through symbolic links"), std::string::npos)
      << boost::json::serialize(out[1]);
  EXPECT_EQ(Code(out[6]), "APPROVAL_REQUIRED");
}

// Tests that a directory of several agents without --agent, an invalid policy, and a bad
// --now are usage errors with a message, never a decision.
TEST(DecideCommand, UsageErrors) {
  auto many = RunProcess({kBin, "decide", "--policy", kExamples}, "");
  EXPECT_EQ(many.exit_code, 2);
  EXPECT_NE(many.err.find("--agent"), std::string::npos);
  TempDir dir;
  auto bad = RunProcess({kBin, "decide", "--policy", dir.Write("bad.yaml", "agent: [")}, "");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bad.yaml"), std::string::npos) << bad.err;
  auto now = RunProcess({kBin, "decide", "--policy", kSeed, "--now", "yesterday"}, "");
  EXPECT_EQ(now.exit_code, 2);
}

// Tests that a line sent down a pipe is answered before the next is sent (a driver that
// waits for each answer, as on a terminal, never deadlocks on buffered output).
TEST(DecideCommand, PipeDriverGetsEachAnswerBeforeSendingTheNext) {
  DecideChild child({kBin, "decide", "--policy", kSeed});
  ASSERT_GT(child.pid(), 0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(child.Send(R"({"tool":"read_customer_record","args":{"customer_id":"c"}})"
                           "\n"));
    const std::string line = child.ReadLine(std::chrono::seconds(20));
    ASSERT_FALSE(line.empty()) << "no answer to line " << i + 1;
    auto o = boost::json::parse(line).as_object();
    EXPECT_EQ(Code(o), "ALLOWED");
    EXPECT_EQ(o.at("step").as_int64(), i + 1);
  }
}

// Tests that a stdin left non-blocking by the parent (O_NONBLOCK) is waited on when empty,
// not taken for end of input (which ended the run before its first line arrived).
TEST(DecideCommand, NonBlockingStdinIsWaitedOn) {
  DecideChild child({kBin, "decide", "--policy", kSeed}, /*nonblocking_stdin=*/true);
  ASSERT_GT(child.pid(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // pace: decide finds stdin empty
  ASSERT_TRUE(child.Send(R"({"tool":"read_customer_record","args":{"customer_id":"c"}})"
                         "\n"));
  const std::string line = child.ReadLine(std::chrono::seconds(20));
  ASSERT_FALSE(line.empty()) << "decide ended on an empty non-blocking stdin";
  EXPECT_EQ(Code(boost::json::parse(line).as_object()), "ALLOWED");
}

// Tests that a batch already waiting on stdin is answered in a few large writes, not one
// write (flush) per line, which made `decide` over 100,000 lines several times slower.
TEST(DecideCommand, WaitingBatchIsNotFlushedPerLine) {
  DecideChild child({kBin, "decide", "--policy", kSeed});
  ASSERT_GT(child.pid(), 0);
  constexpr int kLines = 400;  // ~30 KB: fits the pipe, so one write sends it all
  std::string batch;
  for (int i = 0; i < kLines; ++i)
    batch += R"({"tool":"drop_table","args":{"n":)" + std::to_string(i) + "}}\n";
  ASSERT_LT(batch.size(), 60000u);
  ASSERT_TRUE(child.Send(batch));
  for (int i = 0; i < kLines; ++i) {
    ASSERT_FALSE(child.ReadLine(std::chrono::seconds(20)).empty()) << "line " << i + 1;
  }
  // Every answer is out and decide waits for more input: its write count is final.
  const long writes = WriteSyscalls(child.pid());
  if (writes < 0) GTEST_SKIP() << "cannot read /proc/" << child.pid() << "/io here";
  EXPECT_LT(writes, kLines / 10);
}

// Tests that the answers do not depend on how the input arrives: a stream of calls, result
// lines (which move the release workflow and refer to the most recent allowed call),
// malformed and blank lines, sent at once (decided in batches across decide's reader,
// decider and writer threads) and sent one line at a time, each answered before the
// next is sent, give the same bytes in the same order.
TEST(DecideCommand, BatchAndLineByLineAnswersAreIdentical) {
  const std::vector<std::string> cycle = {
      R"({"tool":"deploy_service","args":{"environment":"staging","service":"api","version":"v1"}})",
      R"({"tool":"run_tests","args":{"version":"v1"}})",
      R"({"result":{"ok":false}})",
      "",
      R"({"tool":"run_tests","args":{"version":"v1"}})",
      R"({"result":{"ok":true}})",
      R"({"tool":"deploy_service","args":{"environment":"staging","service":"api","version":"v1"}})",
      R"({"result":{"ok":true}})",
      R"({"tool":"deploy_service","args":{"environment":"production","service":"api","version":"v1"}})",
      R"({"tool":"rollback_service","args":{"environment":"staging","service":"api"}})",
      R"({"result":"yes"})",
      R"({"tool":)",
      R"({"tool":"drop_table","args":{},"elapsed_s":0.5})",
  };
  std::vector<std::string> input;
  for (int i = 0; input.size() < 1500; ++i) input.push_back(cycle[i % cycle.size()]);
  const std::vector<std::string> argv = {kBin, "decide", "--policy",
                                         kExamples + "/release-agent.yaml"};
  std::string all;
  for (const std::string& l : input) all += l + "\n";
  auto batch = RunProcess(argv, all);
  ASSERT_EQ(batch.exit_code, 0) << batch.err;

  DecideChild child(argv);
  ASSERT_GT(child.pid(), 0);
  std::string one_by_one;
  for (size_t i = 0; i < input.size(); ++i) {
    ASSERT_TRUE(child.Send(input[i] + "\n"));
    if (input[i].empty()) continue;  // a blank line is skipped, not answered
    const std::string line = child.ReadLine(std::chrono::seconds(20));
    ASSERT_FALSE(line.empty()) << "no answer to line " << i + 1;
    one_by_one += line + "\n";
  }
  EXPECT_EQ(batch.out, one_by_one);
  EXPECT_EQ(
      std::count(batch.out.begin(), batch.out.end(), '\n'),
      std::count_if(input.begin(), input.end(), [](const std::string& l) { return !l.empty(); }));
}

// Tests that decide stops when nobody reads its answers any more, even while its input
// stays open and silent: the reader waiting for the next line is woken, and decide exits
// with an error instead of hanging (stdout closed mid-run, SIGPIPE ignored as the test's
// parent left it).
TEST(DecideCommand, StdoutClosedWhileInputStaysOpenEndsDecide) {
  DecideChild child({kBin, "decide", "--policy", kSeed});
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(child.Send(R"({"tool":"read_customer_record","args":{"customer_id":"c"}})"
                         "\n"));
  ASSERT_FALSE(child.ReadLine(std::chrono::seconds(20)).empty());
  child.CloseStdout();
  std::string batch;
  for (int i = 0; i < 2000; ++i)
    batch += R"({"tool":"drop_table","args":{}})"
             "\n";
  ASSERT_TRUE(child.Send(batch));  // answered into a closed pipe; stdin stays open
  EXPECT_EQ(child.WaitExit(std::chrono::seconds(20)), 1);
}

// Tests that `make run PORT=...` (scripts/run.sh BUILD PORT) refuses a port that is not
// 1..65535 up front, with a message naming it, before checking, deciding or serving.
TEST(RunScript, RefusesAnInvalidPort) {
  const std::string script = std::string(INTERLOCK_SOURCE_DIR) + "/scripts/run.sh";
  for (const char* port : {"99999", "0", "http"}) {
    auto r =
        RunProcess({"/bin/bash", script, INTERLOCK_BINARY_DIR, port}, "", std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 2) << port << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(std::string("got '") + port + "'"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("interlock check"), std::string::npos) << r.out;
  }
}

// Tests that `make run`'s demo (scripts/demo.sh) prints each call's note above Interlock's
// answer, so the deliberate not-JSON line reads as the structured deny it demonstrates, not
// as a bug (issue 56).
TEST(RunScript, DemoPrintsEachCallsNoteAboveItsAnswer) {
  const std::string script = std::string(INTERLOCK_SOURCE_DIR) + "/scripts/demo.sh";
  auto r = RunProcess({"/bin/bash", script, kBin}, "", std::chrono::seconds(60));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(" 9. not JSON: a structured deny, and the run goes on\n"
                       "    {\"decision\":\"deny\",\"code\":\"INVALID_REQUEST\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(" 5. the tool the seed blocks outright\n"
                       "    {\"decision\":\"deny\",\"code\":\"TOOL_BLOCKED\""),
            std::string::npos)
      << r.out;
}

// Tests that a mistyped flag or command gets the nearest one suggested (issue 56: "--polcy"
// got no suggestion), after CLI11's own message and with the usage exit code.
TEST(Cli, MistypedFlagOrCommandGetsTheNearestSuggested) {
  auto flag = RunProcess({kBin, "decide", "--polcy", "x.yaml"});
  EXPECT_EQ(flag.exit_code, 2) << flag.err;
  EXPECT_NE(flag.err.find("did you mean --policy?"), std::string::npos) << flag.err;
  auto command = RunProcess({kBin, "chek", "examples/policies"});
  EXPECT_NE(command.exit_code, 0);
  EXPECT_NE(command.err.find("did you mean check?"), std::string::npos) << command.err;
}

// Tests that every command has --help.
TEST(Cli, HelpEverywhere) {
  for (const char* cmd : {"check", "decide"}) {
    auto r = RunProcess({kBin, cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd;
  }
}

// Tests the pins commands against operator mistakes: a --store that names no file is an
// error for list, show and accept (no empty store created at the typo's path), and an
// explicitly empty or malformed --sha256 (a script's unset variable) is a usage error,
// never an acceptance of whatever definition is pending.
TEST(McpPinsCommand, TypoStoreAndEmptyShaAreRefusedWithoutCreatingAnything) {
  TempDir dir;
  const std::string typo = dir.path() + "/no-such.db";
  for (const char* verb : {"list", "show", "accept"}) {
    auto r = RunProcess({kBin, "mcp", "pins", verb, "--store", typo});
    EXPECT_NE(r.exit_code, 0) << verb << ": " << r.out;
    EXPECT_NE(r.err.find("no store at " + typo), std::string::npos) << verb << ": " << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(typo));
  for (const std::string& sha : {std::string(), std::string("abc"), std::string(64, 'g')}) {
    auto r = RunProcess({kBin, "mcp", "pins", "accept", "notes", "--sha256", sha, "--store", typo});
    EXPECT_EQ(r.exit_code, 2) << "[" << sha << "] " << r.out << r.err;
    EXPECT_NE(r.err.find("64 hex digits"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(typo));
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Tests that a mistyped --store (its directory does not exist) is refused by every command
// that may create a store (serve, token create, the standalone hook and gateway), naming
// --create, instead of silently starting a new, empty audit trail in which every token is
// unknown; nothing is created at the typo's path.
TEST(StorePlace, TypoInStoreDirectoryIsRefusedInsteadOfStartingANewEmptyTrail) {
  TempDir dir;
  const std::string typo = dir.path() + "/no-such-dir/interlock.db";
  const std::string env_state = "XDG_STATE_HOME=" + dir.path() + "/xdg";
  auto serve = RunProcess(
      {kBin, "serve", "--listen", "127.0.0.1:0", "--policies", kExamples, "--store", typo}, "",
      std::chrono::seconds(30));
  EXPECT_EQ(serve.exit_code, 2) << serve.out << serve.err;
  EXPECT_NE(serve.err.find("--create"), std::string::npos) << serve.err;
  auto token = RunProcess({kBin, "token", "create", "--store", typo, "--admin", "alice"});
  EXPECT_NE(token.exit_code, 0) << token.out;
  EXPECT_NE(token.err.find("--create"), std::string::npos) << token.err;
  EXPECT_EQ(token.out, "");  // no token handed out for a trail nobody reads
  auto hook = RunProcess(
      {"/usr/bin/env", env_state, kBin, "hook", "claude-code", "--policy",
       kExamples + "/claude-code.yaml", "--store", typo},
      R"({"hook_event_name":"PreToolUse","session_id":"s","tool_name":"Read","cwd":"/tmp",)"
      R"("tool_input":{"file_path":"/tmp/x"},"tool_use_id":"t1"})");
  EXPECT_NE(hook.out.find("deny"), std::string::npos) << hook.out << hook.err;
  EXPECT_NE(hook.out.find("--create"), std::string::npos) << hook.out;
  auto mcp = RunProcess({"/usr/bin/env", env_state, kBin, "mcp", "--policy", kSeed, "--store", typo,
                         "--", "/bin/true"});
  EXPECT_NE(mcp.exit_code, 0) << mcp.out;
  EXPECT_NE(mcp.err.find("--create"), std::string::npos) << mcp.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/no-such-dir"));
}

// Tests that --create makes a named store's missing directories, private (0700) whatever
// the umask, that the new store is 0600, and that the command says on stderr that it
// starts a new, empty trail (once: the next command opens the existing store silently).
TEST(StorePlace, CreateMakesPrivateDirectoriesAndAnnouncesTheNewStore) {
  TempDir dir;
  const std::string store = dir.path() + "/new/state/interlock.db";
  auto made = RunProcess({"/bin/sh", "-c", "umask 000; exec \"$0\" \"$@\"", kBin, "token", "create",
                          "--store", store, "--create", "--admin", "alice"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_NE(made.err.find("no store at " + store + ": creating a new one"), std::string::npos)
      << made.err;
  EXPECT_EQ(ModeOf(dir.path() + "/new"), 0700u);
  EXPECT_EQ(ModeOf(dir.path() + "/new/state"), 0700u);
  EXPECT_EQ(ModeOf(store), 0600u);
  EXPECT_EQ(ModeOf(store + ".keys"), 0700u);
  auto again = RunProcess({kBin, "token", "create", "--store", store, "--admin", "bob"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.err.find("creating a new one"), std::string::npos) << again.err;
}

// Tests that the default store of the state directory is still made unasked (0700), and
// that a store in an existing directory is created there and announced.
TEST(StorePlace, DefaultStateDirectoryIsStillMadeUnasked) {
  TempDir dir;
  auto made =
      RunProcess({"/usr/bin/env", "-u", "INTERLOCK_STORE", "XDG_STATE_HOME=" + dir.path() + "/xdg",
                  kBin, "token", "create", "--admin", "alice"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(ModeOf(dir.path() + "/xdg/interlock"), 0700u);
  EXPECT_EQ(ModeOf(dir.path() + "/xdg/interlock/interlock.db") & 077, 0u);
  EXPECT_NE(made.err.find("creating a new one"), std::string::npos) << made.err;
  const std::string here = dir.path() + "/here.db";
  auto in_dir = RunProcess({kBin, "token", "create", "--store", here, "--admin", "alice"});
  ASSERT_EQ(in_dir.exit_code, 0) << in_dir.err;
  EXPECT_NE(in_dir.err.find("no store at " + here), std::string::npos) << in_dir.err;
}

// Tests that `interlock serve` refuses to listen on an address other than loopback over
// plain HTTP (bearer tokens in clear) unless asked, and that the flag that asks is logged.
// Nothing binds: the refusal comes before listening, and the allowed start stops at an
// invalid policy directory.
TEST(ServeCommand, PlainHttpOnANonLoopbackAddressIsRefusedUnlessAskedFor) {
  TempDir dir;
  for (const char* listen : {"0.0.0.0:0", "[::]:0", "192.0.2.1:0"}) {
    auto r = RunProcess(
        {kBin, "serve", "--listen", listen, "--policies", kExamples, "--store", ":memory:"}, "",
        std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 2) << listen << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("refusing to serve plain HTTP"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--allow-plain-http"), std::string::npos) << r.err;
  }
  auto asked = RunProcess({kBin, "serve", "--listen", "0.0.0.0:0", "--allow-plain-http",
                           "--policies", dir.path() + "/no-policies", "--store", ":memory:"},
                          "", std::chrono::seconds(30));
  EXPECT_EQ(asked.exit_code, 2) << asked.err;
  EXPECT_NE(asked.err.find("warning: serving plain HTTP on 0.0.0.0:0"), std::string::npos)
      << asked.err;
  const std::string config = dir.Write(
      "plain.yaml", "listen: \"0.0.0.0:0\"\nallow_plain_http: true\npolicies: " + dir.path() +
                        "/no-policies\nstore: \":memory:\"\n");
  auto from_config = RunProcess({kBin, "serve", "--config", config}, "", std::chrono::seconds(30));
  EXPECT_NE(from_config.err.find("warning: serving plain HTTP"), std::string::npos)
      << from_config.err;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
