// `interlock init` and `interlock check --against-server` against real MCP servers from
// npm (server-filesystem, server-everything, server-github; pinned in
// tests/integration/mcp/node) and against recording_server.mjs, a stdio server that logs
// every method it receives. Pipes only (no network); every child is bounded and reaped.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <algorithm>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "node_suite.h"
#include "subprocess.h"
#include "temp_dir.h"
#include "test_paths.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

namespace json = boost::json;
namespace fs = std::filesystem;
using testing::ProcessResult;
using testing::RunProcess;
using testing::TempDir;

using testing::kInterlock;
using testing::kModules;
const std::string kRecorder =
    std::string(INTERLOCK_SOURCE_DIR) + "/tests/integration/init/recording_server.mjs";

class InitIntegrationTest : public testing::NodeSuite {
 protected:
  TempDir tmp_;
};

std::vector<std::string> Filesystem(const std::string& dir) {
  return {"node", kModules + "/server-filesystem/dist/index.js", dir};
}
std::vector<std::string> Everything() {
  return {"node", kModules + "/server-everything/dist/index.js", "stdio"};
}
std::vector<std::string> Github() {
  return {"/usr/bin/env", "-u", "GITHUB_PERSONAL_ACCESS_TOKEN", "node",
          kModules + "/server-github/dist/index.js"};
}

ProcessResult Interlock(std::vector<std::string> args, const std::vector<std::string>& server) {
  args.insert(args.begin(), kInterlock);
  if (!server.empty()) {
    args.emplace_back("--");
    args.insert(args.end(), server.begin(), server.end());
  }
  return RunProcess(args, "", std::chrono::seconds(90));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The lines of the active (not commented out) entry for `tool`, up to the blank line after
// it; "" when the tool has no active entry.
std::string Entry(const std::string& policy, const std::string& tool) {
  const std::string head = "    - name: " + json::serialize(json::string(tool)) + "\n";
  const size_t at = policy.find(head);
  if (at == std::string::npos) return "";
  const size_t end = policy.find("\n\n", at);
  return policy.substr(at, end == std::string::npos ? std::string::npos : end - at);
}
bool CommentedOut(const std::string& policy, const std::string& tool) {
  return policy.find("    # - name: " + json::serialize(json::string(tool)) + "\n") !=
         std::string::npos;
}

// `interlock check --format json` of `policy` (plus `server`, with --against-server).
json::object CheckJson(const std::string& policy, const std::vector<std::string>& server,
                       int* exit_code) {
  std::vector<std::string> args = {"check", policy, "--format", "json"};
  if (!server.empty()) args.emplace_back("--against-server");
  ProcessResult r = Interlock(args, server);
  *exit_code = r.exit_code;
  std::string out = r.out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  json::value v =
      json::parse(out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1));
  return v.as_object();
}

std::vector<std::string> Findings(const json::object& check, const std::string& id) {
  std::vector<std::string> out;
  for (const json::value& d : check.at("diagnostics").as_array()) {
    if (d.at("id") == json::value(id)) out.emplace_back(d.at("message").as_string());
  }
  return out;
}

