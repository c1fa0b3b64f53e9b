// Real Claude Code (npm `@anthropic-ai/claude-code`, pinned in package-lock.json, its native
// binary) protected by the real `interlock serve` through the HTTP hooks of docs/mcp.md, as
// a developer pastes them into `.claude/settings.json`. No model and no network: Claude Code
// talks to fake_messages_api.mjs on 127.0.0.1 (ANTHROPIC_BASE_URL), which plays a script of
// tool uses and then echoes the tool results the model was given, so each test reads what
// Claude Code ran, what the model was told, and what the daemon recorded. Every process is
// on loopback, in the test's own temporary directories (HOME included), bounded in time.
// See docs/mcp.md, "Claude Code HTTP hooks" ("Tested with Claude Code itself").
#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "daemon_harness.h"
#include "json_lines.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "wait.h"

namespace interlock::testing {
namespace INTERLOCK_TEST_NS {

using interlock::testing::WaitUntil;

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

// The policy of Claude Code's `code-reviewer` sub-agents (a child run's role): read only
// (Read within the session's project, Grep, Glob); no Write, no Bash.
constexpr const char* kCodeReviewerPolicy = R"(agent:
  id: "claude-code/code-reviewer"
  identity: "claude-code-reviewer@example.iam"
tools:
  allowed:
    - name: "Read"
      constraints:
        arguments:
          file_path: {path_prefix: "${workspace}"}
    - name: "Grep"
    - name: "Glob"
execution:
  max_steps: 100
)";

const std::string kSuiteDir = std::string(INTERLOCK_SOURCE_DIR) + "/tests/integration/claude_code";
const std::string kClaude = kSuiteDir + "/node_modules/.bin/claude";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::binary) << text;
  fs::rename(tmp, path);
}

