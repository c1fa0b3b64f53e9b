// ChromiumTest: the fixture of the browser suites (browser_test.cc, phone_browser_test.cc,
// oidc_browser_test.cc). SetUp skips the test unless Debian's chromium is installed and
// installs the pinned playwright-core once (scripts/setup-browser-tests.sh); the test then
// writes its agent's policy, starts a Daemon (daemon_harness.h) and drives a script of
// tests/browser/ in node against it. The fixture's temporary directory is the daemon's.
#ifndef INTERLOCK_TESTS_BROWSER_CHROMIUM_TEST_H_
#define INTERLOCK_TESTS_BROWSER_CHROMIUM_TEST_H_

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "daemon_harness.h"
#include "subprocess.h"
#include "temp_dir.h"

namespace interlock::testing {

class ChromiumTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/chromium", X_OK) != 0) {
      GTEST_SKIP() << "/usr/bin/chromium is not installed (scripts/install-deps.sh)";
    }
    ASSERT_EQ(RunSetupScriptOnce(src_ + "/scripts/setup-browser-tests.sh"), "");
  }

  // Writes `agent_yaml` as the one policy file of a policies directory; returns the directory.
  std::string WriteAgentPolicy(const char* agent_yaml) {
    const std::string policies = dir_.path() + "/policies";
    std::filesystem::create_directories(policies);
    std::ofstream(policies + "/agent.yaml") << agent_yaml;
    return policies;
  }

  // The daemon's base URL on loopback.
  static std::string Url(const Daemon& daemon) {
    return "http://127.0.0.1:" + std::to_string(daemon.port());
  }

  // Runs `node tests/browser/<script> args...`, killed after `limit`.
  ProcessResult RunScript(const std::string& script, const std::vector<std::string>& args,
                          std::chrono::seconds limit) {
    std::vector<std::string> argv = {"/usr/bin/env", "node", src_ + "/tests/browser/" + script};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, "", limit);
  }

  const std::string src_ = INTERLOCK_SOURCE_DIR;
  // Where the scripts leave their screenshots.
  const std::string artifacts_ = std::string(INTERLOCK_BINARY_DIR) + "/test-artifacts";
  TempDir dir_;
};

}  // namespace interlock::testing

#endif  // INTERLOCK_TESTS_BROWSER_CHROMIUM_TEST_H_