// Tests that a starter generated from server-filesystem loads lint-clean (no error, no
// warning) and sorts its tools by their annotations: reads allowed, write_file, edit_file
// and move_file (destructiveHint) requiring approval and irreversible, create_directory
// (neither read-only nor destructive) left commented out, so default deny refuses it.
TEST_F(InitIntegrationTest, FilesystemStarterLoadsAndDestructiveToolsNeedApproval) {
  fs::create_directories(tmp_.path() + "/data");
  const std::string out = tmp_.path() + "/fs.yaml";
  ProcessResult r =
      Interlock({"init", "--agent", "fs-agent", "--out", out}, Filesystem(tmp_.path() + "/data"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string policy = ReadFile(out);

  for (const char* read : {"read_text_file", "read_file", "read_media_file", "read_multiple_files",
                           "list_directory", "list_directory_with_sizes", "directory_tree",
                           "search_files", "get_file_info", "list_allowed_directories"}) {
    const std::string e = Entry(policy, read);
    EXPECT_NE(e, "") << read;
    EXPECT_EQ(e.find("requires_approval"), std::string::npos) << read;
  }
  for (const char* write : {"write_file", "edit_file", "move_file"}) {
    const std::string e = Entry(policy, write);
    EXPECT_NE(e.find("requires_approval: true"), std::string::npos) << write << ":\n" << e;
    EXPECT_NE(e.find("reversible: false"), std::string::npos) << write;
  }
  EXPECT_EQ(Entry(policy, "create_directory"), "");
  EXPECT_TRUE(CommentedOut(policy, "create_directory"));
  EXPECT_NE(policy.find("  mode: enforce\n"), std::string::npos);

  int rc = -1;
  json::object check = CheckJson(out, {}, &rc);
  EXPECT_EQ(rc, 0) << json::serialize(check);
  EXPECT_EQ(check.at("errors"), json::value(0));
  EXPECT_EQ(check.at("warnings"), json::value(0)) << json::serialize(check);

  // Against the same server: nothing unknown; create_directory is reported as unlisted.
  check = CheckJson(out, Filesystem(tmp_.path() + "/data"), &rc);
  EXPECT_EQ(rc, 0) << json::serialize(check);
  EXPECT_TRUE(Findings(check, "unknown-tool").empty());
  EXPECT_TRUE(Findings(check, "unknown-argument").empty());
  const auto unlisted = Findings(check, "unlisted-tool");
  ASSERT_EQ(unlisted.size(), 1u) << json::serialize(check);
  EXPECT_NE(unlisted[0].find("\"create_directory\""), std::string::npos);
}

// Tests that the starter for server-everything loads, labels its open-world tool and is
// clean against the same server.
TEST_F(InitIntegrationTest, EverythingStarterLoadsAndLabelsOpenWorldTools) {
  ProcessResult r = Interlock({"init", "--agent", "everything-agent"}, Everything());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string out = tmp_.Write("everything.yaml", r.out);
  EXPECT_NE(Entry(r.out, "echo"), "");
  EXPECT_NE(Entry(r.out, "get-sum"), "");
  EXPECT_TRUE(CommentedOut(r.out, "toggle-simulated-logging"));
  const size_t gz = r.out.find("# gzip-file-as-resource");
  ASSERT_NE(gz, std::string::npos);
  EXPECT_NE(r.out.find("OPEN WORLD", gz), std::string::npos);

  int rc = -1;
  json::object check = CheckJson(out, Everything(), &rc);
  EXPECT_EQ(rc, 0) << json::serialize(check);
  EXPECT_EQ(check.at("warnings"), json::value(0)) << json::serialize(check);
  EXPECT_TRUE(Findings(check, "unknown-tool").empty());
}

// Tests that server-github (no annotations at all) lists its tools without a token, that
// the name heuristics allow its get/list/search tools and leave writes commented out, and
// that the starter loads.
TEST_F(InitIntegrationTest, GithubStarterFromNamesAlone) {
  ProcessResult r = Interlock({"init", "--agent", "github-agent"}, Github());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string out = tmp_.Write("github.yaml", r.out);
  for (const char* read : {"get_issue", "list_issues", "search_repositories", "get_pull_request"}) {
    EXPECT_NE(Entry(r.out, read), "") << read;
  }
  for (const char* write : {"create_pull_request", "merge_pull_request", "push_files"}) {
    EXPECT_TRUE(CommentedOut(r.out, write)) << write;
  }
  int rc = -1;
  json::object check = CheckJson(out, Github(), &rc);
  EXPECT_EQ(rc, 0) << json::serialize(check);
  EXPECT_EQ(check.at("warnings"), json::value(0)) << json::serialize(check);
}

// Tests that the example policies shipped in examples/policies/ name only tools their real
// servers have, constrain only arguments the tools declare, and leave no tool of the server
// unmentioned: a renamed tool upstream fails this test, not a user's first session.
TEST_F(InitIntegrationTest, ExamplePoliciesMatchTheirRealServers) {
  const std::string examples = std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies/";
  struct Example {
    const char* file;
    std::vector<std::string> server;
  };
  for (const Example& e : {Example{"filesystem-agent.yaml", Filesystem(tmp_.path())},
                           Example{"github-agent.yaml", Github()}}) {
    SCOPED_TRACE(e.file);
    int rc = -1;
    json::object check = CheckJson(examples + e.file, e.server, &rc);
    EXPECT_EQ(rc, 0) << json::serialize(check);
    EXPECT_EQ(check.at("errors"), json::value(0)) << json::serialize(check);
    EXPECT_EQ(check.at("warnings"), json::value(0)) << json::serialize(check);
    EXPECT_EQ(Findings(check, "unlisted-tool"), std::vector<std::string>{})
        << json::serialize(check);
    EXPECT_EQ(Findings(check, "undeclared-arguments"), std::vector<std::string>{})
        << json::serialize(check);
  }
}

// Tests that an argument named only in a combination is checked against the inputSchema
// too: `repository` for server-github's `repo` would make the combination refuse every
// call (the value is always missing), so it is an error listing the declared names.
TEST_F(InitIntegrationTest, CombinationArgumentsAreCheckedAgainstTheSchema) {
  const std::string policy = tmp_.Write(
      "gh.yaml",
      "agent:\n  id: gh\ntools:\n  allowed:\n    - name: create_pull_request\n"
      "      constraints:\n        combinations:\n          - arguments: [owner, repository]\n"
      "            one_of: [[octo-org, docs]]\n"
      "execution:\n  max_steps: 10\n  max_wall_clock_seconds: 60\n  max_cost_usd: 1\n");
  int rc = -1;
  json::object check = CheckJson(policy, Github(), &rc);
  EXPECT_EQ(rc, 1) << json::serialize(check);
  std::vector<std::string> found = Findings(check, "unknown-argument");
  ASSERT_EQ(found.size(), 1u) << json::serialize(check);
  EXPECT_NE(found[0].find("\"repository\""), std::string::npos) << found[0];
  EXPECT_NE(found[0].find("it has: owner, repo,"), std::string::npos) << found[0];
}

// Tests that init never overwrites an existing file unless --force.
TEST_F(InitIntegrationTest, ExistingFileIsKeptWithoutForce) {
  const std::string out = tmp_.Write("mine.yaml", "my hand-written policy\n");
  const std::string log = tmp_.path() + "/calls.log";
  ProcessResult r = Interlock({"init", "--agent", "a", "--out", out}, {"node", kRecorder, log});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFile(out), "my hand-written policy\n");
  EXPECT_FALSE(fs::exists(log)) << "the server was started although nothing would be written";

  r = Interlock({"init", "--agent", "a", "--out", out, "--force"}, {"node", kRecorder, log});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(ReadFile(out).find("  id: \"a\"\n"), std::string::npos);
}

// Tests that init and check --against-server never call a tool: the recording server
// sees initialize, notifications/initialized and tools/list (both pages) only, and its
// server-initiated ping is answered.
TEST_F(InitIntegrationTest, InitAndCheckNeverCallATool) {
  const std::string log = tmp_.path() + "/calls.log";
  const std::string out = tmp_.path() + "/rec.yaml";
  ProcessResult r = Interlock({"init", "--agent", "rec", "--out", out}, {"node", kRecorder, log});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  int rc = -1;
  (void)CheckJson(out, {"node", kRecorder, log}, &rc);
  EXPECT_EQ(rc, 0);
  // Order aside (the ping's reply goes out when the client next reads), exactly these.
  std::vector<std::string> seen;
  std::istringstream lines(ReadFile(log));
  for (std::string line; std::getline(lines, line);) seen.push_back(line);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen,
            (std::vector<std::string>{"(reply)", "(reply)", "initialize", "initialize",
                                      "notifications/initialized", "notifications/initialized",
                                      "tools/list", "tools/list", "tools/list", "tools/list"}));
  const std::string policy = ReadFile(out);
  // Both pages were read.
  EXPECT_NE(policy.find("send_email"), std::string::npos);
  EXPECT_NE(policy.find("quote\\\"name"), std::string::npos);
}