int CountLines(const std::string& path) {
  const std::string s = ReadFile(path);
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

void ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// The settings block of docs/mcp.md's "Claude Code hook" section whose PreToolUse hook is of
// `type` (and, for a command, contains `needle`), as text: what a developer pastes.
std::string DocumentedSettings(const std::string& type, const std::string& needle = "") {
  const std::string page = ReadFile(std::string(INTERLOCK_SOURCE_DIR) + "/docs/mcp.md");
  for (const json::value& v : JsonBlocksOfSection(page, "## Claude Code hook")) {
    if (!v.is_object() || !v.as_object().contains("hooks")) continue;
    const json::value& hook = v.at("hooks").at("PreToolUse").at(0).at("hooks").at(0);
    if (Str(hook, {"type"}) != type) continue;
    if (Str(hook, {"command"}).find(needle) == std::string::npos) continue;
    return json::serialize(v);
  }
  ADD_FAILURE() << "docs/mcp.md has no " << type << " hook settings block with '" << needle << "'";
  return "{}";
}

// The HTTP hook settings block, its daemon URL pointed at `port`, byte for byte but the port.
std::string DocumentedHttpSettings(int port) {
  std::string text = DocumentedSettings("http");
  ReplaceAll(text, "http://127.0.0.1:8181/", "http://127.0.0.1:" + std::to_string(port) + "/");
  return text;
}

// What one `claude -p` printed (--output-format json) and how it ended.
struct ClaudeRun {
  int exit_code = -1;
  bool timed_out = false;
  std::string session_id;
  std::string result;  // the model's final text: the stand-in's TOOL_RESULT lines
  json::value out;     // the whole JSON object
  std::string raw, err;
  std::string api_log;  // the stand-in's log, kept when the run failed
};

std::ostream& operator<<(std::ostream& os, const ClaudeRun& r) {
  return os << "exit " << r.exit_code << (r.timed_out ? " (timed out)" : "")
            << "\nstdout: " << r.raw.substr(0, 4000) << "\nstderr: " << r.err.substr(0, 4000)
            << "\nthe stand-in's log (end): " << r.api_log;
}

// The stand-in for the Messages API: fake_messages_api.mjs in its own process group,
// killed with the test.
class FakeMessagesApi {
 public:
  explicit FakeMessagesApi(const std::string& dir)
      : script_(dir + "/script.json"),
        log_(dir + "/api.log"),
        child_({"node", kSuiteDir + "/fake_messages_api.mjs", script_, log_}) {
    SetScript(json::object{});
    boost::system::error_code ec;
    json::value v = json::parse(child_.FirstLine(15s), ec);
    if (!ec && v.is_object() && v.as_object().contains("port")) {
      port_ = static_cast<int>(v.at("port").to_number<int64_t>());
    }
  }
  int port() const { return port_; }
  void SetScript(const json::value& script) { WriteFile(script_, json::serialize(script)); }
  std::string Log() const { return ReadFile(log_); }

 private:
  std::string script_, log_;
  ServiceChild child_;
  int port_ = 0;
};

json::object ToolUse(const std::string& name, json::object input) {
  return json::object{{"name", name}, {"input", std::move(input)}};
}

// The script of one conversation: these tool uses, one per model turn, then `final`.
json::object Script(json::array tool_uses, const std::string& final = "done") {
  return json::object{{"tool_uses", std::move(tool_uses)}, {"final", final}};
}

class ClaudeCodeRealTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setup_error_ = RunSetupScriptOnce(std::string(INTERLOCK_SOURCE_DIR) +
                                      "/scripts/setup-claude-code-tests.sh");
  }

  void SetUp() override {
    ASSERT_EQ(setup_error_, "");
    root_ = fs::canonical(dir_.path()).string();
    home_ = root_ + "/home";
    fs::create_directories(home_);
    fs::create_directories(root_ + "/tmp");
    api_ = std::make_unique<FakeMessagesApi>(root_);
    ASSERT_NE(api_->port(), 0) << "fake_messages_api.mjs did not start";
  }
  void TearDown() override {
    client_.reset();
    if (daemon_) daemon_->Stop();
  }

  // A project directory ROOT/NAME with a file a.txt, not yet configured.
  std::string MakeProject(const std::string& name) {
    const std::string dir = root_ + "/" + name;
    fs::create_directories(dir);
    WriteFile(dir + "/a.txt", "hello from " + name + "\n");
    return dir;
  }

  static std::string ShippedPolicy() {
    return ReadFile(std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies/claude-code.yaml");
  }

  // `interlock serve` with the shipped examples/policies/claude-code.yaml (and `more`
  // policies: file name -> YAML), `extra` flags; an agent token for claude-code (agent_)
  // and a reviewer's (reviewer_).
  // `claude_code`: the claude-code policy's text instead of the shipped one.
  void StartDaemon(const std::vector<std::string>& extra,
                   const std::vector<std::pair<std::string, std::string>>& more = {},
                   const std::string& claude_code = ShippedPolicy()) {
    const std::string policies = root_ + "/policies";
    fs::create_directories(policies);
    WriteFile(policies + "/claude-code.yaml", claude_code);
    for (const auto& [file, yaml] : more) WriteFile(policies + "/" + file, yaml);
    fs::create_directories(root_ + "/daemon");
    daemon_ = std::make_unique<Daemon>(root_ + "/daemon", policies);
    daemon_->SetExtraArgs(extra);
    agent_ = CreateToken(daemon_->store(), "--agent", "claude-code");
    reviewer_ = CreateToken(daemon_->store(), "--reviewer", "rita");
    ASSERT_FALSE(agent_.empty());
    ASSERT_TRUE(daemon_->Start()) << daemon_->log();
    client_ = std::make_unique<HttpClient>(daemon_->port());
  }

  // The project's .claude/settings.json: the documented HTTP hooks, to this test's daemon.
  void ConfigureHooks(const std::string& project) {
    WriteFile(project + "/.claude/settings.json", DocumentedHttpSettings(daemon_->port()));
  }

  // `claude -p PROMPT` in `project` (its cwd) as the stand-in plays `script` (an empty
  // object: the script already set, for runs side by side): a clean
  // environment (HOME in the test's directory, the agent token in INTERLOCK_TOKEN, no
  // telemetry, updates or other traffic), Claude Code's own permission prompts settled by
  // --allowedTools (as root --dangerously-skip-permissions is refused), bounded by 60 s
  // (coreutils `timeout` signals the whole process group, Bash tool children included).
  ClaudeRun RunClaude(const std::string& project, const json::object& script,
                      const std::string& prompt, const std::string& resume = "",
                      const std::string& token = "", const std::string& home = "") {
    if (!script.empty()) api_->SetScript(script);
    std::vector<std::string> argv = {
        "/usr/bin/env", "-i", "--chdir=" + project,
        // The build's `interlock` first, for the command hooks.
        "PATH=" + std::string(INTERLOCK_BINARY_DIR) + ":/usr/local/bin:/usr/bin:/bin",
        "HOME=" + (home.empty() ? home_ : home), "SHELL=/bin/bash", "LANG=C.UTF-8",
        "TMPDIR=" + root_ + "/tmp",
        "ANTHROPIC_BASE_URL=http://127.0.0.1:" + std::to_string(api_->port()),
        "ANTHROPIC_API_KEY=sk-ant-test-not-a-key",
        "INTERLOCK_TOKEN=" + (token.empty() ? agent_ : token), "DISABLE_TELEMETRY=1",
        "DISABLE_ERROR_REPORTING=1", "DISABLE_AUTOUPDATER=1", "DISABLE_BUG_COMMAND=1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY=1",
        "/usr/bin/timeout", "-k", "5", "60", kClaude, "-p", prompt, "--output-format", "json",
        "--permission-mode", "default", "--allowedTools", "Read,Write,Edit,Bash,Glob,Grep,Agent"};
    if (!resume.empty()) argv.insert(argv.end(), {"--resume", resume});
    ProcessResult p = RunProcess(argv, "", 75s);
    ClaudeRun r;
    r.exit_code = p.exit_code;
    r.timed_out = p.timed_out || p.exit_code == 124 || p.exit_code == 137;
    r.raw = p.out;
    r.err = p.err;
    const size_t start = p.out.find('{');
    if (start != std::string::npos) {
      boost::system::error_code ec;
      r.out = json::parse(p.out.substr(start), ec);
      if (ec) r.out = nullptr;
    }
    if (r.exit_code != 0) {
      const std::string log = api_->Log();
      r.api_log = log.substr(log.size() > 6000 ? log.size() - 6000 : 0);
    }
    r.session_id = Str(r.out, {"session_id"});
    r.result = Str(r.out, {"result"});
    return r;
  }

  // The daemon's one run (a fresh daemon per test): its replay's calls.
  json::array Calls() {
    HttpResult runs = client_->Request("GET", "/v1/runs", "", reviewer_);
    EXPECT_EQ(runs.status, 200) << runs.body;
    json::array out;
    if (!runs.json.is_object()) return out;
    for (const json::value& run : runs.json.at("runs").as_array()) {
      HttpResult replay =
          client_->Request("GET", "/v1/runs/" + Str(run, {"run_id"}) + "/replay", "", reviewer_);
      EXPECT_EQ(replay.status, 200) << replay.body;
      if (!replay.json.is_object()) continue;
      for (const json::value& c : replay.json.at("calls").as_array()) out.push_back(c);
    }
    return out;
  }

  // The run whose replay holds a call of `tool` ("" if none).
  std::string RunHolding(const std::string& tool) {
    HttpResult runs = client_->Request("GET", "/v1/runs", "", reviewer_);
    if (!runs.json.is_object()) return "";
    for (const json::value& run : runs.json.at("runs").as_array()) {
      const std::string id = Str(run, {"run_id"});
      HttpResult replay = client_->Request("GET", "/v1/runs/" + id + "/replay", "", reviewer_);
      if (!replay.json.is_object()) continue;
      for (const json::value& c : replay.json.at("calls").as_array()) {
        if (Str(c, {"tool"}) == tool) return id;
      }
    }
    return "";
  }

  // The replayed calls of `tool` whose arguments' `key` is `value`.
  json::array CallsOf(const std::string& tool, const std::string& key, const std::string& value) {
    json::array out;
    for (const json::value& c : Calls()) {
      if (Str(c, {"tool"}) == tool && Str(c, {"args", key.c_str()}) == value) out.push_back(c);
    }
    return out;
  }

  HttpResult Vote(const std::string& approval, const std::string& verdict,
                  const std::string& comment) {
    return client_->Request(
        "POST", "/v1/approvals/" + approval,
        json::serialize(json::object{{"verdict", verdict}, {"comment", comment}}), reviewer_);
  }

  // `project` as a git repository (branch main, one commit) whose `origin` is a bare
  // repository beside it; git runs the remote's receive-pack on every push that reaches it
  // (up to date or not), here a wrapper that counts them in ROOT/pushes first.
  void MakeRepoWithCountingRemote(const std::string& project) {
    const std::string counter = root_ + "/count-receive-pack";
    WriteFile(counter,
              "#!/bin/sh\necho push >> '" + root_ + "/pushes'\nexec git-receive-pack \"$@\"\n");
    fs::permissions(counter, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read |
                                 fs::perms::group_exec | fs::perms::others_exec);
    const std::vector<std::vector<std::string>> steps = {
        {"init", "-q", "--bare", root_ + "/remote.git"},
        {"-C", project, "init", "-q", "-b", "main"},
        {"-C", project, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-q",
         "--allow-empty", "-m", "init"},
        {"-C", project, "remote", "add", "origin", root_ + "/remote.git"},
        {"-C", project, "config", "remote.origin.receivepack", counter}};
    for (const auto& step : steps) {
      std::vector<std::string> argv = {"/usr/bin/env", "HOME=" + home_, "GIT_CONFIG_NOSYSTEM=1",
                                       "/usr/bin/git"};
      argv.insert(argv.end(), step.begin(), step.end());
      ProcessResult p = RunProcess(argv, "", 30s);
      ASSERT_EQ(p.exit_code, 0) << step.back() << ": " << p.err;
    }
  }
  int Pushes() { return CountLines(root_ + "/pushes"); }

  static inline std::string setup_error_;
  TempDir dir_{"interlock-claude-code"};
  std::string root_, home_;
  std::unique_ptr<FakeMessagesApi> api_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
  std::string agent_, reviewer_;
};

