// Drives tests/browser/test.mjs (headless Chromium) against the real daemon started by
// the daemon harness on 127.0.0.1 port 0. Bounded: the node process gets 120 s.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "daemon_harness.h"
#include "subprocess.h"

namespace interlock::testing {
namespace {

constexpr char kAgent[] = R"(agent:
  id: "browser-agent"
  identity: "browser-agent@example.iam"
tools:
  allowed:
    - name: "send_email"
      requires_approval: true
      approval_timeout_seconds: 300
      blast_radius: large
      redact: ["api_key"]
execution:
  max_steps: 1000
)";

// Tests that a reviewer signs in on /ui/, approves one call and denies another, and the
// waiting agent gets allow and deny respectively.
TEST(BrowserTest, ReviewerPageApprovesAndDenies) {
  if (::access("/usr/bin/chromium", X_OK) != 0) {
    GTEST_SKIP() << "/usr/bin/chromium is not installed (scripts/install-deps.sh)";
  }
  const std::string src = INTERLOCK_SOURCE_DIR;
  ASSERT_EQ(RunSetupScriptOnce(src + "/scripts/setup-browser-tests.sh"), "");

  TempDir dir;
  const std::string policies = dir.path() + "/policies";
  std::filesystem::create_directories(policies);
  std::ofstream(policies + "/agent.yaml") << kAgent;
  Daemon daemon(dir.path(), policies);
  const std::string agent = CreateToken(daemon.store(), "--agent", "browser-agent");
  const std::string reviewer = CreateToken(daemon.store(), "--reviewer", "rita");
  ASSERT_FALSE(reviewer.empty());
  ASSERT_TRUE(daemon.Start()) << daemon.log();

  const std::string artifacts = std::string(INTERLOCK_BINARY_DIR) + "/test-artifacts";
  ProcessResult r =
      RunProcess({"/usr/bin/env", "node", src + "/tests/browser/test.mjs",
                  "http://127.0.0.1:" + std::to_string(daemon.port()), reviewer, agent, artifacts},
                 "", std::chrono::seconds(120));
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << daemon.log();
  EXPECT_NE(r.out.find("test 1 (approve): ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("test 2 (deny): ok"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(artifacts + "/approvals.png"));
}

}  // namespace
}  // namespace interlock::testing