// Tests that what a server sends cannot write policy: a description carrying newlines,
// a U+2028 line separator and a bidi override stays inside one comment line, so the
// "drop_table" entry and "blocked: []" it tries to inject do not appear; drop_table
// itself (destructive by name) needs approval; an open-world tool is labelled.
TEST_F(InitIntegrationTest, HostileDescriptionsStayInComments) {
  const std::string log = tmp_.path() + "/calls.log";
  ProcessResult r = Interlock({"init", "--agent", "rec"}, {"node", kRecorder, log});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string& policy = r.out;
  std::istringstream lines(policy);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_FALSE(line.rfind("blocked: []", 0) == 0) << line;
    EXPECT_EQ(line.find("\xE2\x80\xA8"), std::string::npos);
    EXPECT_EQ(line.find("\xE2\x80\xAE"), std::string::npos);
    EXPECT_EQ(line.find("x\ny"), std::string::npos);
  }
  EXPECT_NE(Entry(policy, "drop_table").find("requires_approval: true"), std::string::npos);
  EXPECT_NE(Entry(policy, "get_status"), "");
  EXPECT_EQ(Entry(policy, "evil_tool"), "");
  EXPECT_TRUE(CommentedOut(policy, "evil_tool"));
  const size_t mail = policy.find("# send_email");
  ASSERT_NE(mail, std::string::npos);
  EXPECT_NE(policy.find("OPEN WORLD", mail), std::string::npos);
  int rc = -1;
  json::object check = CheckJson(tmp_.Write("rec.yaml", policy), {}, &rc);
  EXPECT_EQ(rc, 0) << json::serialize(check);
}