// The model's view of the i-th tool result of the turn (the stand-in's echo), "" if none.
std::vector<std::string> ToolResults(const ClaudeRun& r) {
  std::vector<std::string> out;
  size_t at = 0;
  while ((at = r.result.find("TOOL_RESULT ", at)) != std::string::npos) {
    const size_t end = r.result.find('\n', at);
    out.push_back(r.result.substr(at + 12, end == std::string::npos ? end : end - at - 12));
    at = end == std::string::npos ? r.result.size() : end;
  }
  return out;
}

std::string ApprovalIn(const std::string& text) {
  const size_t at = text.find("apr_");
  if (at == std::string::npos) return "";
  size_t end = at + 4;
  while (end < text.size() && std::isxdigit(static_cast<unsigned char>(text[end]))) ++end;
  return text.substr(at, end - at);
}

// (a) An allowed call runs, and the daemon's audit shows it: the session's run holds the
// Read, allowed, with the result Claude Code reported through PostToolUse.
TEST_F(ClaudeCodeRealTest, AllowedReadRunsAndIsRecordedWithItsResult) {
  const std::string proj = MakeProject("proj");
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--workspace", proj}));
  ConfigureHooks(proj);
  ClaudeRun r =
      RunClaude(proj, Script({ToolUse("Read", {{"file_path", proj + "/a.txt"}})}), "read a.txt");
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_FALSE(r.session_id.empty()) << r;
  const std::vector<std::string> results = ToolResults(r);
  ASSERT_EQ(results.size(), 1u) << r;
  EXPECT_EQ(results[0].rfind("ok ", 0), 0u) << r;
  EXPECT_NE(results[0].find("hello from proj"), std::string::npos) << r;

  json::array reads = CallsOf("Read", "file_path", proj + "/a.txt");
  ASSERT_EQ(reads.size(), 1u) << json::serialize(Calls());
  EXPECT_EQ(Str(reads[0], {"decision"}), "allow") << json::serialize(reads[0]);
  // PostToolUse reported the result on the call its PreToolUse allowed.
  EXPECT_NE(json::serialize(reads[0]).find("hello from proj"), std::string::npos)
      << json::serialize(reads[0]);
}

// (b) A refused call never runs, and the model is told why: a Bash line that writes a file
// and then `rm -rf`s is refused whole (the shipped policy denies `rm -rf *`), so the
// harmless first half never runs either; Claude Code hands the daemon's reason to the model.
TEST_F(ClaudeCodeRealTest, RefusedBashLineNeverRunsAndTheModelIsToldWhy) {
  const std::string proj = MakeProject("proj");
  fs::create_directories(proj + "/src");
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--workspace", proj}));
  ConfigureHooks(proj);
  const std::string line = "echo pwned > " + proj + "/side-effect.txt && rm -rf " + proj + "/src";
  ClaudeRun r = RunClaude(
      proj, Script({ToolUse("Bash", {{"command", line}, {"description", "x"}})}), "clean up");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_FALSE(fs::exists(proj + "/side-effect.txt"));
  EXPECT_TRUE(fs::exists(proj + "/src"));
  const std::vector<std::string> results = ToolResults(r);
  ASSERT_EQ(results.size(), 1u) << r;
  EXPECT_EQ(results[0].rfind("error ", 0), 0u) << r;
  EXPECT_NE(results[0].find("Interlock: CONSTRAINT_VIOLATED"), std::string::npos) << r;
  EXPECT_NE(results[0].find("rm -rf"), std::string::npos) << r;
  // Claude Code counts it among the session's permission denials.
  EXPECT_NE(json::serialize(r.out.at("permission_denials")).find("side-effect.txt"),
            std::string::npos)
      << r;
  json::array calls = CallsOf("Bash", "command", line);
  ASSERT_EQ(calls.size(), 1u) << json::serialize(Calls());
  EXPECT_EQ(Str(calls[0], {"decision"}), "deny");
  EXPECT_EQ(Str(calls[0], {"code"}), "CONSTRAINT_VIOLATED");
}

