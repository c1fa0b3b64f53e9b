// End-to-end tests of `interlock prove` (and the properties in `check` and `decide`), run as a
// user would: exit 0 every property holds, 1 one is violated, 3 one is undecided, 2 bad input.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "subprocess.h"
#include "temp_dir.h"

namespace interlock {
namespace INTERLOCK_TEST_NS {

using testing::RunProcess;
using testing::TempDir;

const std::string kBin = std::string(INTERLOCK_BINARY_DIR) + "/interlock";
const std::string kExamples = std::string(INTERLOCK_SOURCE_DIR) + "/examples/policies";

constexpr const char* kPolicy = R"(agent:
  id: "mailer"
  identity: "mailer@x.iam"
tools:
  allowed:
    - name: "read_secret"
      labels: ["secret"]
    - name: "send_email"
      labels: ["external"]
    - name: "fetch"
      constraints:
        arguments:
          url: {pattern: "https://docs\\.example\\.com/.*"}
  blocked: ["wipe"]
execution:
  max_steps: 10
)";

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

struct Dir {
  TempDir tmp;
  std::string path = tmp.path();
  explicit Dir(const std::string& props) {
    Write(path + "/mailer.yaml", kPolicy);
    Write(path + "/mailer.props.yaml", props);
  }
};

TEST(ProveCommand, ShippedExamplesHoldExitZero) {
  auto r = RunProcess({kBin, "prove", kExamples});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("0 violated, 0 undecided"), std::string::npos) << r.out;
}

TEST(ProveCommand, ViolatedPropertyExitsOneWithTheShortestCounterexample) {
  Dir d(
      "properties:\n  - {name: no-leak, never_flows: {label: secret, to: send_email}}\n"
      "  - {name: never-wipe, never_allowed: wipe}\n");
  auto r = RunProcess({kBin, "prove", d.path});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("VIOLATED: no-leak"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("holds: never-wipe"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1. {\"args\":{},\"tool\":\"read_secret\"}  -> ALLOWED"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("2. {\"args\":{},\"tool\":\"send_email\"}  -> ALLOWED"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("2 of 2 step(s) reproduced"), std::string::npos) << r.out;
}

// The counterexample printed is `interlock decide` input: replayed by hand it gets the same
// decisions.
TEST(ProveCommand, CounterexampleReplaysThroughDecide) {
  Dir d("properties:\n  - {name: no-leak, never_flows: {label: secret, to: send_email}}\n");
  auto r = RunProcess(
      {kBin, "decide", "--policy", d.path, "--agent", "mailer", "--now", "2026-01-01T00:00:00Z"},
      "{\"args\":{},\"tool\":\"read_secret\"}\n{\"args\":{},\"tool\":\"send_email\"}\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("\"decision\":\"deny\""), std::string::npos) << r.out;
}

TEST(ProveCommand, RegexDependentPropertyIsUndecidedExitThree) {
  Dir d("properties:\n  - {name: no-fetch, never_allowed: fetch}\n");
  auto r = RunProcess({kBin, "prove", d.path});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("UNDECIDED: no-fetch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("regular expression"), std::string::npos) << r.out;
}

TEST(ProveCommand, BadPropertiesFileExitsTwoWithFileLineColumn) {
  Dir d("properties:\n  - {name: x, never_alowed: wipe}\n");
  auto r = RunProcess({kBin, "prove", d.path});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("mailer.props.yaml:2:15: "), std::string::npos) << r.err;
}

TEST(ProveCommand, NoPropertiesFoundExitsTwo) {
  TempDir tmp;
  Write(tmp.path() + "/mailer.yaml", kPolicy);
  auto r = RunProcess({kBin, "prove", tmp.path()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("no properties"), std::string::npos) << r.err;
}

TEST(ProveCommand, PropertiesFlagNamesTheFiles) {
  Dir d("properties:\n  - {name: never-wipe, never_allowed: wipe}\n");
  Write(d.path + "/../other.props.yaml",
        "properties:\n  - {name: leak, never_flows: {label: secret, to: send_email}}\n");
  auto r = RunProcess(
      {kBin, "prove", d.path + "/mailer.yaml", "--properties", d.path + "/../other.props.yaml"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out.find("never-wipe"), std::string::npos) << r.out;
}

// The properties files lie beside the policies: the loader skips them, so `check` and
// `decide` on the directory keep working, and `check` runs the properties.
TEST(ProveCommand, CheckRunsThePropertiesAndSkipsTheirFiles) {
  Dir holds("properties:\n  - {name: never-wipe, never_allowed: wipe}\n");
  auto ok = RunProcess({kBin, "check", holds.path});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("ok: 1 policy (mailer)"), std::string::npos) << ok.out;
  Dir broken("properties:\n  - {name: no-leak, never_flows: {label: secret, to: send_email}}\n");
  auto bad = RunProcess({kBin, "check", broken.path});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.err.find("mailer.props.yaml:2:5: error: property no-leak"), std::string::npos)
      << bad.err;
  EXPECT_NE(bad.err.find("[property-violated]"), std::string::npos) << bad.err;
  auto decide =
      RunProcess({kBin, "decide", "--policy", broken.path}, "{\"tool\":\"wipe\",\"args\":{}}\n");
  EXPECT_EQ(decide.exit_code, 0) << decide.err;
  EXPECT_NE(decide.out.find("TOOL_BLOCKED"), std::string::npos) << decide.out;
}

}  // namespace INTERLOCK_TEST_NS
}  // namespace interlock
