// End-to-end tests of `interlock test` (docs/policy-tests.md), run as a user (or a CI job)
// runs it: exit 0 every case passes, 1 a case fails or a variant is allowed, 2 bad input;
// JUnit XML; `check` running the tests; serve, decide and check on a directory holding test
// files.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

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
const std::string kPlanted =
    std::string(INTERLOCK_SOURCE_DIR) + "/tests/fixtures/policy-tests/planted";

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Tests that the shipped example policies pass their tests and no adversarial variant of a
// refused call is allowed (the CI job of docs/policy-tests.md).
TEST(PolicyTestCommand, ShippedPoliciesPassAdversarially) {
  TempDir dir;
  const std::string junit = dir.path() + "/junit.xml";
  auto r = RunProcess({kBin, "test", "--adversarial", "--junit", junit, kExamples}, "",
                      std::chrono::seconds(120));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(", 0 failed; "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" let through"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("decided, 0 let through"), std::string::npos) << r.out;
  const std::string xml = ReadText(junit);
  EXPECT_NE(xml.find("<testsuites name=\"interlock test\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("failures=\"0\" errors=\"0\""), std::string::npos) << xml;
}

// Tests that the planted-weakness fixture passes its plain cases but fails --adversarial
// with exit 1, naming each variant that got through and the rule that allowed it.
TEST(PolicyTestCommand, PlantedWeaknessesExitOneWithTheVariants) {
  auto plain = RunProcess({kBin, "test", kPlanted});
  EXPECT_EQ(plain.exit_code, 0) << plain.out << plain.err;
  auto r = RunProcess({kBin, "test", "--adversarial", kPlanted}, "", std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  for (const char* want :
       {"variant [path-dotdot] /srv/data/../../etc/passwd is ALLOWED by rule "
        "tools.allowed[\"read_file\"]",
        "variant [url-userinfo] https://docs.myco.com@evil.example/ is ALLOWED by rule "
        "tools.allowed[\"fetch\"]",
        "variant [git-config-case] git -c CORE.PAGER=sh log is ALLOWED by rule "
        "tools.allowed[\"Bash\"]",
        "planted.yaml:"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  }
  auto few = RunProcess({kBin, "test", "--adversarial", "--max-variants", "1", kPlanted});
  EXPECT_NE(few.out.find("more variants than --max-variants"), std::string::npos) << few.out;
}

// Tests exit 1 for a failing case (with the deciding policy line) and exit 2 for a test file
// that does not read (file:line:column) or a path that does not exist.
TEST(PolicyTestCommand, FailureExitsOneBadInputExitsTwo) {
  TempDir dir;
  WriteText(dir.path() + "/a.yaml",
            "agent:\n  id: a\n  identity: a@x.iam\ntools:\n  allowed: [read]\n  blocked: [wipe]\n"
            "execution:\n  max_steps: 5\n");
  WriteText(dir.path() + "/a.test.yaml",
            "cases:\n  - {name: w, call: {tool: wipe}, expect: allow}\n");
  auto failed = RunProcess({kBin, "test", dir.path()});
  EXPECT_EQ(failed.exit_code, 1) << failed.out << failed.err;
  EXPECT_NE(failed.out.find("a.test.yaml:2: case \"w\": expected allow, got deny TOOL_BLOCKED"),
            std::string::npos)
      << failed.out;
  EXPECT_NE(failed.out.find("a.yaml:6:13: blocked: [wipe]"), std::string::npos) << failed.out;
  WriteText(dir.path() + "/a.test.yaml",
            "cases:\n  - {name: w, call: {tool: wipe}, expct: deny}\n");
  auto bad = RunProcess({kBin, "test", dir.path()});
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("a.test.yaml:2:35: unknown key expct"), std::string::npos) << bad.out;
  auto missing = RunProcess({kBin, "test", dir.path() + "/nope"});
  EXPECT_EQ(missing.exit_code, 2) << missing.out << missing.err;
}

// Tests that `interlock check` runs the tests beside the policies and reports a failing one
// as an error at its test file line, and that a passing set checks clean.
TEST(PolicyTestCommand, CheckRunsTheTestsBesideThePolicies) {
  auto ok = RunProcess({kBin, "check", kExamples}, "", std::chrono::seconds(120));
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  TempDir dir;
  WriteText(dir.path() + "/a.yaml",
            "agent:\n  id: a\n  identity: a@x.iam\ntools:\n  allowed: [read]\n"
            "execution:\n  max_steps: 5\n");
  WriteText(dir.path() + "/a.test.yaml",
            "cases:\n  - {name: r, call: {tool: read}, expect: allow}\n"
            "  - {name: w, call: {tool: wipe}, expect: allow}\n");
  for (const std::string& path : {dir.path(), dir.path() + "/a.yaml"}) {
    auto r = RunProcess({kBin, "check", path});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("a.test.yaml:3:0: error: case \"w\": expected allow, got deny"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("[policy-test-failed]"), std::string::npos) << r.err;
  }
  auto json = RunProcess({kBin, "check", "--format", "json", dir.path()});
  EXPECT_NE(json.out.find("\"id\":\"policy-test-failed\""), std::string::npos) << json.out;
}

// Tests that decide and serve load a policy directory holding test (and properties) files,
// which are not taken for policies.
TEST(PolicyTestCommand, DecideAndServeSkipTheTestFiles) {
  auto d = RunProcess({kBin, "decide", "--policy", kExamples, "--agent", "github-agent", "--now",
                       "2026-01-01T00:00:00Z"},
                      "{\"tool\":\"delete_repository\",\"args\":{}}\n");
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
  EXPECT_NE(d.out.find("TOOL_BLOCKED"), std::string::npos) << d.out;

  TempDir dir;
  const std::string log = dir.path() + "/serve.log";
  const pid_t pid = testing::SpawnLogged(
      {kBin, "serve", "--listen", "127.0.0.1:0", "--policies", kExamples, "--store", ":memory:"},
      log);
  ASSERT_GT(pid, 0);
  bool listening = false;
  WaitUntil(
      [&] {
        listening = ReadText(log).find("listening on") != std::string::npos;
        int status = 0;
        return listening || waitpid(pid, &status, WNOHANG) == pid;  // or it exited
      },
      std::chrono::seconds(30), std::chrono::milliseconds(100));
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  EXPECT_TRUE(listening) << ReadText(log);
  EXPECT_EQ(ReadText(log).find(".test.yaml"), std::string::npos) << ReadText(log);
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