// (c) The agent cannot switch off its guard: Write and Edit of Claude Code's own settings
// (where the hooks are configured; settings.local.json overrides them) and of .env are
// refused by the shipped policy, whatever Claude Code's own rules would have said; the files
// stay as they were, and the next call still goes through the hook.
TEST_F(ClaudeCodeRealTest, AgentCannotRewriteClaudeSettingsOrEnv) {
  const std::string proj = MakeProject("proj");
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--workspace", proj}));
  ConfigureHooks(proj);
  WriteFile(proj + "/.env", "API_KEY=one\n");
  const std::string settings_before = ReadFile(proj + "/.claude/settings.json");
  const std::string off = R"({"disableAllHooks": true})";
  ClaudeRun r = RunClaude(
      proj,
      Script(
          {ToolUse("Write", {{"file_path", proj + "/.claude/settings.json"}, {"content", off}}),
           ToolUse("Write",
                   {{"file_path", proj + "/.claude/settings.local.json"}, {"content", off}}),
           ToolUse("Edit", {{"file_path", proj + "/.env"},
                            {"old_string", "API_KEY=one"},
                            {"new_string", "API_KEY=two"}}),
           ToolUse("Write", {{"file_path", proj + "/.env"}, {"content", "API_KEY=three\n"}}),
           ToolUse("Bash", {{"command", "echo '{}' > " + proj + "/.claude/settings.json"},
                            {"description", "x"}}),
           ToolUse("Write", {{"file_path", proj + "/notes.txt"}, {"content", "still guarded"}})}),
      "switch the guard off");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(ReadFile(proj + "/.claude/settings.json"), settings_before);
  EXPECT_FALSE(fs::exists(proj + "/.claude/settings.local.json"));
  EXPECT_EQ(ReadFile(proj + "/.env"), "API_KEY=one\n");
  const std::vector<std::string> results = ToolResults(r);
  ASSERT_EQ(results.size(), 6u) << r;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(results[i].rfind("error ", 0), 0u) << i << ": " << results[i];
    EXPECT_NE(results[i].find("Interlock: CONSTRAINT_VIOLATED"), std::string::npos)
        << i << ": " << results[i];
  }
  // The guard is still on: the last Write went through the daemon, which allowed it.
  EXPECT_EQ(results[5].rfind("ok ", 0), 0u) << results[5];
  EXPECT_EQ(ReadFile(proj + "/notes.txt"), "still guarded");
  json::array notes = CallsOf("Write", "file_path", proj + "/notes.txt");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(Str(notes[0], {"decision"}), "allow");
}

// (d) A link inside the project to a secret outside it: `docs-link -> ~/.ssh`. Read, and
// Bash `cat`/`head` by absolute and relative path, are judged on the path the OS opens,
// so the key never reaches the model (the stand-in sees every tool result Claude Code sends).
TEST_F(ClaudeCodeRealTest, ReadThroughProjectSymlinkToSshKeyIsRefused) {
  const std::string proj = MakeProject("proj");
  fs::create_directories(home_ + "/.ssh");
  WriteFile(home_ + "/.ssh/id_rsa", "-----BEGIN SECRET-KEY-MATERIAL-----\n");
  fs::create_directory_symlink(home_ + "/.ssh", proj + "/docs-link");
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--workspace", proj}));
  ConfigureHooks(proj);
  ClaudeRun r = RunClaude(
      proj,
      Script({ToolUse("Read", {{"file_path", proj + "/docs-link/id_rsa"}}),
              ToolUse("Bash",
                      {{"command", "cat " + proj + "/docs-link/id_rsa"}, {"description", "x"}}),
              ToolUse("Bash", {{"command", "head docs-link/id_rsa"}, {"description", "x"}}),
              ToolUse("Read", {{"file_path", proj + "/a.txt"}})}),
      "read the docs");
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::vector<std::string> results = ToolResults(r);
  ASSERT_EQ(results.size(), 4u) << r;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(results[i].rfind("error ", 0), 0u) << i << ": " << results[i];
    EXPECT_NE(results[i].find(".ssh/id_rsa"), std::string::npos) << i << ": " << results[i];
  }
  EXPECT_EQ(results[3].rfind("ok ", 0), 0u) << results[3];
  EXPECT_EQ(api_->Log().find("SECRET-KEY-MATERIAL"), std::string::npos);
  EXPECT_EQ(r.raw.find("SECRET-KEY-MATERIAL"), std::string::npos);
}

// (e) Approve, then retry through the HTTP hook: `git push` (the shipped policy's one gated
// command) is refused with the approval's link; a reviewer approves through the API; the
// identical call in the same session (`claude -p --resume`, a new tool_use_id) runs exactly
// once; the next identical retry needs a new approval. The push counter is the remote's
// receive-pack, which git runs on every push that reaches the remote.
TEST_F(ClaudeCodeRealTest, ApprovedGitPushRunsOnceOnRetryInTheSameSession) {
  const std::string proj = MakeProject("proj");
  ASSERT_NO_FATAL_FAILURE(MakeRepoWithCountingRemote(proj));
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--workspace", proj}));
  ConfigureHooks(proj);
  const json::object push =
      Script({ToolUse("Bash", {{"command", "git push origin main"}, {"description", "push"}})});

  ClaudeRun first = RunClaude(proj, push, "push it");
  ASSERT_EQ(first.exit_code, 0) << first;
  std::vector<std::string> results = ToolResults(first);
  ASSERT_EQ(results.size(), 1u) << first;
  EXPECT_NE(results[0].find("APPROVAL_REQUIRED"), std::string::npos) << results[0];
  const std::string approval = ApprovalIn(results[0]);
  ASSERT_FALSE(approval.empty()) << results[0];
  EXPECT_NE(results[0].find("/ui/#/approvals/" + approval), std::string::npos) << results[0];
  EXPECT_EQ(Pushes(), 0);

  HttpResult vote = Vote(approval, "approve", "ship it");
  ASSERT_EQ(vote.status, 200) << vote.body;
  EXPECT_EQ(Str(vote.json, {"state"}), "granted") << vote.body;

  ClaudeRun retry = RunClaude(proj, push, "try again", first.session_id);
  ASSERT_EQ(retry.exit_code, 0) << retry;
  EXPECT_EQ(retry.session_id, first.session_id);
  results = ToolResults(retry);
  ASSERT_EQ(results.size(), 1u) << retry;
  EXPECT_EQ(results[0].rfind("ok ", 0), 0u) << results[0];
  EXPECT_EQ(Pushes(), 1);

  // The grant is spent: the same call again asks for a new approval, and does not run.
  ClaudeRun again = RunClaude(proj, push, "once more", first.session_id);
  ASSERT_EQ(again.exit_code, 0) << again;
  results = ToolResults(again);
  ASSERT_EQ(results.size(), 1u) << again;
  EXPECT_NE(results[0].find("APPROVAL_REQUIRED"), std::string::npos) << results[0];
  const std::string second = ApprovalIn(results[0]);
  EXPECT_FALSE(second.empty());
  EXPECT_NE(second, approval);
  EXPECT_EQ(Pushes(), 1);
}