// Tests that a policy with a typo'd tool name, a constraint on an argument the tool does
// not have (plain and nested), a pattern matching nothing and an unlisted tool gets the
// matching findings from check --against-server, and that the errors fail the check.
TEST_F(InitIntegrationTest, CheckAgainstServerFindsTyposAndUnknownArguments) {
  fs::create_directories(tmp_.path() + "/data");
  const std::string policy = tmp_.Write("wrong.yaml", R"(agent:
  id: "fs-agent"
  identity: "fs-agent@test"
tools:
  allowed:
    - name: "read_txt_file"
    - name: "read_text_file"
      constraints:
        arguments:
          pathh:
            path_prefix: "/data"
    - name: "read_multiple_files"
      redact: ["pathz"]
      constraints:
        arguments:
          files:
            max_items: 10
    - name: "list_*"
    - name: "nothing_*"
  blocked:
    - "write_flie"
    - "move_file"
execution:
  max_steps: 5
  max_wall_clock_seconds: 60
  max_cost_usd: 1
escalation:
  contacts: ["oncall@example.com"]
)");
  int rc = -1;
  json::object check = CheckJson(policy, Filesystem(tmp_.path() + "/data"), &rc);
  EXPECT_EQ(rc, 1) << json::serialize(check);
  const auto unknown = Findings(check, "unknown-tool");
  ASSERT_EQ(unknown.size(), 2u) << json::serialize(check);
  const std::string all_unknown = unknown[0] + "\n" + unknown[1];
  EXPECT_NE(all_unknown.find("\"read_txt_file\""), std::string::npos);
  EXPECT_NE(all_unknown.find("did you mean \"read_text_file\"?"), std::string::npos);
  EXPECT_NE(all_unknown.find("did you mean \"write_file\"?"), std::string::npos);

  const auto args = Findings(check, "unknown-argument");
  ASSERT_EQ(args.size(), 3u) << json::serialize(check);
  const std::string all_args = args[0] + "\n" + args[1] + "\n" + args[2];
  EXPECT_NE(all_args.find("\"pathz\""), std::string::npos);
  EXPECT_NE(all_args.find("did you mean \"paths\"?"), std::string::npos);
  EXPECT_NE(all_args.find("\"pathh\""), std::string::npos);
  EXPECT_NE(all_args.find("did you mean \"path\"?"), std::string::npos);
  EXPECT_NE(all_args.find("\"files\""), std::string::npos);

  const auto nothing = Findings(check, "pattern-matches-nothing");
  ASSERT_EQ(nothing.size(), 1u);
  EXPECT_NE(nothing[0].find("\"nothing_*\""), std::string::npos);

  // Tools neither allowed nor blocked (list_* covers the list tools, move_file is blocked).
  const auto unlisted = Findings(check, "unlisted-tool");
  std::string all_unlisted;
  for (const std::string& u : unlisted) all_unlisted += u + "\n";
  EXPECT_NE(all_unlisted.find("\"write_file\""), std::string::npos);
  EXPECT_NE(all_unlisted.find("\"edit_file\""), std::string::npos);
  EXPECT_EQ(all_unlisted.find("\"list_directory\""), std::string::npos);
  EXPECT_EQ(all_unlisted.find("\"move_file\""), std::string::npos);
  EXPECT_EQ(all_unlisted.find("\"read_text_file\""), std::string::npos);
  ASSERT_TRUE(check.contains("server"));
  EXPECT_EQ(check.at("server").at("name"), json::value("secure-filesystem-server"));
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

// Tests --url: init and check --against-server read server-everything over Streamable
// HTTP on loopback (with a --header sent along) the same way as over stdio.
TEST_F(InitIntegrationTest, StreamableHttpServerViaUrl) {
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string out = tmp_.path() + "/ev.yaml";
  // The server in the background of a shell that retries init until it answers (bounded),
  // then checks the result against the same URL, and always ends the server.
  const char script[] =
      "PORT=$1 node \"$2\" streamableHttp >/dev/null 2>&1 & pid=$!; trap 'kill $pid' EXIT; "
      "url=http://127.0.0.1:$1/mcp; i=0; "
      "until \"$3\" init --agent ev --out \"$4\" --url $url --header 'X-Test: 1' 2>/dev/null; do "
      "i=$((i+1)); [ $i -lt 60 ] || exit 3; sleep 0.5; done; "
      "\"$3\" check \"$4\" --against-server --url $url --format json";
  ProcessResult r = RunProcess({"/bin/sh", "-c", script, "sh", std::to_string(port),
                                kModules + "/server-everything/dist/index.js", kInterlock, out},
                               "", std::chrono::seconds(90));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(Entry(ReadFile(out), "echo"), "");
  const json::value check = json::parse(r.out);
  EXPECT_EQ(check.at("errors"), json::value(0));
  EXPECT_EQ(check.at("server").at("tools").as_array().size(), 13u) << r.out;
}

// Tests that a broken listing is an error, never a partial policy: a cursor loop, a tool
// listed twice, a nameless tool, an error reply and a server that never answers.
TEST_F(InitIntegrationTest, BrokenListingsFailClosed) {
  const std::string log = tmp_.path() + "/calls.log";
  for (const char* mode : {"repeat-cursor", "duplicate", "no-name", "error", "silent"}) {
    ProcessResult r =
        Interlock({"init", "--agent", "a", "--timeout", "3"}, {"node", kRecorder, log, mode});
    EXPECT_EQ(r.exit_code, 2) << mode << ": " << r.err;
    EXPECT_EQ(r.out, "") << mode;
    EXPECT_NE(r.err.find("cannot list the server's tools"), std::string::npos) << r.err;
  }
  std::istringstream lines(ReadFile(log));
  for (std::string line; std::getline(lines, line);) EXPECT_NE(line.rfind("CALLED", 0), 0u);
}

// Tests that a server that cannot be started or listed is a usage failure, not a pass.
TEST_F(InitIntegrationTest, UnreachableServerFailsClosed) {
  ProcessResult r = Interlock({"init", "--agent", "a"}, {"/bin/false"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  const std::string policy = tmp_.Write("p.yaml", "agent:\n  id: a\ntools:\n  allowed: []\n");
  r = Interlock({"check", policy, "--against-server"}, {"/bin/false"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