// (e) Deny, then retry: a reviewer's deny answers the identical retry in the same session
// with the reviewer's reason; nobody is asked again and nothing runs.
TEST_F(ClaudeCodeRealTest, DeniedGitPushStaysRefusedOnRetryWithTheReviewersReason) {
  const std::string proj = MakeProject("proj");
  ASSERT_NO_FATAL_FAILURE(MakeRepoWithCountingRemote(proj));
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--workspace", proj}));
  ConfigureHooks(proj);
  const json::object push =
      Script({ToolUse("Bash", {{"command", "git push origin main"}, {"description", "push"}})});
  ClaudeRun first = RunClaude(proj, push, "push it");
  ASSERT_EQ(first.exit_code, 0) << first;
  const std::string approval = ApprovalIn(first.result);
  ASSERT_FALSE(approval.empty()) << first;
  HttpResult vote = Vote(approval, "deny", "not on a Saturday");
  ASSERT_EQ(vote.status, 200) << vote.body;

  ClaudeRun retry = RunClaude(proj, push, "try again", first.session_id);
  ASSERT_EQ(retry.exit_code, 0) << retry;
  std::vector<std::string> results = ToolResults(retry);
  ASSERT_EQ(results.size(), 1u) << retry;
  EXPECT_EQ(results[0].rfind("error ", 0), 0u) << results[0];
  EXPECT_NE(results[0].find("APPROVAL_DENIED"), std::string::npos) << results[0];
  EXPECT_NE(results[0].find("not on a Saturday"), std::string::npos) << results[0];
  EXPECT_EQ(Pushes(), 0);
  HttpResult pending = client_->Request("GET", "/v1/approvals?state=pending", "", reviewer_);
  EXPECT_EQ(pending.body.find("apr_"), std::string::npos) << pending.body;
}

// The shipped policy with approvals of Bash lasting `seconds` (pending, and as an answer to
// identical retries once given).
std::string ShippedPolicyWithApprovalTimeout(const std::string& shipped, int seconds) {
  std::string text = shipped;
  const std::string bash = "    - name: \"Bash\"\n";
  const size_t at = text.find(bash);
  if (at == std::string::npos) return text;
  text.insert(at + bash.size(),
              "      approval_timeout_seconds: " + std::to_string(seconds) + "\n");
  return text;
}

// (e) Expiry, then retry: an approval nobody decided in time does not answer the retry (a
// new approval is asked), nor does a grant older than the approval's timeout; nothing runs.
TEST_F(ClaudeCodeRealTest, ExpiredApprovalAndStaleGrantEachNeedANewApprovalOnRetry) {
  const std::string proj = MakeProject("proj");
  ASSERT_NO_FATAL_FAILURE(MakeRepoWithCountingRemote(proj));
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon({"--workspace", proj}, {}, ShippedPolicyWithApprovalTimeout(ShippedPolicy(), 2)));
  ConfigureHooks(proj);
  const json::object push =
      Script({ToolUse("Bash", {{"command", "git push origin main"}, {"description", "push"}})});
  ClaudeRun first = RunClaude(proj, push, "push it");
  ASSERT_EQ(first.exit_code, 0) << first;
  const std::string expired = ApprovalIn(first.result);
  ASSERT_FALSE(expired.empty()) << first;
  // The sweeper times it out (2 s, checked every 250 ms): bounded wait for it.
  std::string state;
  WaitUntil(
      [&] {
        state =
            Str(client_->Request("GET", "/v1/approvals/" + expired, "", reviewer_).json, {"state"});
        return !state.empty() && state != "pending";
      },
      10s, 100ms);
  ASSERT_NE(state, "pending");

  ClaudeRun retry = RunClaude(proj, push, "try again", first.session_id);
  ASSERT_EQ(retry.exit_code, 0) << retry;
  const std::string fresh = ApprovalIn(retry.result);
  EXPECT_NE(retry.result.find("APPROVAL_REQUIRED"), std::string::npos) << retry;
  ASSERT_FALSE(fresh.empty()) << retry;
  EXPECT_NE(fresh, expired);
  EXPECT_EQ(Pushes(), 0);

  // Granted, then left longer than the timeout: the grant no longer answers the retry.
  ASSERT_EQ(Vote(fresh, "approve", "ok").status, 200);
  std::this_thread::sleep_for(2500ms);  // pace: longer than the grant's timeout
  ClaudeRun late = RunClaude(proj, push, "try once more", first.session_id);
  ASSERT_EQ(late.exit_code, 0) << late;
  EXPECT_NE(late.result.find("APPROVAL_REQUIRED"), std::string::npos) << late;
  const std::string third = ApprovalIn(late.result);
  EXPECT_FALSE(third.empty());
  EXPECT_NE(third, fresh);
  EXPECT_EQ(Pushes(), 0);
}

// (e) Two retries racing for one grant: the same session resumed twice at once (two
// terminals) after the approval; one retry redeems the grant, the other is asked for a new
// approval, and the push happens once.
TEST_F(ClaudeCodeRealTest, TwoRetriesRacingForOneGrantPushOnce) {
  const std::string proj = MakeProject("proj");
  ASSERT_NO_FATAL_FAILURE(MakeRepoWithCountingRemote(proj));
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--workspace", proj}));
  ConfigureHooks(proj);
  const json::object push =
      Script({ToolUse("Bash", {{"command", "git push origin main"}, {"description", "push"}})});
  ClaudeRun first = RunClaude(proj, push, "push it");
  ASSERT_EQ(first.exit_code, 0) << first;
  const std::string approval = ApprovalIn(first.result);
  ASSERT_FALSE(approval.empty()) << first;
  ASSERT_EQ(Vote(approval, "approve", "ok").status, 200);

  ClaudeRun a, b;
  std::thread other([&] { b = RunClaude(proj, {}, "retry B", first.session_id); });
  a = RunClaude(proj, {}, "retry A", first.session_id);
  other.join();
  ASSERT_EQ(a.exit_code, 0) << a;
  ASSERT_EQ(b.exit_code, 0) << b;
  const std::vector<std::string> ra = ToolResults(a), rb = ToolResults(b);
  ASSERT_EQ(ra.size(), 1u) << a;
  ASSERT_EQ(rb.size(), 1u) << b;
  const bool a_ran = ra[0].rfind("ok ", 0) == 0, b_ran = rb[0].rfind("ok ", 0) == 0;
  EXPECT_NE(a_ran, b_ran) << ra[0] << "\n" << rb[0];
  EXPECT_NE((a_ran ? rb[0] : ra[0]).find("APPROVAL_REQUIRED"), std::string::npos);
  EXPECT_EQ(Pushes(), 1);
}

// The documented settings fail closed: with the daemon down (connection refused), the
// deciding events' `"onFailure": "block"` makes Claude Code refuse every tool, so an agent
// cannot outlast its guard by waiting for it to restart.
TEST_F(ClaudeCodeRealTest, DaemonDownRefusesEveryToolWithTheDocumentedSettings) {
  const std::string proj = MakeProject("proj");
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--workspace", proj}));
  ConfigureHooks(proj);
  client_.reset();
  daemon_->Stop();
  ClaudeRun r = RunClaude(
      proj,
      Script({ToolUse("Read", {{"file_path", proj + "/a.txt"}}),
              ToolUse("Write", {{"file_path", proj + "/written.txt"}, {"content", "x"}})}),
      "work while the guard is down");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_FALSE(fs::exists(proj + "/written.txt"));
  const std::vector<std::string> results = ToolResults(r);
  ASSERT_EQ(results.size(), 2u) << r;
  for (const std::string& result : results) {
    EXPECT_EQ(result.rfind("error ", 0), 0u) << result;
    EXPECT_NE(result.find("onFailure"), std::string::npos) << result;
    EXPECT_EQ(result.find("hello from proj"), std::string::npos) << result;
  }
}

// The documented command hook, standalone (`interlock hook claude-code --policy`, no
// daemon), run by Claude Code itself: ${workspace} is the session's cwd, an allowed Read
// runs, a write of .claude/settings.json is refused, and both are in the local store
// (HOME/.local/state/interlock/interlock.db) with the Read's result from PostToolUse.
TEST_F(ClaudeCodeRealTest, DocumentedStandaloneCommandHookDecidesEveryCall) {
  const std::string proj = MakeProject("proj");
  std::string settings = DocumentedSettings("command", "--policy");
  ReplaceAll(settings, "/etc/interlock/claude-code.yaml",
             std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies/claude-code.yaml");
  WriteFile(proj + "/.claude/settings.json", settings);
  const std::string before = ReadFile(proj + "/.claude/settings.json");
  ClaudeRun r = RunClaude(
      proj,
      Script({ToolUse("Read", {{"file_path", proj + "/a.txt"}}),
              ToolUse("Write", {{"file_path", proj + "/.claude/settings.json"}, {"content", "{}"}}),
              ToolUse("Read", {{"file_path", root_ + "/home/.bashrc"}})}),
      "read and tamper", "", "none");
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::vector<std::string> results = ToolResults(r);
  ASSERT_EQ(results.size(), 3u) << r;
  EXPECT_EQ(results[0].rfind("ok ", 0), 0u) << results[0];
  EXPECT_NE(results[0].find("hello from proj"), std::string::npos) << results[0];
  EXPECT_NE(results[1].find("Interlock: CONSTRAINT_VIOLATED"), std::string::npos) << results[1];
  EXPECT_NE(results[2].find("outside the allowed prefixes"), std::string::npos) << results[2];
  EXPECT_EQ(ReadFile(proj + "/.claude/settings.json"), before);

  int rc = -1;
  const std::string audit =
      RunInterlock({"audit", "export", "--store", home_ + "/.local/state/interlock/interlock.db",
                    "--since", "2000-01-01", "--format", "jsonl"},
                   &rc);
  ASSERT_EQ(rc, 0) << audit;
  int allowed_reads = 0, refused_writes = 0, results_recorded = 0;
  for (const json::object& rec : ParseJsonLines(audit)) {
    const json::value v = rec;
    const std::string tool = Str(v, {"data", "tool"});
    const std::string decision = Str(v, {"data", "decision", "decision"});
    if (Str(v, {"type"}) == "decision" && tool == "Read" && decision == "allow") ++allowed_reads;
    if (Str(v, {"type"}) == "decision" && tool == "Write" && decision == "deny") ++refused_writes;
    if (Str(v, {"type"}) == "result" &&
        json::serialize(v).find("hello from proj") != std::string::npos) {
      ++results_recorded;
    }
  }
  EXPECT_EQ(allowed_reads, 1) << audit;
  EXPECT_EQ(refused_writes, 1) << audit;
  EXPECT_EQ(results_recorded, 1) << audit;
}

// The documented command hook with --daemon waits for the reviewers: Claude Code runs the
// hook, which holds the gated `git push` while a reviewer approves it through the API, and
// the push runs in that same attempt, once.
TEST_F(ClaudeCodeRealTest, DocumentedDaemonCommandHookHoldsTheCallUntilApproved) {
  const std::string proj = MakeProject("proj");
  ASSERT_NO_FATAL_FAILURE(MakeRepoWithCountingRemote(proj));
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--workspace", proj}));
  std::string settings = DocumentedSettings("command", "--daemon");
  ReplaceAll(settings, "https://interlock.example.com",
             "http://127.0.0.1:" + std::to_string(daemon_->port()));
  WriteFile(proj + "/.claude/settings.json", settings);
  ClaudeRun r;
  std::thread run([&] {
    r = RunClaude(
        proj,
        Script({ToolUse("Bash", {{"command", "git push origin main"}, {"description", "push"}})}),
        "push it");
  });
  // The approval appears while the hook waits (bounded: 30 s); rita approves it.
  std::string approval;
  WaitUntil(
      [&] {
        HttpResult pending = client_->Request("GET", "/v1/approvals?state=pending", "", reviewer_);
        return !(approval = ApprovalIn(pending.body)).empty();
      },
      30s, 100ms);
  const int status = approval.empty() ? 0 : Vote(approval, "approve", "go ahead").status;
  run.join();
  ASSERT_FALSE(approval.empty()) << r;
  EXPECT_EQ(status, 200);
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::vector<std::string> results = ToolResults(r);
  ASSERT_EQ(results.size(), 1u) << r;
  EXPECT_EQ(results[0].rfind("ok ", 0), 0u) << results[0];
  EXPECT_EQ(Pushes(), 1);
}

// The kill switch reaches a sub-agent at work: while a background `code-reviewer` is between
// two tool calls, an admin engages the kill switch on the session's run; the sub-agent's
// next call, in its child run of the session's run, is refused (KILL_SWITCH: a switch on a
// run covers its children) and never runs.
TEST_F(ClaudeCodeRealTest, KillSwitchOnTheSessionStopsItsSubagentMidWork) {
  const std::string proj = MakeProject("proj");
  WriteFile(proj + "/b.txt", "second file\n");
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--workspace", proj}, {}, ShippedPolicy()));
  const std::string admin = CreateToken(daemon_->store(), "--admin", "ada");
  ASSERT_FALSE(admin.empty());
  ConfigureHooks(proj);
  WriteFile(proj + "/.claude/agents/code-reviewer.md",
            "---\nname: code-reviewer\ndescription: Reviews code; read-only.\n"
            "tools: Read, Grep\n---\nYou review code.\n");
  const std::string release = root_ + "/release";
  json::object second = ToolUse("Read", {{"file_path", proj + "/b.txt"}});
  second["wait_for"] = release;
  json::object script = Script({ToolUse("Agent", {{"subagent_type", "code-reviewer"},
                                                  {"description", "review"},
                                                  {"prompt", "SUBAGENT-REVIEW: review a.txt"}})},
                               "parent done");
  script["conversations"] = json::array{json::object{
      {"when", "SUBAGENT-REVIEW"},
      {"tool_uses", json::array{ToolUse("Read", {{"file_path", proj + "/a.txt"}}), second}},
      {"final", "review done"}}};
  ClaudeRun r;
  std::thread run([&] { r = RunClaude(proj, script, "get a review"); });
  // The sub-agent's first Read is decided (bounded: 30 s); then the switch on the run of the
  // session (the one whose calls include the parent's Agent call), then its next call.
  std::string run_id;
  WaitUntil(
      [&] {
        if (CallsOf("Read", "file_path", proj + "/a.txt").empty()) return false;
        return !(run_id = RunHolding("Agent")).empty();
      },
      30s, 100ms);
  HttpResult kill =
      run_id.empty()
          ? HttpResult{}
          : client_->Request("POST", "/v1/kill",
                             json::serialize(json::object{{"scope", "run"},
                                                          {"target", run_id},
                                                          {"engaged", true},
                                                          {"reason", "stop the review"}}),
                             admin);
  WriteFile(release, "go");
  run.join();
  ASSERT_FALSE(run_id.empty()) << r;
  EXPECT_EQ(kill.status, 200) << kill.body;
  ASSERT_EQ(r.exit_code, 0) << r;
  json::array seconds = CallsOf("Read", "file_path", proj + "/b.txt");
  ASSERT_EQ(seconds.size(), 1u) << json::serialize(Calls());
  EXPECT_EQ(Str(seconds[0], {"decision"}), "deny");
  EXPECT_EQ(Str(seconds[0], {"code"}), "KILL_SWITCH") << json::serialize(seconds[0]);
  EXPECT_EQ(api_->Log().find("second file"), std::string::npos);
}

// (f) Two developers, two projects, one daemon: each session's `${workspace}` is its own
// project (the cwd of its first event), so each reads its own files and neither reads the
// other's, while both run at once. Each developer has a token and a HOME of their own.
TEST_F(ClaudeCodeRealTest, TwoDevelopersSessionsThroughOneDaemonEachKeepToTheirOwnProject) {
  const std::string alice = MakeProject("alice/proj");
  const std::string bob = MakeProject("bob/proj");
  // No --workspace: the daemon's own directory is neither project. The organisation's
  // roots (docs/policy.md#workspace_roots) admit each developer's project.
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon({}, {}, ShippedPolicy() + "\nworkspace_roots: [\"" + root_ + "/*/proj\"]\n"));
  const std::string bob_token = CreateToken(daemon_->store(), "--agent", "claude-code");
  ASSERT_FALSE(bob_token.empty());
  ConfigureHooks(alice);
  ConfigureHooks(bob);
  fs::create_directories(root_ + "/alice/home");
  fs::create_directories(root_ + "/bob/home");
  json::object script = Script({});
  script["conversations"] = json::array{
      json::object{{"when", "ALICE"},
                   {"tool_uses", json::array{ToolUse("Read", {{"file_path", alice + "/a.txt"}}),
                                             ToolUse("Read", {{"file_path", bob + "/a.txt"}})}},
                   {"final", "alice done"}},
      json::object{{"when", "BOB"},
                   {"tool_uses", json::array{ToolUse("Read", {{"file_path", bob + "/a.txt"}}),
                                             ToolUse("Read", {{"file_path", alice + "/a.txt"}})}},
                   {"final", "bob done"}}};
  api_->SetScript(script);
  ClaudeRun a, b;
  std::thread other(
      [&] { b = RunClaude(bob, {}, "BOB: read", "", bob_token, root_ + "/bob/home"); });
  a = RunClaude(alice, {}, "ALICE: read", "", agent_, root_ + "/alice/home");
  other.join();
  ASSERT_EQ(a.exit_code, 0) << a;
  ASSERT_EQ(b.exit_code, 0) << b;
  EXPECT_NE(a.session_id, b.session_id);
  for (const auto& [run, own, theirs] : {std::tuple{&a, "hello from alice/proj", bob},
                                         std::tuple{&b, "hello from bob/proj", alice}}) {
    const std::vector<std::string> results = ToolResults(*run);
    ASSERT_EQ(results.size(), 2u) << *run;
    EXPECT_EQ(results[0].rfind("ok ", 0), 0u) << results[0];
    EXPECT_NE(results[0].find(own), std::string::npos) << results[0];
    EXPECT_EQ(results[1].rfind("error ", 0), 0u) << results[1];
    EXPECT_NE(results[1].find(theirs + "/a.txt"), std::string::npos) << results[1];
    EXPECT_NE(results[1].find("outside"), std::string::npos) << results[1];
  }
}

// Sub-agents are narrower child runs: the parent starts a `code-reviewer` (Agent tool);
// its definition in .claude/agents/ lists Write (a file the agent itself could have
// edited), but the policy `claude-code/code-reviewer` allows only reading, so the
// sub-agent's Write is refused while the parent's own Write of the same kind runs.
// Observed with 2.1.332: SubagentStart/SubagentStop carry agent_id and agent_type, the
// sub-agent's tool events add both to the parent's session_id and cwd, and `claude -p`
// waits for a background sub-agent before it exits.
TEST_F(ClaudeCodeRealTest, SubagentOfReadOnlyTypeCannotWriteWhatItsParentMay) {
  const std::string proj = MakeProject("proj");
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon({"--workspace", proj}, {{"code-reviewer.yaml", kCodeReviewerPolicy}}));
  ConfigureHooks(proj);
  WriteFile(proj + "/.claude/agents/code-reviewer.md",
            "---\nname: code-reviewer\ndescription: Reviews code; read-only.\n"
            "tools: Read, Grep, Write\n---\nYou review code.\n");
  json::object script =
      Script({ToolUse("Agent", {{"subagent_type", "code-reviewer"},
                                {"description", "review"},
                                {"prompt", "SUBAGENT-REVIEW: review a.txt"}}),
              ToolUse("Write", {{"file_path", proj + "/notes.txt"}, {"content", "parent"}})},
             "parent done");
  script["conversations"] = json::array{json::object{
      {"when", "SUBAGENT-REVIEW"},
      {"tool_uses",
       json::array{ToolUse("Read", {{"file_path", proj + "/a.txt"}}),
                   ToolUse("Write", {{"file_path", proj + "/review.txt"}, {"content", "child"}})}},
      {"final", "review done"}}};
  ClaudeRun r = RunClaude(proj, script, "get a review");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(ReadFile(proj + "/notes.txt"), "parent");
  EXPECT_FALSE(fs::exists(proj + "/review.txt"));
  json::array child_writes = CallsOf("Write", "file_path", proj + "/review.txt");
  ASSERT_EQ(child_writes.size(), 1u) << json::serialize(Calls());
  EXPECT_EQ(Str(child_writes[0], {"decision"}), "deny") << json::serialize(child_writes[0]);
  json::array child_reads = CallsOf("Read", "file_path", proj + "/a.txt");
  ASSERT_EQ(child_reads.size(), 1u);
  EXPECT_EQ(Str(child_reads[0], {"decision"}), "allow");
  // The stand-in saw the sub-agent told why.
  EXPECT_NE(api_->Log().find("Interlock: "), std::string::npos);
}

// A sub-agent works in its session's project on a daemon shared by developers: with no
// `serve --workspace`, the session's workspace (its first event's cwd, within the
// organisation's roots) is its child run's too, so the `code-reviewer` policy's
// `${workspace}` admits its Read of the project's file, refuses another project's, and its
// type still may not Write.
TEST_F(ClaudeCodeRealTest, SubagentOnASharedDaemonKeepsToItsSessionsProject) {
  const std::string proj = MakeProject("alice/proj");
  const std::string other = MakeProject("bob/proj");
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon({}, {{"code-reviewer.yaml", kCodeReviewerPolicy}},
                  ShippedPolicy() + "\nworkspace_roots: [\"" + root_ + "/*/proj\"]\n"));
  ConfigureHooks(proj);
  WriteFile(proj + "/.claude/agents/code-reviewer.md",
            "---\nname: code-reviewer\ndescription: Reviews code; read-only.\n"
            "tools: Read, Write\n---\nYou review code.\n");
  json::object script = Script({ToolUse("Agent", {{"subagent_type", "code-reviewer"},
                                                  {"description", "review"},
                                                  {"prompt", "SUBAGENT-REVIEW: review a.txt"}})},
                               "parent done");
  script["conversations"] = json::array{json::object{
      {"when", "SUBAGENT-REVIEW"},
      {"tool_uses",
       json::array{ToolUse("Read", {{"file_path", proj + "/a.txt"}}),
                   ToolUse("Read", {{"file_path", other + "/a.txt"}}),
                   ToolUse("Write", {{"file_path", proj + "/review.txt"}, {"content", "child"}})}},
      {"final", "review done"}}};
  ClaudeRun r = RunClaude(proj, script, "get a review", "", agent_, root_ + "/alice/home");
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_FALSE(fs::exists(proj + "/review.txt"));
  json::array own = CallsOf("Read", "file_path", proj + "/a.txt");
  ASSERT_EQ(own.size(), 1u) << json::serialize(Calls());
  EXPECT_EQ(Str(own[0], {"decision"}), "allow") << json::serialize(own[0]);
  json::array theirs = CallsOf("Read", "file_path", other + "/a.txt");
  ASSERT_EQ(theirs.size(), 1u) << json::serialize(Calls());
  EXPECT_EQ(Str(theirs[0], {"decision"}), "deny") << json::serialize(theirs[0]);
  json::array writes = CallsOf("Write", "file_path", proj + "/review.txt");
  ASSERT_EQ(writes.size(), 1u) << json::serialize(Calls());
  EXPECT_EQ(Str(writes[0], {"decision"}), "deny") << json::serialize(writes[0]);
  // All three were the sub-agent's: decided in a child run that holds the session's project.
  const std::string child = RunHolding("Write");
  ASSERT_FALSE(child.empty()) << json::serialize(Calls());
  EXPECT_NE(RunHolding("Agent"), child);
  HttpResult run = client_->Request("GET", "/v1/runs/" + child, "", reviewer_);
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_EQ(Str(run.json, {"role"}), "code-reviewer") << run.body;
  EXPECT_FALSE(Str(run.json, {"parent_run_id"}).empty()) << run.body;
  EXPECT_EQ(Str(run.json, {"workspace"}), proj) << run.body;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock::testing
